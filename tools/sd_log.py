"""The firmware's SD card log (firmware/sdlog.py) read on the PC: decision rows, typed.

Used by the virtual board (rows as they are written) and by `maskgate device-report` (a
folder pulled with `maskgate pull`). The columns are the firmware's own (sdlog.COLUMNS).
"""
from __future__ import annotations

import csv
from pathlib import Path

from maskgate.firmware import module

CSV_GLOB = "[0-9]*/[0-9][0-9].csv"  # firmware/sdlog.py: GGGG/SS.csv is segment 100 * GGGG + SS


def segment_files(folder) -> list[tuple[str, Path]]:
    """(session, path) of every decision CSV in a log folder, oldest first; the session is
    the segment number as five digits (one per boot, and a new one every max_rows rows)."""
    sdlog = module("sdlog")
    found = []
    for path in Path(folder).glob(CSV_GLOB):
        n = sdlog.segment_number(f"{path.parent.name}/{path.name}")
        if n >= 0:
            found.append((n, path))
    return [(f"{n:05d}", path) for n, path in sorted(found)]


def typed_row(row: dict) -> dict:
    """One CSV row (text cells by column name) -> numbers, face box tuple, None for empty."""
    def num(text, kind=float):
        return kind(text) if text not in ("", None) else None

    face = None
    if row.get("face_w"):
        face = tuple(int(row[k]) for k in ("face_x", "face_y", "face_w", "face_h"))
    return {
        "time_ms": int(row["time_ms"]), "frame": int(row["frame"]), "face": face,
        "prob": num(row["prob"]), "label": row["label"], "door": row["door"],
        "ms": {k: num(row[f"{k}_ms"]) for k in ("capture", "detect", "resize", "infer", "log")},
        "fps": num(row["fps"]), "crop": row.get("crop") or None,
    }


def read_folder(folder) -> list[dict]:
    """Every decision row of a log folder, oldest first, each with its "session" (the CSV
    file's number: one per boot, and a new one every max_rows rows). A last row cut short
    (the card was pulled while a row was written) is skipped."""
    rows = []
    columns = list(module("sdlog").COLUMNS)
    for session, path in segment_files(folder):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header != columns:
                continue
            for cells in reader:
                if len(cells) != len(columns):
                    continue
                try:
                    row = typed_row(dict(zip(columns, cells)))
                except ValueError:
                    continue
                row["session"] = session
                rows.append(row)
    return rows
