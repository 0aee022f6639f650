"""The run folder: what `train` hands to quantize, optimize and compare, and what optimize
writes again for the model it made.

    model.keras       the trained model (model.h5 for a QAT model from optimize: tfmot's
                      quantize layers do not reload from .keras)
    model-best.keras  with stochastic weight averaging: the best-validation checkpoint
    config.json       the run record: [train] settings, the data manifest and its sha256, labels,
                      epochs run, best validation accuracy, timings (optimize: what it did)
    history.csv, curves.png
    stages/           optimize's fine-tuning stages (each with its history.csv)

This module alone knows those names. After `quantize` the folder holds the model bundle too
(maskgate.bundle).
"""
from __future__ import annotations

from pathlib import Path

from maskgate.atomic import write_json
from maskgate.errors import DataError

MODEL_FILE = "model.keras"
QAT_MODEL_FILE = "model.h5"
BEST_CHECKPOINT = "model-best.keras"
RECORD_FILE = "config.json"
HISTORY_FILE = "history.csv"
CURVES_FILE = "curves.png"
STAGES_DIR = "stages"
# what train or optimize writes into a run folder (the model bundle and eval/ come after it)
WRITTEN = (MODEL_FILE, QAT_MODEL_FILE, BEST_CHECKPOINT, RECORD_FILE, HISTORY_FILE, CURVES_FILE, STAGES_DIR)


def record(run_dir) -> dict:
    """The run record (config.json); DataError when `run_dir` is not a run folder."""
    path = Path(run_dir) / RECORD_FILE
    if not path.is_file():
        raise DataError(f"{run_dir} is not a run folder (no {RECORD_FILE})")
    return _read(path)


def record_or_empty(run_dir) -> dict:
    path = Path(run_dir) / RECORD_FILE
    return _read(path) if path.is_file() else {}


def _read(path: Path) -> dict:
    from maskgate.bundle import read_json_object

    return read_json_object(path, "run record")


def write_record(run_dir, values: dict) -> Path:
    return write_json(Path(run_dir) / RECORD_FILE, values)


def model_file(run_dir) -> Path:
    """The run's model; DataError (train first) when it has none."""
    for name in (MODEL_FILE, QAT_MODEL_FILE):
        if (Path(run_dir) / name).exists():
            return Path(run_dir) / name
    raise DataError(f"{run_dir} has no {MODEL_FILE}: train first (maskgate train --out {run_dir})")


def has_model(run_dir) -> bool:
    return any((Path(run_dir) / name).exists() for name in (MODEL_FILE, QAT_MODEL_FILE))


def load_model(path):
    """A run's model file (or the model of a run folder), QAT layers included."""
    from maskgate.tfenv import keras

    path = Path(path)
    if path.is_dir():
        path = model_file(path)
    try:
        if path.suffix != ".h5":
            return keras.models.load_model(path)
        from maskgate.optimize.qat import scope

        with scope():
            return keras.models.load_model(path)
    except Exception as e:  # a cut-short or foreign file: Keras says ValueError, OSError, zipfile.BadZipFile ...
        why = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise DataError(f"{path}: damaged model file, Keras cannot load it ({why}); train again") from e


def save_model(model, run_dir) -> Path:
    """model.keras, or model.h5 for QAT models; the other one, if any, goes."""
    run_dir = Path(run_dir)
    is_qat = any(type(layer).__name__.startswith("Quantize") for layer in model.layers)
    path = run_dir / (QAT_MODEL_FILE if is_qat else MODEL_FILE)
    for stale in (MODEL_FILE, QAT_MODEL_FILE):
        if (run_dir / stale).exists() and run_dir / stale != path:
            (run_dir / stale).unlink()
    model.save(path)
    return path
