"""Where a build's errors on face-mask-chandrikadeb7 fall, by the groups its file names show
(issue 3 error analysis). The dataset mixes several collections, and one error rate over all of
it hides that the model fails some groups of people far more often than others.

    .venv/bin/python bench/bench_unseen_groups.py runs/build-e45 runs/build-p30

Reads each BUILD's int8 model and the chandrikadeb7 import its evaluation made
(BUILD/eval/imported-face-mask-chandrikadeb7/manifest.csv, pictures as published) and prints,
per group and label, how many pictures the model gets wrong at the contract threshold.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from maskgate import contract
from maskgate.data.arrays import load_split
from maskgate.bundle import INT8_FILE
from maskgate.runtime import LiteModel, decide

IMPORT = "eval/imported-face-mask-chandrikadeb7/manifest.csv"
# chandrikadeb7's own naming: NNN.jpg (its South Asian photos), augmented_image_N.jpg (augmented
# copies of those), 0_0_* / 1_0_* (tight close-ups in the RMFD style), anything else
GROUPS = (("close-up (0_0_*, 1_0_*)", r"^[01]_0_"), ("augmented_image_*", r"^augmented_image"),
          ("NNN.jpg photos", r"^\d+\.jpg$"))


def group_of(name: str) -> str:
    return next((group for group, pattern in GROUPS if re.match(pattern, name)), "other")


def errors_by_group(build: Path) -> tuple[Counter, Counter]:
    labels = list(contract.LABELS_BINARY)
    data = load_split(build / IMPORT, None, labels)
    probs = LiteModel((build / "run" / INT8_FILE).read_bytes()).probabilities(data["x32"])
    wrong = decide(probs, labels, contract.THRESHOLD) != data["y"]
    totals, errors = Counter(), Counter()
    for row, miss in zip(data["rows"], wrong):
        key = (group_of(Path(row["path"]).name), row["label"])
        totals[key] += 1
        errors[key] += int(miss)
    return totals, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("builds", nargs="+", type=Path, help="build folders (maskgate build --out)")
    builds = parser.parse_args().builds
    results = {build: errors_by_group(build) for build in builds}
    keys = sorted(next(iter(results.values()))[0])
    print("| group | label | pictures | " + " | ".join(f"wrong, {b.name}" for b in builds) + " |")
    print("|---|---|---|" + "---|" * len(builds))
    for key in keys:
        total = results[builds[0]][0][key]
        cells = [f"{errors[key]} ({errors[key] / total * 100:.1f} %)" for _, errors in results.values()]
        print(f"| {key[0]} | {key[1]} | {total} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
