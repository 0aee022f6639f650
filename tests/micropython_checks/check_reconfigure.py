# SET_CONFIG (firmware/reconfigure.py): merging changes (groups key by key, dotted keys) into
# config.json, the validator's verdict, and the file written (read back after every request).
import json

import commands
import reconfigure
from checks import canon


def card_config():
    try:
        with open("config.json") as f:
            return json.loads(f.read())
    except OSError:
        return None


def run(inputs):
    out = {"merge": [], "set": []}
    for base, changes in inputs["merges"]:
        out["merge"].append(reconfigure._merge(base, changes))
    ctx = {"config_file": "config.json"}
    for payload in inputs["requests"]:
        try:
            got = ["ok", reconfigure.set_config(ctx, payload.encode())]
        except commands.Refused as e:
            got = ["refused", e.code, e.detail]
        out["set"].append([canon(got), canon(card_config())])
    return out
