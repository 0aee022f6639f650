"""Perceptual hashes for near-duplicate pictures: a 64-bit DCT hash and the pairs within a
Hamming distance. (Exact duplicates are found by sha256: maskgate.digest.)"""
from __future__ import annotations

import cv2
import numpy as np

NEAR_DUPLICATE_DISTANCE = 4  # Hamming distance between pHashes at or under which two pictures are "the same"


def phash(rgb: np.ndarray) -> int:
    """64-bit DCT perceptual hash: grey 32x32 (area), DCT, the 8x8 lowest frequencies,
    one bit per coefficient above their median. Bit 63 is coefficient (0, 0)."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def phash_hex(value: int) -> str:
    return f"{value:016x}"


def hamming(a: int, b: int) -> int:
    return (int(a) ^ int(b)).bit_count()


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    as_bytes = x.view(np.uint8).reshape(*x.shape, 8)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=-1, dtype=np.uint8)


_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def near_duplicate_pairs(hashes, max_distance: int = NEAR_DUPLICATE_DISTANCE, chunk: int = 256) -> np.ndarray:
    """All index pairs (i, j), i < j, whose hashes differ in at most `max_distance` bits.

    Exhaustive (no bucketing, so any threshold is exact), vectorised one block of rows at a
    time against the rest: 16k hashes take under a second. A negative distance finds none.
    """
    h = np.asarray([int(v) for v in hashes], dtype=np.uint64)
    if max_distance < 0:  # grouping switched off
        return np.empty((0, 2), dtype=np.int64)
    found = []
    for start in range(0, len(h), chunk):
        block = h[start : start + chunk]
        dist = _popcount(block[:, None] ^ h[None, start:])
        i, j = np.nonzero(dist <= max_distance)
        keep = j > i  # the block against itself: upper triangle only, no self pairs
        found.append(np.stack([i[keep] + start, j[keep] + start], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(found).astype(np.int64)
