"""Where the files the package ships live: the dataset catalogue, the build configs and the
shipped model. They are package data (folders datasets/, configs/ and models/ of the
repository, mapped to maskgate.datasets, maskgate.configs and maskgate.models in
pyproject.toml), so a wheel installed anywhere finds them; nothing is resolved against the
current directory. The firmware is maskgate.firmware (see firmware/__init__.py)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def _path(package: str, name: str) -> Path:
    return Path(str(resources.files(package) / name))


def catalogue() -> Path:
    return _path("maskgate.datasets", "catalogue.toml")


def config(name: str = "default") -> Path:
    """configs/<name>.toml: `default` is the recipe of the shipped model, `quick` the short one."""
    return _path("maskgate.configs", f"{name}.toml")


def shipped_model() -> Path:
    return _path("maskgate.models", "maskgate_int8.tflite")
