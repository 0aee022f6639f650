"""The face-box annotations of real photos that the detector trains on (datasets/face_boxes.csv).

Made once by the teacher (maskgate.detector.teacher, a BlazeFace .tflite the user gives):

    maskgate data face-boxes --teacher blazeface_front_128.tflite --data ../shared/datasets \\
        --out datasets/face_boxes.csv

One row per picture: its path under the datasets folder, its size, and every box the teacher
gave at or above LABEL_THRESHOLD as `x,y,w,h,score` joined by `;` (picture pixels). Training
takes boxes at or above FACE_SCORE as faces and the weaker ones as "do not care" (neither face
nor background: a face the teacher was unsure of must not be taught as background). No pixels
are kept, only coordinates.

The teacher's box is tighter than the face pictures the door's classifier knows (face-mask-12k's
crops, forehead to chin): `face_square` grows it by FACE_SCALE, measured on the 12K Test crops
(BlazeFace box side vs the whole crop: median 1.05 bare, 1.24 masked) and moves it up a little.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from maskgate import atomic
from maskgate.errors import DataError

SOURCES = ("face-mask-chandrikadeb7", "face-mask-rwmfd")
COLUMNS = ("path", "width", "height", "boxes")
LABEL_THRESHOLD = 0.3  # boxes kept in the file
FACE_SCORE = 0.5  # a box this sure is a face; weaker ones are "do not care"
FACE_SCALE = 1.15  # teacher box side -> face picture side
FACE_RAISE = 0.025  # the face picture's centre sits this share of its side above the box's


def source_files(datasets: Path, source: str) -> list[Path]:
    folder = Path(datasets) / source
    if not folder.is_dir():
        raise DataError(f"{folder}: no such dataset folder")
    return sorted(p for p in folder.rglob("*.jpg"))


def label(datasets, teacher, sources=SOURCES, progress=None) -> list[dict]:
    """Rows of the annotations file for every picture of `sources` (teacher: a BlazeFace)."""
    from maskgate.data.images import ImageError, read_rgb

    datasets = Path(datasets)
    rows = []
    for source in sources:
        files = source_files(datasets, source)
        for i, path in enumerate(files):
            try:
                rgb = read_rgb(path)
            except ImageError:
                continue
            boxes = teacher.find(rgb)
            rows.append({"path": path.relative_to(datasets).as_posix(), "width": rgb.shape[1], "height": rgb.shape[0],
                         "boxes": ";".join(",".join(str(v) for v in b) for b in boxes)})
            if progress and (i + 1) % 200 == 0:
                progress(f"{source}: {i + 1}/{len(files)} pictures")
    return rows


def write(path, rows, command: str) -> Path:
    """The CSV, its first line a comment naming the command that made it."""
    buf = io.StringIO()
    buf.write(f"# made by: {command}\n")
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return atomic.write_text(path, buf.getvalue())


def parse_boxes(text: str) -> list[tuple[float, float, float, float, float]]:
    out = []
    for part in filter(None, text.split(";")):
        x, y, w, h, s = (float(v) for v in part.split(","))
        out.append((x, y, w, h, s))
    return out


def read(path) -> dict[str, dict]:
    """path -> {"size": (w, h), "boxes": [(x, y, w, h, score), ...]} from an annotations file."""
    path = Path(path)
    try:
        lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    except OSError as e:
        raise DataError(f"{path}: cannot read the face-box annotations ({e.strerror})") from None
    out = {}
    for row in csv.DictReader(lines):
        try:
            out[row["path"]] = {"size": (int(row["width"]), int(row["height"])), "boxes": parse_boxes(row["boxes"])}
        except (KeyError, ValueError, TypeError):
            raise DataError(f"{path}: bad row {row}") from None
    return out


def default_file() -> Path:
    from importlib import resources

    return Path(str(resources.files("maskgate.datasets") / "face_boxes.csv"))


def face_square(box) -> tuple[float, float, float, float]:
    """A teacher box (x, y, w, h, ...) -> the face picture square (x, y, side, side), the
    framing the door's classifier and detector know."""
    x, y, w, h = box[:4]
    side = max(w, h) * FACE_SCALE
    cx, cy = x + w / 2.0, y + h / 2.0 - FACE_RAISE * side
    return (cx - side / 2.0, cy - side / 2.0, side, side)
