"""The dataset manifest: one CSV row per kept picture (columns fixed by the interfaces)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from maskgate import atomic
from maskgate.errors import DataError

COLUMNS = ("path", "source", "label", "width", "height", "sha256", "phash", "group", "split", "face")
SPLITS = ("train", "val", "test")


def write_manifest(path, rows) -> Path:
    """Write rows (dicts with COLUMNS; face a (x, y, w, h) tuple, "" or None) atomically."""
    return write_csv(path, COLUMNS, ({**row, "face": format_face(row.get("face"))} for row in rows))


def read_manifest(path) -> list[dict]:
    """Rows as dicts: width/height int, face (x, y, w, h) tuple or None, the rest str."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise DataError(f"{path}: not a dataset manifest (missing columns: {', '.join(missing)})")
            rows = []
            for row in reader:
                row["width"], row["height"] = int(row["width"]), int(row["height"])
                row["face"] = parse_face(row["face"])
                rows.append(row)
    except OSError as e:
        raise DataError(f"{path}: cannot read the manifest ({e.strerror or e})") from e
    except ValueError as e:
        raise DataError(f"{path}: damaged manifest ({e})") from e
    return rows


def write_csv(path, columns, rows) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else str(v) for k, v in row.items()})
    return atomic.write_text(path, buf.getvalue())


def read_csv(path) -> list[dict]:
    """Rows of a CSV this package wrote (side files such as faces.csv and synth.csv), as strings."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def format_face(face) -> str:
    if face is None or face == "":
        return ""
    if isinstance(face, str):
        return face
    # whole pixels as integers; a box made from another margin's (contract.equivalent_box) keeps
    # three decimals, enough for face_square to give the square the board judges
    return ",".join(str(int(v)) if float(v).is_integer() else f"{float(v):.3f}" for v in face)


def parse_face(text: str):
    text = (text or "").strip()
    if not text:
        return None
    box = tuple(int(v) if v.strip().lstrip("-").isdigit() else float(v) for v in text.split(","))
    if len(box) != 4:
        raise ValueError(f"face box {text!r} is not x,y,w,h")
    return box
