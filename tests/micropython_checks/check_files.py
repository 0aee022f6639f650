# The card over the serial link (firmware/files.py): which paths are refused and why, then
# PUT, STAT (with sha256), GET, LIST (paged), RENAME, DELETE, write_atomic on the interpreter's
# own `os` in a folder, and bad requests; every reply or refusal as the PC would get it.
import json
import os

import commands
import files
import frame
from checks import hx, unhex


def call(fn, payload):
    try:
        reply = fn({}, payload)
        if isinstance(reply, dict):
            return ["ok", reply]
        return ["bytes", hx(reply)]
    except commands.Refused as e:
        return ["refused", e.code, e.detail]


def req(**kw):
    return json.dumps(kw).encode()


def run(inputs):
    out = {"card_path": [], "ops": [], "requests": []}
    for p in inputs["paths"]:
        try:
            out["card_path"].append(["ok", files.card_path(p)])
        except commands.Refused as e:
            out["card_path"].append([e.code, e.detail])
    os.mkdir("card")
    os.chdir("card")
    for op in inputs["ops"]:
        name = op[0]
        if name == "put":
            payload = frame.with_data({"p": op[1], "o": op[2]}, unhex(op[3]))
            out["ops"].append(call(files.put, payload))
        elif name == "raw":
            out["ops"].append(call(getattr(files, op[1]), unhex(op[2])))
        else:
            out["ops"].append(call(getattr(files, name), req(**op[1])))
    files.write_atomic("deep/er/atomic.bin", b"\x00\x01" * 10)
    files.write_atomic("deep/er/atomic.bin", b"again")
    out["atomic"] = call(files.get, req(p="deep/er/atomic.bin"))
    out["after"] = call(files.list_dir, req(p="deep/er"))
    for text in inputs["requests"]:
        try:
            out["requests"].append(["ok", files.request(unhex(text))])
        except commands.Refused as e:
            out["requests"].append([e.code, e.detail])
    out["ints"] = []
    for value in inputs["ints"]:
        try:
            out["ints"].append(files._int({"n": value}, "n", 1, 64, 5))
        except commands.Refused as e:
            out["ints"].append(e.detail)
    out["sha256"] = [files.sha256_hex(unhex(t)) for t in inputs["blobs"]]
    os.chdir("..")
    return out
