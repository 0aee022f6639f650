"""Train the face detector on composed door pictures and export it to int8.

Every batch is drawn fresh from (seed, epoch, batch index): faces of the training split pasted
on training backgrounds (maskgate.data.compose), shrunk to the detector's 96 x 72 input the
way the board shrinks a frame (area averaging, stored RGB565). So no two epochs see the same
pictures and a run is reproducible whatever order Keras asks in. Validation pictures come from
the validation faces and background seeds and are fixed for the run.

Loss: CenterNet's penalty-reduced focal loss on the heat channel, L1 on the side and offset
channels where the target says the box is learnt (maskgate.detector.targets).

Written to OUT: facedet.keras (float), facedet_int8.tflite (the board's model, int8 input
`pixel - 128`), history.csv, detector.json (settings, data, figures).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from maskgate import budget, contract, nets
from maskgate.atomic import write_bytes, write_json
from maskgate.data import backgrounds, compose
from maskgate.detector import targets
from maskgate.errors import DataError
from maskgate.firmware import module
from maskgate.tfenv import keras, seed_everything, tf

fd = module("facedet")
INT8_FILE = "facedet_int8.tflite"
KERAS_FILE = "facedet.keras"
REPORT_FILE = "detector.json"
DRAW_SCALE = 0.5  # training pictures are drawn at 160 x 120, then shrunk to 96 x 72


@dataclass
class DetectorConfig:
    arch: str = "facedet"
    arch_options: dict = field(default_factory=dict)
    sources: tuple = ("face-mask-12k", "face-utkface", "utk-synth-mask")
    faces_per_source: int | None = None  # seeded subset of each source's training faces
    epochs: int = 20
    steps_per_epoch: int = 150
    batch_size: int = 64
    learning_rate: float = 2e-3
    background_pool: int = 3000
    val_frames: int = 600
    compose_options: dict = field(default_factory=dict)
    init: str | None = None  # a facedet.keras to start from (a longer schedule in several runs)
    side_weight: float = 5.0
    offset_weight: float = 2.0
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict) -> "DetectorConfig":
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise DataError(f"unknown detector settings: {', '.join(unknown)}")
        return cls(**values)


def detector_input(frame: np.ndarray) -> np.ndarray:
    """A frame (any size) -> the detector's 72 x 96 x 3 input pixels: area-averaged, then
    RGB565 as the board stores the copy (firmware/facedet.py shrink)."""
    small = cv2.resize(np.ascontiguousarray(frame), (fd.IN_W, fd.IN_H), interpolation=cv2.INTER_AREA)
    return contract.rgb565_round_trip(small)


def composed_batch(rng, faces, pool, cfg: compose.ComposeConfig, n: int):
    """n composed pictures: (inputs n x 72 x 96 x 3 uint8, targets n x ROWS x COLS x 5, boxes)."""
    xs, ys, boxes = [], [], []
    for _ in range(n):
        frame, b, _labels = compose.compose(rng, faces, pool[int(rng.integers(len(pool)))], cfg, DRAW_SCALE)
        xs.append(detector_input(frame))
        ys.append(targets.encode(b, compose.FRAME_W, compose.FRAME_H))
        boxes.append(b)
    return np.stack(xs), np.stack(ys), boxes


class ComposedBatches(keras.utils.Sequence):
    def __init__(self, faces, pool, cfg: DetectorConfig):
        super().__init__()
        self.faces, self.pool, self.cfg = faces, pool, cfg
        self.compose_cfg = compose.ComposeConfig(**cfg.compose_options)
        self.epoch = 0

    def __len__(self):
        return self.cfg.steps_per_epoch

    def __getitem__(self, index):
        rng = np.random.default_rng([self.cfg.seed, self.epoch, index])
        x, y, _ = composed_batch(rng, self.faces, self.pool, self.compose_cfg, self.cfg.batch_size)
        return x.astype(np.float32), y.reshape(len(y), -1)

    def on_epoch_end(self):
        self.epoch += 1


def detection_loss(side_weight: float = 5.0, offset_weight: float = 2.0):
    shape = (-1, fd.ROWS, fd.COLS)

    def loss(y_true, y_pred):
        t = tf.reshape(y_true, shape + (targets.TARGET_CHANNELS,))
        p = tf.reshape(y_pred, shape + (fd.CHANNELS,))
        heat, prob = t[..., 0], tf.clip_by_value(p[..., 0], 1e-4, 1 - 1e-4)
        pos = tf.cast(heat >= 0.999, tf.float32)
        focal = -(pos * tf.math.log(prob) * (1 - prob) ** 2
                  + (1 - pos) * tf.math.log(1 - prob) * prob**2 * (1 - heat) ** 4)
        n_pos = tf.maximum(tf.reduce_sum(pos), 1.0)
        w = t[..., 4]
        n_w = tf.maximum(tf.reduce_sum(w), 1e-3)
        side = tf.reduce_sum(w * tf.abs(p[..., 1] - t[..., 1])) / n_w
        offset = tf.reduce_sum(w[..., None] * tf.abs(p[..., 2:4] - t[..., 2:4])) / n_w
        return tf.reduce_sum(focal) / n_pos + side_weight * side + offset_weight * offset

    return loss


def load_training_faces(shared_root, cfg: DetectorConfig, split: str, cache_dir) -> compose.Faces:
    parts = [compose.load_faces(shared_root, s, split, cache_dir=cache_dir,
                                limit=cfg.faces_per_source if split == "train" else None, seed=cfg.seed)
             for s in cfg.sources]
    faces = compose.Faces.join(parts)
    if not len(faces):
        raise DataError(f"no {split} faces in {shared_root} for sources {', '.join(cfg.sources)}")
    return faces


def background_pool(split: str, count: int) -> list[np.ndarray]:
    w, h = int(compose.FRAME_W * DRAW_SCALE), int(compose.FRAME_H * DRAW_SCALE)
    return list(backgrounds.backgrounds(split, count, w, h))


def export_int8(model, cfg: DetectorConfig, rep_inputs: np.ndarray) -> bytes:
    """int8 .tflite of a trained detector: rebuilt with batch 1 (no run-time shape ops),
    calibrated on composed pictures plus an all-black and an all-white one (input scale 1.0,
    zero point -128: the OpenMV rule), input checked by quantize."""
    from maskgate import quantize

    fixed = nets.build_detector(cfg.arch, batch_size=1, **cfg.arch_options)
    fixed.set_weights(model.get_weights())
    rep = np.concatenate([np.zeros((1,) + rep_inputs.shape[1:], np.uint8),
                          np.full((1,) + rep_inputs.shape[1:], 255, np.uint8), rep_inputs])
    return quantize.convert_int8(fixed, rep, input_shape=(fd.IN_H, fd.IN_W, 3))


class _Lines(keras.callbacks.Callback):
    """One line per epoch (logs read well; a terminal gets the same)."""

    def __init__(self, epochs, name="detector"):
        super().__init__()
        self.epochs, self.name, self.started = epochs, name, time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        print(f"{self.name} epoch {epoch + 1}/{self.epochs} loss {logs.get('loss', 0):.4f} "
              f"val_loss {logs.get('val_loss', 0):.4f} ({time.time() - self.started:.0f} s)", flush=True)


def train_detector(shared_root, out_dir, cfg: DetectorConfig | None = None, cache_dir=None) -> dict:
    cfg = cfg or DetectorConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    faces = load_training_faces(shared_root, cfg, "train", cache_dir)
    val_faces = load_training_faces(shared_root, cfg, "val", cache_dir)
    pool = background_pool("train", cfg.background_pool)
    val_x, val_y, _ = composed_batch(np.random.default_rng([cfg.seed, 10**6]), val_faces,
                                     background_pool("val", max(50, cfg.val_frames // 4)),
                                     compose.ComposeConfig(**cfg.compose_options), cfg.val_frames)
    model = nets.build_detector(cfg.arch, **cfg.arch_options)
    if cfg.init:
        model.set_weights(keras.models.load_model(cfg.init, compile=False).get_weights())
    schedule = lambda epoch, _lr=None: float(cfg.learning_rate * 0.5 * (1 + np.cos(np.pi * epoch / cfg.epochs)))  # noqa: E731
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                  loss=detection_loss(cfg.side_weight, cfg.offset_weight))
    started = time.time()
    history = model.fit(ComposedBatches(faces, pool, cfg), validation_data=(val_x.astype(np.float32), val_y.reshape(len(val_y), -1)),
                        epochs=cfg.epochs, verbose=0, shuffle=False,
                        callbacks=[keras.callbacks.LearningRateScheduler(schedule),
                                   keras.callbacks.CSVLogger(str(out_dir / "history.csv")), _Lines(cfg.epochs)])
    seconds = time.time() - started
    model.save(out_dir / KERAS_FILE)
    int8 = export_int8(model, cfg, val_x[:300])
    write_bytes(out_dir / INT8_FILE, int8)
    figures = budget.model_figures(int8)
    report = {"config": asdict(cfg), "train_faces": int(len(faces)), "train_masked": int(faces.labels.sum()),
              "val_faces": int(len(val_faces)), "train_seconds": round(seconds, 1),
              "final_loss": float(history.history["loss"][-1]), "final_val_loss": float(history.history["val_loss"][-1]),
              "figures": {k: v for k, v in figures.items() if k != "layers"}, "layers": figures["layers"]}
    write_json(out_dir / REPORT_FILE, report)
    return report
