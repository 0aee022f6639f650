"""The face detector on the PC, run the way the board runs it: a camera frame (RGB888 after
the RGB565 round trip) shrunk to 96 x 72 by area averaging and stored RGB565, the int8 model
on LiteRT's builtin kernels (bit-exact with tflite-micro), and the firmware's own decode
(firmware/facedet.py). The box it gives is cropped for the mask classifier with the
contract's face square and the detector's margin (0: the box already is the classifier's view).
"""
from __future__ import annotations

import numpy as np

from maskgate import contract
from maskgate.detector.train import detector_input
from maskgate.firmware import module
from maskgate.runtime import LiteModel

fd = module("facedet")
MARGIN = 0.0  # the detector's box is the face picture the classifier was trained on


class HostDetector:
    def __init__(self, tflite_bytes: bytes):
        # batch 1: the export fixes the flatten's shape, as the board runs it
        self.model = LiteModel(tflite_bytes, batch=1)

    def outputs(self, frames) -> np.ndarray:
        """N x (ROWS * COLS * CHANNELS) dequantized outputs for camera frames (any size)."""
        inputs = np.stack([detector_input(f) for f in frames])
        return self.model.dequantize(self.model.raw(inputs)).reshape(len(inputs), -1)

    def find(self, frame: np.ndarray, threshold: float):
        """(score, (x, y, w, h)) of the face in a camera frame, or None (as the board)."""
        out = self.outputs([frame])[0]
        return find_in(out, frame.shape[1], frame.shape[0], threshold)


def find_in(out, width: int, height: int, threshold: float):
    """The firmware's decode on one output row, and the face facedet.Detector.find keeps."""
    found = fd.decode([float(v) for v in out], width, height, threshold)
    return found[0] if found else None


def crop_for_classifier(frame: np.ndarray, box, margin: float = MARGIN) -> np.ndarray:
    """32 x 32 classifier input from a camera frame: the face square of `box` (None: the
    centre square), area-resized (the contract; frame already went through RGB565)."""
    return contract.prepare(frame, box, camera=False, margin=margin)
