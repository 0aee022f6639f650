"""Train / val / test assignment that never lets a near-duplicate group straddle two splits."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from maskgate.errors import DataError

# When a group's members were given different splits, the whole group goes to the highest:
# a copy of a test picture in train would inflate the test score, the reverse costs nothing.
PRIORITY = {"train": 0, "val": 1, "test": 2}


def assign_splits(
    rows: list[dict],
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    holdout_source: str | None = None,
) -> Counter:
    """Set row["split"] for every row (each needs "group", "source", "label" and
    "publisher_split", None when its source has no split of its own).

    A publisher's split is kept; the holdout source goes to test whole; the other groups are
    shuffled with `seed` per (source, label) and filled into test, val, then train by row
    count: a group goes to test (or val) only when it brings that split nearer its share, so one
    big group (a source page of hundreds of pictures) goes to train instead of swamping val or
    test. Returns Counter {(from_split, to_split): rows moved to keep a group together}.
    """
    check_fractions(val_fraction, test_fraction)
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["group"]].append(row)

    moved: Counter = Counter()
    free: dict[tuple[str, str], list[str]] = defaultdict(list)
    for gid, members in groups.items():
        given = [_given_split(r, holdout_source) for r in members]
        fixed = [s for s in given if s]
        if not fixed:
            free[(members[0]["source"], members[0]["label"])].append(gid)
            continue
        target = max(fixed, key=PRIORITY.__getitem__)
        for row, split in zip(members, given):
            if split and split != target:
                moved[(split, target)] += 1
            row["split"] = target

    rng = np.random.default_rng(seed)
    for stratum in sorted(free):
        gids = sorted(free[stratum])
        rng.shuffle(gids)
        total = sum(len(groups[g]) for g in gids)
        want = {"test": round(test_fraction * total), "val": round(val_fraction * total)}
        have = Counter()
        for gid in gids:
            size = len(groups[gid])
            # nearer its share with the group than without: overshoot at most by what was missing
            split = next((s for s in ("test", "val") if 2 * (want[s] - have[s]) >= size), "train")
            have[split] += size
            for row in groups[gid]:
                row["split"] = split
    return moved


def join_folder_groups(rows: list[dict], key: str = "folder") -> int:
    """Give every row that shares a non-empty row[key] the same group, merged with the
    near-duplicate groups its rows already belong to (transitively), so a split keeps one
    original page, person or session on one side. A merged group takes the id of the group
    that comes first in row order. Returns how many groups were merged away."""
    order: dict[str, int] = {}
    for i, row in enumerate(rows):
        order.setdefault(row["group"], i)
    parent = {gid: gid for gid in order}

    def find(gid: str) -> str:
        while parent[gid] != gid:
            parent[gid] = parent[parent[gid]]
            gid = parent[gid]
        return gid

    first_of: dict[str, str] = {}
    for row in rows:
        if not row.get(key):
            continue
        a, b = find(first_of.setdefault(row[key], row["group"])), find(row["group"])
        if a != b:
            keep, drop = sorted((a, b), key=order.__getitem__)
            parent[drop] = keep
    for row in rows:
        row["group"] = find(row["group"])
    return sum(1 for gid in parent if parent[gid] != gid)


def inherit_from_duplicates(duplicates, holdout_source: str | None = None) -> Counter:
    """Exact duplicates are dropped, but the copy kept takes the highest split any copy was
    given (so a publisher's test set stays whole). `duplicates` are (dropped, kept) pairs.
    Returns Counter {(from_split, to_split): rows} like assign_splits."""
    moved: Counter = Counter()
    for dropped, kept in duplicates:
        a, b = _given_split(kept, holdout_source), _given_split(dropped, holdout_source)
        if b and (a is None or PRIORITY[b] > PRIORITY[a]):
            kept["publisher_split"] = b
            if a:
                moved[(a, b)] += 1
    return moved


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DataError(
            f"val fraction {val_fraction} and test fraction {test_fraction} must each be in [0, 1) "
            "and leave something for training"
        )


def _given_split(row: dict, holdout_source: str | None) -> str | None:
    if holdout_source is not None and row["source"] == holdout_source:
        return "test"
    return row.get("publisher_split")
