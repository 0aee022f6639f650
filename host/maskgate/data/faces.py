"""Faces on the host, found as the camera finds them, eye cues for face geometry, and
`maskgate data faces`: a dataset folder -> a folder of face crops.

The face stage is the camera's own: OpenMV's Haar detector ported to numpy
(maskgate.imlib.haar: haar.c's pyramid, scan step, variance filter and stage thresholds,
rectangle_merge) on OpenMV's frontal-face cascade (OpenCV's haarcascade_frontalface_default,
25 stages, 24 x 24), run the way the firmware runs it: firmware/face.py `find` itself (a
grayscale copy at detect_scale, find_features with the threshold and scale factor, the largest
box mapped back to the frame, the eye fallback), called here on a stand-in of the image API
computed with maskgate.imlib, which the virtual board's `image` module uses too. A picture
is first framed as the camera frames it (maskgate.data.framing: fitted into QVGA, the
firmware's default framesize, as the virtual camera does; RGB565), and the faces found there
are mapped back onto the picture: a dataset picture gets the face the board would find in it.
Settings are the firmware's defaults (firmware/config.py DEFAULTS) unless a `Detector` says
otherwise.

The stage is the one config.json names (face_stage: "haar", "facedet", "haar+facedet"; the
firmware's own FaceStage, firmware/face_stage.py, run around this Haar port and the detector on
the PC, maskgate.detector.stage): `find_face` gives the face the board judges and its margin.

What this detector misses the camera misses too: the door stays closed for that frame; the
importer and evaluation use the centred square instead. `find_eyes` (mask drawing geometry
for synth-masks, not a camera stage) still uses OpenCV's eye cascade with its own settings.
"""
from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from maskgate import atomic, contract
from maskgate.data.framing import QVGA, box_in_picture, fit_frame
from maskgate.data.manifest import format_face, write_csv
from maskgate.errors import DataError
from maskgate.firmware import module as _firmware_module
from maskgate.imlib import color, draw, haar
from maskgate.markdown import table

_fw_face = _firmware_module("face")  # find, frame_box, eye geometry: written once, there
_fw_stage = _firmware_module("face_stage")  # which finder runs when, and each one's margin
_FW_DEFAULTS = _firmware_module("config").DEFAULTS


@dataclass(frozen=True)
class Detector:
    """The firmware's face-stage settings (config.json keys detect_scale, haar_threshold,
    haar_scale_factor, haar_stages, eye_fallback) and the frame size pictures are fitted into."""

    detect_scale: float = _FW_DEFAULTS["detect_scale"]
    threshold: float = _FW_DEFAULTS["haar_threshold"]
    scale_factor: float = _FW_DEFAULTS["haar_scale_factor"]
    stages: int = _FW_DEFAULTS["haar_stages"]
    eye_fallback: bool = _FW_DEFAULTS["eye_fallback"]
    frame: tuple[int, int] = QVGA
    stage: str = _FW_DEFAULTS["face_stage"]  # config.json face_stage
    detector_model: str | None = None  # the detector .tflite (path on the PC) for facedet stages
    detector_threshold: float = _FW_DEFAULTS["detector"]["threshold"]

    @classmethod
    def from_config(cls, cfg: dict, detector_model=None) -> "Detector":
        """The face stage a config.json describes; detector_model: where its detector file is
        on the PC (config.json names it on the card)."""
        det = cfg.get("detector") or {}
        return cls(cfg["detect_scale"], cfg["haar_threshold"], cfg["haar_scale_factor"], cfg["haar_stages"],
                   cfg["eye_fallback"], stage=cfg.get("face_stage", _FW_DEFAULTS["face_stage"]),
                   detector_model=str(detector_model) if detector_model else None,
                   detector_threshold=float(det.get("threshold", _FW_DEFAULTS["detector"]["threshold"])))

    def face_stage(self):
        """The firmware's FaceStage around this PC's Haar port and detector."""
        haar = detect = None
        if _fw_stage.uses_haar(self.stage):
            eyes = cascade("eye", _fw_face.EYE_STAGES) if self.eye_fallback else None
            frontal = cascade("frontalface", self.stages)

            def haar(frame):
                try:
                    return _fw_face.find(frame, frontal, self.detect_scale, self.threshold, self.scale_factor, eyes)
                except OSError:  # smaller than the detector window: the camera raises, no face
                    return None
        if _fw_stage.uses_detector(self.stage):
            if not self.detector_model:
                raise DataError(f"face stage {self.stage} needs the detector model (a facedet .tflite)")
            model = host_detector(self.detector_model)

            def detect(frame):
                return model.find_rgb565(frame.pixels, self.detector_threshold)
        return _fw_stage.FaceStage(self.stage, contract.FACE_MARGIN, haar, detect)


DEFAULT = Detector()


def stage_detector(stage: str = DEFAULT.stage, detector_model=None, threshold: float | None = None) -> Detector:
    """The firmware's default settings with this face stage (a DataError when a detector stage
    has no detector file)."""
    if _fw_stage.uses_detector(stage) and not detector_model:
        raise DataError(f"face stage {stage} needs --detector (the face detector .tflite)")
    return dataclasses.replace(DEFAULT, stage=stage, detector_model=str(detector_model) if detector_model else None,
                               detector_threshold=DEFAULT.detector_threshold if threshold is None else float(threshold))


@functools.lru_cache(maxsize=4)
def host_detector(path: str):
    """The detector .tflite at `path` on LiteRT (maskgate.detector.stage), loaded once."""
    from maskgate.detector.stage import HostDetector

    try:
        return HostDetector(Path(path).read_bytes())
    except OSError as e:
        raise DataError(f"{path}: cannot read the face detector ({e.strerror})") from None


@functools.lru_cache(maxsize=None)
def cascade(name: str, stages: int | None = None) -> haar.Cascade:
    """image.HaarCascade(name, stages=...) of the firmware: "frontalface" or "eye"."""
    return haar.builtin(name).with_stages(stages)


class _Frame:
    """The part of OpenMV's image API firmware/face.py find uses, on RGB565 (uint16) or
    grayscale (uint8) pixels, computed with maskgate.imlib as the virtual board computes it."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels

    def width(self) -> int:
        return self.pixels.shape[1]

    def height(self) -> int:
        return self.pixels.shape[0]

    def to_grayscale(self, x_scale=None, y_scale=None, roi=None, hint=0, **_copy):
        return _Frame(draw.copy(self.pixels, roi, x_scale, y_scale, hint, to_gray=True))

    def find_features(self, cascade, threshold=0.5, scale_factor=None, roi=None, scale=None):
        # `scale` (5.0) and `scale_factor` (4.x) both mean the pyramid step; 1.5 if neither
        step = scale if scale is not None else (scale_factor if scale_factor is not None else 1.5)
        gray = self.pixels if self.pixels.dtype == np.uint8 else color.rgb565_to_y(self.pixels)
        return haar.detect(gray, cascade, threshold, step, roi)


def _framed(picture: np.ndarray, detector: Detector) -> tuple[_Frame, callable]:
    """The picture as the camera's frame, and the map from frame boxes back to the picture."""
    picture = np.ascontiguousarray(picture)
    height, width = picture.shape[:2]
    frame_w, frame_h = detector.frame
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    frame = _Frame(contract.rgb888_to_rgb565(fit_frame(picture, frame_w, frame_h)))
    return frame, lambda box: box_in_picture(box, width, height, frame_w, frame_h)


def find_faces(picture: np.ndarray, detector: Detector = DEFAULT) -> list[tuple[int, int, int, int]]:
    """Every frontal face the camera's detector finds in an RGB (or grey) picture framed as the
    camera frames it, as (x, y, w, h) in the picture's pixels, largest first. No eye fallback."""
    frame, to_picture = _framed(picture, detector)
    gray = frame.to_grayscale(x_scale=detector.detect_scale, y_scale=detector.detect_scale, copy=True)
    try:
        boxes = gray.find_features(cascade("frontalface", detector.stages), threshold=detector.threshold,
                                   scale_factor=detector.scale_factor)
    except OSError:  # smaller than the detector window: the camera raises, the door stays closed
        return []
    found = [to_picture(_fw_face.frame_box(b, detector.detect_scale, frame.width(), frame.height())) for b in boxes]
    return sorted(found, key=lambda b: (-b[2] * b[3], b[1], b[0]))


def find_face(picture: np.ndarray, detector: Detector = DEFAULT):
    """(box, margin) of the face the firmware judges in this picture framed as the camera frames
    it, mapped back onto the picture, or None: the configured face stage (firmware/face_stage.py)
    -- Haar's largest frontal face, else with eye_fallback the face placed from an eye pair;
    and/or the detector -- with the margin that kind of box is grown by."""
    frame, to_picture = _framed(picture, detector)
    found = detector.face_stage().find(frame)
    if found is None:
        return None
    return to_picture(tuple(int(v) for v in found[0])), found[1]


def find_face_or_eyes(picture: np.ndarray, detector: Detector = DEFAULT) -> list[tuple]:
    """[the face the firmware judges] or [], as a box that contract.face_square grows by the
    contract's FACE_MARGIN into the square judged (a detector box, judged with no margin, is
    given as that equivalent box: contract.equivalent_box)."""
    found = find_face(picture, detector)
    if found is None:
        return []
    box, margin = found
    return [box if margin == contract.FACE_MARGIN else contract.equivalent_box(box, margin)]


# ---------------------------------------------------------------- eyes
# Where the eyes sit in a Haar frontal-face box, as fractions of its side (measured on the
# CelebA faces of face-mask-12k): used to pick the right pair and when no pair is found, and
# by the firmware to place a face from an eye pair (defined in firmware/face.py).
EYE_Y = _fw_face.EYE_Y
EYE_X = _fw_face.EYE_X
EYE_CASCADE = "haarcascade_eye.xml"  # OpenCV's file of OpenMV's "eye" cascade

_cascades: dict[str, cv2.CascadeClassifier] = {}


def _classifier(name: str) -> cv2.CascadeClassifier:
    # find_eyes only (mask geometry). One classifier per process: an OpenCV cascade must not be
    # shared between threads.
    if name not in _cascades:
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if classifier.empty():
            raise RuntimeError(f"cannot load the Haar cascade {name}")
        _cascades[name] = classifier
    return _cascades[name]


def _grey(rgb: np.ndarray) -> np.ndarray:
    rgb = np.ascontiguousarray(rgb)
    return rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


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


def stage_boxes(rgb: np.ndarray, detector: Detector) -> list[tuple]:
    """The faces `maskgate data faces` crops from a picture, each as a box the contract's
    FACE_MARGIN grows into its square: with the Haar stage every frontal face (largest first);
    with a detector stage the one face the board would judge (find_face_or_eyes)."""
    if detector.stage == "haar":
        return find_faces(rgb, detector)
    return find_face_or_eyes(rgb, detector)


def crop_faces(src, out_dir, label_map: dict | None = None, several: str = "skip", max_side: int = 256,
               progress: bool = True, detector: Detector = DEFAULT) -> FacesResult:
    """Crop every face of a dataset folder (any layout the importer reads) into OUT_DIR.

    Each face box becomes contract.face_square (FACE_MARGIN, square, kept inside the picture)
    and is written as OUT_DIR/[split/]label/NAME.jpg (at most `max_side` pixels), a layout the
    importer reads. Pictures with no face are listed, not guessed; pictures with several faces
    are listed and skipped (`several="skip"`) or give one crop per face (`several="all"`).
    `detector`: the face stage (Haar by default; with the detector, the face the board judges).
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
            boxes = stage_boxes(rgb, detector)
            row["faces"] = len(boxes)
            row["boxes"] = ";".join(format_face(b) for b in boxes)
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
    atomic.write_text(out_dir / "faces-report.md", faces_report(result, src, detector))
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


def detector_settings(detector: Detector = DEFAULT) -> str:
    haar = (f"OpenMV's Haar detector (maskgate.imlib port of haar.c) with the frontal-face cascade "
            f"(`{contract.HAAR_CASCADE}`, {detector.stages} stages), threshold {detector.threshold}, "
            f"scale factor {detector.scale_factor}, on a grayscale copy at {detector.detect_scale} of the "
            f"picture, as firmware/face.py find runs it")
    det = (f"the face detector `{detector.detector_model}` (firmware/facedet.py decode, threshold "
           f"{detector.detector_threshold}; its box is the square judged)")
    if detector.stage == "haar":
        what = haar
    elif detector.stage == "facedet":
        what = det
    else:
        what = f"{haar}; where it finds nothing, {det}"
    return (f"face stage `{detector.stage}`: {what}; crop: Haar's face box grown by {contract.FACE_MARGIN} per "
            f"side, square")


def faces_report(result: FacesResult, src, detector: Detector = DEFAULT) -> str:
    lines = ["# Face crops", "", f"Source `{src}` ({result.layout} layout) -> `{result.out_dir}`.", "",
             f"Detector: {detector_settings(detector)}.", ""]
    by_label: dict[str, Counter] = {}
    for r in result.rows:
        by_label.setdefault(r["label"], Counter())[r["status"]] += 1
    lines.append(table(["label", "pictures", "one face (cropped)", "no face", "several faces", "unreadable"],
                       [[label, sum(c.values()), c["cropped"], c["no_face"], c["several_faces"], c["unreadable"]]
                        for label, c in by_label.items()], "lrrrrr"))
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
