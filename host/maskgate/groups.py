"""Groups of people as a dataset's published file names say, and the door's false opens per group.

UTKFace names each picture AGE_GENDER_RACE_DATE.jpg.chip.jpg (gender 0 male, 1 female; race
0 White, 1 Black, 2 Asian, 3 Indian, 4 Others). A few published names have only three fields;
which of gender or race is missing cannot be told from the name, so such a picture keeps its
age and is counted under "not in the name" for both, and listed by name: never guessed.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from maskgate import door_metrics

UTKFACE_NAME = re.compile(r"^(?P<fields>\d+(?:_\d+){2,3})\.jpg\.chip\.jpg$")
RACES = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}
GENDERS = {0: "male", 1: "female"}
AGE_BANDS = ((0, 12, "0–12"), (13, 19, "13–19"), (20, 39, "20–39"), (40, 59, "40–59"), (60, None, "60+"))
UNKNOWN = "not in the name"
# a source is read as UTKFace-named when at least this share of its file names parse
UTKFACE_SHARE = 0.95


def age_band(age: int) -> str:
    for low, high, name in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return name
    raise ValueError(f"age {age}")


def utkface_fields(name: str) -> dict | None:
    """{"age", "age_band", "gender", "race"} from a UTKFace file name (UNKNOWN for a field the
    name does not give), or None when the name is not in UTKFace's form."""
    match = UTKFACE_NAME.match(name)
    if not match:
        return None
    parts = [int(p) for p in match["fields"].split("_")]
    age = parts[0]
    gender = race = UNKNOWN
    if len(parts) == 4:  # AGE_GENDER_RACE_DATE
        gender = GENDERS.get(parts[1], UNKNOWN)
        race = RACES.get(parts[2], UNKNOWN)
    return {"age": age, "age_band": age_band(age), "gender": gender, "race": race}


def is_utkface_named(paths) -> bool:
    names = [Path(p).name for p in paths]
    return bool(names) and sum(utkface_fields(n) is not None for n in names) >= UTKFACE_SHARE * len(names)


def false_opens_by_group(paths, labels, p_mask, threshold: float, found=None) -> dict:
    """False opens per race, gender and age band of the faces without a mask.

    -> {"race"|"gender"|"age_band": {group: rate}, "incomplete_names": [names lacking a field],
        "unparsed_names": [...], "smallest": {"by", "group", ...rate}, "largest_rate": {...}}"""
    names = [Path(p).name for p in paths]
    bare = ~door_metrics.is_masked(labels)
    reads = door_metrics.reads_mask(p_mask, threshold, found)
    fields = [utkface_fields(n) for n in names]
    out = {"incomplete_names": sorted(n for n, f, b in zip(names, fields, bare) if b and f and UNKNOWN in f.values()),
           "unparsed_names": sorted(n for n, f, b in zip(names, fields, bare) if b and f is None)}
    for key in ("race", "gender", "age_band"):
        groups = np.array([f[key] if f else UNKNOWN for f in fields], dtype=object)
        table = {}
        order = _order(key)
        for group in sorted(set(groups[bare].tolist()), key=lambda g: order.get(g, len(order))):
            sel = bare & (groups == group)
            table[group] = door_metrics.rate(int((reads & sel).sum()), int(sel.sum()))
        out[key] = table
    named = [(key, group, r) for key in ("race", "gender", "age_band")
             for group, r in out[key].items() if group != UNKNOWN]
    if named:
        key, group, r = min(named, key=lambda t: t[2]["of"])
        out["smallest"] = {"by": key, "group": group, **r}
        key, group, r = max(named, key=lambda t: (t[2]["rate"], -t[2]["of"]))
        out["largest_rate"] = {"by": key, "group": group, **r}
    return out


def _order(key: str) -> dict:
    names = {"race": list(RACES.values()), "gender": list(GENDERS.values()),
             "age_band": [b[2] for b in AGE_BANDS]}[key]
    return {name: i for i, name in enumerate(names)}
