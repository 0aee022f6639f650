"""The dataset manifest: one CSV row per kept picture (columns fixed by the interfaces)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from maskgate import atomic
from maskgate.errors import DataError, printable

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
                where = f"{printable(path)}, line {reader.line_num}"
                if None in row or None in row.values():
                    fields = (len(reader.fieldnames) - sum(v is None for k, v in row.items() if k is not None)
                              + len(row.get(None) or ()))
                    raise DataError(f"{where}: {fields} fields where the header has {len(reader.fieldnames)} "
                                    "(a damaged manifest)")
                try:
                    row["width"], row["height"] = int(row["width"]), int(row["height"])
                    row["face"] = parse_face(row["face"])
                except ValueError as e:
                    raise DataError(f"{where}: damaged manifest row ({e})") from e
                if not row["path"]:
                    raise DataError(f"{where}: damaged manifest row (no path)")
                rows.append(row)
    except OSError as e:
        raise DataError(f"{printable(path)}: cannot read the manifest ({e.strerror or e})") from e
    except (ValueError, csv.Error) as e:  # not UTF-8, a NUL byte, a field over csv's limit
        raise DataError(f"{printable(path)}: damaged manifest ({e})") from e
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
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        raise DataError(f"{printable(path)}: cannot read ({e.strerror or e})") from e
    except (ValueError, csv.Error) as e:
        raise DataError(f"{printable(path)}: damaged CSV ({e})") from e


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


def check_for_training(path, labels) -> list[dict]:
    """The manifest's rows, refused (DataError naming the manifest and the rows) where training
    would otherwise drop rows without a word: a label that is no contract label, a picture
    that is not there, a train or val split holding fewer than all of `labels`."""
    from maskgate import contract

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{printable(path)}: cannot read the manifest (no such file; make one with `maskgate data import`)")
    rows = read_manifest(path)
    unknown = sorted({r["label"] for r in rows} - set(contract.LABELS_THREE))
    if unknown:
        count = sum(r["label"] in unknown for r in rows)
        raise DataError(f"{printable(path)}: {count} rows with labels that are no class of the contract "
                        f"({', '.join(map(repr, unknown[:5]))}; known: {', '.join(contract.LABELS_THREE)})")
    odd = sorted({r["split"] for r in rows} - set(SPLITS))
    if odd:
        raise DataError(f"{printable(path)}: rows with split {', '.join(map(repr, odd[:5]))}; "
                        f"a split is one of {', '.join(SPLITS)}")
    used = [r for r in rows if r["label"] in labels and r["split"] in ("train", "val")]
    missing = [r["path"] for r in used if not Path(r["path"]).is_file()]
    if missing:
        raise DataError(f"{printable(path)}: {len(missing)} pictures it lists are missing, e.g. "
                        f"{printable(missing[0])} (import again)")
    for split in ("train",):  # val only picks the checkpoint: a small one may lack a class
        present = {r["label"] for r in used if r["split"] == split}
        absent = [label for label in labels if label not in present]
        if absent:
            raise DataError(f"{printable(path)}: the {split} split has no {', '.join(absent)} pictures; a model of "
                            f"{', '.join(labels)} cannot be trained on it (one class is not a classifier)")
    return rows
