# The door state machine (firmware/door.py) on scripted and random frame sequences, and its
# ticks_diff against the interpreter's own time.ticks_diff. MicroPython and CPython alike.
import time

import door


def feed(d, frames):
    # frames: [now_ms, P(mask) or None or "err"], one per frame
    out = []
    for now, p in frames:
        state = d.fail(now) if p == "err" else d.update(now, p)
        out.append([state, d.signal, d.streak, d.masked, d.changed, d.remaining_ms(now)])
    return out


def run(inputs):
    out = {"sequences": [], "refused": [], "ticks_diff": []}
    for case in inputs["sequences"]:
        k, hold_ms, threshold, hysteresis = case["door"]
        out["sequences"].append(feed(door.Door(k, hold_ms, threshold, hysteresis), case["frames"]))
    for args in inputs["refused"]:
        try:
            door.Door(*args)
            out["refused"].append("accepted")
        except ValueError as e:
            out["refused"].append(str(e))
    same = True
    for a, b in inputs["ticks"]:
        got = door.ticks_diff(a, b)
        out["ticks_diff"].append(got)
        same = same and got == time.ticks_diff(a, b)
    out["matches_time_ticks_diff"] = same
    return out
