"""The firmware folder seen from the PC (this file never goes on the card).

The PC uses the very code the camera runs instead of a second copy: the firmware's pure
modules (frame.py, config.py, face.py, ...) are imported from here, and `files()` lists what
goes on the card. Installed from a wheel, the folder is package data of `maskgate.firmware`.

    from maskgate import firmware
    frame = firmware.module("frame")     # the serial framing (magic, types, encode, Parser)
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FIRMWARE_DIR = Path(__file__).resolve().parent


def files(firmware_dir: Path = FIRMWARE_DIR) -> list[Path]:
    """The .py files that go on the card (main.py and its modules; not this file)."""
    found = sorted(p for p in Path(firmware_dir).glob("*.py") if p.name != "__init__.py")
    if not any(p.name == "main.py" for p in found):
        raise FileNotFoundError(f"{firmware_dir} has no main.py: is this the maskgate firmware folder?")
    return found


def module(name: str):
    """Import firmware/<name>.py under the name maskgate_firmware_<name> (cached), so it
    never collides with a PC module of the same name (config, frame, ...)."""
    key = f"maskgate_firmware_{name}"
    if key in sys.modules:
        return sys.modules[key]
    path = FIRMWARE_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or not path.exists() or name == "__init__":
        raise ImportError(f"no firmware module {name!r} in {FIRMWARE_DIR}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[key] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[key]
        raise
    return mod
