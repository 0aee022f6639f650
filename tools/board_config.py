"""config.json for the camera, made from the model's manifest (maskgate.bundle).

The model facts (file, sha256, labels, output kind, threshold, input size, face margin) come
from manifest.json, and so does door.hysteresis when an operating point chose the threshold for it; the door and log settings start from the firmware's own defaults
(firmware/config.py DEFAULTS) and can be overridden. The result is checked with the
firmware's own validator, so a config the host writes is one the board accepts.

The face stage travels the same way: a manifest's "face_stage" section ({"stage": "haar" |
"facedet" | "haar+facedet", "detector": {"model_file", "sha256", "threshold", ...}}, written
by maskgate.detector.bundle) becomes config.json's face_stage and detector keys, and the
detector's .tflite (beside the classifier in the model folder) goes on the card with it.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from maskgate import bundle, firmware
from maskgate.digest import sha256_bytes
from maskgate.errors import DataError

CONFIG_FILE = "config.json"


def _set_dotted(cfg: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = cfg
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise DataError(f"config override {dotted}: {key} is not a group")
    node[keys[-1]] = value


def _merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if "." in key:
            _set_dotted(base, key, value)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def setting_keys() -> set[str]:
    """What `--set KEY=VALUE` may name: every key of the firmware's config.json (a group's as
    group.key, or the group itself), the model keys included."""
    fw_config = firmware.module("config")
    keys = set(fw_config.REQUIRED)
    for key, value in fw_config.DEFAULTS.items():
        keys.add(key)
        if isinstance(value, dict):
            keys |= {f"{key}.{sub}" for sub in value}
    return keys


def make_config(manifest: dict, **overrides) -> dict:
    """The firmware's config.json (as a dict) for the model described by `manifest`.

    overrides: top-level keys, groups merged key by key (door={"k": 2}), or dotted keys
    (**{"door.hold_s": 1.0}). Raises DataError when the result would not pass the
    firmware's validation."""
    fw_config = firmware.module("config")
    try:
        c = manifest["contract"]
        size = c["input_size"]
        if isinstance(size, (list, tuple)):
            if len(size) != 2 or size[0] != size[1]:
                raise DataError(f"manifest input_size {size} is not square; the firmware crops squares")
            size = size[0]
        cfg = {
            "schema": fw_config.SCHEMA,
            "model": manifest["model_file"],
            "model_sha256": manifest.get("sha256"),
            "labels": list(c["labels"]),
            "output": c["output"],
            "positive_label": c["positive_label"],
            "threshold": float(c["threshold"]),
            "input_size": int(size),
            "face_margin": float(c["crop"]["face_margin"]),
        }
        stage = manifest.get("face_stage")
        if stage:
            cfg["face_stage"] = stage["stage"]
            det = stage.get("detector")
            if det:
                cfg["detector"] = {"model": det["model_file"], "model_sha256": det.get("sha256"),
                                   "threshold": float(det["threshold"])}
        for key, value in fw_config.DEFAULTS.items():
            cfg.setdefault(key, copy.deepcopy(value))
        op = manifest.get("operating_point")
        if op and "hysteresis" in op:
            # the threshold was chosen for this hysteresis (maskgate.operating_point)
            cfg["door"]["hysteresis"] = float(op["hysteresis"])
    except KeyError as e:
        raise DataError(f"manifest lacks {e}: not a maskgate model manifest") from e
    _merge(cfg, overrides)
    try:
        return fw_config.validate(cfg)
    except fw_config.ConfigError as e:
        raise DataError(str(e)) from e


def uses_detector(cfg: dict) -> bool:
    """Does this config.json run the face detector model?"""
    return bool(cfg["face_detection"]) and cfg["face_stage"] in ("facedet", "haar+facedet")


def detector_bytes(cfg: dict, model_path, detector_path=None) -> bytes:
    """The detector .tflite config.json names: `detector_path`, else the file of that name
    beside the classifier; its sha256 must be the one config.json gives."""
    path = Path(detector_path) if detector_path else Path(model_path).parent / cfg["detector"]["model"]
    if not path.is_file():
        raise DataError(f"face_stage {cfg['face_stage']} needs the detector {path}, which is not there")
    data = path.read_bytes()
    want = cfg["detector"]["model_sha256"]
    if want and sha256_bytes(data) != want:
        raise DataError(f"{path} is not the detector the manifest names (sha256 {want[:12]}...)")
    return data


def card_files(model_path, manifest: dict | None = None, firmware_dir=None, detector_path=None,
               **overrides) -> dict[str, bytes]:
    """Everything that goes on the card, name -> bytes: the firmware .py files, the model
    (under the manifest's model_file name), the face detector when the face stage uses it,
    and config.json."""
    model_path = Path(model_path)
    manifest = manifest if manifest is not None else bundle.describe(model_path)
    cfg = make_config(manifest, **overrides)
    out = {p.name: p.read_bytes() for p in firmware.files(firmware_dir or firmware.FIRMWARE_DIR)}
    out[cfg["model"]] = model_path.read_bytes()
    if uses_detector(cfg):
        out[cfg["detector"]["model"]] = detector_bytes(cfg, model_path, detector_path)
    out[CONFIG_FILE] = (json.dumps(cfg, indent=2) + "\n").encode()
    return out
