"""The preprocessing contract: everything the PC and the camera must agree on, written once.

Training, evaluation, export, the virtual board and (through manifest.json -> config.json) the
firmware read these values; none of them restates a number that lives here. The pixels are
what the camera computes, bit for bit: the arithmetic is OpenMV's imlib, ported in
maskgate.imlib (the virtual board's `image` module calls the same functions), and the crop
geometry and resize steps are the firmware's own (firmware/face.py, loaded from there).

How a picture becomes the model's input, on the PC and on the OpenMV Cam alike:

1. colour: RGB565, as the camera holds every frame. A PC picture (RGB888) is truncated to
   RGB565 (imlib COLOR_R8_G8_B8_TO_RGB565), the way OpenMV stores a decoded picture.
2. region: the face box (Haar frontal face, grown by FACE_MARGIN and made square) when a face
   detector is used, otherwise the centred square of the picture (`centre_square`).
3. size: firmware/face.py `to_input`: the square copied at scale 1, then that copy scaled to
   INPUT_SIZE x INPUT_SIZE with image.AREA (imlib's area averaging of 5/6/5-bit values,
   stored as RGB565). Copying first keeps the crop where the square is: scaling straight
   from the frame starts the crop on the destination grid, up to a pixel further up-left.
4. tensor: the RGB565 pixels expand to RGB888 by bit replication (imlib COLOR_RGB565_TO_R8
   ...); the Keras model takes those values as floats in [0, 255]; the int8 model takes
   `pixel - 128` (the OpenMV rule for int8 models fed an image: p XOR 0x80), which is what
   input quantization scale 1.0, zero point -128 means. `quantize` refuses any other.
"""
from __future__ import annotations

import numpy as np

from maskgate.firmware import module as _firmware_module
from maskgate.imlib import color, draw

_fw_face = _firmware_module("face")  # crop geometry and the resize steps: the firmware's own

INPUT_SIZE = 32
CHANNELS = 3
COLOR_ORDER = "RGB"
CAMERA_PIXFORMAT = "RGB565"
RESIZE = "area"  # image.AREA, imlib's arithmetic (maskgate.imlib.draw)
# Changed whenever the pixels prepare() makes change, so cached pixel arrays are rebuilt
# (maskgate.data.arrays keys its cache with it).
PIXELS_VERSION = "imlib-rgb565-area-1"

# int8 input rule of OpenMV's ml / tf modules: q = p - 128, i.e. scale 1.0, zero point -128
# on float inputs in [0, 255].
INPUT_SCALE = 1.0
INPUT_ZERO_POINT = -128

# Binary models have one sigmoid output: the probability of POSITIVE_LABEL.
# Models with more classes have a softmax over LABELS (in this order).
LABELS_BINARY = ("no_mask", "mask")
LABELS_THREE = ("no_mask", "mask", "incorrect")
# The door's 3-class model: a region with nobody in it ("background", the crops the face stage
# makes on an empty scene) is refused instead of read as a face (issue 16).
LABELS_BACKGROUND = ("background", "no_mask", "mask")
POSITIVE_LABEL = "mask"
THRESHOLD = 0.5

# Face box growth before the square crop: masks sit low on the face, so keep the chin.
FACE_MARGIN = 0.2
HAAR_CASCADE = "haarcascade_frontalface_default.xml"


def labels_for(num_classes: int, background: bool = False) -> tuple[str, ...]:
    """The labels of a model with `num_classes` outputs; `background`: the 3-class door model
    (background / no_mask / mask) rather than the one with an "incorrect" class."""
    if background and num_classes != 3:
        raise ValueError(f"a background class needs 3 classes (background, no_mask, mask), not {num_classes}")
    if num_classes == 2:
        return LABELS_BINARY
    if num_classes == 3:
        return LABELS_BACKGROUND if background else LABELS_THREE
    raise ValueError(f"unsupported number of classes: {num_classes} (expected 2 or 3)")


def rgb888_to_rgb565(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 -> H x W uint16 RGB565 values (r5 << 11 | g6 << 5 | b5), truncated as
    OpenMV truncates (imlib COLOR_R8_G8_B8_TO_RGB565)."""
    return color.rgb888_to_rgb565(rgb)


def rgb565_to_rgb888(rgb565: np.ndarray) -> np.ndarray:
    """H x W uint16 RGB565 -> H x W x 3 uint8, expanded by bit replication as OpenMV does."""
    return color.rgb565_to_rgb888(rgb565)


def rgb565_round_trip(rgb: np.ndarray) -> np.ndarray:
    """RGB888 -> RGB565 -> RGB888: what survives of a colour on the OpenMV sensor path."""
    return rgb565_to_rgb888(rgb888_to_rgb565(rgb))


def centre_square(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square (x, y, w, h) of a width x height picture (firmware/face.py)."""
    return _fw_face.centre_square(width, height)


def face_square(box, width: int, height: int, margin: float = FACE_MARGIN) -> tuple[int, int, int, int]:
    """A detector box (x, y, w, h) grown by `margin` on each side, made square and kept inside
    the picture (firmware/face.py face_square)."""
    return _fw_face.face_square(box, width, height, margin)


def equivalent_box(box, margin: float, to_margin: float = FACE_MARGIN) -> tuple[float, float, float, float]:
    """A box that face_square grows by `to_margin` into the square `box` grown by `margin`
    gives (same centre; its side a float): how a detector box, judged with its own margin,
    is stored where every face is grown by the contract's FACE_MARGIN (a manifest's face)."""
    x, y, w, h = (float(v) for v in box)
    k = (1.0 + 2.0 * margin) / (1.0 + 2.0 * to_margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    w2, h2 = w * k, h * k
    return (cx - w2 / 2.0, cy - h2 / 2.0, w2, h2)


def input_scale(side: int, size: int = INPUT_SIZE) -> float:
    """The scale firmware/face.py to_input settles on for a square of `side` pixels: its first
    candidate whose copy is size x size, the copy being floor(side * scale) in float32 on the
    camera (maskgate.imlib.draw.output_size)."""
    for scale in _fw_face.input_scales(side, size):
        if draw.output_size((0, 0, side, side), scale, scale) == (size, size):
            return scale
    raise ValueError(f"no scale of firmware/face.py takes a {side}-pixel square to {size} x {size}")


def input_rgb565(rgb565: np.ndarray, region, size: int = INPUT_SIZE) -> np.ndarray:
    """firmware/face.py to_input on an RGB565 picture: the square `region` copied at scale 1,
    the copy scaled to size x size with image.AREA -> size x size uint16 RGB565."""
    square = draw.copy(rgb565, roi=region)
    side = square.shape[1]
    scale = input_scale(side, size)
    return draw.copy(square, x_scale=scale, y_scale=scale, hint=draw.AREA)


def resize_to_input(rgb_region: np.ndarray) -> np.ndarray:
    """An RGB uint8 square -> the model's INPUT_SIZE x INPUT_SIZE x 3 pixels, as the camera
    resizes it (through RGB565, to_input's steps, bit-replicated back to RGB888)."""
    rgb565 = rgb888_to_rgb565(rgb_region)
    height, width = rgb565.shape
    return rgb565_to_rgb888(input_rgb565(rgb565, (0, 0, width, height)))


def crop(rgb: np.ndarray, box) -> np.ndarray:
    x, y, w, h = (int(v) for v in box)
    return rgb[y : y + h, x : x + w]


def prepare(rgb: np.ndarray, box=None, camera: bool = True, margin: float = FACE_MARGIN) -> np.ndarray:
    """A picture (H x W x 3 RGB uint8) -> the model's 32 x 32 x 3 uint8 input pixels, exactly
    as the camera makes them from that picture as its frame.

    `box` is a detector face box (x, y, w, h) or None for the centred square; `margin` is the
    face box growth (a board's config.json may set its own face_margin). Every picture goes
    through RGB565, as the camera's frames do; `camera` is accepted for older callers and
    changes nothing (the camera's resize works on RGB565 only).
    """
    del camera
    rgb565 = rgb888_to_rgb565(rgb)
    height, width = rgb565.shape
    region = face_square(box, width, height, margin) if box is not None else centre_square(width, height)
    return rgb565_to_rgb888(input_rgb565(rgb565, region))


def to_float_input(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels -> what the Keras model takes (float32 in [0, 255])."""
    return np.asarray(pixels, dtype=np.float32)


def to_int8_input(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels -> what the int8 model takes on the camera: p - 128 (== p XOR 0x80)."""
    return (np.asarray(pixels, dtype=np.int16) - 128).astype(np.int8)


def as_dict(labels=LABELS_BINARY, threshold: float = THRESHOLD) -> dict:
    """The contract as it travels in manifest.json (and from there into the firmware's config)."""
    return {
        "input_size": [INPUT_SIZE, INPUT_SIZE],
        "channels": CHANNELS,
        "color_order": COLOR_ORDER,
        "camera_pixformat": CAMERA_PIXFORMAT,
        "resize": RESIZE,
        "crop": {"face_margin": FACE_MARGIN, "no_face": "centre_square", "square": True},
        "haar_cascade": HAAR_CASCADE,
        "int8_input": "pixel - 128",
        "input_scale": INPUT_SCALE,
        "input_zero_point": INPUT_ZERO_POINT,
        "labels": list(labels),
        "output": "sigmoid" if len(labels) == 2 else "softmax",
        "positive_label": POSITIVE_LABEL,
        "threshold": threshold,
    }
