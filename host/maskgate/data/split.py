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
    count. Returns Counter {(from_split, to_split): rows moved to keep a group together}.
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
            split = next((s for s in ("test", "val") if have[s] < want[s]), "train")
            have[split] += len(groups[gid])
            for row in groups[gid]:
                row["split"] = split
    return moved


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
