"""Candidate 1 of the face stage: the mask classifier with a third class, "background", so a
region with nobody in it is refused instead of read as a face.

Its crops come from composed door pictures (maskgate.data.compose), made two ways, half each:
- fixed regions (the centre square, and a few squares where a visitor's face is at a door):
  a face whose side is at least FACE_SHARE of the region and whose centre is inside gives the
  face's label, a region with no face centre in it is background, anything between is not used;
- detector-style boxes: a face's pasted square jittered in place and size (a detector's error)
  gives its label; a random square of an empty picture is background.
Then the contract's 32 x 32 area resize. Labels: BG_LABELS (index 0 is background).

Written to OUT: bgcls.keras, bgcls_int8.tflite (int8 input `pixel - 128`), bgcls.json.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from maskgate import budget, contract, nets
from maskgate.atomic import write_bytes, write_json
from maskgate.data import backgrounds, compose
from maskgate.detector.train import load_training_faces
from maskgate.tfenv import keras, seed_everything

BG_LABELS = ("background", "no_mask", "mask")
FACE_SHARE = 0.4  # a face at least this share of a fixed region's side counts as in it
EMPTY_SHARE = 0.25  # below this (or centre outside) the region is background
INT8_FILE = "bgcls_int8.tflite"
CROPS_PER_PICTURE = 4


def fixed_regions(width: int = compose.FRAME_W, height: int = compose.FRAME_H) -> list[tuple]:
    """The centre square, then a smaller centre square and the upper-centre squares where a
    visitor's face is in a door camera's view (x, y, side, side)."""
    full = contract.centre_square(width, height)
    side = int(height * 0.6)
    return [full, ((width - side) // 2, (height - side) // 2, side, side),
            ((width - side) // 2, 0, side, side), ((width - side) // 2 - side // 2, 0, side, side),
            ((width - side) // 2 + side // 2, 0, side, side)]


def region_label(region, boxes, labels) -> int | None:
    """1 + face label for the biggest face that fills the region, 0 for background, None
    when a face is there but too small to say (not used)."""
    rx, ry, rs, _ = region
    best, ambiguous = None, False
    for (x, y, w, h), lab in zip(boxes, labels):
        cx, cy = x + w / 2, y + h / 2
        if not (rx <= cx < rx + rs and ry <= cy < ry + rs):
            continue
        if w >= FACE_SHARE * rs and (best is None or w > best[0]):
            best = (w, int(lab))
        elif w >= EMPTY_SHARE * rs:
            ambiguous = True
    if best is not None:
        return 1 + best[1]
    return None if ambiguous else 0


def _square_inside(x, y, s, width, height):
    s = int(max(8, min(s, width, height)))
    return contract.face_square((x, y, s, s), width, height, margin=0.0)


def crops(rng, faces, pool, n: int):
    """n (32 x 32 x 3 uint8 crop, label index into BG_LABELS) from composed pictures."""
    xs, ys = [], []
    regions = fixed_regions()
    while len(xs) < n:
        frame, boxes, labels = compose.compose(rng, faces, pool[int(rng.integers(len(pool)))])
        h, w = frame.shape[:2]
        for _ in range(CROPS_PER_PICTURE):  # composing costs more than cropping
            if len(xs) >= n:
                break
            if rng.random() < 0.5:
                region = regions[int(rng.integers(len(regions)))]
                lab = region_label(region, boxes, labels)
                if lab is None:
                    continue
            elif len(boxes):
                k = int(rng.integers(len(boxes)))
                x, y, s, _ = boxes[k]
                j = rng.uniform(-0.15, 0.15, size=2) * s
                region = _square_inside(x + j[0], y + j[1], s * np.exp(rng.uniform(-0.2, 0.2)), w, h)
                lab = 1 + int(labels[k])
            else:
                s = float(np.exp(rng.uniform(np.log(26), np.log(240))))
                region = _square_inside(rng.uniform(0, w - s), rng.uniform(0, h - s), s, w, h)
                lab = 0
            xs.append(contract.resize_to_input(contract.crop(frame, region)))
            ys.append(lab)
    return np.stack(xs), np.asarray(ys, np.int64)


@dataclass
class BackgroundClassConfig:
    arch: str = "maskgate"
    arch_options: dict = field(default_factory=dict)
    sources: tuple = ("face-mask-12k", "face-utkface", "utk-synth-mask")
    epochs: int = 10
    steps_per_epoch: int = 150
    batch_size: int = 64
    learning_rate: float = 1e-3
    background_pool: int = 800
    val_crops: int = 1500
    seed: int = 0


class CropBatches(keras.utils.Sequence):
    def __init__(self, faces, pool, cfg: BackgroundClassConfig):
        super().__init__()
        self.faces, self.pool, self.cfg, self.epoch = faces, pool, cfg, 0

    def __len__(self):
        return self.cfg.steps_per_epoch

    def __getitem__(self, index):
        x, y = crops(np.random.default_rng([self.cfg.seed, self.epoch, index]), self.faces, self.pool, self.cfg.batch_size)
        return contract.to_float_input(x), y

    def on_epoch_end(self):
        self.epoch += 1


def train_background_class(shared_root, out_dir, cfg: BackgroundClassConfig | None = None, cache_dir=None) -> dict:
    from maskgate.detector.train import DetectorConfig, _Lines
    from maskgate import quantize

    cfg = cfg or BackgroundClassConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    face_cfg = DetectorConfig(sources=cfg.sources, seed=cfg.seed)
    faces = load_training_faces(shared_root, face_cfg, "train", cache_dir)
    val_faces = load_training_faces(shared_root, face_cfg, "val", cache_dir)
    pool = list(backgrounds.backgrounds("train", cfg.background_pool))
    val_x, val_y = crops(np.random.default_rng([cfg.seed, 10**6]), val_faces,
                         list(backgrounds.backgrounds("val", 200)), cfg.val_crops)
    model = nets.build(cfg.arch, num_classes=3, **cfg.arch_options)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    schedule = lambda epoch, _lr=None: float(cfg.learning_rate * 0.5 * (1 + np.cos(np.pi * epoch / cfg.epochs)))  # noqa: E731
    started = time.time()
    history = model.fit(CropBatches(faces, pool, cfg), validation_data=(contract.to_float_input(val_x), val_y),
                        epochs=cfg.epochs, verbose=0, shuffle=False,
                        callbacks=[keras.callbacks.LearningRateScheduler(schedule), _Lines(cfg.epochs, "bgcls"),
                                   keras.callbacks.CSVLogger(str(out_dir / "history.csv"))])
    model.save(out_dir / "bgcls.keras")
    int8 = quantize.convert_int8(model, quantize.representative_pixels(val_x, 300, cfg.seed))
    write_bytes(out_dir / INT8_FILE, int8)
    figures = budget.model_figures(int8)
    report = {"config": asdict(cfg), "labels": list(BG_LABELS), "train_seconds": round(time.time() - started, 1),
              "val_accuracy": float(history.history["val_accuracy"][-1]),
              "figures": {k: v for k, v in figures.items() if k != "layers"}}
    write_json(out_dir / "bgcls.json", report)
    return report
