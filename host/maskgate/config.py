"""Build configuration: a TOML file read into plain dicts with defaults filled in. One file
drives every stage: `maskgate build --config F` runs them all from it, and train, quantize,
evaluate and optimize take `--config F` for their own section.

Sections: [data] (what to import), [train] (maskgate.train.TrainConfig fields, with
[train.arch_options] / [train.augment_options]), [quantize] (budget), [operating_point] (the
threshold chosen for false opens on validation data), [evaluate] (sources never trained on),
[optimize] (maskgate.optimize.options.OptimizeOptions fields), [loso] (leave one source out:
`maskgate build --loso`), [walkup] (walk-up sequences through the firmware: `maskgate evaluate
--door`) and [quick], whose keys override [train] for `--quick`.

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
    # max_false_open: the share of validation faces without a mask the door may read as masked;
    # it picks the threshold (maskgate.operating_point) and replaces [quantize] threshold in the
    # manifest. hysteresis: the door's (firmware door.hysteresis), which the choice accounts for;
    # -1 = the firmware's default. max_false_open 0 = off (the [quantize] threshold ships).
    "operating_point": {"max_false_open": 0.0, "hysteresis": -1.0},
    # camera_crop: also evaluate each source framed as the firmware frames it (Haar face or eyes + margin);
    # micro_sample: images also run through tflite-micro (0: none);
    # door: also run the walk-up sequences ([walkup]) through the firmware on the virtual board
    "evaluate": {"sources": ["face-mask-chandrikadeb7"], "camera_crop": False, "micro_sample": 200, "door": False},
    "optimize": {},  # maskgate.optimize.options.OptimizeOptions' defaults
    # leave one source out: one training per source with that source held out and evaluated on;
    # face_stage_sources are scenes, classified where the face stage finds a face (no face: the
    # door stays closed); train overrides [train] (a shorter schedule; say so in the report);
    # synth_limit caps the synthetic masks per fold (0: as [data] says)
    "loso": {"sources": [], "face_stage_sources": [], "train": {}, "synth_limit": 0},
    # walk-up sequences (maskgate.walkup): visits per class, empty-scene frames, worker processes
    "walkup": {"visits": 1000, "empty_frames": 10000, "seed": 0, "workers": 1},
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
    check(config, str(path or "(defaults)"))
    return config


def settings(section: str, config_file=None, **given) -> dict:
    """The settings of one stage: DEFAULTS[section], under the config file's [section] (when
    `config_file` is given), under the options given on the command line (those not None; a
    dict, such as --arch-option's, is merged key by key)."""
    values = load_config(config_file)[section]
    return _merge(values, {k: v for k, v in given.items() if v is not None}, section)


def check(config: dict, where: str) -> None:
    """Refuse bad [operating_point], [loso] and [walkup] values before anything runs."""
    def need(ok, key, rule):
        if not ok:
            section, _, name = key.partition(".")
            raise DataError(f"{where}: [{section}] {name} must be {rule} (got {config[section].get(name)!r})")

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    op = config["operating_point"]
    unknown = sorted(set(op) - set(DEFAULTS["operating_point"]))
    need(not unknown, "operating_point." + (unknown[0] if unknown else ""), "one of max_false_open, hysteresis")
    need(number(op["max_false_open"]) and 0 <= op["max_false_open"] < 1, "operating_point.max_false_open",
         "a share in [0, 1) (0: keep the [quantize] threshold)")
    need(number(op["hysteresis"]) and (op["hysteresis"] == -1 or 0 <= op["hysteresis"] < 0.5),
         "operating_point.hysteresis", "in [0, 0.5), or -1 for the firmware's default")
    loso = config["loso"]
    names = loso["sources"]
    need(isinstance(names, list) and all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names)
         and len(names) != 1, "loso.sources", "a list of two or more distinct source names (or empty)")
    need(isinstance(loso["face_stage_sources"], list) and set(loso["face_stage_sources"]) <= set(names),
         "loso.face_stage_sources", "a list of names from [loso] sources")
    need(isinstance(loso["train"], dict), "loso.train", "a table of [train] settings")
    need(isinstance(loso["synth_limit"], int) and not isinstance(loso["synth_limit"], bool) and loso["synth_limit"] >= 0,
         "loso.synth_limit", "an integer >= 0")
    walk = config["walkup"]
    for key, low in (("visits", 1), ("empty_frames", 0), ("workers", 1), ("seed", 0)):
        need(isinstance(walk.get(key), int) and not isinstance(walk.get(key), bool) and walk[key] >= low,
             f"walkup.{key}", f"an integer >= {low}")
