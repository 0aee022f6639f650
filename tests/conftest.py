"""Shared fixtures. Engineers add fixtures here; nothing is removed without checking users."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """../shared/datasets (real face-mask images); tests needing it skip where it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"real datasets not available: {SHARED_DATASETS} is absent (they live in ../shared/datasets in CI)")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def synthetic_import(tmp_path_factory):
    """A small synthetic dataset imported with `maskgate data import` (train/val/test split)."""
    from synthetic import write_class_folders

    from maskgate.data.importer import import_sources

    base = tmp_path_factory.mktemp("synthetic")
    src = write_class_folders(base / "synthetic-faces", per_class=60)
    manifest = import_sources([str(src)], base / "imported", seed=0, val_fraction=0.2, test_fraction=0.2)
    return Path(manifest)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, synthetic_import):
    """A trained + int8-quantized tiny model bundle (maskgate_int8.tflite, manifest.json, ...)."""
    from maskgate.optimize.quantize import quantize_run
    from maskgate.train import TrainConfig, train

    run = tmp_path_factory.mktemp("tiny-run")
    cfg = TrainConfig(arch="tinycnn", arch_options={"width": 0.5, "dropout": 0.0}, epochs=12, batch_size=16,
                      learning_rate=3e-3, augment=False, seed=0)
    train(synthetic_import, run, cfg)
    quantize_run(run, calibration_images=50)
    return run
