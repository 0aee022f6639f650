"""The errors a door makes, with their uncertainty.

A **false open** is a face without a mask (no_mask, or incorrect on a three-class model) that
the door reads as masked; a **false deny** is a masked face it does not let in. The door reads
"mask" when P(mask) >= threshold (firmware/door.py), and on the door path only when the face
stage found a face: a picture with no face found keeps the door closed (firmware/main.py labels
it no_face), which can never be a false open and is always a false deny for a masked person.

Every rate carries its count and a 95 % Clopper-Pearson ("exact") interval: it never covers less
than the nominal 95 %, which matters for the rare errors a door is judged on (0 of 400 still
leaves up to 0.92 %), where Wald intervals collapse to zero width.
"""
from __future__ import annotations

import numpy as np

from maskgate import contract

CONFIDENCE = 0.95
INTERVAL = "Clopper-Pearson (exact binomial)"


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided exact binomial interval for k successes in n trials (beta quantiles)."""
    from scipy.stats import beta

    if n <= 0:
        raise ValueError("an interval needs at least one trial")
    if not 0 <= k <= n:
        raise ValueError(f"{k} successes in {n} trials")
    alpha = 1.0 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def rate(k: int, n: int) -> dict | None:
    """{count, of, rate, ci: [low, high]}; None when there is nothing to count."""
    k, n = int(k), int(n)
    if n == 0:
        return None
    low, high = clopper_pearson(k, n)
    return {"count": k, "of": n, "rate": k / n, "ci": [low, high]}


def reads_mask(p_mask, threshold: float, found=None) -> np.ndarray:
    """Would a picture, shown steadily, hold the door's streak: P(mask) >= threshold and (on the
    door path) a face found."""
    reads = np.asarray(p_mask, dtype=np.float64) >= threshold
    return reads if found is None else reads & np.asarray(found, dtype=bool)


def is_masked(labels) -> np.ndarray:
    return np.asarray([lab == contract.POSITIVE_LABEL for lab in labels], dtype=bool)


def door_rates(labels, p_mask, threshold: float, found=None) -> dict:
    """{"false_open": rate over the faces without a mask, "false_deny": rate over the masked
    faces}; a rate is None when its class is absent (UTKFace has no masked faces, RWMFD no bare
    ones), so a single-class source reports only the rate that applies."""
    masked = is_masked(labels)
    reads = reads_mask(p_mask, threshold, found)
    out = {"false_open": rate(int((reads & ~masked).sum()), int((~masked).sum())),
           "false_deny": rate(int((~reads & masked).sum()), int(masked.sum()))}
    if found is not None:
        out["face_found"] = rate(int(np.asarray(found, dtype=bool).sum()), len(masked))
    return out


def rates_by(keys, labels, p_mask, threshold: float, found=None) -> dict:
    """door_rates for each distinct key (a source name, a group), in key order."""
    keys = np.asarray(keys, dtype=object)
    labels = np.asarray(labels, dtype=object)
    p_mask = np.asarray(p_mask, dtype=np.float64)
    found = None if found is None else np.asarray(found, dtype=bool)
    return {key: door_rates(labels[keys == key], p_mask[keys == key], threshold,
                            None if found is None else found[keys == key])
            for key in sorted(set(keys.tolist()), key=str)}


def error_curves(labels, p_mask, found=None) -> dict:
    """False-open and false-deny rates at every threshold that changes one of them.

    -> {"threshold", "false_open", "false_deny"} arrays (ascending threshold); either rate is
    None when its class is absent. A picture with no face found never reads "mask"."""
    masked = is_masked(labels)
    score = np.asarray(p_mask, dtype=np.float64)
    if found is not None:
        score = np.where(np.asarray(found, dtype=bool), score, -np.inf)
    thresholds = np.unique(np.r_[score[np.isfinite(score)], 1.0 + 1e-9])

    def share_at_or_above(values):
        values = np.sort(values)
        return (len(values) - np.searchsorted(values, thresholds, side="left")) / len(values)

    bare, mask = score[~masked], score[masked]
    return {"threshold": thresholds,
            "false_open": share_at_or_above(bare) if len(bare) else None,
            "false_deny": 1.0 - share_at_or_above(mask) if len(mask) else None}
