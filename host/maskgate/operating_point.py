"""The threshold the door runs at, chosen for false opens on validation data (never test data).

`max_false_open` is the share of validation faces without a mask that the door may read as
masked. The firmware's door (firmware/door.py) is a Schmitt trigger: a streak starts at
P(mask) >= threshold but continues while P(mask) >= threshold - hysteresis, so the K - 1 frames
after the first need only the lower level. The threshold is therefore chosen so that the
false-open rate at threshold - hysteresis is within the setting: every frame of a streak then
meets the target on its own, and a bare face held steadily in front of the camera (every frame
alike, the worst case) opens the door at most that often. The price is paid in false denies at
the threshold itself, which the choice reports (on the validation faces with a mask).

The chosen threshold is the lowest on a 0.001 grid that meets the target (the cheapest in false
denies), and travels in manifest.json: contract.threshold (which board_config.make_config puts
in the camera's config.json) and operating_point (the setting, the hysteresis it assumed, the
validation figures), whose hysteresis make_config also writes as door.hysteresis.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from maskgate import contract, door_metrics
from maskgate.atomic import write_json
from maskgate.errors import DataError

GRID = 1000  # thresholds are multiples of 1 / GRID: readable in config.json, off the int8 output grid
SPLIT = "val"


def firmware_hysteresis() -> float:
    from maskgate import firmware

    return float(firmware.module("config").DEFAULTS["door"]["hysteresis"])


def check_setting(max_false_open, hysteresis) -> None:
    if isinstance(max_false_open, bool) or not isinstance(max_false_open, (int, float)) or not 0 < max_false_open < 1:
        raise DataError(f"max_false_open must be a share in (0, 1), e.g. 0.01 (got {max_false_open!r})")
    if isinstance(hysteresis, bool) or not isinstance(hysteresis, (int, float)) or not 0 <= hysteresis < 0.5:
        raise DataError(f"operating point hysteresis must be in [0, 0.5) (got {hysteresis!r})")


def choose_threshold(p_bare, max_false_open: float, hysteresis: float) -> float:
    """The lowest threshold t (a multiple of 1/GRID) with share(p_bare >= t - hysteresis) <= max_false_open."""
    check_setting(max_false_open, hysteresis)
    p = np.sort(np.asarray(p_bare, dtype=np.float64))[::-1]
    if len(p) == 0:
        raise DataError("no validation faces without a mask to choose a threshold on")
    allowed = int(math.floor(max_false_open * len(p) + 1e-9))
    # t - hysteresis must be above the (allowed + 1)-th highest P(mask) of a bare face
    above = p[allowed] if allowed < len(p) else -1.0
    step = int(math.floor(max(above + hysteresis, 0.0) * GRID + 1e-9)) + 1
    while step <= GRID and (p >= step / GRID - hysteresis).sum() > allowed:
        step += 1  # float rounding at the grid edge
    if step > GRID:
        raise DataError(
            f"max_false_open {max_false_open} cannot be met: {allowed + 1} of {len(p)} validation faces without "
            f"a mask read P(mask) >= {above:.4f}, and with hysteresis {hysteresis} the threshold would have to "
            f"exceed 1.0; lower the hysteresis or allow more false opens")
    return step / GRID  # > hysteresis, as the firmware requires


def choose(labels, p_mask, max_false_open: float, hysteresis: float, base_threshold: float, sources=None) -> dict:
    """The operating point and what it costs, from validation labels and P(mask) (int8 model).

    sources: per-row source names, for the per-source cost in false denies."""
    labels = np.asarray(labels, dtype=object)
    p_mask = np.asarray(p_mask, dtype=np.float64)
    bare = ~door_metrics.is_masked(labels)
    threshold = choose_threshold(p_mask[bare], max_false_open, hysteresis)
    out = {
        "max_false_open": float(max_false_open),
        "hysteresis": float(hysteresis),
        "threshold": threshold,
        "base_threshold": float(base_threshold),
        "chosen_on": SPLIT,
        "rule": "lowest threshold t on a 0.001 grid whose validation false-open rate at t - hysteresis "
                "(the level that continues a streak) is <= max_false_open",
        "validation": {
            "false_open_at_threshold": door_metrics.door_rates(labels, p_mask, threshold)["false_open"],
            "false_open_at_continuation": door_metrics.door_rates(labels, p_mask, threshold - hysteresis)["false_open"],
            "at_threshold": door_metrics.door_rates(labels, p_mask, threshold),
            "at_base_threshold": door_metrics.door_rates(labels, p_mask, base_threshold),
        },
    }
    if sources is not None:
        out["validation"]["per_source"] = {
            "at_threshold": door_metrics.rates_by(sources, labels, p_mask, threshold),
            "at_base_threshold": door_metrics.rates_by(sources, labels, p_mask, base_threshold),
        }
    return out


def choose_on_manifest(int8_bytes: bytes, manifest_csv, labels, max_false_open: float, hysteresis: float,
                       base_threshold: float, split: str = SPLIT) -> dict:
    """choose() on the `split` rows of a dataset manifest, scored by the int8 model."""
    from maskgate.data.arrays import load_split
    from maskgate.runtime import LiteModel

    if split != SPLIT:
        raise DataError(f"the operating point is chosen on the {SPLIT} split, never on {split!r}")
    data = load_split(manifest_csv, split, labels)
    if len(data["y"]) == 0:
        raise DataError(f"{manifest_csv}: no {split} rows to choose the operating point on")
    p = LiteModel(int8_bytes).probabilities(data["x32"])[:, list(labels).index(contract.POSITIVE_LABEL)]
    rows = data["rows"]
    op = choose([r["label"] for r in rows], p, max_false_open, hysteresis, base_threshold,
                sources=[r["source"] for r in rows])
    op["data"] = {"manifest": str(Path(manifest_csv)), "split": split, "images": len(rows)}
    return op


def apply_to_bundle(bundle_dir, op: dict) -> dict:
    """Write the operating point into BUNDLE/manifest.json (contract.threshold + operating_point)."""
    from maskgate.bundle import MANIFEST_FILE

    path = Path(bundle_dir) / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    manifest["contract"]["threshold"] = op["threshold"]
    manifest["operating_point"] = op
    write_json(path, manifest)
    return manifest
