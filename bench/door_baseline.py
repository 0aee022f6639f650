"""The door's figures for one model on one page: false opens and false denies per source (as
published and on the door path), false opens per UTKFace group, the operating point, the
leave-one-source-out matrix and the walk-up table, gathered from the outputs of

    maskgate evaluate MODEL DATA... --camera-crop --max-false-open 0.01 --choose-on IMPORT --out EVAL
    maskgate evaluate MODEL DATA... --door --out WALK
    maskgate build --config CONFIG --data DATASETS --out BUILD --loso

    .venv/bin/python bench/door_baseline.py --eval EVAL [--walkup WALK] [--loso BUILD/loso] > page.md
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from maskgate import door_report
from maskgate.door_report import fmt_rate


def per_source_table(metrics: dict) -> list[str]:
    names = [a["name"] for a in metrics["datasets"][0]["door"]["at"]]
    head = " | ".join(f"false opens at {n}" for n in names) + " | " + " | ".join(f"false denies at {n}" for n in names)
    lines = [f"| data | source | face found | {head} |", "|---|---|---|" + "---|" * (2 * len(names))]
    for s in metrics["datasets"]:
        for src in s["door"]["at"][0]["per_source"]:
            rates = [a["per_source"][src] for a in s["door"]["at"]]
            cells = [fmt_rate(r["false_open"]) for r in rates] + [fmt_rate(r["false_deny"]) for r in rates]
            lines.append(f"| {s['name']} | {src} | {fmt_rate(rates[0].get('face_found'))} | " + " | ".join(cells) + " |")
    thresholds = ", ".join(f"{n} {t:g}" for n, t in metrics["door_thresholds"])
    return lines + ["", f"Thresholds: {thresholds}."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, required=True, help="a `maskgate evaluate --out` folder")
    parser.add_argument("--walkup", type=Path, help="a `maskgate evaluate --door --out` folder")
    parser.add_argument("--loso", type=Path, help="BUILD/loso of `maskgate build --loso`")
    args = parser.parse_args()
    metrics = json.loads((args.eval / "metrics.json").read_text())
    lines = [f"Model `{metrics['model']}`. " + door_report.interval_note(), "", "### Per source", ""]
    lines += per_source_table(metrics) + [""]
    for s in metrics["datasets"]:
        for src, g in s["door"]["at"][0]["groups"].items():
            lines += [f"### Per group: {s['name']}", ""] + door_report.group_tables(g, src)
    if metrics.get("operating_point"):
        lines += ["### Operating point", ""] + door_report.operating_point_lines(
            metrics["operating_point"], shipped=metrics.get("operating_point_shipped", True))
    if args.loso:
        from maskgate.loso import markdown

        lines += [markdown(json.loads((args.loso / "loso.json").read_text())).replace("# Leave", "### Leave", 1)]
    if args.walkup:
        from maskgate.walkup import summary

        walk = json.loads((args.walkup / "walkup" / "walkup.json").read_text())
        lines += [line.replace("## Walk-up", "### Walk-up", 1) for line in summary.markdown(walk)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
