"""imlib's copy / crop / scale arithmetic: `img.copy(roi=, x_scale=, y_scale=, hint=)` and its
siblings (crop, scale, to_grayscale, to_rgb565) as the camera computes them.

Follows lib/imlib/draw.c imlib_draw_image (5.0.0 and HEAD: lines 2852-3440 set-up and
nearest neighbour, 3311-4143 AREA, 4788-5060 BILINEAR) as modules/py_image.c py_image_to
(5.0.0:924) calls it; the arithmetic is the same in 4.5.5 and 4.5.9 (src/omv/imlib/draw.c).
Pictures are numpy arrays: RGB565 as H x W uint16, grayscale as H x W uint8.

What makes the board's crop differ from an OpenCV INTER_AREA resize of the same square:

- The destination size is floor(roi.w * x_scale) (py_image_to, float32 arithmetic).
- The source walk starts on the destination grid: src_x_start = floor(roi.x * x_scale), the
  16.16 accumulator starts at floor((src_x_start << 16) / x_scale) (draw.c:2977-3000), so a
  crop at roi.x > 0 may begin up to one output pixel left of roi.x (up of roi.y).
- AREA averages 5/6/5-bit RGB565 values (grayscale: 8-bit) with 6-bit (8-bit) edge weights and
  rounds the partial area up twice, `area = (area + 63) >> 6` (draw.c:4030, 4076); the result
  is stored as RGB565 again. Integer factors take a plain block average (draw.c:3321).
- AREA is dropped (nearest neighbour) when neither axis shrinks; BILINEAR weights are 5-bit
  (RGB565) or 8-bit (grayscale) after shifting the walk by half a pixel.

Not emulated (raise ValueError): BICUBIC, mirroring, transposing, negative scales, palettes.
The STM32 DMA2D path (OMV_GPU_ENABLE) only takes unscaled RGB565 copies, which it copies exactly.
"""
from __future__ import annotations

import numpy as np

from . import color

AREA, BILINEAR, BICUBIC = 1 << 0, 1 << 1, 1 << 2  # IMAGE_HINT_* bits (imlib.h:1190-1192)
NEAREST, AREA_FAST, AREA_SLOW, LINEAR = "nearest", "area-fast", "area-slow", "bilinear"
_F32 = np.float32


def floorf(x) -> int:
    """fast_floorf (vcvtm.s32.f32 on the M7) of a float32 value."""
    return int(np.floor(_F32(x)))


def clamp_roi(roi, width: int, height: int) -> tuple[int, int, int, int]:
    """py_helper_arg_to_roi (modules/py_helper.c:144): the ROI cut to the image; an ROI of no
    size or outside the image raises OSError, as PY_ASSERT_TRUE_MSG does on the board."""
    if roi is None:
        return 0, 0, width, height
    x, y, w, h = (int(v) for v in roi)
    if w < 1 or h < 1:
        raise OSError("Invalid ROI dimensions!")
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    if x1 <= x0 or y1 <= y0:
        raise OSError("ROI does not overlap on the image!")
    return x0, y0, x1 - x0, y1 - y0


def output_size(roi, x_scale: float, y_scale: float) -> tuple[int, int]:
    """(width, height) of the copy: fast_floorf(roi.w * x_scale) (py_image_to, 5.0.0:976)."""
    return floorf(_F32(roi[2]) * _F32(x_scale)), floorf(_F32(roi[3]) * _F32(y_scale))


class _Axis:
    """One axis of imlib_draw_image's 16.16 source walk (draw.c:2966-3003)."""

    def __init__(self, start: int, size: int, scale: float, count: int):
        scale = _F32(scale)
        src_start = floorf(_F32(start) * scale)  # "Apply roi offset"
        self.frac = floorf(_F32(65536.0) / scale)
        self.frac_size = (self.frac + 0xFFFF) >> 16
        self.reset = floorf(_F32(src_start << 16) / scale)
        self.first = start  # w_start / h_start
        self.limit = start + size - 1  # w_limit / h_limit (inclusive)
        self.count = count

    def accums(self) -> np.ndarray:
        return self.reset + self.frac * np.arange(self.count, dtype=np.int64)


def method(hint: int, x: _Axis, y: _Axis, x_scale: float, y_scale: float, width: int, height: int) -> str:
    """Which scaling loop imlib_draw_image runs (draw.c:3005-3025, 3311, 3321, 4144, 4788)."""
    if hint & BICUBIC:
        if width <= 3 or height <= 3:
            hint = (hint | BILINEAR) & ~BICUBIC
    if x.frac == 65536 and y.frac == 65536:
        hint &= ~(AREA | BILINEAR | BICUBIC)
    if (hint & AREA) and _F32(x_scale) >= 1 and _F32(y_scale) >= 1:
        hint &= ~(AREA | BILINEAR | BICUBIC)
    if width <= 1 or height <= 1:
        hint &= ~(AREA | BILINEAR)
    if hint & AREA:
        return AREA_FAST if not (x.frac & 0xFFFF) and not (y.frac & 0xFFFF) else AREA_SLOW
    if hint & BICUBIC:
        raise ValueError("virtual board: image.BICUBIC scaling is not emulated (use AREA or BILINEAR)")
    if hint & BILINEAR:
        return LINEAR
    return NEAREST


def copy(src: np.ndarray, roi=None, x_scale=None, y_scale=None, hint: int = 0, to_gray: bool | None = None):
    """What `img.copy(roi=, x_scale=, y_scale=, hint=)` returns, as an array: RGB565 (uint16)
    or grayscale (uint8) like `src`, or converted after scaling (to_gray True: grayscale,
    False: RGB565), as imlib_draw_row converts each finished row (draw.c:1762, 2226)."""
    src = np.asarray(src)
    if src.ndim != 2 or src.dtype not in (np.uint8, np.uint16):
        raise ValueError("imlib.draw.copy takes H x W uint16 (RGB565) or uint8 (grayscale) pixels")
    height, width = src.shape
    # py_helper_arg_to_scale: a missing scale takes the other one's value
    if x_scale is None:
        x_scale = 1.0 if y_scale is None else y_scale
    if y_scale is None:
        y_scale = x_scale
    if x_scale <= 0 or y_scale <= 0:
        raise ValueError("virtual board: negative scales (flips) are not emulated")
    rx, ry, rw, rh = clamp_roi(roi, width, height)
    out_w, out_h = output_size((rx, ry, rw, rh), x_scale, y_scale)
    rows = _scaled(src, (rx, ry, rw, rh), x_scale, y_scale, hint, max(out_w, 0), max(out_h, 0))
    if to_gray is True and rows.dtype == np.uint16:
        return color.rgb565_to_y(rows)
    if to_gray is False and rows.dtype == np.uint8:
        return color.y_to_rgb565(rows)
    return rows


def _scaled(src, roi, x_scale, y_scale, hint, out_w, out_h) -> np.ndarray:
    rx, ry, rw, rh = roi
    xa = _Axis(rx, rw, x_scale, out_w)
    ya = _Axis(ry, rh, y_scale, out_h)
    if out_w == 0 or out_h == 0:
        return np.zeros((out_h, out_w), src.dtype)
    how = method(hint, xa, ya, x_scale, y_scale, rw, rh)
    if how == NEAREST:
        # draw.c:5069 (and the plain copy at 5064): the pixel under the accumulator
        return src[(ya.accums() >> 16)[:, None], (xa.accums() >> 16)[None, :]]
    if how == LINEAR:
        return _bilinear(src, xa, ya)
    channels = _channels(src)
    if how == AREA_FAST:
        out = [_area_fast(c, xa, ya) for c in channels]
    else:
        out = _area_slow(channels, xa, ya, 8 if src.dtype == np.uint8 else 6)
    return _merge(out, src.dtype)


def _channels(src: np.ndarray) -> list[np.ndarray]:
    if src.dtype == np.uint8:
        return [src.astype(np.int64)]
    v = src.astype(np.int64)
    return [(v >> 11) & 0x1F, (v >> 5) & 0x3F, v & 0x1F]


def _merge(channels: list[np.ndarray], dtype) -> np.ndarray:
    if dtype == np.uint8:
        return channels[0].astype(np.uint8)
    r, g, b = channels
    return ((r << 11) | (g << 5) | b).astype(np.uint16)


def _integral(channel: np.ndarray) -> np.ndarray:
    s = np.zeros((channel.shape[0] + 1, channel.shape[1] + 1), np.int64)
    np.cumsum(np.cumsum(channel, axis=0), axis=1, out=s[1:, 1:])
    return s


def _block(s: np.ndarray, y0, y1, x0, x1) -> np.ndarray:
    """Sums of channel[y0:y1, x0:x1] for broadcast index arrays (empty where y1 <= y0 or x1 <= x0)."""
    y1 = np.maximum(y1, y0)
    x1 = np.maximum(x1, x0)
    return s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0]


def _area_fast(channel, xa: _Axis, ya: _Axis) -> np.ndarray:
    """draw.c:3321-3467 (RGB565: 3469): whole source blocks, (sum + area / 2) / area."""
    def bounds(axis: _Axis):
        start = axis.accums() >> 16
        end = start + axis.frac_size
        end = np.where(end >= axis.limit, axis.limit + 1, end)  # `>=`, as written
        return start, end

    x0, x1 = bounds(xa)
    y0, y1 = bounds(ya)
    s = _integral(channel)
    acc = _block(s, y0[:, None], y1[:, None], x0[None, :], x1[None, :])
    area = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    return (acc + (area >> 1)) // area


def _area_weights(axis: _Axis, bits: int):
    """Per output pixel: first / last source index (inclusive) and their weights, out of
    1 << bits, as the slow AREA loop computes them (draw.c:3912-3940 for RGB565, 6 bits;
    3720-3748 for grayscale, 8 bits)."""
    one, mask, shift = 1 << bits, (1 << bits) - 1, 16 - bits
    weight_sum = one + ((axis.frac >> shift) & mask)
    starts, ends, firsts, lasts = [], [], [], []
    for accum in axis.accums().tolist():
        start = accum >> 16
        end = start + axis.frac_size - 1  # inclusive end
        first = one - (((accum + mask) >> shift) & mask)
        last = ((accum + axis.frac + mask) >> shift) & mask
        if not last and first < weight_sum:  # perfect overlap
            last = one
        if end > axis.limit:  # the end is off the edge
            end = axis.limit
            last = 0 if end == start else one
        if first + last < weight_sum:  # discontinuities
            first += one >> 1
            last += one >> 1
        if first + last > weight_sum:  # only ever over by 1
            last -= 1
        starts.append(start)
        ends.append(end)
        firsts.append(first)
        lasts.append(last)
    return (np.array(starts, np.int64), np.array(ends, np.int64),
            np.array(firsts, np.int64), np.array(lasts, np.int64))


def _area_slow(channels, xa: _Axis, ya: _Axis, bits: int) -> list[np.ndarray]:
    """draw.c:3556-4143: weighted corners, then edges, then the middle, with the partial sums
    rounded after the corners and after the edges."""
    xs, xe, lw, rw = (a[None, :] for a in _area_weights(xa, bits))
    ys, ye, tw, bw = (a[:, None] for a in _area_weights(ya, bits))
    shift = bits
    if bits == 6:  # RGB565: __SMUAD / __SMLAD sums, both rounded up (draw.c:4030, 4076)
        area_round, acc_round = 63, 63
    else:  # grayscale: area rounded up, sums to nearest (draw.c:3815, 3840)
        area_round, acc_round = 255, 128
    xw2 = xe - xs - 1
    yh2 = ye - ys - 1
    has_x, has_y = xw2 > 0, yh2 > 0
    area = (lw + rw) * (tw + bw)
    area = (area + area_round) >> shift
    area = area + np.where(has_x, xw2 * (tw + bw), 0) + np.where(has_y, yh2 * (lw + rw), 0)
    area = (area + area_round) >> shift
    area = area + np.where(has_x & has_y, xw2 * yh2, 0)
    out = []
    for channel in channels:
        s = _integral(channel)
        acc = (channel[ys, xs] * lw * tw + channel[ys, xe] * rw * tw
               + channel[ye, xs] * lw * bw + channel[ye, xe] * rw * bw)
        acc = (acc + acc_round) >> shift
        top = _block(s, ys, ys + 1, xs + 1, xe)
        bottom = _block(s, ye, ye + 1, xs + 1, xe)
        left = _block(s, ys + 1, ye, xs, xs + 1)
        right = _block(s, ys + 1, ye, xe, xe + 1)
        acc = acc + np.where(has_x, top * tw + bottom * bw, 0) + np.where(has_y, left * lw + right * rw, 0)
        acc = (acc + acc_round) >> shift
        acc = acc + np.where(has_x & has_y, _block(s, ys + 1, ye, xs + 1, xe), 0)
        out.append((acc + (area >> 1)) // area)
    return out


def _bilinear(src: np.ndarray, xa: _Axis, ya: _Axis) -> np.ndarray:
    """draw.c:4788-5060: the walk shifted by half a pixel (draw.c:3284), two neighbours per
    axis kept inside the ROI, 8-bit weights on grayscale, 5-bit on RGB565 (each channel:
    ((32 - f) * p0 + f * p1 + 16) >> 5, vertically then horizontally)."""
    def taps(axis: _Axis, bits: int):
        accum = axis.accums() - 0x8000
        index = accum >> 16
        lo = np.where(index < axis.first, axis.first, np.where(index >= axis.limit, axis.limit, index))
        hi = np.where((index < axis.first) | (index >= axis.limit), lo, index + 1)
        weight = (accum >> (16 - bits)) & ((1 << bits) - 1)
        return lo, hi, weight

    bits = 8 if src.dtype == np.uint8 else 5
    one, half = 1 << bits, 1 << (bits - 1)
    x0, x1, fx = (a[None, :] for a in taps(xa, bits))
    y0, y1, fy = (a[:, None] for a in taps(ya, bits))
    out = []
    for channel in _channels(src):
        left = ((one - fy) * channel[y0, x0] + fy * channel[y1, x0] + half) >> bits
        right = ((one - fy) * channel[y0, x1] + fy * channel[y1, x1] + half) >> bits
        out.append(((one - fx) * left + fx * right + half) >> bits)
    return _merge(out, src.dtype)
