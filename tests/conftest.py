"""Shared fixtures. Engineers add fixtures here; nothing is removed without checking users."""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
BOARD_FIRMWARE = None  # --firmware: the OpenMV release the board-tool tests' virtual board emulates


def pytest_addoption(parser):
    from maskgate.memory import EMULATED

    parser.addoption("--firmware", choices=EMULATED, default=None,
                     help="OpenMV release the virtual board emulates in the board-tool tests (default: the newest)")


def pytest_configure(config):
    global BOARD_FIRMWARE
    BOARD_FIRMWARE = config.getoption("--firmware")


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
    from maskgate.quantize import quantize_run
    from maskgate.train import TrainConfig, train

    run = tmp_path_factory.mktemp("tiny-run")
    cfg = TrainConfig(arch="tinycnn", arch_options={"width": 0.5, "dropout": 0.0}, epochs=12, batch_size=16,
                      learning_rate=3e-3, augment=False, seed=0)
    train(synthetic_import, run, cfg)
    quantize_run(run, calibration_images=50)
    return run


# --- real faces (reconstructed: see the note in the board engineer's report) ---

@pytest.fixture(scope="session")
def known_face(shared_datasets):
    """(rgb, box): a real bare face from face-mask-12k in which the Haar detector finds exactly
    one face and an eye pair inside it."""
    from maskgate.data import faces
    from maskgate.data.images import read_rgb

    for path in sorted((shared_datasets / "face-mask-12k" / "Test" / "WithoutMask").glob("*.jpg"))[:80]:
        rgb = read_rgb(path)
        found = faces.find_faces(rgb)
        if len(found) == 1 and faces.eye_pair(faces.find_eyes(rgb, found[0]), found[0]) is not None:
            return rgb, found[0]
    pytest.skip("no real face with a detectable face and eye pair")


@pytest.fixture(scope="session")
def bare_faces_import(tmp_path_factory, shared_datasets):
    """manifest.csv of ~40 real bare faces (face-mask-12k WithoutMask, class-folder layout)
    imported with face boxes (crop_faces) and a train/val/test split."""
    import shutil as _shutil

    from maskgate.data.importer import import_sources

    base = tmp_path_factory.mktemp("bare-faces")
    folder = base / "bare-faces" / "without_mask"
    folder.mkdir(parents=True)
    for path in sorted((shared_datasets / "face-mask-12k" / "Train" / "WithoutMask").glob("*.jpg"))[:40]:
        _shutil.copy(path, folder / path.name)
    manifest = import_sources([str(base / "bare-faces")], base / "imported", seed=0, val_fraction=0.2,
                              test_fraction=0.2, crop_faces=True, progress=False)
    return Path(manifest)


# --- the virtual board and the firmware (board engineer) ---

def dataset_files(split: str, label: str, count: int, start: int = 0) -> list[Path]:
    """The first `count` pictures (sorted by name) of face-mask-12k split/label: real faces.
    Skips, naming the folder, where it is absent."""
    folder = SHARED_DATASETS / "face-mask-12k" / split / label
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    return sorted(folder.glob("*.jpg"))[start : start + count]


REAL_PICTURES = (SHARED_DATASETS / "face-mask-12k").is_dir()
_drawn_root = None


def pictures(split: str, label: str, count: int, start: int = 0) -> list[Path]:
    """Pictures to put in front of the (virtual) camera for tests that need pictures, not faces
    (the serial link, the card, deploy, pull, capture, bench): face-mask-12k split/label as
    dataset_files gives them where ../shared/datasets is there, else pictures drawn here
    (tests/synthetic.py: a face-like blob with or without a mask band, as JPEG files)."""
    if REAL_PICTURES:
        return dataset_files(split, label, count, start)
    global _drawn_root
    import atexit
    import tempfile

    import cv2
    from synthetic import synthetic_face

    if _drawn_root is None:
        _drawn_root = Path(tempfile.mkdtemp(prefix="maskgate-drawn-"))
        atexit.register(shutil.rmtree, _drawn_root, True)
    folder = _drawn_root / split / label
    folder.mkdir(parents=True, exist_ok=True)
    kind = "no_mask" if label.lower().startswith("without") else "mask"
    rng = np.random.default_rng([len(split), len(label), start, count])
    out = []
    for i in range(start, start + count):
        path = folder / f"{i:05d}.jpg"
        if not path.exists():
            rgb = synthetic_face(kind, rng, size=128)
            cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        out.append(path)
    return out


# --- a small int8 model that really tells masks apart (board and virtual-board tests) ---

BOARD_MODEL_IMAGES = 400  # per class, from face-mask-12k/Train
BOARD_MODEL_EPOCHS = 15


def _train_board_model(out_dir: Path) -> None:
    from maskgate import contract, nets
    from maskgate.data.images import read_rgb
    from maskgate.quantize import convert_int8, representative_pixels, write_bundle
    from maskgate.tfenv import keras, seed_everything

    def pixels(label):
        files = pictures("Train", label, BOARD_MODEL_IMAGES)
        return np.stack([contract.prepare(read_rgb(f), None, camera=True) for f in files])

    x = np.concatenate([pixels("WithoutMask"), pixels("WithMask")])
    y = np.repeat(np.array([0, 1], np.float32), BOARD_MODEL_IMAGES)
    seed_everything(0)
    model = nets.build("tinycnn", width=0.25)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(contract.to_float_input(x), y, epochs=BOARD_MODEL_EPOCHS, batch_size=32, verbose=0, shuffle=True)
    int8 = convert_int8(model, representative_pixels(x, 100))
    write_bundle(out_dir, int8, None, list(contract.LABELS_BINARY), "tinycnn",
                 training={"fixture": "tests/conftest.py board_model"})


def _board_model_key() -> str:
    # Retrain when the architecture, the contract or this recipe changes.
    h = hashlib.sha256()
    for path in sorted((ROOT / "host" / "maskgate" / "nets").glob("*.py")) + [
        ROOT / "host" / "maskgate" / "contract.py", ROOT / "host" / "maskgate" / "quantize.py",
    ]:
        h.update(path.read_bytes())
    h.update(f"{BOARD_MODEL_IMAGES}/{BOARD_MODEL_EPOCHS}/{'real' if REAL_PICTURES else 'drawn'}".encode())
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def board_model(request, tmp_path_factory) -> dict:
    """{"path": Path to maskgate_int8.tflite, "manifest": dict}: tinycnn (width 0.25) trained
    for a few seconds on 800 face-mask-12k pictures (without ../shared/datasets: on 800 drawn
    ones, which is enough for the tests that need a working model, not one that knows faces),
    int8, with a real manifest.json. Cached in pytest's cache folder (about 30 s to rebuild on
    2 cores)."""
    if getattr(request.config, "cache", None) is None:  # -p no:cacheprovider
        cache = tmp_path_factory.mktemp("board-model-uncached")
    else:
        cache = Path(request.config.cache.mkdir("maskgate-board-model")) / _board_model_key()
    if not (cache / "manifest.json").is_file():
        building = tmp_path_factory.mktemp("board-model")
        _train_board_model(building)
        if cache.exists():
            shutil.rmtree(cache)
        shutil.copytree(building, cache)
    manifest = json.loads((cache / "manifest.json").read_text())
    return {"path": cache / manifest["model_file"], "manifest": manifest}


@pytest.fixture(scope="session")
def scored_faces_on(board_model):
    """scored_faces for a given OpenMV release (None: the newest), computed once per release:
    the releases find different faces (no eye cascade on 4.5.6-4.6)."""
    from maskgate.board.virtualboard import VirtualBoard

    cache = {}

    def scored(firmware=None) -> dict:
        if firmware not in cache:
            out = {}
            for label, folder in (("mask", "WithMask"), ("no_mask", "WithoutMask")):
                files = dataset_files("Test", folder, 60)
                with VirtualBoard(files, firmware=firmware) as board:
                    board.install(board_model["path"], board_model["manifest"])
                    result = board.run()
                    assert result.crash is None, result.crash
                    rows = board.decisions()
                out[label] = [(files[r["frame"]], r["prob"]) for r in rows if r["prob"] is not None]
            cache[firmware] = out
        return cache[firmware]

    return scored


@pytest.fixture(scope="session")
def scored_faces(scored_faces_on) -> dict:
    """Test pictures the firmware (on the virtual board of the newest release, face detection
    on) finds a face in, with the P(mask) it computed: {"mask": [(path, prob)], "no_mask": [...]}.
    Door tests pick confidently classified faces from these, so they test the firmware's
    decisions rather than the tiny model's accuracy (which is asserted separately)."""
    return scored_faces_on(None)


@pytest.fixture
def link(board):
    """A connected host link to the `board` fixture of the requesting test module."""
    from maskgate.board.link import Link

    with Link(board.pty_path) as lk:
        lk.connect()
        yield lk
