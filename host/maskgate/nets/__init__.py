"""Architectures, one small file each, registered by name for `--arch`.

Every builder takes (num_classes, **options) and returns a tf_keras Model whose input is a
32 x 32 x 3 float tensor of pixel values in [0, 255] (the contract; scaling happens inside the
model so the int8 export gets input scale 1.0 / zero point -128) and whose output is one sigmoid
unit for two classes or a softmax over the labels otherwise.

Face detectors are registered apart (`register_detector`, `build_detector`, `detector_names`):
they take a whole (shrunk) frame and give a grid, so they are not `--arch` classifiers.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

from maskgate.tfenv import keras

ARCHS: dict = {}
DETECTORS: dict = {}


def register(name: str):
    def wrap(builder):
        ARCHS[name] = builder
        return builder

    return wrap


def register_detector(name: str):
    def wrap(builder):
        DETECTORS[name] = builder
        return builder

    return wrap


def _load_all() -> None:
    # Import every module in this package so each registers itself.
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def names() -> list[str]:
    _load_all()
    return sorted(ARCHS)


def options(arch: str) -> list[str]:
    """The options `build(arch, ...)` takes besides num_classes (its builder's keywords and
    bn_momentum), for the CLI to name a typo."""
    _load_all()
    if arch not in ARCHS:
        raise KeyError(f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHS))}")
    params = inspect.signature(ARCHS[arch]).parameters.values()
    return sorted({"bn_momentum", *(p.name for p in params if p.name != "num_classes" and p.kind in
                                    (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))})


# Keras' default 0.99 (and the applications' 0.999) is made for ImageNet-length training: after
# the few hundred steps of a short from-scratch run the moving statistics used at inference
# still lag and the model predicts one class only. Long runs may set 0.99 (the shipped config).
BN_MOMENTUM = 0.9


def build(arch: str, num_classes: int = 2, bn_momentum: float = BN_MOMENTUM, **options):
    """The registered architecture `arch`, every batch-norm layer at `bn_momentum`."""
    _load_all()
    if arch not in ARCHS:
        raise KeyError(f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHS))}")
    model = ARCHS[arch](num_classes=num_classes, **options)
    for layer in model.submodules:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = bn_momentum
    return model


def detector_names() -> list[str]:
    _load_all()
    return sorted(DETECTORS)


def build_detector(arch: str, bn_momentum: float = BN_MOMENTUM, **options):
    """The registered face detector `arch`, every batch-norm layer at `bn_momentum`."""
    _load_all()
    if arch not in DETECTORS:
        raise KeyError(f"unknown face detector {arch!r}; known: {', '.join(sorted(DETECTORS))}")
    model = DETECTORS[arch](**options)
    for layer in model.submodules:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = bn_momentum
    return model
