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
    # real photos with teacher boxes (maskgate.detector.photos; datasets/face_boxes.csv)
    photo_sources: tuple = ()
    photo_p: float = 0.0  # share of training pictures that are a real photo
    photo_door_framing_p: float = 0.5  # of those, the share fitted whole into the frame
    photo_faces: int = 0  # times each real face crop joins the faces composed pictures paste
    real_backgrounds: int = 0  # face-free windows of the photos added to the background pool
    annotations: str | None = None  # the face-box file (default: the package's face_boxes.csv)
    # hard negatives: backgrounds a detector fired on, mined from many training seeds
    mine_with: str | None = None  # a facedet_int8.tflite (earlier run) that finds them
    mine_from: int = 0  # training backgrounds looked at ...
    mine_keep: int = 0  # ... and how many of the most face-like join the pool
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


def composed_batch(rng, faces, pool, cfg: compose.ComposeConfig, n: int, photos=None, photo_p: float = 0.0,
                   photo_door_framing_p: float = 0.5):
    """n training pictures, composed (faces pasted on a pool background) or, a share photo_p of
    them, real photos: (inputs n x 72 x 96 x 3 uint8, targets n x ROWS x COLS x 5, boxes)."""
    from maskgate.detector import photos as photo_pictures

    xs, ys, boxes = [], [], []
    for _ in range(n):
        unsure = ()
        if photos is not None and len(photos) and rng.random() < photo_p:
            frame, b, unsure = photo_pictures.picture(rng, photos, cfg, DRAW_SCALE, photo_door_framing_p)
        else:
            frame, b, _labels = compose.compose(rng, faces, pool[int(rng.integers(len(pool)))], cfg, DRAW_SCALE)
        xs.append(detector_input(frame))
        ys.append(targets.encode(b, compose.FRAME_W, compose.FRAME_H, unsure))
        boxes.append(b)
    return np.stack(xs), np.stack(ys), boxes


class ComposedBatches(keras.utils.Sequence):
    def __init__(self, faces, pool, cfg: DetectorConfig, photos=None):
        super().__init__()
        self.faces, self.pool, self.cfg, self.photos = faces, pool, cfg, photos
        self.compose_cfg = compose.ComposeConfig(**cfg.compose_options)
        self.epoch = 0

    def __len__(self):
        return self.cfg.steps_per_epoch

    def __getitem__(self, index):
        rng = np.random.default_rng([self.cfg.seed, self.epoch, index])
        x, y, _ = composed_batch(rng, self.faces, self.pool, self.compose_cfg, self.cfg.batch_size, self.photos,
                                 self.cfg.photo_p, self.cfg.photo_door_framing_p)
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


def background_pool(split: str, count: int, start: int = 0) -> list[np.ndarray]:
    w, h = int(compose.FRAME_W * DRAW_SCALE), int(compose.FRAME_H * DRAW_SCALE)
    return list(backgrounds.backgrounds(split, count, w, h, start))


def mine_backgrounds(detector_tflite, split: str, start: int, count: int, keep: int, batch: int = 500) -> list[int]:
    """Indices of the `keep` backgrounds of `split` (of `count` from index `start`) on which the
    detector's strongest cell is highest: the scenes it takes for a face (hard negatives)."""
    from maskgate.runtime import LiteModel

    model = LiteModel(Path(detector_tflite).read_bytes(), batch=1)
    scores = []
    for first in range(start, start + count, batch):
        n = min(batch, start + count - first)
        x = np.stack([detector_input(b) for b in background_pool(split, n, first)])
        out = model.dequantize(model.raw(x)).reshape(n, fd.ROWS * fd.COLS, fd.CHANNELS)
        scores.extend(out[..., 0].max(axis=1).tolist())
    order = np.argsort(-np.asarray(scores), kind="stable")[:keep]
    return sorted(int(start + i) for i in order)


def training_pool(cfg: DetectorConfig, photos=None, seed_rng=None) -> tuple[list[np.ndarray], dict]:
    """The backgrounds training pastes faces on: cfg.background_pool drawn ones, the mined hard
    negatives, and face-free windows of the photos. And what went in (for the report)."""
    from maskgate.detector import photos as photo_pictures

    pool = background_pool("train", cfg.background_pool)
    info = {"drawn": len(pool), "mined": [], "real_windows": 0}
    if cfg.mine_with and cfg.mine_keep:
        mined = mine_backgrounds(cfg.mine_with, "train", cfg.background_pool, cfg.mine_from, cfg.mine_keep)
        w, h = int(compose.FRAME_W * DRAW_SCALE), int(compose.FRAME_H * DRAW_SCALE)
        seed = backgrounds.SPLIT_SEEDS["train"]
        pool += [backgrounds.background(seed, i, w, h) for i in mined]
        info["mined"] = mined
    if photos is not None and cfg.real_backgrounds:
        w, h = int(compose.FRAME_W * DRAW_SCALE), int(compose.FRAME_H * DRAW_SCALE)
        windows = photo_pictures.free_windows(seed_rng, photos, cfg.real_backgrounds, w, h)
        pool += windows
        info["real_windows"] = len(windows)
    return pool, info


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
    photos = val_photos = None
    if cfg.photo_sources:
        from maskgate.detector import photos as photo_pictures

        photos = photo_pictures.load(shared_root, cfg.photo_sources, "fit", cfg.annotations)
        val_photos = photo_pictures.load(shared_root, cfg.photo_sources, "val", cfg.annotations)
        if cfg.photo_faces:
            real = photo_pictures.face_crops(photos)
            faces = compose.Faces.join([faces] + [real] * cfg.photo_faces)
    pool, pool_info = training_pool(cfg, photos, np.random.default_rng([cfg.seed, 555]))
    print(f"detector: {len(faces)} faces, {len(photos) if photos else 0} photos, backgrounds {pool_info['drawn']} drawn "
          f"+ {len(pool_info['mined'])} mined + {pool_info['real_windows']} photo windows", flush=True)
    val_x, val_y, _ = composed_batch(np.random.default_rng([cfg.seed, 10**6]), val_faces,
                                     background_pool("val", max(50, cfg.val_frames // 4)),
                                     compose.ComposeConfig(**cfg.compose_options), cfg.val_frames, val_photos,
                                     cfg.photo_p, cfg.photo_door_framing_p)
    model = nets.build_detector(cfg.arch, **cfg.arch_options)
    if cfg.init:
        source = keras.models.load_model(cfg.init, compile=False)
        if cfg.arch_options.get("context") == "head" and "grid_logits" not in {layer.name for layer in source.layers}:
            from maskgate.nets.facedet import head_context_from

            head_context_from(model, source)  # the same function, in the cheaper layout
        else:
            model.set_weights(source.get_weights())
    schedule = lambda epoch, _lr=None: float(cfg.learning_rate * 0.5 * (1 + np.cos(np.pi * epoch / cfg.epochs)))  # noqa: E731
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                  loss=detection_loss(cfg.side_weight, cfg.offset_weight))
    started = time.time()
    history = model.fit(ComposedBatches(faces, pool, cfg, photos), validation_data=(val_x.astype(np.float32), val_y.reshape(len(val_y), -1)),
                        epochs=cfg.epochs, verbose=0, shuffle=False,
                        callbacks=[keras.callbacks.LearningRateScheduler(schedule),
                                   keras.callbacks.CSVLogger(str(out_dir / "history.csv")), _Lines(cfg.epochs)])
    seconds = time.time() - started
    model.save(out_dir / KERAS_FILE)
    int8 = export_int8(model, cfg, val_x[:300])
    write_bytes(out_dir / INT8_FILE, int8)
    figures = budget.model_figures(int8)
    report = {"config": asdict(cfg), "train_faces": int(len(faces)), "train_masked": int(faces.labels.sum()),
              "train_photos": len(photos) if photos else 0, "backgrounds": {k: (len(v) if isinstance(v, list) else v)
                                                                            for k, v in pool_info.items()},
              "mined_backgrounds": pool_info["mined"],
              "val_faces": int(len(val_faces)), "train_seconds": round(seconds, 1),
              "final_loss": float(history.history["loss"][-1]), "final_val_loss": float(history.history["val_loss"][-1]),
              "figures": {k: v for k, v in figures.items() if k != "layers"}, "layers": figures["layers"]}
    write_json(out_dir / REPORT_FILE, report)
    return report
