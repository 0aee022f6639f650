"""Manifest rows -> pixel arrays, cached beside the manifest.

Each image is cropped once (its face box if the manifest has one, otherwise the centred square,
as the contract says) and kept at two sizes: the model's 32 x 32 input made exactly as the
contract makes it (for validation, evaluation and calibration) and a 64 x 64 crop that
augmentation works from. Decoding ~12 K JPEGs takes a while on 2 cores, so the arrays are cached
in an .npz keyed by the manifest's content.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from maskgate import contract
from maskgate.data.images import ImageError, read_rgb
from maskgate.data.manifest import read_manifest
from maskgate.progress import progress_bar

AUG_SIZE = 2 * contract.INPUT_SIZE


def _crop_square(rgb: np.ndarray, face) -> np.ndarray:
    height, width = rgb.shape[:2]
    box = contract.face_square(face, width, height) if face else contract.centre_square(width, height)
    return contract.crop(rgb, box)


def load_pixels(rows: list[dict], with_aug: bool = True, desc: str = "decoding"):
    """-> (x32 uint8 N x 32 x 32 x 3, x64 uint8 N x 64 x 64 x 3 or None, kept row indices)."""
    x32, x64, kept = [], [], []
    with progress_bar() as bar:
        for i in bar.track(range(len(rows)), description=desc):
            try:
                rgb = read_rgb(rows[i]["path"])
            except ImageError:
                continue  # the import report already lists unreadable files
            face = rows[i].get("face")
            x32.append(contract.prepare(rgb, face or None))  # the camera's pixels, bit for bit
            square = _crop_square(rgb, face)
            if with_aug:
                x64.append(cv2.resize(square, (AUG_SIZE, AUG_SIZE), interpolation=cv2.INTER_AREA))
            kept.append(i)
    shape = (0, contract.INPUT_SIZE, contract.INPUT_SIZE, 3)
    a32 = np.stack(x32) if x32 else np.zeros(shape, np.uint8)
    a64 = (np.stack(x64) if x64 else np.zeros((0, AUG_SIZE, AUG_SIZE, 3), np.uint8)) if with_aug else None
    return a32, a64, np.asarray(kept, dtype=np.int64)


def _cache_path(manifest_path: Path, rows: list[dict]) -> Path:
    key = hashlib.sha256(contract.PIXELS_VERSION.encode())
    for row in rows:
        key.update(f"{row['path']}|{row['sha256']}|{row.get('face')}\n".encode())
    return manifest_path.parent / f".pixels-{key.hexdigest()[:16]}.npz"


def load_split(manifest_path, split: str | None, labels=contract.LABELS_BINARY, with_aug: bool = False,
               limit: int | None = None, seed: int = 0):
    """Rows of one split ("train", "val", "test" or None for all) with their pixels and label
    indices into `labels`. `limit` keeps a seeded random subset (for quick builds and tests).

    -> dict(x32, x64 or None, y int64, rows)
    """
    manifest_path = Path(manifest_path)
    rows = [r for r in read_manifest(manifest_path) if split is None or r["split"] == split]
    rows = [r for r in rows if r["label"] in labels]
    if limit is not None and limit < len(rows):
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), size=limit, replace=False))
        rows = [rows[i] for i in pick]
    cache = _cache_path(manifest_path, rows)
    if cache.exists():
        with np.load(cache) as z:
            x32, x64, kept = z["x32"], z["x64"] if "x64" in z else None, z["kept"]
    else:
        x32, x64, kept = None, None, None
    if x32 is None or (with_aug and x64 is None):
        x32, x64, kept = load_pixels(rows, with_aug=with_aug, desc=f"decoding {split or 'all'}")
        tmp = cache.with_suffix(".tmp.npz")
        arrays = {"x32": x32, "kept": kept}
        if x64 is not None:
            arrays["x64"] = x64
        np.savez(tmp, **arrays)
        os.replace(tmp, cache)
    rows = [rows[i] for i in kept]
    y = np.asarray([labels.index(r["label"]) for r in rows], dtype=np.int64)
    return {"x32": x32, "x64": x64 if with_aug else None, "y": y, "rows": rows}
