"""Build configuration: a TOML file read into plain dicts with defaults filled in. One file
drives every stage: `maskgate build --config F` runs them all from it, and train, quantize,
evaluate and optimize take `--config F` for their own section.

Sections: [data] (what to import), [train] (maskgate.train.TrainConfig fields, with
[train.arch_options] / [train.augment_options]), [quantize] (budget), [evaluate] (sources
never trained on), [optimize] (maskgate.optimize.options.OptimizeOptions fields) and [quick],
whose keys override [train] for `--quick`.

One precedence rule, here and nowhere else (`settings`): an option given on the command line
wins over the config file, which wins over the defaults below (and, for [train] and
[optimize], over the dataclass defaults they leave to).
"""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from maskgate import budget, contract
from maskgate.data.catalogue import DEFAULT_DOWNLOAD_DIR
from maskgate.errors import DataError

DEFAULTS = {
    "name": "default",
    "data": {
        # what the recipe trains on: names in the dataset catalogue (or folders in --data); a
        # source that needs an account this machine lacks is skipped (maskgate.data.sources)
        "sources": ["face-mask-12k"],
        # where sources are downloaded to (the same folder `maskgate data fetch` uses)
        "fetch_to": DEFAULT_DOWNLOAD_DIR,
        # dataset catalogue file; "" = the one shipped with maskgate (datasets/catalogue.toml)
        "catalogue": "",
        "label_map": {},
        "holdout_source": "",
        "seed": 0,
        "val_fraction": 0.1,
        "test_fraction": 0.1,
        "crop_faces": False,
        # draw synthetic masks on the bare faces of these splits (maskgate data synth-masks)
        "synth_masks": False,
        "synth_splits": ["train", "val"],
    },
    "train": {},  # maskgate.train.TrainConfig's defaults
    # heap_kb: the build's own cap on model + board arena; the board's memory on every release is checked anyway
    "quantize": {"model_max_kb": budget.MODEL_MAX_BYTES / 1024, "heap_kb": budget.HEAP_BYTES / 1024,
                 "threshold": contract.THRESHOLD, "calibration_images": 300},
    # camera_crop: also evaluate each source framed as the firmware frames it (Haar face or eyes + margin);
    # micro_sample: images also run through tflite-micro (0: none)
    "evaluate": {"sources": ["face-mask-chandrikadeb7"], "camera_crop": False, "micro_sample": 200},
    "optimize": {},  # maskgate.optimize.options.OptimizeOptions' defaults
    # --quick: these [train] overrides, and synthetic masks on at most synth_limit faces
    "quick": {"max_train": 1500, "max_val": 400, "epochs": 3, "synth_limit": 500},
}


def _merge(base: dict, override: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key in out and isinstance(out[key], dict) and isinstance(value, dict) and key not in ("label_map",):
            out[key] = _merge(out[key], value, f"{where}.{key}")
        else:
            out[key] = value
    return out


def load_config(path=None) -> dict:
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise DataError(f"config file {path} not found")
        try:
            values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise DataError(f"{path}: not valid TOML: {e}") from e
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise DataError(f"{path}: unknown sections {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
        config = _merge(config, values, "")
        config["path"] = str(path)
    return config


def settings(section: str, config_file=None, **given) -> dict:
    """The settings of one stage: DEFAULTS[section], under the config file's [section] (when
    `config_file` is given), under the options given on the command line (those not None; a
    dict, such as --arch-option's, is merged key by key)."""
    values = load_config(config_file)[section]
    return _merge(values, {k: v for k, v in given.items() if v is not None}, section)
