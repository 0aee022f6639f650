"""Training: the paper's recipe (Adam 1e-3 / 0.9 / 0.999 / 1e-7, binary cross-entropy,
ReduceLROnPlateau x0.2 after 5 epochs without val-accuracy gain, best checkpoint) plus early
stopping, on-the-fly seeded augmentation, and a run folder that keeps everything needed to
reproduce or inspect the run."""
from __future__ import annotations

import csv
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from maskgate import contract, nets, run_folder
from maskgate.atomic import replacing, save_figure
from maskgate.data.arrays import load_split
from maskgate.data.augment import AugmentConfig, augment_batch
from maskgate.data.manifest import check_for_training
from maskgate.digest import sha256_file
from maskgate.errors import DataError
from maskgate.runtime import decide, to_class_probabilities
from maskgate.tfenv import keras, seed_everything
from maskgate.train_config import LR_SCHEDULES, TrainConfig  # noqa: F401 (maskgate.train.TrainConfig)
from maskgate.weight_averaging import WeightAverage, recompute_batch_norm


def cosine_learning_rate(base: float, epochs: int):
    """Per-epoch cosine decay: `base` at epoch 0, base * (1 + cos(pi * (E-1)/E)) / 2 at the last."""
    return lambda epoch, _lr=None: float(base * 0.5 * (1.0 + np.cos(np.pi * epoch / max(epochs, 1))))


class AugmentedBatches(keras.utils.Sequence):
    """Batches of augmented 32 x 32 inputs. Each batch's randomness comes from
    (seed, epoch, batch index), so a run is reproducible whatever order Keras asks in."""

    def __init__(self, x64, y, batch_size, seed, augment_cfg: AugmentConfig | None, x32=None):
        super().__init__()
        self.x64, self.x32, self.y = x64, x32, y
        self.batch_size, self.seed, self.cfg = batch_size, seed, augment_cfg
        self.epoch = 0
        self._order = np.random.default_rng([seed, 0]).permutation(len(y))

    def __len__(self):
        return int(np.ceil(len(self.y) / self.batch_size))

    def __getitem__(self, index):
        idx = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.cfg is None:
            x = self.x32[idx]
        else:
            x = augment_batch(self.x64[idx], np.random.default_rng([self.seed, self.epoch, index]), self.cfg)
        return contract.to_float_input(x), self.y[idx].astype(np.float32)

    def on_epoch_end(self):
        self.epoch += 1
        self._order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.y))


def training_batches(train: dict, cfg: TrainConfig) -> AugmentedBatches:
    """The training split as training sees it: augmented per cfg (or the plain inputs)."""
    augment_cfg = AugmentConfig(**cfg.augment_options) if cfg.augment else None
    return AugmentedBatches(train["x64"], train["y"], cfg.batch_size, cfg.seed, augment_cfg, x32=train["x32"])


def compile_model(model, num_classes: int, learning_rate: float = 1e-3, label_smoothing: float = 0.0):
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    if num_classes == 2:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
        metrics = [keras.metrics.BinaryAccuracy(name="accuracy")]
    else:
        # sparse labels cannot be smoothed in Keras 2; use one-hot when smoothing is asked for
        loss = keras.losses.SparseCategoricalCrossentropy()
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


class EpochProgress(keras.callbacks.Callback):
    """A rich progress bar over epochs with the latest metrics (Keras' own bar floods logs)."""

    def __init__(self, epochs: int):
        super().__init__()
        from maskgate.progress import progress_bar

        self.bar = progress_bar()
        self.epochs = epochs

    def on_train_begin(self, logs=None):
        self.bar.start()
        self.task = self.bar.add_task("training", total=self.epochs)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        text = " ".join(f"{k}={v:.4f}" for k, v in logs.items() if k in ("loss", "accuracy", "val_loss", "val_accuracy"))
        self.bar.update(self.task, advance=1, description=f"epoch {epoch + 1}/{self.epochs} {text}")
        if not self.bar.console.is_terminal:  # logs get one line per epoch instead of a live bar
            self.bar.console.print(f"epoch {epoch + 1}/{self.epochs} {text}")

    def on_train_end(self, logs=None):
        self.bar.stop()


def load_training_data(data_manifest, cfg: TrainConfig):
    labels = contract.labels_for(cfg.num_classes)
    check_for_training(data_manifest, labels)
    train = load_split(data_manifest, "train", labels, with_aug=cfg.augment, limit=cfg.max_train, seed=cfg.seed)
    val = load_split(data_manifest, "val", labels, limit=cfg.max_val, seed=cfg.seed)
    if len(train["y"]) == 0:
        raise DataError(f"{data_manifest} has no training images for labels {labels}")
    if len(val["y"]) == 0:
        raise DataError(f"{data_manifest} has no validation images: import with a val split")
    return train, val


def fit(model, train: dict, val: dict, cfg: TrainConfig, out_dir: Path, extra_callbacks=(), checkpoint=True):
    """Compile-free fit used by training and by the optimize methods (which wrap the model)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    batches = training_batches(train, cfg)
    if cfg.lr_schedule == "cosine":
        schedule = keras.callbacks.LearningRateScheduler(cosine_learning_rate(cfg.learning_rate, cfg.epochs))
    else:
        schedule = keras.callbacks.ReduceLROnPlateau(monitor="val_accuracy", factor=0.2, patience=cfg.lr_patience, verbose=0)
    callbacks = [
        schedule,
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=cfg.stop_patience, restore_best_weights=True),
        keras.callbacks.CSVLogger(str(out_dir / run_folder.HISTORY_FILE)),
        EpochProgress(cfg.epochs),
        *extra_callbacks,
    ]
    if checkpoint:
        callbacks.append(
            keras.callbacks.ModelCheckpoint(str(out_dir / run_folder.MODEL_FILE), monitor="val_accuracy",
                                            save_best_only=True)
        )
    history = model.fit(
        batches,
        validation_data=(contract.to_float_input(val["x32"]), val["y"].astype(np.float32)),
        epochs=cfg.epochs,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,  # the Sequence shuffles itself, from the seed
    )
    return history


def plot_curves(history_csv: Path, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(history_csv) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("accuracy", "loss")):
        ax.plot(epochs, [float(r[key]) for r in rows], label=f"train {key}")
        ax.plot(epochs, [float(r[f"val_{key}"]) for r in rows], label=f"val {key}")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, out_png)
    plt.close(fig)


def train(data_manifest, out_dir, cfg: TrainConfig | None = None) -> Path:
    """Train `cfg.arch` on the manifest's train split, select on its val split.
    Writes RUN/model.keras (best val accuracy, or the SWA average when cfg.swa_start is set),
    config.json, history.csv, curves.png."""
    cfg = cfg or TrainConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    train_data, val_data = load_training_data(data_manifest, cfg)
    model = nets.build(cfg.arch, num_classes=cfg.num_classes, **cfg.arch_options)
    compile_model(model, cfg.num_classes, cfg.learning_rate, cfg.label_smoothing)
    started = time.time()
    averager = WeightAverage(cfg.swa_start) if cfg.swa_start else None
    history = fit(model, train_data, val_data, cfg, out_dir, extra_callbacks=[averager] if averager else ())
    # model.keras holds the best-val-accuracy checkpoint; the in-memory model may be a later epoch
    swa = None
    if averager and averager.count:
        swa = _average_weights(model, averager, train_data, val_data, cfg, out_dir)
    elif averager:  # early stopping came before the averaging began: the best checkpoint stays
        swa = {"skipped": f"training stopped after epoch {len(history.history['loss'])}, before swa_start {cfg.swa_start}"}
    seconds = time.time() - started
    plot_curves(out_dir / run_folder.HISTORY_FILE, out_dir / run_folder.CURVES_FILE)
    epochs_run = len(history.history.get("loss", []))
    run_folder.write_record(
        out_dir,
        {
            "train": asdict(cfg),
            "data_manifest": str(Path(data_manifest).resolve()),
            "data_manifest_sha256": sha256_file(data_manifest),
            "train_images": int(len(train_data["y"])),
            "val_images": int(len(val_data["y"])),
            "labels": list(contract.labels_for(cfg.num_classes)),
            "epochs_run": epochs_run,
            "best_val_accuracy": float(max(history.history.get("val_accuracy", [0.0]))),
            "train_seconds": round(seconds, 1),
            "seconds_per_epoch": round(seconds / max(epochs_run, 1), 2),
            **({"swa": swa} if swa else {}),
        },
    )
    return out_dir


def _average_weights(model, averager: WeightAverage, train_data, val_data, cfg: TrainConfig, out_dir: Path) -> dict:
    """Replace RUN/model.keras by the SWA model; the checkpoint it replaces becomes model-best.keras."""
    model.set_weights(averager.averaged())
    # the statistics come from one pass over training batches as training saw them (augmented),
    # drawn with an epoch index no training epoch used
    batches = training_batches(train_data, cfg)
    batches.epoch = cfg.epochs
    used = recompute_batch_norm(model, (batches[i] for i in range(len(batches))))
    probabilities = to_class_probabilities(model.predict(contract.to_float_input(val_data["x32"]), verbose=0, batch_size=256))
    predicted = decide(probabilities, list(contract.labels_for(cfg.num_classes)), contract.THRESHOLD)
    val_accuracy = float(np.mean(predicted == val_data["y"]))
    (out_dir / run_folder.MODEL_FILE).replace(out_dir / run_folder.BEST_CHECKPOINT)
    with replacing(out_dir / run_folder.MODEL_FILE) as tmp:
        model.save(tmp)
    return {"start_epoch": cfg.swa_start, "epochs_averaged": averager.count, "bn_batches": used,
            "val_accuracy": val_accuracy}
