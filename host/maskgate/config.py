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
        if not path.is_file():
            raise DataError(f"config file {path} not found" if not path.exists() else f"config {path} is not a file")
        try:
            values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise DataError(f"{path}: not valid TOML: {e}") from e
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text ({e})") from e
        except OSError as e:
            raise DataError(f"{path}: cannot read the config ({e.strerror or e})") from e
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise DataError(f"{path}: unknown section {unknown[0]!r}{_closest(unknown[0], DEFAULTS)}; "
                            f"known: {', '.join(DEFAULTS)}")
        for section, value in values.items():  # a key where a table belongs (or the reverse)
            if isinstance(DEFAULTS[section], dict) and not isinstance(value, dict):
                raise DataError(f"{path}: [{section}] must be a table (got {section} = {value!r})")
        config = _merge(config, values, "")
        config["path"] = str(path)
    check(config, str(path or "(defaults)"))
    return config


def settings(section: str, config_file=None, **given) -> dict:
    """The settings of one stage: DEFAULTS[section], under the config file's [section] (when
    `config_file` is given), under the options given on the command line (those not None; a
    dict, such as --arch-option's, is merged key by key)."""
    values = load_config(config_file)[section]
    merged = _merge(values, {k: v for k, v in given.items() if v is not None}, section)
    check_table(section, merged, f"{config_file or '(defaults)'} with the command line's options")
    return merged


# ---------------------------------------------------------------- validation
# Every key of every section and nested table, with its type and range: a typo or a wrong type
# is named (file, [section], key) before anything runs, never ignored or half-used (a string
# model_max_kb once switched the budget gate off). A rule returns None (fine) or what the value
# must be.


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


def integer(low=None, high=None, none=False):
    text = "an integer" + (f" >= {low}" if low is not None and high is None else "") + \
        (f" in [{low}, {high}]" if low is not None and high is not None else "") + (" (or absent)" if none else "")

    def rule(v):
        if v is None and none:
            return None
        ok = _is_int(v) and (low is None or v >= low) and (high is None or v <= high)
        return None if ok else text
    return rule


def number(low=None, high=None, low_open=False, high_open=False, none=False):
    lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
    hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
    text = "a number" + (f" in {lo}, {hi}" if lo and hi else f" {'>' if low_open else '>='} {low:g}" if lo else
                         f" {'<' if high_open else '<='} {high:g}" if hi else "") + (" (or absent)" if none else "")

    def rule(v):
        if v is None and none:
            return None
        if not _is_number(v):
            return text
        if low is not None and (v <= low if low_open else v < low):
            return text
        if high is not None and (v >= high if high_open else v > high):
            return text
        return None
    return rule


def text(choices=None, none=False, empty=True):
    what = f"one of {', '.join(map(repr, choices))}" if choices else "a string" + ("" if empty else " (not empty)")

    def rule(v):
        if v is None and none:
            return None
        ok = isinstance(v, str) and (choices is None or v in choices) and (empty or v)
        return None if ok else what
    return rule


def boolean(v):
    return None if isinstance(v, bool) else "true or false"


def list_of(item, what: str, distinct=False):
    def rule(v):
        if not isinstance(v, (list, tuple)) or any(item(x) for x in v):
            return f"a list of {what}"
        if distinct and len(set(map(str, v))) != len(v):
            return f"a list of distinct {what}"
        return None
    return rule


def pair(low=0.0):
    def rule(v):
        ok = (isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_number(x) for x in v)
              and low <= v[0] <= v[1])
        return None if ok else f"a pair [low, high] of numbers with {low:g} <= low <= high"
    return rule


def either(*rules):
    def rule(v):
        why = [r(v) for r in rules]
        return None if None in why else " or ".join(why)
    return rule


def scalar_table(v):
    """A table of NAME = number / bool / string (arch_options: the names are the
    architecture's, checked when the model is built)."""
    ok = isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, (int, float, str, bool)) and
                                     (not isinstance(x, float) or _is_number(x)) for k, x in v.items())
    return None if ok else "a table of name = number, true/false or string"


def _augment_rules() -> dict:
    """[train.augment_options]: maskgate.data.augment.AugmentConfig's fields, by their defaults'
    kinds (a share ..._p in [0, 1], a pair [low, high], a flag, an amount >= 0)."""
    from dataclasses import fields

    from maskgate.data.augment import AugmentConfig

    rules = {}
    for f in fields(AugmentConfig):
        default = f.default
        if isinstance(default, bool):
            rules[f.name] = boolean
        elif isinstance(default, tuple):
            rules[f.name] = pair(0.0)
        elif f.name.endswith("_p"):
            rules[f.name] = number(0, 1)
        else:
            rules[f.name] = number(0)
    return rules


_SPLIT_NAMES = ("train", "val", "test")
_NAMES = list_of(text(empty=False), "non-empty names")

TRAIN_RULES = {  # maskgate.train_config.TrainConfig's fields
    "arch": text(empty=False),
    "arch_options": scalar_table,
    "num_classes": integer(2, 3),
    "epochs": integer(1),
    "batch_size": integer(1),
    "learning_rate": number(0),  # 0 freezes the weights (a run that only averages or recomputes batch norm)
    "label_smoothing": number(0, 1, high_open=True),
    "lr_schedule": text(("plateau", "cosine")),
    "swa_start": integer(1, none=True),
    "lr_patience": integer(0),
    "stop_patience": integer(0),  # 0: stop at the first epoch that does not improve
    "augment": boolean,
    "augment_options": "train.augment_options",
    "max_train": integer(1, none=True),
    "max_val": integer(1, none=True),
    "seed": integer(0),
}

RULES = {
    "name": text(),
    "path": text(),
    "data": {
        "sources": _NAMES,
        "fetch_to": text(empty=False),
        "catalogue": text(),
        "label_map": "data.label_map",
        "holdout_source": text(),
        "seed": integer(0),
        "val_fraction": number(0, 1, high_open=True),
        "test_fraction": number(0, 1, high_open=True),
        "crop_faces": either(boolean, _NAMES),
        "synth_masks": boolean,
        "synth_splits": list_of(text(_SPLIT_NAMES), "split names (train, val, test)", distinct=True),
    },
    "data.label_map": None,  # folder = label: maskgate.data.layouts.check_label_map
    "train": TRAIN_RULES,
    "train.augment_options": _augment_rules(),
    "quantize": {
        "model_max_kb": number(0, low_open=True),
        "heap_kb": number(0),
        "threshold": number(0, 1, low_open=True, high_open=True),
        "calibration_images": integer(1),
    },
    "operating_point": {
        "max_false_open": number(0, 1, high_open=True),
        "hysteresis": either(number(-1, -1), number(0, 0.5, high_open=True)),
    },
    "evaluate": {
        "sources": _NAMES,
        "camera_crop": boolean,
        "micro_sample": integer(0),
        "door": boolean,
    },
    "optimize": {  # maskgate.optimize.options.OptimizeOptions' fields
        "epochs": integer(1, none=True),
        "learning_rate": number(0, low_open=True, none=True),
        "batch_size": integer(1, none=True),
        "max_train": integer(1, none=True),
        "max_val": integer(1, none=True),
        "seed": integer(0, none=True),
        "sparsity": number(0, 1, high_open=True),
        "clusters": integer(2),
        "temperature": number(0, low_open=True),
        "alpha": number(0, 1),
        "teacher": text(empty=False),
        "teacher_weights": text(empty=False, none=True),
        "teacher_epochs": integer(1, none=True),
        "student": text(("scratch", "run")),
        "sweep": list_of(number(0, 1, high_open=True), "shares in [0, 1)"),
        "calibration_images": integer(1),
        "eval": list_of(text(empty=False), "DATA specs"),
        "micro_sample": integer(0),
    },
    "loso": {
        "sources": _NAMES,
        "face_stage_sources": _NAMES,
        "train": "train",
        "synth_limit": integer(0),
    },
    "walkup": {"visits": integer(1), "empty_frames": integer(0), "seed": integer(0), "workers": integer(1)},
    "quick": {**{k: k_rule for k, k_rule in TRAIN_RULES.items()}, "synth_limit": integer(0)},
}


def _closest(key: str, known) -> str:
    import difflib

    near = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
    return f" (did you mean {near[0]}?)" if near else ""


def check_table(section: str, values, where: str) -> None:
    """Every key of `values` known to RULES[section], every value of the right type and range;
    DataError naming `where`, the [section] and the key otherwise."""
    rules = RULES[section]
    if not isinstance(values, dict):
        raise DataError(f"{where}: [{section}] must be a table (got {values!r})")
    if section == "data.label_map":
        from maskgate.data.layouts import check_label_map

        bad = [k for k, v in values.items() if not isinstance(v, str)]
        if bad:
            raise DataError(f"{where}: [data.label_map] {bad[0]} must be a label string (got {values[bad[0]]!r})")
        try:
            check_label_map(values)
        except DataError as e:
            raise DataError(f"{where}: [data.label_map] {e}") from e
        return
    for key, value in values.items():
        rule = rules.get(key)
        if key not in rules:
            raise DataError(f"{where}: [{section}] unknown key {key!r}{_closest(key, rules)}; "
                            f"known: {', '.join(sorted(rules))}")
        if isinstance(rule, str):
            check_table(rule, value, where)
            continue
        why = rule(value)
        if why:
            raise DataError(f"{where}: [{section}] {key} must be {why} (got {value!r})")


def check(config: dict, where: str) -> None:
    """Refuse unknown keys and bad values in every section before anything runs."""
    unknown = sorted(set(config) - set(RULES))
    if unknown:
        raise DataError(f"{where}: unknown key {unknown[0]!r}{_closest(unknown[0], DEFAULTS)}; "
                        f"known sections: {', '.join(k for k in DEFAULTS if isinstance(DEFAULTS[k], dict))}")
    for section, value in config.items():
        rule = RULES[section]
        if isinstance(rule, dict):
            check_table(section, value, where)
        elif rule(value):
            raise DataError(f"{where}: {section} must be {rule(value)} (got {value!r})")

    def need(ok, key, rule):
        if not ok:
            section, _, name = key.partition(".")
            raise DataError(f"{where}: [{section}] {name} must be {rule} (got {config[section].get(name)!r})")

    loso = config["loso"]
    names = loso["sources"]
    need(len(set(names)) == len(names) and len(names) != 1, "loso.sources",
         "a list of two or more distinct source names (or empty)")
    need(set(loso["face_stage_sources"]) <= set(names), "loso.face_stage_sources", "a list of names from [loso] sources")
    data = config["data"]
    need(data["val_fraction"] + data["test_fraction"] < 1, "data.test_fraction",
         "such that val_fraction + test_fraction < 1")
