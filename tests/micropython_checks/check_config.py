# config.json's validator (firmware/config.py) on valid and broken configs: the complete config
# or every problem's message, the unknown keys; reading files (missing, not JSON), the relay
# settings read on their own; and what json.loads makes of odd texts.
import json

import config
from checks import canon


def attempt(fn, *args):
    try:
        return ["ok", canon(fn(*args))]
    except config.ConfigError as e:
        return ["ConfigError", str(e)]
    except ValueError as e:
        return ["ValueError", str(e)]



def run(inputs):
    out = {"validate": [], "unknown": [], "files": [], "relay": [], "json": []}
    for given in inputs["configs"]:
        got = attempt(config.validate, given)
        out["validate"].append(got)
        if got[0] == "ok":
            out["unknown"].append(sorted(config.unknown_keys(got[1])))
    out["odd_files"] = []
    out["odd_relay"] = []
    for group in ("texts", "odd_texts"):
        files = out["files" if group == "texts" else "odd_files"]
        relay = out["relay" if group == "texts" else "odd_relay"]
        for i, text in enumerate(inputs[group]):
            path = "config.json"
            with open(path, "w") as f:
                f.write(text)
            files.append(attempt(config.load, path))
            relay.append(list(config.relay_settings(path)))
    out["files"].append(attempt(config.load, "missing.json"))
    out["relay"].append(list(config.relay_settings("missing.json")))
    for text in inputs["json"]:
        try:
            out["json"].append(["ok", canon(json.loads(text))])
        except ValueError:
            out["json"].append(["ValueError"])
    out["defaults"] = config.DEFAULTS
    return out
