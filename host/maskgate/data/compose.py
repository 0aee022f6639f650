"""Door-camera pictures composed from face crops: faces of known box pasted on empty door
scenes (maskgate.data.backgrounds), for training and checking a face detector.

A composed picture is what the door camera sees at QVGA (320 x 240, the firmware's default
framesize): a background, zero to three people (a face crop at a random side of 26-240 px
and position, above a neck and shoulders now and then), then light, blur, sensor noise and
the RGB565 round trip. Every face's box (x, y, side, side) in frame pixels is the pasted
square, i.e. the whole crop the classifier was trained on, so a detector that finds that box
hands the classifier the framing it knows. A share of pictures is *door framing* itself (one
face picture fitted into the frame on black bars, as tools/virtualboard/frames.py fit_frame
does), the way the project's evaluations show a picture to the camera.

Faces come from the shared sets through `load_faces` (cached, split without leaks):
face-mask-12k by the publisher's Train / Validation / Test, face-utkface by a hash of the file
name, and masks drawn on UTKFace faces (maskgate.data.mask_render) as a masked source that
is not face-mask-12k. Everything is drawn from a numpy Generator: same seed, same pictures.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskgate import contract
from maskgate.data import backgrounds, mask_render
from maskgate.data.images import ImageError, read_rgb
from maskgate.digest import sha256_bytes

FRAME_W, FRAME_H = 320, 240  # QVGA: the firmware's default framesize
FACE_SIDE = 96  # stored face crops (pixels); pasted larger, they are upscaled as a camera would blur
SIDE_RANGE = (26, 240)  # face side in frame pixels
BARE, MASK = 0, 1

# Sources and how each is split (a file is in one split for every model and bench).
SPLITS_12K = {"train": "Train", "val": "Validation", "test": "Test"}
SOURCES = ("face-mask-12k", "face-utkface", "utk-synth-mask", "face-mask-chandrikadeb7")


def hash_split(name: str) -> str:
    """train / val / test for a file of a source without a published split: 70 / 10 / 20 by
    the sha1 of its file name (stable across machines and orders)."""
    v = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % 10
    return "train" if v < 7 else ("val" if v == 7 else "test")


def _files(root: Path, source: str, split: str) -> list[tuple[Path, int]]:
    if source == "face-mask-12k":
        folder = root / source / SPLITS_12K[split]
        return ([(p, MASK) for p in sorted((folder / "WithMask").glob("*.jpg"))]
                + [(p, BARE) for p in sorted((folder / "WithoutMask").glob("*.jpg"))])
    if source in ("face-utkface", "utk-synth-mask"):
        return [(p, BARE) for p in sorted((root / "face-utkface" / "without_mask").glob("*.jpg"))
                if hash_split(p.name) == split]
    if source == "face-mask-chandrikadeb7":
        folder = root / source
        return [(p, lab) for sub, lab in (("with_mask", MASK), ("without_mask", BARE))
                for p in sorted((folder / sub).glob("*.jpg")) if hash_split(p.name) == split]
    raise ValueError(f"unknown face source {source!r}; known: {', '.join(SOURCES)}")


# UTKFace crop_part1 is aligned: the eye centres sit here (fractions of the side), measured
# with the eye cascade on 136 of 150 random crops (median).
UTK_EYES = ((0.28, 0.295), (0.68, 0.295))


def _synth_mask(rgb: np.ndarray, key: str) -> np.ndarray:
    side = rgb.shape[0]
    frame = mask_render.FaceFrame.from_eyes(*[(x * side, y * side) for x, y in UTK_EYES])
    rng = np.random.default_rng(int(hashlib.sha1(key.encode()).hexdigest()[:8], 16))
    return mask_render.draw_mask(rgb, frame, mask_render.random_spec(rng, "correct"))


def _square(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    x, y, s, _ = contract.centre_square(w, h)
    return rgb[y : y + s, x : x + s]


@dataclass
class Faces:
    """Face crops of one source and split: pixels N x side x side x 3, labels (BARE / MASK)."""
    pixels: np.ndarray
    labels: np.ndarray
    names: list

    def __len__(self):
        return len(self.labels)

    def subset(self, index) -> "Faces":
        index = np.asarray(index)
        return Faces(self.pixels[index], self.labels[index], [self.names[i] for i in index])

    @staticmethod
    def join(parts) -> "Faces":
        parts = [p for p in parts if len(p)]
        return Faces(np.concatenate([p.pixels for p in parts]), np.concatenate([p.labels for p in parts]),
                     [n for p in parts for n in p.names])


def load_faces(root, source: str, split: str, side: int = FACE_SIDE, cache_dir=None, limit: int | None = None,
               seed: int = 0) -> Faces:
    """The centre squares of a source's pictures of one split, at side x side (cached as .npz
    in cache_dir). `limit` keeps a seeded subset."""
    root = Path(root)
    files = _files(root, source, split)
    if limit is not None and limit < len(files):
        pick = np.sort(np.random.default_rng(seed).choice(len(files), size=limit, replace=False))
        files = [files[i] for i in pick]
    cache = None
    if cache_dir is not None:
        key = sha256_bytes("\n".join(f"{p.name}:{lab}" for p, lab in files).encode())[:12]
        cache = Path(cache_dir) / f"faces-{source}-{split}-{side}-{key}.npz"
        if cache.exists():
            with np.load(cache) as z:
                return Faces(z["pixels"], z["labels"], list(z["names"]))
    pixels, labels, names = [], [], []
    for path, label in files:
        try:
            rgb = read_rgb(path)
        except ImageError:
            continue
        square = cv2.resize(_square(rgb), (side, side), interpolation=cv2.INTER_AREA)
        if source == "utk-synth-mask":
            square, label = _synth_mask(square, path.name), MASK
        pixels.append(square)
        labels.append(label)
        names.append(f"{source}/{path.name}")
    faces = Faces(np.stack(pixels) if pixels else np.zeros((0, side, side, 3), np.uint8),
                  np.asarray(labels, np.int64), names)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, pixels=faces.pixels, labels=faces.labels, names=np.asarray(names))
        tmp.replace(cache)
    return faces


# ---------------------------------------------------------------- one composed picture
@dataclass
class ComposeConfig:
    empty_p: float = 0.25  # pictures with nobody in them
    door_framing_p: float = 0.12  # one face picture fitted into the frame on black bars
    extra_faces_p: float = 0.2  # a second (and third) person, smaller, elsewhere
    body_p: float = 0.6  # neck and shoulders under the face
    oval_p: float = 0.7  # the crop's corners faded into the background (else a hard square)
    side_range: tuple = SIDE_RANGE
    blur_p: float = 0.35
    noise: float = 5.0  # sensor noise sigma, drawn up to this
    edge: float = 0.25  # a face may stick out of the frame by this share of its side


def _oval_alpha(side: int) -> np.ndarray:
    alpha = np.zeros((side, side), np.float32)
    cv2.ellipse(alpha, (side // 2, side // 2), (int(side * 0.47), int(side * 0.5)), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(alpha, (0, 0), max(side / 18.0, 0.6))[..., None]


def _paste(canvas: np.ndarray, tile: np.ndarray, x: int, y: int, alpha: np.ndarray | None) -> None:
    h, w = canvas.shape[:2]
    s = tile.shape[0]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + s), min(h, y + s)
    if x1 <= x0 or y1 <= y0:
        return
    part = tile[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    if alpha is None:
        canvas[y0:y1, x0:x1] = part
    else:
        a = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
        canvas[y0:y1, x0:x1] = a * part + (1 - a) * canvas[y0:y1, x0:x1]


def _body(canvas: np.ndarray, face: np.ndarray, x: int, y: int, s: int, rng: np.random.Generator) -> None:
    """Neck (skin from the cheeks) and shoulders (clothes of any colour) under a face square."""
    h, w = canvas.shape[:2]
    cheeks = face[int(0.35 * face.shape[0]) : int(0.5 * face.shape[0]), int(0.2 * face.shape[1]) : int(0.8 * face.shape[1])]
    skin = cheeks.reshape(-1, 3).mean(axis=0) * rng.uniform(0.7, 1.0)
    cx, bottom = x + s / 2.0, y + s
    neck = s * rng.uniform(0.3, 0.5)
    cv2.rectangle(canvas, (int(cx - neck / 2), int(bottom - s * 0.15)), (int(cx + neck / 2), int(bottom + s * 0.4)),
                  skin.tolist(), -1)
    colour = rng.integers(0, 256, size=3).astype(np.float64)
    shoulders = (int(s * rng.uniform(0.9, 1.5)), int(s * rng.uniform(0.35, 0.6)))
    top = int(bottom + s * rng.uniform(0.25, 0.45))
    cv2.ellipse(canvas, (int(cx), top + shoulders[1]), shoulders, 0, 180, 360, colour.tolist(), -1)
    cv2.rectangle(canvas, (int(cx - shoulders[0]), top + shoulders[1]), (int(cx + shoulders[0]), h + 5), colour.tolist(), -1)


def _finish(canvas: np.ndarray, rng: np.random.Generator, cfg: ComposeConfig) -> np.ndarray:
    """Light, blur, sensor noise, then the RGB565 round trip of the camera."""
    alpha, beta = rng.uniform(0.7, 1.3), rng.uniform(-35, 35)
    out = canvas * alpha + beta + (1 - alpha) * 128.0
    out = out * rng.uniform(0.88, 1.12, size=3)
    if rng.random() < cfg.blur_p:
        if rng.random() < 0.5:
            out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 2.0))
        else:  # motion blur: someone walking
            k = int(rng.integers(3, 9))
            kernel = np.zeros((k, k), np.float32)
            kernel[k // 2] = 1.0 / k
            matrix = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
            kernel = cv2.warpAffine(kernel, matrix, (k, k))
            out = cv2.filter2D(out, -1, kernel / max(kernel.sum(), 1e-6))
    out = out + rng.normal(0, rng.uniform(0, cfg.noise), size=out.shape)
    return contract.rgb565_round_trip(np.clip(out, 0, 255).astype(np.uint8))


def door_framing(picture: np.ndarray, width: int = FRAME_W, height: int = FRAME_H):
    """(frame, box): a picture fitted into width x height on black bars (as fit_frame does),
    and the square it fills (its centre square, the classifier's view of the picture)."""
    h, w = picture.shape[:2]
    s = min(width / w, height / h)
    nw, nh = max(1, min(width, int(round(w * s)))), max(1, min(height, int(round(h * s))))
    frame = np.zeros((height, width, 3), np.uint8)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    frame[y0 : y0 + nh, x0 : x0 + nw] = cv2.resize(np.ascontiguousarray(picture), (nw, nh), interpolation=interp)
    side = min(nw, nh)
    return frame, (x0 + (nw - side) // 2, y0 + (nh - side) // 2, side, side)


def compose(rng: np.random.Generator, faces: Faces, background: np.ndarray, cfg: ComposeConfig | None = None,
            scale: float = 1.0):
    """-> (frame H x W x 3 uint8, boxes N x 4 float (x, y, side, side) in 320 x 240 frame
    pixels, labels N). The picture is drawn at 320 x 240 x `scale` (training draws at half size
    for speed; boxes stay in full-frame pixels); `background` must already have that size."""
    cfg = cfg or ComposeConfig()
    height, width = background.shape[:2]
    boxes, labels = [], []
    if len(faces) and rng.random() < cfg.door_framing_p:
        i = int(rng.integers(len(faces)))
        frame, box = door_framing(faces.pixels[i], width, height)
        canvas = frame.astype(np.float32)
        boxes.append(tuple(v / scale for v in box))
        labels.append(int(faces.labels[i]))
        return _finish(canvas, rng, cfg), np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64)
    canvas = background.astype(np.float32)
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1].copy()
    people = 0 if (not len(faces) or rng.random() < cfg.empty_p) else 1
    if people and rng.random() < cfg.extra_faces_p:
        people += 1 + int(rng.random() < 0.3)
    lo, hi = np.log(cfg.side_range[0]), np.log(cfg.side_range[1])
    placed = []
    for k in range(people):
        side_full = float(np.exp(rng.uniform(lo, hi if k == 0 else np.log(max(cfg.side_range[0] + 1, 100)))))
        s = max(4, int(round(side_full * scale)))
        m = cfg.edge * s
        for _ in range(10):  # people do not overlap
            x = int(rng.uniform(-m, width - s + m))
            y = int(rng.uniform(-m, height - s + m))
            if all(x + s <= px or px + ps <= x or y + s <= py or py + ps <= y for px, py, ps in placed):
                break
        else:
            continue
        i = int(rng.integers(len(faces)))
        face = faces.pixels[i]
        if rng.random() < 0.5:
            face = face[:, ::-1]
        tile = cv2.resize(np.ascontiguousarray(face), (s, s), interpolation=cv2.INTER_AREA if s < face.shape[0] else cv2.INTER_LINEAR)
        if rng.random() < cfg.body_p:
            _body(canvas, tile, x, y, s, rng)
        _paste(canvas, tile, x, y, _oval_alpha(s) if rng.random() < cfg.oval_p else None)
        placed.append((x, y, s))
        boxes.append((x / scale, y / scale, s / scale, s / scale))
        labels.append(int(faces.labels[i]))
    return _finish(canvas, rng, cfg), np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64)


def visible(box, width: int = FRAME_W, height: int = FRAME_H) -> float:
    """Share of a box (x, y, w, h) inside the frame."""
    x, y, w, h = box
    iw = max(0.0, min(width, x + w) - max(0.0, x))
    ih = max(0.0, min(height, y + h) - max(0.0, y))
    return iw * ih / max(w * h, 1e-6)
