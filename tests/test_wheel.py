"""The package works as a package, not only as a checkout: the wheel built from this tree,
installed outside it, runs the board side from a folder outside the repository without
TensorFlow (the `train` extra), with its code, firmware, catalogue and shipped model coming
from the installed wheel."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# What a plain `pip install maskgate` lacks: the run below refuses to import it.
TRAINING_ONLY = ("tensorflow", "tf_keras", "tensorflow_model_optimization")
RUNNER = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # `import tensorflow` raises ImportError, as without the extra
from maskgate.cli import run
sys.argv = ["maskgate"] + sys.argv[1:]
run()
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(target folder, wheel path): the wheel built from a copy of this tree, installed with
    pip into a folder of its own (dependencies come from this environment)."""
    base = tmp_path_factory.mktemp("wheel")
    tree = base / "tree"
    local = {".git", ".venv", "runs", "data", "build", ".pytest_cache", ".hypothesis"}  # the checkout's own

    def ignore(folder, names):
        top = Path(folder) == ROOT
        return [n for n in names if (top and n in local) or n == "__pycache__" or n.endswith(".egg-info")]

    shutil.copytree(ROOT, tree, ignore=ignore)
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(tree)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("maskgate-*.whl")
    target = base / "site"
    subprocess.run(pip + ["install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target, wheel


def maskgate(installed, *args, cwd):
    target, _ = installed
    runner = Path(cwd) / "run_maskgate.py"
    runner.write_text(RUNNER.format(blocked=TRAINING_ONLY))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)  # before this environment's site-packages (and its editable maskgate)
    return subprocess.run([sys.executable, str(runner), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_wheel_holds_the_firmware_catalogue_configs_and_shipped_model(installed):
    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("maskgate/firmware/main.py", "maskgate/firmware/frame.py", "maskgate/datasets/catalogue.toml",
                 "maskgate/configs/default.toml", "maskgate/models/maskgate_int8.tflite",
                 "maskgate/models/manifest.json", "maskgate/models/LICENSE.md", "maskgate/board/link.py",
                 "maskgate/board/virtualboard/board.py", "maskgate/firmware/face_stage.py",
                 "maskgate/firmware/facedet.py", "maskgate/detector/stage.py", "maskgate/detector/bundle.py",
                 "maskgate/datasets/face_boxes.csv", "maskgate/walkup/scene_regions.json"):
        assert name in names, name
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert "Provides-Extra: train" in text


def test_installed_wheel_runs_outside_the_checkout_without_tensorflow(installed, tmp_path):
    target, _ = installed
    version = maskgate(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert "maskgate" in version.stdout

    listing = maskgate(installed, "data", "fetch", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "face-mask-12k" in listing.stdout and "face-mask-chandrikadeb7" in listing.stdout

    import cv2

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:03d}.jpg"), np.full((240, 320, 3), 60 + 40 * i, np.uint8))
    sim = maskgate(installed, "simulate", "--frames", str(frames), "--json", "--card", str(tmp_path / "card"),
                   cwd=tmp_path)
    assert sim.returncode == 0, sim.stderr
    records = [json.loads(line) for line in sim.stdout.splitlines() if line.startswith("{")]
    assert [r["frame"] for r in records] == [0, 1, 2]
    assert all(r["door"] == "closed" for r in records)

    # the code and the data came from the installed wheel, not from this checkout
    where = subprocess.run(
        [sys.executable, "-c", "import maskgate, maskgate.board, maskgate.package_data as d, maskgate.firmware as f;"
         "print(maskgate.__file__); print(maskgate.board.__file__); print(d.catalogue()); print(d.shipped_model());"
         "print(f.FIRMWARE_DIR)"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.splitlines():
        assert Path(line).resolve().is_relative_to(target.resolve()), line
    card_files = {p.name for p in (tmp_path / "card").iterdir()}
    assert {"main.py", "config.json", "maskgate_int8.tflite"} <= card_files
    assert "__init__.py" not in card_files  # the PC's loader never goes on the card
