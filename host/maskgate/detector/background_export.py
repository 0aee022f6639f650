"""The classifier's "background" class, made by the face stage itself: the regions the door's
stage hands the classifier when nobody is there.

On empty scenes (procedural door scenes of a split, maskgate.data.backgrounds, through compose's
light, noise and RGB565; optionally face-free windows of real photos, maskgate.detector.photos)
the stage gives the classifier
- the detector's boxes: every peak of its grid at or above `threshold` (lower than the door's,
  so the classifier sees the near misses too), cropped as the board crops them (the face
  square, facedet.MARGIN);
- Haar's box, where the cascade (with the eye fallback) fires on an empty scene;
- fixed regions (the centre square and squares where a visitor's face would be,
  background_class.fixed_regions): what a stage without a face box would judge.
Each crop is an RGB square (any side) as the camera holds it.

Two ways to use it:
- `generator(detector_tflite, ...)` returns a function (split, count, seed) -> iterator of RGB
  squares: the signature maskgate.data.background_crops.crops(generator=...) takes;
- `export_folder(out_dir, detector_tflite, counts)` writes them as a class folder
  (OUT/<split>/background/NNNNNN.png, labels.txt, provenance.json):

    maskgate data backgrounds --detector models/facedet_int8.tflite --out data/stage-backgrounds \\
        --train 4000 --val 400 --seed 0

Seeded: the same detector, counts and seed give the same crops.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from maskgate import atomic, contract
from maskgate.data import backgrounds, compose
from maskgate.digest import sha256_file
from maskgate.errors import DataError
from maskgate.firmware import module

fd = module("facedet")
LABEL = "background"
THRESHOLD = 0.2  # the detector's peaks this sure are taken (the door's threshold is higher)
FIXED_P = 0.35  # share of empty scenes that also give a fixed region
MAX_PER_SCENE = 3  # detector boxes per scene, best first
SAVE_MAX_SIDE = 128  # exported squares are at most this big (the classifier takes 32 x 32)


def _empty_scenes(split: str, seed: int, photo_sources=(), datasets=None):
    """An endless stream of empty 320 x 240 camera frames of `split` (RGB565 round trip)."""
    from maskgate.detector import photos

    rng = np.random.default_rng([seed, backgrounds.SPLIT_SEEDS[split], 91])
    cfg = compose.ComposeConfig(empty_p=1.0)
    nobody = compose.Faces(np.zeros((0, 8, 8, 3), np.uint8), np.zeros(0, np.int64), [])
    real = None
    if photo_sources:
        real = photos.load(datasets, tuple(photo_sources), "val" if split == "val" else ("test" if split == "test" else "fit"))
    index = seed * 1_000_000
    while True:
        if real is not None and len(real) and rng.random() < 0.3:
            windows = photos.free_windows(rng, real, 1, compose.FRAME_W, compose.FRAME_H)
            if windows:
                yield contract.rgb565_round_trip(windows[0])
                continue
        scene = backgrounds.background(backgrounds.SPLIT_SEEDS[split], index)
        index += 1
        yield compose.compose(rng, nobody, scene, cfg)[0]


def stage_crops(split: str, count: int, seed: int = 0, detector_tflite=None, threshold: float = THRESHOLD,
                photo_sources=(), datasets=None, haar: bool = True):
    """`count` RGB squares the face stage hands the classifier on empty scenes of `split`."""
    from maskgate.data import faces
    from maskgate.detector.background_class import fixed_regions
    from maskgate.detector.stage import HostDetector

    detector = HostDetector(Path(detector_tflite).read_bytes()) if detector_tflite else None
    haar_stage = faces.Detector(stage="haar").face_stage() if haar else None
    rng = np.random.default_rng([seed, 93])
    regions = fixed_regions()
    made = 0
    for frame in _empty_scenes(split, seed, photo_sources, datasets):
        if made >= count:
            return
        h, w = frame.shape[:2]
        squares = []
        if detector is not None:
            out = detector.outputs([frame])[0]
            for _, box in fd.decode([float(v) for v in out], w, h, threshold)[:MAX_PER_SCENE]:
                squares.append(contract.face_square(box, w, h, fd.MARGIN))
        if haar_stage is not None:
            found = haar_stage.find(faces._Frame(contract.rgb888_to_rgb565(frame)))
            if found is not None:
                squares.append(contract.face_square(found[0], w, h, found[1]))
        if rng.random() < FIXED_P or not squares:
            squares.append(regions[int(rng.integers(len(regions)))])
        for square in squares:
            if made >= count:
                return
            yield contract.crop(frame, square)
            made += 1


def generator(detector_tflite, threshold: float = THRESHOLD, photo_sources=(), datasets=None):
    """(split, count, seed) -> iterator of RGB squares: stage_crops with this detector, for
    maskgate.data.background_crops.crops(generator=...)."""
    def crops(split: str, count: int, seed: int = 0):
        return stage_crops(split, count, seed, detector_tflite, threshold, photo_sources, datasets)

    crops.version = f"stage-{_digest(detector_tflite)}-{threshold}-{'+'.join(photo_sources) or 'scenes'}"
    return crops


def _digest(path) -> str:
    return sha256_file(path)[:12] if path else "none"


def export_folder(out_dir, detector_tflite, counts: dict, seed: int = 0, threshold: float = THRESHOLD,
                  photo_sources=(), datasets=None, progress=None) -> dict:
    """Write the crops as OUT/<split>/background/NNNNNN.png (+ labels.txt, provenance.json);
    refuses a folder that already holds files (nothing a user made is overwritten)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise DataError(f"{out_dir} is not empty: give a new folder for the background crops")
    written = {}
    for split, count in counts.items():
        if split not in backgrounds.SPLIT_SEEDS:
            raise DataError(f"unknown split {split!r}: train, val or test")
        folder = out_dir / split / LABEL
        n = 0
        for square in stage_crops(split, count, seed, detector_tflite, threshold, photo_sources, datasets):
            if square.shape[0] > SAVE_MAX_SIDE:
                square = cv2.resize(square, (SAVE_MAX_SIDE, SAVE_MAX_SIDE), interpolation=cv2.INTER_AREA)
            ok, data = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(square), cv2.COLOR_RGB2BGR))
            if not ok:
                raise DataError(f"cannot encode background crop {n}")
            atomic.write_bytes(folder / f"{n:06d}.png", data.tobytes())
            n += 1
            if progress and n % 500 == 0:
                progress(f"{split}: {n}/{count} background crops")
        written[split] = n
    atomic.write_text(out_dir / "labels.txt", LABEL + "\n")
    provenance = {"what": "crops the door's face stage makes on empty scenes (maskgate.detector.background_export)",
                  "detector": str(detector_tflite) if detector_tflite else None, "detector_sha256_12": _digest(detector_tflite),
                  "threshold": threshold, "photo_sources": list(photo_sources), "seed": seed, "counts": written}
    atomic.write_text(out_dir / "provenance.json", json.dumps(provenance, indent=1) + "\n")
    return provenance
