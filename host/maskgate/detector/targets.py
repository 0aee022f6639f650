"""Face boxes -> the detector's training target grid, with the firmware's geometry.

Per cell (ROWS x COLS): a heat value (CenterNet: a Gaussian around each face centre, 1 at the
cell holding the centre, its width growing with the face), then the side, x- and y-offset
values the firmware decodes (firmware/facedet.py side_value, OFFSET_LO / OFFSET_SPAN), and a
weight saying where those three are trained (cells near a centre, where decode may read them).
"""
from __future__ import annotations

import numpy as np

from maskgate.firmware import module

fd = module("facedet")
TARGET_CHANNELS = 5  # heat, side, dx, dy, regression weight
REGRESS_HEAT = 0.3  # cells at least this hot learn the box (the 3x3 peak neighbourhood)
UNSURE_HEAT = 0.98  # "do not care" cells: the focal loss's background term is (1 - heat)^4 ~ 0


def encode(boxes, width: int, height: int, unsure=()) -> np.ndarray:
    """ROWS x COLS x 5 float32 target for face boxes (x, y, w, h) in a width x height frame.
    `unsure` boxes (a face the labels are not sure of) are neither face nor background: their
    centre cells get UNSURE_HEAT, so neither term of the focal loss pulls on them."""
    t = np.zeros((fd.ROWS, fd.COLS, TARGET_CHANNELS), np.float32)
    cw, ch = width / fd.COLS, height / fd.ROWS
    rows, cols = np.mgrid[0 : fd.ROWS, 0 : fd.COLS].astype(np.float32)
    for x, y, w, h in (tuple(b) for b in unsure):
        gx, gy = (x + w / 2.0) / cw, (y + h / 2.0) / ch
        sigma = max(0.5, max(w, h) / cw / 6.0)
        heat = np.exp(-((cols + 0.5 - gx) ** 2 + (rows + 0.5 - gy) ** 2) / (2 * sigma**2))
        t[..., 0][heat >= REGRESS_HEAT] = UNSURE_HEAT
    # biggest last, so where two faces' neighbourhoods meet the nearer face's box is learnt
    for x, y, w, h in sorted((tuple(b) for b in boxes), key=lambda b: b[2] * b[3]):
        side = max(w, h)
        gx, gy = (x + w / 2.0) / cw, (y + h / 2.0) / ch  # centre in cell units
        if not (0 <= gx < fd.COLS and 0 <= gy < fd.ROWS):
            continue  # centre out of the frame: no cell owns it
        sigma = max(0.5, side / cw / 6.0)
        heat = np.exp(-((cols + 0.5 - gx) ** 2 + (rows + 0.5 - gy) ** 2) / (2 * sigma**2))
        heat[int(gy), int(gx)] = 1.0
        t[..., 0] = np.maximum(t[..., 0], heat)
        near = heat >= REGRESS_HEAT
        t[..., 1][near] = fd.side_value(side / height)
        t[..., 2][near] = np.clip((gx - cols[near] - fd.OFFSET_LO) / fd.OFFSET_SPAN, 0.0, 1.0)
        t[..., 3][near] = np.clip((gy - rows[near] - fd.OFFSET_LO) / fd.OFFSET_SPAN, 0.0, 1.0)
        t[..., 4][near] = heat[near]
    return t
