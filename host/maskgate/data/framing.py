"""Door framing: how a picture fills the camera's frame, and how a box found in that frame maps
back onto the picture. The virtual camera frames every picture this way
(tools/virtualboard/frames.py), and the host's face stage (maskgate.data.faces) looks for faces
in the same frame, so a dataset picture gets the face the board would find in it.
"""
from __future__ import annotations

import cv2
import numpy as np

QVGA = (320, 240)  # the firmware's default framesize (firmware/config.py DEFAULTS["framesize"])


def fit_geometry(width: int, height: int, frame_w: int, frame_h: int) -> tuple[int, int, int, int]:
    """(x0, y0, w, h): where a width x height picture lands in the frame (aspect kept, centred)."""
    if (width, height) == (frame_w, frame_h):
        return 0, 0, width, height
    s = min(frame_w / width, frame_h / height)
    nw, nh = max(1, min(frame_w, int(round(width * s)))), max(1, min(frame_h, int(round(height * s))))
    return (frame_w - nw) // 2, (frame_h - nh) // 2, nw, nh


def fit_frame(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """An RGB picture scaled to fit width x height (aspect kept), centred on black."""
    h, w = rgb.shape[:2]
    if (w, h) == (width, height):
        return np.ascontiguousarray(rgb)
    x0, y0, nw, nh = fit_geometry(w, h, width, height)
    interp = cv2.INTER_AREA if min(width / w, height / h) < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(np.ascontiguousarray(rgb), (nw, nh), interpolation=interp)
    out = np.zeros((height, width, 3), np.uint8)
    out[y0 : y0 + nh, x0 : x0 + nw] = scaled
    return out


def box_in_picture(box, width: int, height: int, frame_w: int, frame_h: int) -> tuple[int, int, int, int]:
    """A box (x, y, w, h) found in the frame, in the width x height picture's pixels (cut to it)."""
    x0, y0, nw, nh = fit_geometry(width, height, frame_w, frame_h)
    sx, sy = width / nw, height / nh
    x, y, w, h = box
    left, top = int(round((x - x0) * sx)), int(round((y - y0) * sy))
    right, bottom = int(round((x + w - x0) * sx)), int(round((y + h - y0) * sy))
    left, top = max(0, left), max(0, top)
    right, bottom = min(width, right), min(height, bottom)
    return left, top, max(1, right - left), max(1, bottom - top)
