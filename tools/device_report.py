"""`maskgate device-report DIR [--labels CSV]`: on-device accuracy from a pulled SD log, and
how often the PC's int8 model agrees with the camera on the crops the camera saved.

DIR is a `maskgate pull` folder: config.json (labels, threshold, model sha256), the model,
log/NNNNN.csv (one row per decision, one file per boot) and log/NNNNN_FFFFFF.jpg crops.

--labels CSV says what was really in front of the camera, per session:
    session,label[,first_frame,last_frame]
    00003,mask
    00004,no_mask,0,120
(session: the CSV file's number; frames: the firmware's frame numbers, inclusive). Decisions
in labelled sessions give accuracy per class and a confusion matrix (true label x what the
board said, "no_face" and "error" included: a frame the board could not judge is counted, not
hidden). Without --labels only the board/PC agreement is reported.

Agreement: each saved crop (the face square the board judged, as JPEG) goes through the
contract's preprocessing (RGB565, centre square = the whole crop, 32x32 area resize) and the
int8 model on the PC (LiteRT builtin kernels, which match TFLite-Micro); the label must be the
board's. The JPEG was made from the same frame after the board's resize, so probabilities
differ a little (compression); labels near the threshold can flip.
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np

from maskgate import atomic, contract
from maskgate.digest import sha256_bytes
from maskgate.markdown import table
from maskgate.errors import DataError

from .sd_log import read_folder

REPORT_JSON = "device-report.json"
REPORT_MD = "device-report.md"
NOT_JUDGED = ("no_face", "error")


def read_labels(path) -> list[dict]:
    rows = []
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            session = (row.get("session") or "").strip().removesuffix(".csv")
            label = (row.get("label") or "").strip()
            if not session or not label:
                raise DataError(f"{path}:{i}: needs session and label (e.g. 00003,mask)")
            first = row.get("first_frame") or ""
            last = row.get("last_frame") or ""
            rows.append({"session": session.zfill(5), "label": label,
                         "first": int(first) if first.strip() else None, "last": int(last) if last.strip() else None})
    return rows


def truth_for(row: dict, labels: list[dict]) -> str | None:
    for item in labels:
        if item["session"] != row["session"]:
            continue
        if item["first"] is not None and row["frame"] < item["first"]:
            continue
        if item["last"] is not None and row["frame"] > item["last"]:
            continue
        return item["label"]
    return None


def accuracy(rows: list[dict], labels_csv, model_labels: list[str]) -> dict:
    truth = read_labels(labels_csv)
    unknown = {t["label"] for t in truth} - set(model_labels)
    if unknown:
        raise DataError(f"{labels_csv}: labels {sorted(unknown)} are not the model's ({model_labels})")
    columns = list(model_labels) + list(NOT_JUDGED)
    matrix = {t: Counter() for t in model_labels}
    for row in rows:
        t = truth_for(row, truth)
        if t is not None:
            matrix[t][row["label"] if row["label"] in columns else "error"] += 1
    per_class = {}
    for t, counts in matrix.items():
        judged = sum(counts[c] for c in model_labels)
        per_class[t] = {"decisions": sum(counts.values()), "judged": judged,
                        "correct": counts[t], "accuracy": round(counts[t] / judged, 4) if judged else None,
                        "not_judged": {c: counts[c] for c in NOT_JUDGED}}
    judged = sum(v["judged"] for v in per_class.values())
    correct = sum(v["correct"] for v in per_class.values())
    return {"columns": columns, "confusion": {t: [matrix[t][c] for c in columns] for t in model_labels},
            "per_class": per_class, "judged": judged,
            "accuracy": round(correct / judged, 4) if judged else None}


def agreement(folder: Path, rows: list[dict], cfg: dict, model_path: Path) -> dict:
    from maskgate.data.images import ImageError, read_rgb
    from maskgate.evaluate import board_agreement
    from maskgate.runtime import LiteModel

    data = model_path.read_bytes()
    sha = sha256_bytes(data)
    log_dir = folder / cfg.get("log", {}).get("dir", "log")
    crops, board = [], []
    for row in rows:
        if row["crop"] and row["prob"] is not None and (log_dir / row["crop"]).is_file():
            try:
                crops.append(contract.prepare(read_rgb(log_dir / row["crop"]), None, camera=True))
                board.append(row)
            except ImageError:
                continue
    out = {"model": str(model_path), "model_sha256": sha,
           "matches_board_config": sha == cfg.get("model_sha256"), "crops": len(crops)}
    if not crops:
        return out
    probs = LiteModel(data).probabilities(np.stack(crops))
    out.update(board_agreement(probs, cfg["labels"], cfg["threshold"],
                               [r["label"] for r in board], [r["prob"] for r in board]))
    return out


def device_report(folder, labels_csv=None, model=None, write: bool = True) -> dict:
    folder = Path(folder)
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise DataError(f"{folder} has no config.json: pull it with `maskgate pull --port P --out {folder}`")
    cfg = json.loads(cfg_path.read_text())
    rows = read_folder(folder / cfg.get("log", {}).get("dir", "log"))
    if not rows:
        raise DataError(f"{folder}: no decision rows in {cfg.get('log', {}).get('dir', 'log')}/*.csv")
    report = {"folder": str(folder), "decisions": len(rows), "sessions": sorted({r["session"] for r in rows}),
              "board_labels": dict(Counter(r["label"] for r in rows)),
              "threshold": cfg.get("threshold"), "model_sha256": cfg.get("model_sha256")}
    if labels_csv:
        report["accuracy"] = accuracy(rows, labels_csv, cfg["labels"])
    model_path = Path(model) if model else folder / cfg.get("model", "")
    if model_path.is_file():
        report["agreement"] = agreement(folder, rows, cfg, model_path)
    else:
        report["agreement"] = {"skipped": f"no model at {model_path} (pass --model PATH.tflite)"}
    if write:
        atomic.write_json(folder / REPORT_JSON, report)
        atomic.write_text(folder / REPORT_MD, markdown(report))
    return report


def markdown(r: dict) -> str:
    lines = ["# On-device report", "", f"{r['decisions']} decisions in {len(r['sessions'])} session(s); "
             f"board labels: {', '.join(f'{k} {v}' for k, v in sorted(r['board_labels'].items()))}.", ""]
    acc = r.get("accuracy")
    if acc:
        lines += ["## Accuracy (labelled sessions)", "",
                  f"Overall: {acc['accuracy']} over {acc['judged']} judged decisions.", "",
                  table(["true \\ board", *acc["columns"], "accuracy"],
                        [[t, *counts, acc["per_class"][t]["accuracy"]] for t, counts in acc["confusion"].items()]),
                  ""]
    ag = r.get("agreement", {})
    lines += ["## Board vs PC int8 model (saved crops)", ""]
    if "skipped" in ag:
        lines.append(ag["skipped"])
    elif not ag.get("crops"):
        lines.append("No saved crops with a probability (log.crops: none?).")
    else:
        lines.append(f"{ag['crops']} crops; labels agree on {ag['label_agreement']:.1%} "
                     f"({ag['disagreements']} differ); |P(board) - P(PC)| mean {ag['prob_abs_diff']['mean']}, "
                     f"max {ag['prob_abs_diff']['max']}. Model {ag['model']} "
                     f"({'the one config.json names' if ag['matches_board_config'] else 'NOT the one config.json names'}).")
    return "\n".join(lines) + "\n"
