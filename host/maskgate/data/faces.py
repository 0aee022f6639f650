"""Frontal face boxes with OpenCV's Haar cascade (the cascade the camera runs), eye cues for
face geometry, and `maskgate data faces`: a dataset folder -> a folder of face crops.

Why these detector settings. The firmware (firmware/face.py, settings from config.json,
defaults in firmware/config.py) calls
`gray.find_features(image.HaarCascade("frontalface", stages=25), threshold=0.5, scale_factor=1.25)`
on a grayscale copy of the frame. OpenMV's built-in "frontalface" is OpenCV's
haarcascade_frontalface_default (24 x 24 window, 25 stages), so the host loads that file
(contract.HAAR_CASCADE). OpenMV scans an image pyramid in steps of `scale_factor` and keeps
every window that passes all stages with each stage threshold multiplied by `threshold` (the
trained thresholds are negative, so 0.5 is stricter than the cascade as trained), then merges
overlapping windows. OpenCV cannot scale stage thresholds; the nearest practical match is the
same pyramid step (scaleFactor = the firmware's haar_scale_factor), the window as the smallest
face (24 px), and minNeighbors = round(6 x threshold) = 3 (a face needs four overlapping
windows) standing in for the stricter stages -- the mapping the virtual board
(tools/virtualboard/image.py) uses too, so host crops, the virtual board and the camera agree
on which faces exist; tests hold these equal to the firmware defaults and to the virtual
board. Measured on 150 pictures per class with these settings: a face is found in 87 % of
face-mask-12k bare faces and 55 % of face-mask-chandrikadeb7 bare faces, but only in 27 %
and 8 % of the masked ones (frontal cascades rely on nose and mouth), and never in blurred
noise. What this detector misses the camera misses too; the contract then uses the centred
square. The firmware's eye fallback (config eye_fallback: no frontal face -> a face placed
from an eye pair) is `find_face_or_eyes`, with the firmware's own face_from_eyes.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from maskgate import atomic, contract
from maskgate.data.manifest import write_csv
from maskgate.errors import DataError
from maskgate.firmware import module as _firmware_module

_fw_face = _firmware_module("face")  # eye geometry and face_from_eyes are written once, there

# The firmware's find_features arguments (firmware/config.py DEFAULTS haar_*), mirrored below.
OPENMV_THRESHOLD = 0.5
OPENMV_SCALE_FACTOR = 1.25
OPENMV_STAGES = 25
SCALE_FACTOR = OPENMV_SCALE_FACTOR


def neighbours_for(threshold: float) -> int:
    """OpenCV minNeighbors standing in for OpenMV's stage-threshold factor."""
    return max(1, int(round(threshold * 6)))


MIN_NEIGHBORS = neighbours_for(OPENMV_THRESHOLD)
MIN_FACE = 24  # the cascade's window: OpenMV never reports a smaller face

EYE_CASCADE = "haarcascade_eye.xml"  # OpenMV has the same cascade built in ("eye")
EYE_WINDOW = 20  # that cascade's window: the smallest eye it reports

_cascades: dict[str, cv2.CascadeClassifier] = {}


def _classifier(name: str = contract.HAAR_CASCADE) -> cv2.CascadeClassifier:
    # One classifier per process: OpenCV's cascade must not be shared between threads, and
    # the importer calls find_faces from one thread only.
    if name not in _cascades:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {name}")
        _cascades[name] = cascade
    return _cascades[name]


def _grey(rgb: np.ndarray) -> np.ndarray:
    rgb = np.ascontiguousarray(rgb)
    return rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def find_faces(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes (x, y, w, h) in an RGB (or grey) picture, largest first."""
    boxes = _classifier().detectMultiScale(
        _grey(rgb), scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(MIN_FACE, MIN_FACE)
    )
    found = [tuple(int(v) for v in box) for box in boxes]
    return sorted(found, key=lambda b: (-b[2] * b[3], b[1], b[0]))


# ---------------------------------------------------------------- eyes
# Where the eyes sit in a Haar frontal-face box, as fractions of its side (measured on the
# CelebA faces of face-mask-12k): used to pick the right pair and when no pair is found, and
# by the firmware to place a face from an eye pair (defined in firmware/face.py).
EYE_Y = _fw_face.EYE_Y
EYE_X = _fw_face.EYE_X


def find_face_or_eyes(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """find_faces, or when it finds none the face the firmware's eye fallback places from an
    eye pair (firmware/face.py face_from_eyes, same cascade settings as find_faces): [] or
    [box]. Masks hide the nose and mouth the frontal cascade needs; the eyes stay visible."""
    found = find_faces(rgb)
    if found:
        return found
    grey = _grey(rgb)
    eyes = _classifier(EYE_CASCADE).detectMultiScale(
        grey, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(EYE_WINDOW, EYE_WINDOW))
    box = _fw_face.face_from_eyes([tuple(int(v) for v in e) for e in eyes], grey.shape[1], grey.shape[0])
    return [box] if box is not None else []


def find_eyes(rgb: np.ndarray, box=None) -> list[tuple[int, int, int, int]]:
    """Eye boxes (x, y, w, h) in picture coordinates, searched in the upper part of the face
    `box` (or of the whole picture when box is None, for tight face crops)."""
    grey = _grey(rgb)
    height, width = grey.shape[:2]
    x, y, w, h = box if box is not None else (0, 0, width, height)
    top, bottom = max(0, y), min(height, y + int(round(h * 0.65)))
    left, right = max(0, x), min(width, x + w)
    region = grey[top:bottom, left:right]
    if region.shape[0] < 8 or region.shape[1] < 16:
        return []
    side = min(w, h)
    eyes = _classifier(EYE_CASCADE).detectMultiScale(
        region, scaleFactor=1.1, minNeighbors=3,
        minSize=(max(6, side // 10),) * 2, maxSize=(max(8, side // 2),) * 2,
    )
    return [(int(ex) + left, int(ey) + top, int(ew), int(eh)) for ex, ey, ew, eh in eyes]


def eye_pair(eyes, box) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The (left, right) eye centres that best fit a face box, or None when no pair is
    plausible (eyes side by side, 25-70 % of the box apart, level within 22 degrees,
    similar sizes, both in the upper part)."""
    x, y, w, h = box
    expected = [(x + EYE_X[0] * w, y + EYE_Y * h), (x + EYE_X[1] * w, y + EYE_Y * h)]
    centres = [(ex + ew / 2.0, ey + eh / 2.0, ew) for ex, ey, ew, eh in eyes]
    best, best_cost = None, None
    for i, a in enumerate(centres):
        for b in centres[i + 1:]:
            left, right = (a, b) if a[0] < b[0] else (b, a)
            dx, dy = right[0] - left[0], right[1] - left[1]
            if not (0.25 * w <= dx <= 0.7 * w) or abs(dy) > _fw_face.EYE_MAX_TILT * dx:
                continue
            if max(left[2], right[2]) > _fw_face.EYE_MAX_SIZE_RATIO * min(left[2], right[2]):
                continue
            if max(left[1], right[1]) > y + 0.6 * h:
                continue
            cost = sum(np.hypot(p[0] - q[0], p[1] - q[1]) for p, q in zip((left, right), expected))
            if best_cost is None or cost < best_cost:
                best, best_cost = ((left[0], left[1]), (right[0], right[1])), cost
    return best


def box_eyes(box) -> tuple[tuple[float, float], tuple[float, float]]:
    """Eye centres guessed from face-box proportions (when the eye cascade finds no pair)."""
    x, y, w, h = box
    return (x + EYE_X[0] * w, y + EYE_Y * h), (x + EYE_X[1] * w, y + EYE_Y * h)


# ---------------------------------------------------------------- `maskgate data faces`
CSV_COLUMNS = ("path", "label", "split", "status", "faces", "boxes", "square", "crop")
STATUSES = ("cropped", "no_face", "several_faces", "unreadable")
SEVERAL = ("skip", "all")
LIST_LIMIT = 30


@dataclass
class FacesResult:
    out_dir: Path
    layout: str
    rows: list[dict] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    def crops(self) -> int:
        return sum(len(r["crop"].split(";")) for r in self.rows if r["crop"])


def crop_faces(src, out_dir, label_map: dict | None = None, several: str = "skip", max_side: int = 256,
               progress: bool = True) -> FacesResult:
    """Crop every face of a dataset folder (any layout the importer reads) into OUT_DIR.

    Each face box becomes contract.face_square (FACE_MARGIN, square, kept inside the picture)
    and is written as OUT_DIR/[split/]label/NAME.jpg (at most `max_side` pixels), a layout the
    importer reads. Pictures with no face are listed, not guessed; pictures with several faces
    are listed and skipped (`several="skip"`) or give one crop per face (`several="all"`).
    OUT_DIR/faces.csv keeps every picture's boxes and OUT_DIR/faces-report.md the summary.
    """
    from .images import ImageError, read_rgb
    from .layouts import detect_layout

    if several not in SEVERAL:
        raise DataError(f"--several must be one of {', '.join(SEVERAL)}, not {several!r}")
    out_dir = Path(out_dir)
    layout = detect_layout(src, label_map)
    if out_dir.resolve() == layout.root.resolve() or layout.root.resolve() in out_dir.resolve().parents:
        raise DataError(f"{out_dir}: write the crops outside the source folder {layout.root}")
    result = FacesResult(out_dir, layout.name)
    used_names: set[str] = set()
    entries = layout.entries
    if progress:
        from maskgate.progress import progress_bar

        bar = progress_bar()
        bar.start()
        entries = bar.track(entries, description="finding faces")
    try:
        for entry in entries:
            row = {"path": str(entry.path.absolute()), "label": entry.label, "split": entry.split or "",
                   "status": "", "faces": 0, "boxes": "", "square": "", "crop": ""}
            result.rows.append(row)
            try:
                rgb = read_rgb(entry.path)
            except ImageError as e:
                row["status"] = "unreadable"
                row["boxes"] = e.reason
                continue
            boxes = find_faces(rgb)
            row["faces"] = len(boxes)
            row["boxes"] = ";".join(",".join(str(v) for v in b) for b in boxes)
            if not boxes:
                row["status"] = "no_face"
                continue
            if len(boxes) > 1 and several == "skip":
                row["status"] = "several_faces"
                continue
            row["status"] = "cropped" if len(boxes) == 1 else "several_faces"
            height, width = rgb.shape[:2]
            squares, crops = [], []
            for i, box in enumerate(boxes):
                square = contract.face_square(box, width, height)
                face = contract.crop(rgb, square)
                if face.shape[0] > max_side:
                    face = cv2.resize(face, (max_side, max_side), interpolation=cv2.INTER_AREA)
                name = _crop_name(entry, layout.root, i if len(boxes) > 1 else None, used_names)
                target = out_dir / (entry.split or "") / entry.label / name
                _write_jpeg(target, face)
                squares.append(",".join(str(v) for v in square))
                crops.append(str(target.absolute()))
            row["square"], row["crop"] = ";".join(squares), ";".join(crops)
    finally:
        if progress:
            bar.stop()
    _write_labels(out_dir, result)
    write_csv(out_dir / "faces.csv", CSV_COLUMNS, result.rows)
    atomic.write_text(out_dir / "faces-report.md", faces_report(result, src))
    return result


def _crop_name(entry, root: Path, face_index, used: set) -> str:
    # The path under the class folder, flattened, so files in sub-folders cannot collide.
    try:
        rel = entry.path.relative_to(root)
    except ValueError:
        rel = Path(entry.path.name)
    stem = "__".join(rel.with_suffix("").parts[-3:])
    if face_index is not None:
        stem += f"__face{face_index + 1}"
    name, n = f"{stem}.jpg", 1
    key = f"{entry.split}/{entry.label}/{name}"
    while key in used:
        n += 1
        name = f"{stem}_{n}.jpg"
        key = f"{entry.split}/{entry.label}/{name}"
    used.add(key)
    return name


def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise DataError(f"{path}: cannot encode the crop")
    atomic.write_bytes(path, data.tobytes())


def _write_labels(out_dir: Path, result: FacesResult) -> None:
    labels = [lab for lab in contract.LABELS_THREE if any(r["label"] == lab and r["crop"] for r in result.rows)]
    if labels:
        atomic.write_text(out_dir / "labels.txt", "\n".join(labels) + "\n")


def detector_settings() -> str:
    return (f"OpenCV {cv2.__version__} `{contract.HAAR_CASCADE}`, scaleFactor {SCALE_FACTOR}, "
            f"minNeighbors {MIN_NEIGHBORS}, minSize {MIN_FACE} px, on grayscale (mirrors OpenMV "
            f"find_features threshold {OPENMV_THRESHOLD}, scale_factor {OPENMV_SCALE_FACTOR}, "
            f"{OPENMV_STAGES} stages); crop: face box grown by {contract.FACE_MARGIN} per side, square")


def faces_report(result: FacesResult, src) -> str:
    lines = ["# Face crops", "", f"Source `{src}` ({result.layout} layout) -> `{result.out_dir}`.", "",
             f"Detector: {detector_settings()}.", "",
             "| label | pictures | one face (cropped) | no face | several faces | unreadable |",
             "|---|---:|---:|---:|---:|---:|"]
    by_label: dict[str, Counter] = {}
    for r in result.rows:
        by_label.setdefault(r["label"], Counter())[r["status"]] += 1
    for label, c in by_label.items():
        lines.append(f"| {label} | {sum(c.values())} | {c['cropped']} | {c['no_face']} | "
                     f"{c['several_faces']} | {c['unreadable']} |")
    lines += ["", f"{result.crops()} crops written. Pictures with no face are not guessed: the camera "
              "would not find one either and would classify the centred square.", ""]
    for status, title in (("no_face", "No face found"), ("several_faces", "Several faces found"),
                          ("unreadable", "Unreadable")):
        items = [r for r in result.rows if r["status"] == status]
        lines += [f"## {title}: {len(items)}", ""]
        for r in items[:LIST_LIMIT]:
            extra = f" boxes {r['boxes']}" if status == "several_faces" else ""
            lines.append(f"- `{r['path']}` ({r['label']}){extra}")
        if len(items) > LIST_LIMIT:
            lines.append(f"- ... and {len(items) - LIST_LIMIT} more (all in faces.csv)")
        lines.append("")
    return "\n".join(lines)
