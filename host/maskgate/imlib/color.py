"""Colour conversions as imlib does them (lib/imlib/imlib.h:296-331 on 5.0, the same macros in
src/omv/imlib/imlib.h on 4.5.x).

- RGB565 -> RGB888 replicates the top bits (COLOR_RGB565_TO_R8/G8/B8):
  r8 = r5 << 3 | r5 >> 2, g8 = g6 << 2 | g6 >> 4.
- RGB888 -> RGB565 truncates (COLOR_R8_G8_B8_TO_RGB565): (r & 0xF8) << 8 | (g & 0xFC) << 3 | b >> 3.
- Grayscale is COLOR_RGB888_TO_Y, (38 R + 75 G + 15 B) >> 7, of the RGB888 expansion
  (COLOR_RGB565_TO_Y); this is what to_grayscale, IM_TO_GS_PIXEL (Haar) and drawing use.
- Grayscale -> RGB565 is COLOR_Y_TO_RGB565: (y >> 3) * 0x0801 + ((y << 3) & 0x7E0).
"""
from __future__ import annotations

import numpy as np

_CODES = np.arange(1 << 16, dtype=np.uint32)
_R5 = (_CODES >> 11) & 0x1F
_G6 = (_CODES >> 5) & 0x3F
_B5 = _CODES & 0x1F
# Every RGB565 code's RGB888 expansion and grey level: two lookup tables, 256 KB in all.
RGB565_TO_RGB888 = np.stack([(_R5 << 3) | (_R5 >> 2), (_G6 << 2) | (_G6 >> 4), (_B5 << 3) | (_B5 >> 2)],
                            axis=-1).astype(np.uint8)
_E = RGB565_TO_RGB888.astype(np.uint32)
RGB565_TO_Y = ((_E[:, 0] * 38 + _E[:, 1] * 75 + _E[:, 2] * 15) >> 7).astype(np.uint8)
del _CODES, _R5, _G6, _B5, _E


def rgb888_to_rgb565(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 -> H x W uint16 (COLOR_R8_G8_B8_TO_RGB565: truncation)."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    r, g, b = (rgb[..., i].astype(np.uint16) for i in range(3))
    return ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)


def rgb565_to_rgb888(rgb565: np.ndarray) -> np.ndarray:
    """H x W uint16 -> H x W x 3 uint8 (bit replication)."""
    return RGB565_TO_RGB888[np.asarray(rgb565, dtype=np.uint16)]


def rgb565_to_y(rgb565: np.ndarray) -> np.ndarray:
    """H x W uint16 -> H x W uint8 grey levels (COLOR_RGB565_TO_Y)."""
    return RGB565_TO_Y[np.asarray(rgb565, dtype=np.uint16)]


def rgb888_to_y(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 -> H x W uint8 (COLOR_RGB888_TO_Y)."""
    rgb = np.asarray(rgb)
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 38 + g * 75 + b * 15) >> 7).astype(np.uint8)


def y_to_rgb565(gray: np.ndarray) -> np.ndarray:
    """H x W uint8 -> H x W uint16 (COLOR_Y_TO_RGB565)."""
    y = np.asarray(gray, dtype=np.uint16)
    return ((y >> 3) & 0x1F) * 0x0801 + ((y << 3) & 0x7E0)
