"""Leave one source out (`maskgate build --loso`): the honest "never seen" figure.

For each source in [loso] sources, one build (maskgate.build) imports every source with that one
held out (all of it goes to test, and near-duplicates of it elsewhere follow it there), trains on
the others' train splits with the recipe's [train] settings overridden by [loso] train (a shorter
schedule), picks its operating point on their validation split as [operating_point] says, and
evaluates on the import's test split: the held-out source whole, and the others' test splits.
Sources in [loso] face_stage_sources are scenes: the face stage runs at import, a picture without
a face found keeps the door closed (a false deny) and is not trained on.

OUT/loso/SOURCE/ holds each fold's build; OUT/loso/loso.json and loso.md the matrix: rows are
the held-out source, columns the source evaluated, cells the door's false opens and false denies.
A fold already built with the same settings is kept, so an interrupted run picks up where it
stopped (and a finished one only writes the matrix again).
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from maskgate.atomic import write_json, write_text
from maskgate.door_report import fmt_rate, group_tables, interval_note, pct
from maskgate.errors import DataError

LOSO_DIR = "loso"
RESULT_FILE = "loso.json"
FOLD_FILE = "fold.json"  # the settings a fold was built with: a finished fold is kept when they match


def fold_config(config: dict, held_out: str) -> dict:
    """The build config of the fold that holds `held_out` out."""
    loso = config["loso"]
    fold = copy.deepcopy(config)
    fold["name"] = f"{config.get('name', 'build')}-without-{held_out}"
    fold["data"]["sources"] = list(loso["sources"])
    fold["data"]["holdout_source"] = held_out
    fold["data"]["crop_faces"] = list(loso["face_stage_sources"]) or False
    fold["train"] = {**fold["train"], **loso["train"]}
    fold["evaluate"] = {**fold["evaluate"], "sources": [], "camera_crop": False}  # the held-out source is in test
    return fold


def run_loso(config: dict, out_dir, data_dir=None, quick: bool = False, only=None) -> dict:
    """Every fold (or those named in `only`), one after the other; then the matrix."""
    from maskgate.build import build, console

    sources = config["loso"]["sources"]
    if not sources:
        raise DataError("[loso] sources is empty: name the sources to hold out one at a time")
    folds = [s for s in sources if not only or s in only]
    if only and set(only) - set(sources):
        raise DataError(f"--loso-source {', '.join(sorted(set(only) - set(sources)))} is not in [loso] sources")
    base = Path(out_dir) / LOSO_DIR
    for i, held in enumerate(folds, 1):
        fold = fold_config(config, held)
        recipe = {"config": fold, "quick": quick, "synth_limit": config["loso"]["synth_limit"] or None}
        recipe_path = base / held / FOLD_FILE
        if (base / held / "build.json").exists() and recipe_path.exists():
            if json.loads(recipe_path.read_text()) != json.loads(json.dumps(recipe, default=str)):
                raise DataError(f"{base / held} was built with other settings; move it away to build this fold again")
            console.print(f"fold without {held}: already built in {base / held}, kept")
            continue
        console.rule(f"[bold]leave one source out {i}/{len(folds)}: without {held}")
        started = time.time()
        build(fold, base / held, data_dir, quick, synth_limit=recipe["synth_limit"])
        write_json(recipe_path, recipe)
        console.print(f"fold without {held}: {time.time() - started:.0f} s")
    return write_matrix(config, base, quick)


def write_matrix(config: dict, base: Path, quick: bool = False) -> dict:
    """loso.json and loso.md from the folds that have finished under BASE."""
    sources = config["loso"]["sources"]
    folds = {}
    for held in sources:
        summary_path = base / held / "build.json"
        if not summary_path.exists():
            continue
        summary = json.loads(summary_path.read_text())
        metrics = json.loads((base / held / "eval" / "metrics.json").read_text())
        test = next(s for s in metrics["datasets"] if s["name"].endswith(":test"))
        at = test["door"]["at"][0]
        trained = json.loads((base / held / "run" / "config.json").read_text())
        folds[held] = {
            "threshold": at["threshold"],
            "per_source": at["per_source"],
            "groups": at["groups"].get(held),  # the held-out source's groups (UTKFace), never seen
            "accuracy": {src: ps["int8_accuracy"] for src, ps in test["per_source"].items()},
            "epochs_run": trained.get("epochs_run"),
            "train_images": trained.get("train_images"),
            "operating_point": summary.get("operating_point"),
            "wall_s": summary["timings"]["total_s"],
        }
    if not folds:
        raise DataError(f"no finished fold under {base}")
    result = {
        "sources": sources,
        "face_stage_sources": config["loso"]["face_stage_sources"],
        "schedule": {**config["train"], **config["loso"]["train"], **(config["quick"] if quick else {})},
        "synth_limit": config["loso"]["synth_limit"] or None,
        "quick": quick,
        "config": config.get("path", "(defaults)"),
        "folds": folds,
    }
    write_json(base / RESULT_FILE, result)
    write_text(base / "loso.md", markdown(result))
    return result


def _cell(rates: dict | None) -> str:
    if not rates:
        return "–"
    parts = []
    if rates["false_open"]:
        parts.append("FO " + fmt_rate(rates["false_open"]))
    if rates["false_deny"]:
        parts.append("FD " + fmt_rate(rates["false_deny"]))
    return "<br>".join(parts)


def schedule_line(result: dict) -> str:
    s = result["schedule"]
    bits = [f"{s.get('epochs', '?')} epochs"]
    if s.get("swa_start"):
        bits.append(f"weights averaged from epoch {s['swa_start']}")
    if result["synth_limit"]:
        bits.append(f"synthetic masks on at most {result['synth_limit']:,} faces")
    if result["quick"]:
        bits.append("quick subset")
    return ", ".join(bits)


def markdown(result: dict) -> str:
    sources, folds = result["sources"], result["folds"]
    lines = [
        "# Leave one source out",
        "",
        f"Recipe `{result['config']}` with a shorter schedule for every fold: {schedule_line(result)} "
        "(the shipped build's own schedule is longer, so these are figures for choosing a recipe, not the "
        "shipped model's). Each row is one training without that source; the **bold** cell is the source "
        "it never saw (evaluated whole), the others their own test splits. FO = false opens (bare → mask), "
        "FD = false denies (mask → not let in). " + interval_note(),
        "",
    ]
    if result["face_stage_sources"]:
        lines += [f"Face-stage sources ({', '.join(result['face_stage_sources'])}): the face the face stage finds "
                  "is classified; a picture without one keeps the door closed (a false deny) and is not trained on.", ""]
    lines += ["| held out ↓ / evaluated on → | threshold | " + " | ".join(sources) + " |",
              "|---|---|" + "---|" * len(sources)]
    for held in sources:
        fold = folds.get(held)
        if not fold:
            lines.append(f"| {held} | (not run) |" + " |" * len(sources))
            continue
        cells = []
        for src in sources:
            cell = _cell(fold["per_source"].get(src))
            cells.append(f"**{cell}**" if src == held and cell != "–" else cell)
        lines.append(f"| {held} | {fold['threshold']:g} | " + " | ".join(cells) + " |")
    lines += ["", "Never seen (the diagonal):", "", "| held-out source | false opens | false denies | face found | "
              "trained on | epochs | fold wall time |", "|---|---|---|---|---|---|---|"]
    for held in sources:
        fold = folds.get(held)
        if not fold:
            continue
        r = fold["per_source"].get(held, {})
        found = fmt_rate(r.get("face_found")) if held in result["face_stage_sources"] else "– (no face stage)"
        lines.append(f"| {held} | {fmt_rate(r.get('false_open'))} | {fmt_rate(r.get('false_deny'))} | "
                     f"{found} | {fold['train_images']:,} pictures | {fold['epochs_run']} | "
                     f"{fold['wall_s'] / 60:.1f} min |")
    for held in sources:
        fold = folds.get(held)
        if fold and fold.get("groups"):
            lines += ["", f"Never seen, per group (the fold without {held}):", ""]
            lines += group_tables(fold["groups"], held)
    lines += ["", "int8 accuracy on each fold's test split per source (the threshold above; every picture classified, "
              "a face-stage picture without a face from its centre square):", "",
              "| held out | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
    for held in sources:
        fold = folds.get(held)
        if fold:
            lines.append(f"| {held} | " + " | ".join(pct(fold["accuracy"].get(s)) for s in sources) + " |")
    return "\n".join(lines) + "\n"
