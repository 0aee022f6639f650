# BENCH (firmware/timings.py): the ring of stage timings and the pages the PC asks for.
import json

import commands
import timings


def run(inputs):
    out = {"pages": [], "refused": []}
    ring = timings.Timings(inputs["size"])
    for row in inputs["rows"]:
        ring.note(*row)
    ctx = {"timings": ring, "status": {"fps": 9.5}, "boot": 4}
    for since, n in inputs["pages"]:
        out["pages"].append(timings.command(ctx, json.dumps({"since": since, "n": n}).encode()))
    for text in inputs["bad"]:
        try:
            timings.command(ctx, text.encode())
            out["refused"].append("accepted")
        except commands.Refused as e:
            out["refused"].append([e.code, e.detail])
    out["empty"] = timings.command({"status": {}}, b"")
    out["since"] = [ring.since(first, limit) for first, limit in inputs["since"]]
    return out
