"""The preprocessing contract: everything the PC and the camera must agree on, written once.

Training, evaluation, export, the virtual board and (through manifest.json -> config.json) the
firmware read these values; none of them restates a number that lives here.

How a picture becomes the model's input, on the PC and on the OpenMV Cam alike:

1. colour: RGB888. The camera delivers RGB565, so camera frames (and the RGB565 augmentation)
   go through `rgb565_round_trip` first: 5 bits of red and blue, 6 of green, expanded the way
   OpenMV expands them (bit replication, see `rgb565_round_trip`).
2. region: the face box (Haar frontal face, grown by FACE_MARGIN and made square) when a face
   detector is used, otherwise the centred square of the picture (`centre_square`).
3. size: that square resized to INPUT_SIZE x INPUT_SIZE with RESIZE (area averaging, which
   OpenMV's `image.AREA` hint and cv2.INTER_AREA both implement).
4. tensor: the Keras model takes float pixel values in [0, 255]; the int8 model takes
   `pixel - 128` (the OpenMV rule for int8 models fed an image: p XOR 0x80), which is what
   input quantization scale 1.0, zero point -128 means. `quantize` refuses any other.
"""
from __future__ import annotations

import numpy as np

INPUT_SIZE = 32
CHANNELS = 3
COLOR_ORDER = "RGB"
CAMERA_PIXFORMAT = "RGB565"
RESIZE = "area"

# int8 input rule of OpenMV's ml / tf modules: q = p - 128, i.e. scale 1.0, zero point -128
# on float inputs in [0, 255].
INPUT_SCALE = 1.0
INPUT_ZERO_POINT = -128

# Binary models have one sigmoid output: the probability of POSITIVE_LABEL.
# Models with more classes have a softmax over LABELS (in this order).
LABELS_BINARY = ("no_mask", "mask")
LABELS_THREE = ("no_mask", "mask", "incorrect")
POSITIVE_LABEL = "mask"
THRESHOLD = 0.5

# Face box growth before the square crop: masks sit low on the face, so keep the chin.
FACE_MARGIN = 0.2
HAAR_CASCADE = "haarcascade_frontalface_default.xml"


def labels_for(num_classes: int) -> tuple[str, ...]:
    if num_classes == 2:
        return LABELS_BINARY
    if num_classes == 3:
        return LABELS_THREE
    raise ValueError(f"unsupported number of classes: {num_classes} (expected 2 or 3)")


# OpenMV's colour tables (imlib: rb825/g826 round to nearest, rb528/g628 expand back the same way).
_I = np.arange(256)
_R8_TO_R5 = ((_I * 31 + 127.5) // 255).astype(np.uint8)
_G8_TO_G6 = ((_I * 63 + 127.5) // 255).astype(np.uint8)
_R5_TO_R8 = ((np.arange(32) * 255 + 15.5) // 31).astype(np.uint8)
_G6_TO_G8 = ((np.arange(64) * 255 + 31.5) // 63).astype(np.uint8)


def rgb888_to_rgb565(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 -> H x W uint16 RGB565 values (r5 << 11 | g6 << 5 | b5)."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    r5 = _R8_TO_R5[rgb[..., 0]].astype(np.uint16)
    g6 = _G8_TO_G6[rgb[..., 1]].astype(np.uint16)
    b5 = _R8_TO_R5[rgb[..., 2]].astype(np.uint16)
    return (r5 << 11) | (g6 << 5) | b5


def rgb565_to_rgb888(rgb565: np.ndarray) -> np.ndarray:
    """H x W uint16 RGB565 -> H x W x 3 uint8, expanded with OpenMV's tables."""
    v = np.asarray(rgb565, dtype=np.uint16)
    return np.stack(
        [_R5_TO_R8[(v >> 11) & 0x1F], _G6_TO_G8[(v >> 5) & 0x3F], _R5_TO_R8[v & 0x1F]], axis=-1
    )


def rgb565_round_trip(rgb: np.ndarray) -> np.ndarray:
    """RGB888 -> RGB565 -> RGB888: what survives of a colour on the OpenMV sensor path."""
    return rgb565_to_rgb888(rgb888_to_rgb565(rgb))


def centre_square(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square (x, y, w, h) of a width x height picture."""
    side = min(width, height)
    return ((width - side) // 2, (height - side) // 2, side, side)


def face_square(box, width: int, height: int, margin: float = FACE_MARGIN) -> tuple[int, int, int, int]:
    """Grow a detector box (x, y, w, h) by `margin` on each side, make it square, keep it inside."""
    x, y, w, h = box
    cx, cy = x + w / 2.0, y + h / 2.0
    side = int(round(max(w, h) * (1.0 + 2.0 * margin)))
    side = max(1, min(side, width, height))
    x0 = int(round(cx - side / 2.0))
    y0 = int(round(cy - side / 2.0))
    x0 = min(max(x0, 0), width - side)
    y0 = min(max(y0, 0), height - side)
    return (x0, y0, side, side)


def resize_to_input(rgb_region: np.ndarray) -> np.ndarray:
    """Resize an RGB uint8 region to INPUT_SIZE x INPUT_SIZE with the contract's method."""
    import cv2  # heavy import kept local: the contract is also read by light tools

    return cv2.resize(rgb_region, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)


def crop(rgb: np.ndarray, box) -> np.ndarray:
    x, y, w, h = (int(v) for v in box)
    return rgb[y : y + h, x : x + w]


def prepare(rgb: np.ndarray, box=None, camera: bool = False, margin: float = FACE_MARGIN) -> np.ndarray:
    """A picture (H x W x 3 RGB uint8) -> the model's 32 x 32 x 3 uint8 input pixels.

    `box` is a detector face box (x, y, w, h) or None for the centred square; `camera=True`
    applies the RGB565 round trip the sensor imposes; `margin` is the face box growth (a
    board's config.json may set its own face_margin).
    """
    if camera:
        rgb = rgb565_round_trip(rgb)
    height, width = rgb.shape[:2]
    region = face_square(box, width, height, margin) if box is not None else centre_square(width, height)
    return resize_to_input(crop(rgb, region))


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
