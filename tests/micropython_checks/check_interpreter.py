# The interpreter facts the firmware is written around (each one is why a firmware line reads
# the way it does): rounding and formatting of exact ties, sort stability, dict order, bool
# and int, calling Exception.__init__, what json.dumps writes, and the ticks arithmetic.
import json


class Refusal(Exception):
    def __init__(self, detail):
        Exception.__init__(self, detail)


def run(inputs):
    out = {}
    out["round_half_even"] = [round(x) for x in (0.5, 1.5, 2.5, -0.5, -1.5, 3.5)]
    out["round_2_digits"] = [round(x, 2) for x in (2.675, 12.345, 0.125, 1.005)]
    out["format_ties"] = ["%.4f" % 0.03125, "%.2f" % 1.125, "%.1f" % 14.25, "%.1f" % 0.25]
    pairs = [(i % 3, i) for i in range(40)]
    pairs.sort(key=lambda p: -p[0])
    out["sort_stable"] = pairs == sorted(pairs, key=lambda p: (-p[0], p[1]))
    keys = {}
    for k in ("schema", "model", "labels", "door", "log", "threshold"):
        keys[k] = 1
    out["dict_keeps_order"] = list(keys) == ["schema", "model", "labels", "door", "log", "threshold"]
    out["bool_is_int"] = isinstance(True, int)
    try:
        Refusal("x")
        out["exception_init_by_name"] = True
    except AttributeError:
        out["exception_init_by_name"] = False
    out["json_non_ascii"] = json.dumps("caf\u00e9")
    out["json_separators"] = json.dumps({"a": [1, 2]})
    out["floor_division"] = [7 // 2, -7 // 2, 7 // -2, -7 % 3, 7 % -3, int(-2.5), int(2.5)]
    return out
