# SET_CONFIG: change config.json over the serial link.
#
#   SET_CONFIG {"set": {"door": {"k": 2}, "log.crops": "all"}, "replace": false}
#       -> {"config": the complete checked config, "restart": true}
#
# The changes are merged into the card's config.json (groups key by key, dotted keys for one
# setting), checked with the same validator the boot uses, and written under a temporary name
# then renamed, so a power cut never leaves half a config. "replace": true writes "set" as the
# whole file. The running loop keeps its settings until the next reset (RESET).

import json

import config
import files
import frame
from commands import Refused


def _merge(base, changes):
    for key in changes:
        value = changes[key]
        node = base
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        last = parts[-1]
        if isinstance(value, dict) and isinstance(node.get(last), dict):
            _merge(node[last], value)
        else:
            node[last] = value
    return base


def set_config(ctx, payload):
    req = files.request(payload)
    changes = req.get("set")
    if not isinstance(changes, dict):
        raise Refused(frame.E_BAD_PAYLOAD, "SET_CONFIG takes {\"set\": {key: value, ...}}")
    path = ctx.get("config_file", "config.json")
    if req.get("replace"):
        given = _merge({}, changes)
    else:
        try:
            given = config.read(path)
        except config.ConfigError:
            given = {}
        given = _merge(given, changes)
    try:
        cfg = config.validate(given)
    except config.ConfigError as e:
        raise Refused(frame.E_BAD_PAYLOAD, str(e))
    files.write_atomic(path, json.dumps(cfg).encode())
    return {"config": cfg, "restart": True}
