"""A second, scalar port of OpenMV's imlib loops, written line by line from the C to check the
vectorised port (maskgate.imlib) against: plain Python ints with the C's 32-bit wrap, float32
through struct (double arithmetic rounded once, exact for + * / and sqrt of float32 values),
the moving-window integral image with its row shifts, packed-halfword __SMLAD sums. Slow
(about a second per QVGA frame); for tests and bench/bench_haar.py only.

Sources: OpenMV 5.0.0 lib/imlib/haar.c, integral_mw.c, draw.c imlib_draw_image.
"""
from __future__ import annotations

import math
import struct

U32 = 0xFFFFFFFF


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def s32(v: int) -> int:
    v &= U32
    return v - (1 << 32) if v & 0x80000000 else v


def floorf(x: float) -> int:
    return math.floor(x)


def roundf(x: float) -> int:  # vcvtr: round to nearest, ties to even
    return round(x)


# ---------------------------------------------------------------- Haar (haar.c, integral_mw.c)
class MW:
    """mw_image_t: h rows of uint32, rotated by the shifts."""

    def __init__(self, w, h):
        self.w, self.h, self.y_offs = w, h, 0
        self.x_ratio = self.y_ratio = (1 << 16) + 1
        self.data = [[0] * w for _ in range(h)]


def mw_scale(roi, s, w, h):
    s.w = w
    s.y_offs = 0
    s.x_ratio = ((roi[2] << 16) // w) + 1
    s.y_ratio = ((roi[3] << 16) // h) + 1


def mw_ss(img, s, q, roi):
    sd, qd = s.data, q.data
    acc = acc2 = 0
    for x in range(s.w):
        sx = roi[0] + ((x * s.x_ratio) >> 16)
        p = img[roi[1]][sx]
        acc += p
        acc2 += p * p
        sd[0][x] = acc & U32
        qd[0][x] = acc2 & U32
    for y in range(1, s.h):
        sy = roi[1] + ((y * s.y_ratio) >> 16)
        acc = acc2 = 0
        for x in range(s.w):
            sx = roi[0] + ((x * s.x_ratio) >> 16)
            p = img[sy][sx]
            acc += p
            acc2 += p * p
            sd[y][x] = (acc + sd[y - 1][x]) & U32
            qd[y][x] = (acc2 + qd[y - 1][x]) & U32
    s.y_offs = s.h
    q.y_offs = s.h


def mw_shift_ss(img, s, q, roi, n):
    s.data = [s.data[(y + n) % s.h] for y in range(s.h)]
    q.data = [q.data[(y + n) % q.h] for y in range(q.h)]
    sd, qd = s.data, q.data
    for y in range(s.h - n, s.h):
        sy = roi[1] + ((s.y_offs * s.y_ratio) >> 16)
        acc = acc2 = 0
        for x in range(s.w):
            sx = roi[0] + ((x * s.x_ratio) >> 16)
            p = img[sy][sx]
            acc += p
            acc2 += p * p
            sd[y][x] = (acc + sd[y - 1][x]) & U32
            qd[y][x] = (acc2 + qd[y - 1][x]) & U32
        s.y_offs += 1
        q.y_offs += 1


def lookup(s, x, y, w, h) -> int:
    d = s.data
    return s32(d[h + y][w + x] + d[y][x] - d[y][w + x] - d[h + y][x])  # uint32 sum, returned as long


def run_cascade(c, s, q, px, threshold) -> int:
    """run_cascade_classifier, returning how far the window got: -1 skipped as homogeneous,
    else the number of stages passed."""
    win_w, win_h = c["window"]
    n = win_w * win_h
    i_s = lookup(s, px, 0, win_w, win_h) & U32
    i_sq = lookup(q, px, 0, win_w, win_h) & U32
    m = i_s // n
    v = (i_sq // n - m * m) & U32
    if v < 50 * 50:
        return -1
    std = int(f32(math.sqrt(f32(((i_sq * n) - (i_s * i_s)) & U32))))
    t_idx = w_idx = r_idx = 0
    for i in range(c["n_stages"]):
        stage_sum = 0
        for _ in range(c["stages"][i]):
            sumw = 0
            t = s32(c["tree"][t_idx] * std)
            for k in range(c["nrects"][t_idx]):
                rx, ry, rw, rh = c["rects"][r_idx + 4 * k: r_idx + 4 * k + 4]
                sumw = s32(sumw + s32(lookup(s, px + rx, ry, rw, rh) * (c["weights"][w_idx + k] << 12)))
            stage_sum += c["alpha2"][t_idx] if sumw >= t else c["alpha1"][t_idx]
            w_idx += c["nrects"][t_idx]
            r_idx += c["nrects"][t_idx] * 4
            t_idx += 1
        if stage_sum < f32(threshold * c["stage_thr"][i]):
            return i
    return c["n_stages"]


def cascade_dict(cascade) -> dict:
    """maskgate.imlib.haar.Cascade -> plain lists (cascade_t)."""
    return {"window": cascade.window, "n_stages": cascade.n_stages, "stages": cascade.stages.tolist(),
            "stage_thr": cascade.stage_thresholds.tolist(), "tree": cascade.tree_thresholds.tolist(),
            "alpha1": cascade.alpha1.tolist(), "alpha2": cascade.alpha2.tolist(),
            "nrects": cascade.num_rects.tolist(), "weights": cascade.weights.tolist(),
            "rects": cascade.rects.ravel().tolist()}


def detect_windows(gray, cascade, threshold, scale) -> tuple[dict, list]:
    """imlib_detect_objects over the whole image: {(level, x, y): depth} for every window
    visited, and the hit rectangles in scan order (before merging)."""
    c = cascade_dict(cascade)
    img = [list(map(int, row)) for row in gray]
    roi = (0, 0, len(img[0]), len(img))
    threshold, scale = f32(threshold), f32(scale)
    win_w, win_h = c["window"]
    step = (roi[2] * 50) // 1000
    if step > win_h:
        step = win_h
    mw_h = win_h
    for k in range(len(c["rects"]) // 4):
        mw_h = max(mw_h, c["rects"][4 * k + 1] + c["rects"][4 * k + 3])
    s, q = MW(roi[2], mw_h + 1), MW(roi[2], mw_h + 1)
    windows, hits = {}, []
    factor, level = f32(1.0), 0
    while True:
        szw = int(f32(roi[2] / factor))
        szh = int(f32(roi[3] / factor))
        if szw < win_w or szh < win_h:
            break
        mw_scale(roi, s, szw, szh)
        mw_scale(roi, q, szw, szh)
        mw_ss(img, s, q, roi)
        step = int(f32(step / factor))
        step = 1 if step == 0 else step
        y2, x2 = szh - win_h, szw - win_w
        y = 0
        while y < y2:
            x = 0
            while x < x2:
                depth = run_cascade(c, s, q, x, threshold)
                windows[(level, x, y)] = depth
                if depth == c["n_stages"]:
                    hits.append((roundf(f32(x * factor)) + roi[0], roundf(f32(y * factor)) + roi[1],
                                 roundf(f32(win_w * factor)), roundf(f32(win_h * factor))))
                x += step
            if y + step < y2:
                mw_shift_ss(img, s, q, roi, step)
            y += step
        factor = f32(factor * scale)
        level += 1
    return windows, hits


# ---------------------------------------------------------------- scaling (draw.c)
def smlad(x, y, acc):
    """__SMLAD: acc + (signed lo16 x * lo16 y) + (signed hi16 x * hi16 y)."""
    def halves(v):
        lo, hi = v & 0xFFFF, (v >> 16) & 0xFFFF
        return (lo - 0x10000 if lo & 0x8000 else lo), (hi - 0x10000 if hi & 0x8000 else hi)

    xl, xh = halves(x)
    yl, yh = halves(y)
    return s32(acc + xl * yl + xh * yh)


def scale_rgb565_area(src, roi, x_scale, y_scale):
    """py_image_to + imlib_draw_image with IMAGE_HINT_AREA on an RGB565 image (list of rows of
    ints), the loops of draw.c as written; returns rows of RGB565 ints."""
    x_scale, y_scale = f32(x_scale), f32(y_scale)
    rx, ry, rw, rh = roi
    dst_w, dst_h = floorf(f32(rw * x_scale)), floorf(f32(rh * y_scale))
    w_limit, h_limit = rx + rw - 1, ry + rh - 1
    src_x_start = floorf(f32(rx * x_scale))
    src_y_start = floorf(f32(ry * y_scale))
    src_x_frac = floorf(f32(65536.0 / x_scale))
    src_x_frac_size = (src_x_frac + 0xFFFF) >> 16
    src_x_accum_reset = floorf(f32((src_x_start << 16) / x_scale))
    src_y_frac = floorf(f32(65536.0 / y_scale))
    src_y_frac_size = (src_y_frac + 0xFFFF) >> 16
    src_y_accum_reset = floorf(f32((src_y_start << 16) / y_scale))
    area_hint = not (src_x_frac == 65536 and src_y_frac == 65536) and not (x_scale >= 1 and y_scale >= 1)
    out = []
    src_y_accum = src_y_accum_reset
    for _ in range(dst_h):
        row = []
        src_x_accum = src_x_accum_reset
        sy = src_y_accum >> 16
        for _ in range(dst_w):
            sx = src_x_accum >> 16
            if not area_hint:
                row.append(src[sy][sx])
            elif not (src_x_frac & 0xFFFF) and not (src_y_frac & 0xFFFF):
                row.append(_area_fast_pixel(src, sx, sy, src_x_frac_size, src_y_frac_size, w_limit, h_limit))
            else:
                row.append(_area_slow_pixel(src, sx, sy, src_x_accum, src_y_accum, src_x_frac, src_y_frac,
                                            src_x_frac_size, src_y_frac_size, w_limit, h_limit))
            src_x_accum += src_x_frac
        out.append(row)
        src_y_accum += src_y_frac
    return out


def _area_fast_pixel(src, sx, sy, fx_size, fy_size, w_limit, h_limit):
    y_end = sy + fy_size
    if y_end >= h_limit:
        y_end = h_limit + 1
    x_end = sx + fx_size
    if x_end >= w_limit:
        x_end = w_limit + 1
    area = (x_end - sx) * (y_end - sy)
    r = g = b = 0
    for i in range(sy, y_end):
        for j in range(sx, x_end):
            p = src[i][j]
            r += (p >> 11) & 0x1F
            g += (p >> 5) & 0x3F
            b += p & 0x1F
    r, g, b = ((v + (area >> 1)) // area for v in (r, g, b))
    return (r << 11) | (g << 5) | b


def _area_slow_pixel(src, sx, sy, x_acc, y_acc, x_frac, y_frac, fx_size, fy_size, w_limit, h_limit):
    t_b_weight_sum = 64 + ((y_frac >> 10) & 0x3F)
    l_r_weight_sum = 64 + ((x_frac >> 10) & 0x3F)
    sy_end = sy + fy_size - 1
    t_y = 64 - (((y_acc + 63) >> 10) & 0x3F)
    b_y = ((y_acc + y_frac + 63) >> 10) & 0x3F
    if (not b_y) and (t_y < t_b_weight_sum):
        b_y = 64
    if sy_end > h_limit:
        sy_end = h_limit
        b_y = 0 if sy_end == sy else 64
    if (t_y + b_y) < t_b_weight_sum:
        t_y += 32
        b_y += 32
    if (t_y + b_y) > t_b_weight_sum:
        b_y -= 1
    y_height_m_2 = sy_end - sy - 1
    smlad_y_weight = (t_y << 16) | b_y

    sx_end = sx + fx_size - 1
    l_x = 64 - (((x_acc + 63) >> 10) & 0x3F)
    r_x = ((x_acc + x_frac + 63) >> 10) & 0x3F
    if (not r_x) and (l_x < l_r_weight_sum):
        r_x = 64
    if sx_end > w_limit:
        sx_end = w_limit
        r_x = 0 if sx_end == sx else 64
    if (l_x + r_x) < l_r_weight_sum:
        l_x += 32
        r_x += 32
    if (l_x + r_x) > l_r_weight_sum:
        r_x -= 1
    x_width_m_2 = sx_end - sx - 1
    smlad_x_weight = (l_x << 16) | r_x
    t_smlad = (smlad_x_weight * t_y) & U32
    b_smlad = (smlad_x_weight * b_y) & U32
    qadd = ((((t_smlad >> 16) + (b_smlad >> 16)) & 0xFFFF) << 16) | (((t_smlad & 0xFFFF) + (b_smlad & 0xFFFF)) & 0xFFFF)
    area = smlad(qadd, 0x10001, 0)
    acc = [0, 0, 0]

    def add(pixels, weight):
        acc[0] = smlad((pixels >> 11) & 0x1F001F, weight, acc[0])
        acc[1] = smlad((pixels >> 5) & 0x3F003F, weight, acc[1])
        acc[2] = smlad(pixels & 0x1F001F, weight, acc[2])

    add((src[sy][sx] << 16) | src[sy][sx_end], t_smlad)
    add((src[sy_end][sx] << 16) | src[sy_end][sx_end], b_smlad)
    area = (area + 63) >> 6
    acc = [(a + 63) >> 6 for a in acc]
    if x_width_m_2 > 0:
        area += x_width_m_2 * (t_y + b_y)
        for i in range(sx + 1, sx_end):
            add((src[sy][i] << 16) | src[sy_end][i], smlad_y_weight)
    if y_height_m_2 > 0:
        area += y_height_m_2 * (l_x + r_x)
        for i in range(sy + 1, sy_end):
            add((src[i][sx] << 16) | src[i][sx_end], smlad_x_weight)
    area = (area + 63) >> 6
    acc = [(a + 63) >> 6 for a in acc]
    if x_width_m_2 > 0 and y_height_m_2 > 0:
        area += x_width_m_2 * y_height_m_2
        for i in range(sy + 1, sy_end):
            for j in range(sx + 1, sx_end):
                p = src[i][j]
                acc[0] += (p >> 11) & 0x1F
                acc[1] += (p >> 5) & 0x3F
                acc[2] += p & 0x1F
    r, g, b = ((a + (area >> 1)) // area for a in acc)
    return (r << 11) | (g << 5) | b


def _walk(start, size, scale, shift_half):
    """(frac, frac_size, accum_reset, w_start, w_limit) of one axis, as draw.c sets them up."""
    scale = f32(scale)
    src_start = floorf(f32(start * scale))
    frac = floorf(f32(65536.0 / scale))
    reset = floorf(f32((src_start << 16) / scale))
    if shift_half:
        reset -= 0x8000
    return frac, (frac + 0xFFFF) >> 16, reset, start, start + size - 1


def scale_gray_area(src, roi, x_scale, y_scale):
    """The grayscale AREA loops of draw.c (fast 3381, slow 3716) on rows of ints."""
    rx, ry, rw, rh = roi
    dst_w, dst_h = floorf(f32(rw * f32(x_scale))), floorf(f32(rh * f32(y_scale)))
    xf, xfs, xr, _, w_limit = _walk(rx, rw, x_scale, False)
    yf, yfs, yr, _, h_limit = _walk(ry, rh, y_scale, False)
    fast = not (xf & 0xFFFF) and not (yf & 0xFFFF)
    out = []
    y_acc = yr
    for _ in range(dst_h):
        row = []
        x_acc = xr
        sy = y_acc >> 16
        for _ in range(dst_w):
            sx = x_acc >> 16
            if fast:
                y_end = h_limit + 1 if sy + yfs >= h_limit else sy + yfs
                x_end = w_limit + 1 if sx + xfs >= w_limit else sx + xfs
                area = (x_end - sx) * (y_end - sy)
                acc = sum(src[i][j] for i in range(sy, y_end) for j in range(sx, x_end))
                row.append((acc + (area >> 1)) // area)
            else:
                row.append(_gray_slow(src, sx, sy, x_acc, y_acc, xf, yf, xfs, yfs, w_limit, h_limit))
            x_acc += xf
        out.append(row)
        y_acc += yf
    return out


def _weights8(idx, acc, frac, fsize, limit):
    weight_sum = 256 + ((frac >> 8) & 0xFF)
    end = idx + fsize - 1
    first = 256 - (((acc + 255) >> 8) & 0xFF)
    last = ((acc + frac + 255) >> 8) & 0xFF
    if (not last) and (first < weight_sum):
        last = 256
    if end > limit:
        end = limit
        last = 0 if end == idx else 256
    if first + last < weight_sum:
        first += 128
        last += 128
    if first + last > weight_sum:
        last -= 1
    return end, first, last


def _gray_slow(src, sx, sy, x_acc, y_acc, xf, yf, xfs, yfs, w_limit, h_limit):
    sy_end, t_y, b_y = _weights8(sy, y_acc, yf, yfs, h_limit)
    sx_end, l_x, r_x = _weights8(sx, x_acc, xf, xfs, w_limit)
    y_height_m_2 = sy_end - sy - 1
    x_width_m_2 = sx_end - sx - 1
    tl, tr, bl, br = t_y * l_x, t_y * r_x, b_y * l_x, b_y * r_x
    area = tl + tr + bl + br
    acc = src[sy][sx] * tl + src[sy][sx_end] * tr + src[sy_end][sx] * bl + src[sy_end][sx_end] * br
    area = (area + 255) >> 8
    acc = (acc + 128) >> 8
    if x_width_m_2 > 0:
        area += x_width_m_2 * (t_y + b_y)
        for i in range(sx + 1, sx_end):
            acc += src[sy][i] * t_y + src[sy_end][i] * b_y
    if y_height_m_2 > 0:
        area += y_height_m_2 * (l_x + r_x)
        for i in range(sy + 1, sy_end):
            acc += src[i][sx] * l_x + src[i][sx_end] * r_x
    area = (area + 255) >> 8
    acc = (acc + 128) >> 8
    if x_width_m_2 > 0 and y_height_m_2 > 0:
        area += x_width_m_2 * y_height_m_2
        for i in range(sy + 1, sy_end):
            for j in range(sx + 1, sx_end):
                acc += src[i][j]
    return (acc + (area >> 1)) // area


def scale_bilinear(src, roi, x_scale, y_scale, rgb565: bool):
    """The BILINEAR loops of draw.c (grayscale 4875, RGB565 4962) on rows of ints, RGB565 with
    its packed red/blue and green halfword sums."""
    rx, ry, rw, rh = roi
    dst_w, dst_h = floorf(f32(rw * f32(x_scale))), floorf(f32(rh * f32(y_scale)))
    xf, _, xr, w_start, w_limit = _walk(rx, rw, x_scale, True)
    yf, _, yr, h_start, h_limit = _walk(ry, rh, y_scale, True)
    if xf == 65536 and yf == 65536:  # draw.c:3006: no scaling, nearest neighbour (no half shift)
        return [[src[ry + i][rx + j] for j in range(dst_w)] for i in range(dst_h)]
    out = []
    y_acc = yr
    for _ in range(dst_h):
        sy = y_acc >> 16
        if sy < h_start:
            row0 = row1 = src[h_start]
        elif sy >= h_limit:
            row0 = row1 = src[h_limit]
        else:
            row0, row1 = src[sy], src[sy + 1]
        row = []
        x_acc = xr
        for _ in range(dst_w):
            sx = x_acc >> 16
            if sx < w_start:
                p00 = p10 = row0[w_start]
                p01 = p11 = row1[w_start]
            elif sx >= w_limit:
                p00 = p10 = row0[w_limit]
                p01 = p11 = row1[w_limit]
            else:
                p00, p10 = row0[sx], row0[sx + 1]
                p01, p11 = row1[sx], row1[sx + 1]
            if not rgb565:
                sm_y = ((y_acc >> 8) & 0xFF) | ((256 - ((y_acc >> 8) & 0xFF)) << 16)
                left = smlad(sm_y, (p00 << 16) | p01, 128) >> 8
                right = smlad(sm_y, (p10 << 16) | p11, 128) >> 8
                sm_x = ((x_acc >> 8) & 0xFF) | ((256 - ((x_acc >> 8) & 0xFF)) << 16)
                row.append(smlad(sm_x, (left << 16) | right, 128) >> 8)
            else:
                fy = (y_acc >> 11) & 0x1F
                sm_y = fy | ((32 - fy) << 16)

                def vertical(top, bottom):
                    rgb = ((top << 16) | bottom) & U32
                    rb = ((rgb >> 1) & 0x7C007C00) | (rgb & 0x001F001F)
                    g = rgb & 0x07E007E0
                    return (smlad(sm_y, rb, 0x4010) >> 5) & 0x7C1F, (smlad(sm_y, g, 0x200) >> 5) & 0x07E0

                rb_l, g_l = vertical(p00, p01)
                rb_r, g_r = vertical(p10, p11)
                fx = (x_acc >> 11) & 0x1F
                sm_x = fx | ((32 - fx) << 16)
                rb_out = smlad(sm_x, (rb_l << 16) | rb_r, 0x4010) >> 5
                g_out = smlad(sm_x, (g_l << 16) | g_r, 0x200) >> 5
                row.append(((rb_out << 1) & 0xF800) | (g_out & 0x07E0) | (rb_out & 0x001F))
            x_acc += xf
        out.append(row)
        y_acc += yf
    return out
