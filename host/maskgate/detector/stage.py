"""The face detector on the PC, run the way the board runs it: the camera frame (RGB565) shrunk
to 96 x 72 by imlib's area arithmetic (firmware/facedet.py shrink: img.copy with its scales and
image.AREA, maskgate.imlib.draw, which the virtual board's image module runs too), the int8
model on LiteRT's builtin kernels (bit-exact with tflite-micro), and the firmware's own decode
(firmware/facedet.py). The box it gives is cropped for the mask classifier with the contract's
face square and the detector's margin (facedet.MARGIN, 0: the box already is the classifier's
view).

Training shrinks its pictures with OpenCV's INTER_AREA instead (maskgate.detector.train
detector_input: 100 times faster; imlib's walk starts about a source pixel further, an
augmentation the net does not notice). Every measurement uses `board_input`.
"""
from __future__ import annotations

import numpy as np

from maskgate import contract
from maskgate.firmware import module
from maskgate.imlib import draw
from maskgate.runtime import LiteModel

fd = module("facedet")
MARGIN = fd.MARGIN  # the detector's box is the face picture the classifier was trained on


def board_input(rgb565: np.ndarray) -> np.ndarray:
    """A camera frame (H x W uint16 RGB565) -> the 72 x 96 x 3 uint8 pixels the board's detector
    takes: facedet.shrink's img.copy(x_scale, y_scale, hint=image.AREA), expanded to RGB888."""
    xs, ys = fd.input_scales(rgb565.shape[1], rgb565.shape[0])
    small = draw.copy(rgb565, x_scale=xs, y_scale=ys, hint=draw.AREA)
    if small.shape != (fd.IN_H, fd.IN_W):
        raise ValueError(f"detector input is {small.shape[1]}x{small.shape[0]}, not {fd.IN_W}x{fd.IN_H}")
    return contract.rgb565_to_rgb888(small)


class HostDetector:
    def __init__(self, tflite_bytes: bytes):
        # batch 1: the export fixes the flatten's shape, as the board runs it
        self.model = LiteModel(tflite_bytes, batch=1)

    def raw_outputs(self, inputs: np.ndarray) -> np.ndarray:
        """N x (ROWS * COLS * CHANNELS) dequantized outputs for detector inputs (N x 72 x 96 x 3)."""
        return self.model.dequantize(self.model.raw(inputs)).reshape(len(inputs), -1)

    def outputs(self, frames) -> np.ndarray:
        """N x (ROWS * COLS * CHANNELS) dequantized outputs for camera frames (RGB888, any size,
        taken through RGB565 as the camera holds them)."""
        return self.raw_outputs(np.stack([board_input(contract.rgb888_to_rgb565(f)) for f in frames]))

    def find(self, frame: np.ndarray, threshold: float):
        """(score, (x, y, w, h)) of the face in a camera frame (RGB888), or None (as the board)."""
        out = self.outputs([frame])[0]
        return find_in(out, frame.shape[1], frame.shape[0], threshold)

    def find_rgb565(self, rgb565: np.ndarray, threshold: float):
        """The same on a frame held as RGB565 (H x W uint16)."""
        out = self.raw_outputs(board_input(rgb565)[None])[0]
        return find_in(out, rgb565.shape[1], rgb565.shape[0], threshold)


def find_in(out, width: int, height: int, threshold: float):
    """The firmware's decode on one output row, and the face facedet.Detector.find keeps."""
    found = fd.decode([float(v) for v in out], width, height, threshold)
    return found[0] if found else None


def crop_for_classifier(frame: np.ndarray, box, margin: float = MARGIN) -> np.ndarray:
    """32 x 32 classifier input from a camera frame: the face square of `box` (None: the
    centre square), area-resized (the contract; frame already went through RGB565)."""
    return contract.prepare(frame, box, camera=False, margin=margin)
