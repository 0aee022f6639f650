"""Real photos with face boxes, for training the door's detector: what composed pictures lack.

The shared scene and portrait sets (face-mask-chandrikadeb7, face-mask-rwmfd) carry no boxes;
datasets/face_boxes.csv holds the boxes a teacher gave them (maskgate.detector.face_boxes).
From them, three kinds of training material, all drawn from a numpy Generator:

- `picture`: a photo as the door camera could see it, with its face boxes: fitted into the
  frame on black bars (door framing, how every evaluation shows a picture) or a random window
  of it filling the frame (a nearer or farther person, real surroundings);
- `face_crops`: the faces themselves (the teacher box made a face picture, face_boxes.face_square)
  as compose.Faces, so compose pastes real masked faces on door scenes;
- `free_windows`: windows of photos that no teacher box touches, as backgrounds: real clothes,
  hands, streets and rooms, the hard negatives a drawn wall never shows.

Splits: chandrikadeb7 by a hash of the file name, RWMFD by a hash of its sub-folder (pictures of
one source page stay together), 70 / 10 / 20 as compose.hash_split. The detector fits on "fit"
(train and test: a photo source is measured only where it is left out, leave-one-source-out,
so its test split has no other use) and is validated on "val". A source left out is simply not
loaded. Pictures that the walk-up harness uses as empty scenes are never loaded.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from maskgate.data import compose
from maskgate.detector import face_boxes

SOURCES = face_boxes.SOURCES
MAX_SIDE = 192  # photos are kept this small: training draws at 160 x 120
LABELS = {"with_mask": compose.MASK, "without_mask": compose.BARE}
MIN_FACE = 12  # face side in frame pixels (320 x 240) below which a face is "do not care"


def split_of(rel_path: str) -> str:
    parts = rel_path.split("/")
    if parts[0] == "face-mask-rwmfd":
        return compose.hash_split(parts[2] if len(parts) > 3 else parts[-1])
    return compose.hash_split(parts[-1])


def walkup_scene_pictures() -> set[str]:
    """Pictures the walk-up harness cuts its empty scenes from (maskgate.walkup), if present."""
    path = Path(__file__).resolve().parents[1] / "walkup" / "scene_regions.json"
    if not path.exists():
        return set()
    return {r["path"] for r in json.loads(path.read_text())["regions"]}


def _in_split(split: str, want: str) -> bool:
    return want == "all" or split == want or (want == "fit" and split != "val")


@dataclass
class Photos:
    """Pictures (RGB, at most MAX_SIDE), per picture its face squares (x, y, s, s) in its own
    pixels, its "do not care" boxes (weak teacher boxes), its label and its path."""
    pictures: list = field(default_factory=list)
    faces: list = field(default_factory=list)
    unsure: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    paths: list = field(default_factory=list)

    def __len__(self):
        return len(self.pictures)


def load(datasets, sources, split, annotations=None, max_side: int = MAX_SIDE) -> Photos:
    """The photos of `sources` in `split` ("train", "val", "test", "fit": all but val, or "all")."""
    from maskgate.data.images import ImageError, read_rgb

    boxes = face_boxes.read(annotations or face_boxes.default_file())
    skip = walkup_scene_pictures()
    out = Photos()
    for rel in sorted(boxes):
        if rel.split("/")[0] not in sources or rel in skip or not _in_split(split_of(rel), split):
            continue
        try:
            rgb = read_rgb(Path(datasets) / rel)
        except ImageError:
            continue
        h, w = rgb.shape[:2]
        k = min(1.0, max_side / max(h, w))
        if k < 1.0:
            rgb = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
        sx = rgb.shape[1] / boxes[rel]["size"][0]
        found = boxes[rel]["boxes"]
        out.pictures.append(rgb)
        out.faces.append([tuple(v * sx for v in face_boxes.face_square(b)) for b in found if b[4] >= face_boxes.FACE_SCORE])
        out.unsure.append([tuple(v * sx for v in face_boxes.face_square(b)) for b in found if b[4] < face_boxes.FACE_SCORE])
        out.labels.append(LABELS.get(rel.split("/")[1], compose.BARE))
        out.paths.append(rel)
    return out


def _map(boxes, x0, y0, k):
    return [((x - x0) * k, (y - y0) * k, s * k, s * k) for x, y, s, _ in boxes]


def picture(rng: np.random.Generator, photos: Photos, cfg: compose.ComposeConfig, scale: float = 1.0,
            door_framing_p: float = 0.5):
    """(frame, face boxes, "do not care" boxes) from one photo, boxes in 320 x 240 frame pixels:
    the photo in door framing, else a random window of it (a face in it as often as not) scaled
    to fill the frame; then compose's light, blur, noise and RGB565."""
    i = int(rng.integers(len(photos)))
    rgb, faces, unsure = photos.pictures[i], photos.faces[i], photos.unsure[i]
    width, height = int(round(compose.FRAME_W * scale)), int(round(compose.FRAME_H * scale))
    h, w = rgb.shape[:2]
    if rng.random() < 0.5:
        rgb, faces, unsure = rgb[:, ::-1], [(w - x - s, y, s, s) for x, y, s, _ in faces], \
            [(w - x - s, y, s, s) for x, y, s, _ in unsure]
    if rng.random() < door_framing_p:
        k = min(width / w, height / h)
        nw, nh = max(1, round(w * k)), max(1, round(h * k))
        x0, y0 = (width - nw) // 2, (height - nh) // 2
        canvas = np.zeros((height, width, 3), np.float32)
        canvas[y0 : y0 + nh, x0 : x0 + nw] = cv2.resize(np.ascontiguousarray(rgb), (nw, nh),
                                                        interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        mapped = [_map(b, -x0 / k, -y0 / k, k) for b in (faces, unsure)]
    else:
        # a 4:3 window, from a third of the picture to all of it (aspect kept by padding)
        ww = rng.uniform(0.35, 1.0) * min(w, h * 4 / 3)
        wh = ww * 3 / 4
        if faces and rng.random() < 0.7:  # around a face, somewhere in the window
            fx, fy, fs, _ = faces[int(rng.integers(len(faces)))]
            ww = max(ww, fs * 1.2)
            wh = ww * 3 / 4
            x0 = fx + fs / 2 - rng.uniform(0.2, 0.8) * ww
            y0 = fy + fs / 2 - rng.uniform(0.2, 0.8) * wh
        else:
            x0, y0 = rng.uniform(0, max(0.0, w - ww)), rng.uniform(0, max(0.0, h - wh))
        k = width / ww
        matrix = np.float32([[k, 0, -x0 * k], [0, k, -y0 * k]])
        canvas = cv2.warpAffine(np.ascontiguousarray(rgb), matrix, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT).astype(np.float32)
        mapped = [_map(b, x0, y0, k) for b in (faces, unsure)]
    full = [[tuple(v / scale for v in b) for b in group] for group in mapped]
    keep = [b for b in full[0] if b[2] >= MIN_FACE and compose.visible(b) >= 0.5]
    unsure = full[1] + [b for b in full[0] if b not in keep and compose.visible(b) > 0]
    frame = compose._finish(canvas, rng, cfg)
    return frame, np.asarray(keep, np.float32).reshape(-1, 4), np.asarray(unsure, np.float32).reshape(-1, 4)


def face_crops(photos: Photos, side: int = compose.FACE_SIDE, min_side: float = 24.0) -> compose.Faces:
    """Every sure face of the photos as a side x side face picture (edges replicated where the
    square leaves the photo); faces under `min_side` photo pixels are left out (too blurred)."""
    pixels, labels, names = [], [], []
    for rgb, faces, label, path in zip(photos.pictures, photos.faces, photos.labels, photos.paths):
        for j, (x, y, s, _) in enumerate(faces):
            if s < min_side:
                continue
            pad = int(s)
            padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x0, y0 = int(round(x)) + pad, int(round(y)) + pad
            crop = padded[y0 : y0 + int(round(s)), x0 : x0 + int(round(s))]
            if crop.shape[0] < 8 or crop.shape[1] < 8:
                continue
            pixels.append(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA if crop.shape[0] > side else cv2.INTER_LINEAR))
            labels.append(label)
            names.append(f"{path}#{j}")
    return compose.Faces(np.stack(pixels) if pixels else np.zeros((0, side, side, 3), np.uint8),
                         np.asarray(labels, np.int64), names)


def free_windows(rng: np.random.Generator, photos: Photos, count: int, width: int, height: int,
                 margin: float = 0.15, tries: int = 30) -> list[np.ndarray]:
    """Up to `count` width x height backgrounds cut from the photos below their one face: a 4:3
    window of at least a quarter of the picture's width that lies under the face (grown by
    `margin`) -- clothes, hands, bags, the street at their feet.

    Only pictures with exactly one sure face and no unsure box are used, and only the part
    below that face: the teacher misses small faces in crowds, and a window anywhere else of a
    crowd scene would teach the detector that a face is background (seen on contact sheets:
    windows beside the labelled faces held masked faces the teacher had missed)."""
    out = []
    usable = [i for i in range(len(photos)) if len(photos.faces[i]) == 1 and not photos.unsure[i]]
    if not usable:
        return out
    for _ in range(count * tries):
        if len(out) >= count:
            break
        i = usable[int(rng.integers(len(usable)))]
        rgb = photos.pictures[i]
        h, w = rgb.shape[:2]
        fx, fy, fs, _ = photos.faces[i][0]
        top = fy + fs * (1 + margin)
        room = h - top
        ww = rng.uniform(0.25, 1.0) * min(w, room * 4 / 3)
        wh = ww * 3 / 4
        if ww < 24 or room < 18:
            continue
        x0, y0 = rng.uniform(0, w - ww), rng.uniform(top, h - wh)
        window = rgb[int(y0) : int(y0 + wh), int(x0) : int(x0 + ww)]
        out.append(cv2.resize(window, (width, height), interpolation=cv2.INTER_LINEAR))
    return out
