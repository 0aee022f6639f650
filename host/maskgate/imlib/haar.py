"""OpenMV's Haar cascade detector (`img.find_features(cascade, threshold=, scale=)`), vectorised.

Follows lib/imlib/haar.c, integral_mw.c and rectangle.c of OpenMV 5.0.0 (and HEAD); 4.5.5 and
4.5.9 (src/omv/imlib/) compute the same (their moving-window integral is one row shorter, which
matters only for cascades whose features reach below the window; neither built-in cascade
does, `Cascade.reach` says so). What it does, and where OpenCV's detectMultiScale differs:

- Pyramid: factor = 1, scale, scale^2, ... in float32 (haar.c:135); level size
  (int)(roi.w / factor); each level is a nearest-neighbour resample of the grey ROI,
  source column ((x * x_ratio) >> 16), x_ratio = ((roi.w << 16) / szw) + 1 (integral_mw.c:105).
- Scan step: (roi.w * 50) / 1000, at most the window height, then at every level
  step = (int)(step / factor) with the *cumulative* factor, at least 1 (haar.c:113-117, 155).
  Windows at x = 0, step, ... < szw - win_w (likewise y).
- The integral image is inclusive: a rectangle (rx, ry, rw, rh) of the window at (x, y) sums
  rows y+ry+1 .. y+ry+rh (integral_mw.c imlib_integral_mw_lookup).
- Windows whose grey variance (integer mean, integer mean square) is below 50 * 50 are skipped
  (haar.c:72). std = (int) sqrtf((uint32)(n * sum_sq - sum^2)) with 32-bit unsigned wrap.
- A feature adds alpha2 when sum(rect_sum * (weight << 12)) >= tree_threshold * std, else
  alpha1 (haar.c:39-58); a window fails a stage when stage_sum < threshold * stage_threshold
  (float32, haar.c:86). The stage thresholds are negative, so threshold 1.0 is the cascade as
  trained and lower values are stricter.
- Every window passing all stages is a hit at (round(x * factor) + roi.x, ...,
  round(win * factor)); hits are merged by rectangle_merge: the first hit takes every later
  hit that intersects *it* and becomes their average (int16 sums, C division).

Cascades are OpenCV's XML converted the way OpenMV's tools/haar2c.py converts them (what the
4.7+ ROMFS holds as /rom/haarcascade_*.cascade, and what 4.5.x compiled into cascade.h):
thresholds and leaf values times 256 (tree thresholds times 4096), truncated to int16.
"""
from __future__ import annotations

import functools
import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

import numpy as np

_F32 = np.float32
MIN_VARIANCE = 50 * 50  # haar.c:72: "Skip homogeneous regions."
# The built-in names of 4.5.x and the OpenCV XML files they were converted from (4.5.9
# src/omv/imlib/cascade.h; ROMFS files on 4.7+: boards/OPENMV4/romfs_config.json).
BUILTIN = {"frontalface": "haarcascade_frontalface_default.xml", "eye": "haarcascade_eye.xml"}


# ---------------------------------------------------------------- cascades
def xml_to_cascade(xml: str | bytes, n_stages: int = 0) -> bytes:
    """An OpenCV cascade XML -> OpenMV's .cascade bytes, as tools/haar2c.py
    cascade_binary_universal writes them (new format: `stageNum`; old: `trees`)."""
    root = ET.fromstring(xml)
    if next(root.iter("stageNum"), None) is not None:
        return _binary_new(root, n_stages)
    return _binary_old(root, n_stages)


def _rect_values(rects_node) -> list[list[int]]:
    # haar2c: list(map(int, nodeValue[:-1].split())) -- "6 4 12 9 -1." without its last "."
    return [list(map(int, r.text.strip()[:-1].split())) for r in rects_node.iter("_")]


def _pack(size, stages, stage_thr, tree_thr, alpha1, alpha2, rects_per_feature) -> bytes:
    out = [struct.pack("<iii", size[0], size[1], len(stages)), bytes(stages)]
    out.append(b"\x00" * ((4 - ((12 + len(stages)) % 4)) % 4))
    out.append(struct.pack(f"<{len(stage_thr)}h", *[int(float(t) * 256) for t in stage_thr]))
    out.append(struct.pack(f"<{len(tree_thr)}h", *[int(float(t) * 4096) for t in tree_thr]))
    out.append(struct.pack(f"<{len(alpha1)}h", *[int(float(a) * 256) for a in alpha1]))
    out.append(struct.pack(f"<{len(alpha2)}h", *[int(float(a) * 256) for a in alpha2]))
    out.append(bytes(len(r) for r in rects_per_feature))
    out.append(struct.pack(f"<{sum(map(len, rects_per_feature))}b", *[r[4] for rs in rects_per_feature for r in rs]))
    out.append(bytes(v for rs in rects_per_feature for r in rs for v in r[:4]))
    return b"".join(out)


def _binary_new(root, n_stages: int) -> bytes:
    max_stages = int(next(root.iter("stageNum")).text)
    if n_stages > max_stages:
        raise ValueError(f"The max number of stages is: {max_stages}")
    n_stages = n_stages or max_stages
    stages = [int(s.find("maxWeakCount").text) for s in next(root.iter("stages"))]
    stage_thr = [t.text for t in root.iter("stageThreshold")][:n_stages]
    n_features = sum(stages)
    nodes = [n.text.split() for n in root.iter("internalNodes")][:n_features]
    leaves = [v.text.split() for v in root.iter("leafValues")][:n_features]
    features = [_rect_values(f) for f in root.iter("rects")][:n_features]
    size = (int(next(root.iter("width")).text), int(next(root.iter("height")).text))
    return _pack(size, stages, stage_thr, [n[3] for n in nodes], [v[0] for v in leaves], [v[1] for v in leaves],
                 [features[int(n[2])] for n in nodes])


def _binary_old(root, n_stages: int) -> bytes:
    trees = list(root.iter("trees"))
    if n_stages > len(trees):
        raise ValueError(f"The max number of stages is: {len(trees)}")
    n_stages = n_stages or len(trees)
    stages = [len(list(t)) for t in trees][:n_stages]
    stage_thr = [t.text for t in root.iter("stage_threshold")][:n_stages]
    n_features = sum(stages)
    tree_thr = [t.text for t in root.iter("threshold")][:n_features]
    alpha1 = [a.text for a in root.iter("left_val")][:n_features]
    alpha2 = [a.text for a in root.iter("right_val")][:n_features]
    features = [_rect_values(f) for f in root.iter("rects")][:n_features]
    size = tuple(map(int, next(root.iter("size")).text.split()))
    return _pack(size, stages, stage_thr, tree_thr, alpha1, alpha2, features)


@dataclass(frozen=True, eq=False)
class Cascade:
    """A cascade as haar.c holds it (cascade_t). `n_stages` is how many stages run."""

    window: tuple[int, int]
    n_stages: int
    stages: np.ndarray  # features per stage (uint8), all stages of the file
    stage_thresholds: np.ndarray  # int16, one per stage
    tree_thresholds: np.ndarray  # int16, one per feature
    alpha1: np.ndarray  # int16
    alpha2: np.ndarray  # int16
    num_rects: np.ndarray  # int8, rectangles per feature
    weights: np.ndarray  # int8, one per rectangle
    rects: np.ndarray  # int8, (n_rectangles, 4): x, y, w, h in the window

    @classmethod
    def from_bytes(cls, data: bytes) -> "Cascade":
        """Parse .cascade bytes (haar.c imlib_load_cascade_from_file, the buffer branch)."""
        w, h, n = struct.unpack_from("<iii", data, 0)
        off = 12
        stages = np.frombuffer(data, np.uint8, n, off).copy()
        off += n
        off += (4 - off % 4) % 4  # "Skip alignment"
        n_features = int(stages.sum())

        def take(dtype, count):
            nonlocal off
            arr = np.frombuffer(data, dtype, count, off).copy()
            off += arr.nbytes
            return arr

        stage_thr = take("<i2", n)
        tree_thr = take("<i2", n_features)
        alpha1 = take("<i2", n_features)
        alpha2 = take("<i2", n_features)
        num_rects = take(np.int8, n_features)
        n_rects = int(num_rects.astype(np.int64).sum())
        weights = take(np.int8, n_rects)
        rects = take(np.int8, n_rects * 4).reshape(n_rects, 4)
        return cls((int(w), int(h)), int(n), stages, stage_thr, tree_thr, alpha1, alpha2, num_rects, weights, rects)

    @classmethod
    def from_xml(cls, xml: str | bytes) -> "Cascade":
        return cls.from_bytes(xml_to_cascade(xml))

    def to_bytes(self) -> bytes:
        """The .cascade file (haar2c's layout) holding every stage of this cascade."""
        n = len(self.stages)
        head = struct.pack("<iii", self.window[0], self.window[1], n) + self.stages.tobytes()
        head += b"\x00" * ((4 - len(head) % 4) % 4)
        return b"".join([head, self.stage_thresholds.astype("<i2").tobytes(),
                         self.tree_thresholds.astype("<i2").tobytes(), self.alpha1.astype("<i2").tobytes(),
                         self.alpha2.astype("<i2").tobytes(), self.num_rects.tobytes(), self.weights.tobytes(),
                         self.rects.tobytes()])

    def with_stages(self, stages: int | None) -> "Cascade":
        """image.HaarCascade(path, stages=N): N > 0 and below the file's count cuts the
        cascade, anything else keeps it whole (py_image.c py_image_load_cascade)."""
        if stages is not None and 0 < stages < len(self.stages):
            return replace(self, n_stages=int(stages))
        return replace(self, n_stages=len(self.stages))

    @property
    def reach(self) -> int:
        """The deepest row a feature reads below the window top (haar.c:121-130, 5.0)."""
        return max(self.window[1], int((self.rects[:, 1].astype(int) + self.rects[:, 3]).max()))

    @functools.cached_property
    def _layout(self):
        feature_first_rect = np.concatenate([[0], np.cumsum(self.num_rects.astype(np.int64))])
        stage_first_feature = np.concatenate([[0], np.cumsum(self.stages.astype(np.int64))])
        return feature_first_rect, stage_first_feature


@functools.lru_cache(maxsize=None)
def from_opencv(file_name: str) -> Cascade:
    """A cascade from OpenCV's data folder (cv2.data.haarcascades), converted as haar2c does."""
    import cv2

    with open(os.path.join(cv2.data.haarcascades, file_name), "rb") as f:
        return Cascade.from_xml(f.read())


def builtin(name: str) -> Cascade:
    """OpenMV's built-in cascade `name` ("frontalface", "eye"): OpenCV's XML of the same data,
    converted as haar2c converts it (equal to 4.5.x cascade.h, checked by the tests)."""
    if name not in BUILTIN:
        raise OSError(f"no built-in Haar cascade {name!r} (there are {', '.join(BUILTIN)})")
    return from_opencv(BUILTIN[name])


# ---------------------------------------------------------------- the scan
@dataclass(frozen=True)
class Level:
    factor: np.float32
    width: int
    height: int
    step: int


def pyramid(cascade: Cascade, roi_w: int, roi_h: int, scale: float) -> list[Level]:
    """The levels imlib_detect_objects scans (haar.c:108-160), float32 as on the camera."""
    win_w, win_h = cascade.window
    step = min((roi_w * 50) // 1000, win_h)
    factor, scale = _F32(1.0), _F32(scale)
    levels = []
    while True:
        szw, szh = int(_F32(roi_w) / factor), int(_F32(roi_h) / factor)
        if szw < win_w or szh < win_h:
            return levels
        step = int(_F32(step) / factor) or 1
        levels.append(Level(factor, szw, szh, step))
        factor = _F32(factor * scale)
        if len(levels) > 10_000:  # a scale of 1.0 never shrinks: the camera would hang
            raise ValueError("scale must be above 1")


@dataclass
class Scan:
    """Every window the detector visited: its level, position and how many stages it passed
    (-1: skipped by the variance filter). `hits` are the windows that passed them all."""

    levels: list[Level]
    level: np.ndarray
    x: np.ndarray
    y: np.ndarray
    depth: np.ndarray
    n_stages: int
    stage_sums: np.ndarray | None = None  # (windows, stages) with keep_sums, 0 where not reached

    @property
    def hits(self) -> np.ndarray:
        return np.flatnonzero(self.depth == self.n_stages)

    def hits_at(self, cascade: Cascade, threshold: float) -> np.ndarray:
        """The windows passing every stage at `threshold`, from a scan with keep_sums at a
        threshold at least as large (every stage threshold is negative, so a smaller
        threshold only removes hits): the same float32 test as haar.c:86."""
        if self.stage_sums is None:
            raise ValueError("scan(..., keep_sums=True) first")
        hits = self.hits
        bar = _F32(threshold) * cascade.stage_thresholds[: self.n_stages].astype(np.float32)
        ok = (self.stage_sums[hits].astype(np.float64) >= bar.astype(np.float64)[None, :]).all(axis=1)
        return hits[ok]


class _Plan:
    """Per (cascade, row stride), each stage as flat arrays, its features grouped by how many
    rectangles they have (a stage sum does not depend on the order of its features): the four
    integral corners of every rectangle as offsets from the window's corner, the rectangle
    weights << 12, and the feature thresholds and leaf values."""

    def __init__(self, cascade: Cascade, stride: int):
        first_rect, first_feature = cascade._layout
        rects = cascade.rects.astype(np.int64)
        rx, ry, rw, rh = rects[:, 0], rects[:, 1], rects[:, 2], rects[:, 3]
        # lookup(x, y, w, h) = I[y+h][x+w] + I[y][x] - I[y][x+w] - I[y+h][x]
        corners = np.stack([(ry + rh) * stride + rx + rw, ry * stride + rx, ry * stride + rx + rw,
                            (ry + rh) * stride + rx], axis=1)
        weights = cascade.weights.astype(np.int32) << 12
        counts = cascade.num_rects.astype(np.int64)
        self.stages = []
        for s in range(cascade.n_stages):
            features = np.arange(first_feature[s], first_feature[s + 1])
            groups = []
            for n in np.unique(counts[features]).tolist():
                f = features[counts[features] == n]
                k = (first_rect[f][:, None] + np.arange(n)[None, :]).ravel()  # their rectangles, in order
                groups.append((n, len(f), corners[k].ravel(), weights[k].reshape(len(f), n),
                               cascade.tree_thresholds[f].astype(np.int32), cascade.alpha1[f].astype(np.int32),
                               cascade.alpha2[f].astype(np.int32)))
            self.stages.append((groups, _F32(cascade.stage_thresholds[s])))


@functools.lru_cache(maxsize=16)
def _plan(cascade: Cascade, stride: int) -> _Plan:
    return _Plan(cascade, stride)


def _integrals(gray: np.ndarray, roi, levels: list[Level]):
    """Every level's inclusive integral and squared integral in one flat buffer with the
    ROI's width as row stride (integral_mw.c imlib_integral_mw_ss and _shift_ss compute the
    same rows a window at a time). Both wrap at 32 bits as the C's uint32 rows do, which
    every window sum cancels."""
    rx, ry, rw, rh = roi
    offsets = np.concatenate([[0], np.cumsum([lv.height for lv in levels])]).astype(np.int64)
    sums = np.zeros((int(offsets[-1]), rw), np.int32)
    sqs = np.zeros((int(offsets[-1]), rw), np.uint32)
    for lv, top in zip(levels, offsets.tolist()):
        x_ratio = ((rw << 16) // lv.width) + 1
        y_ratio = ((rh << 16) // lv.height) + 1
        sx = rx + ((np.arange(lv.width, dtype=np.int64) * x_ratio) >> 16)
        sy = ry + ((np.arange(lv.height, dtype=np.int64) * y_ratio) >> 16)
        level = gray.take(sy, axis=0).take(sx, axis=1).astype(np.int32)
        np.cumsum(np.cumsum(level, axis=0, dtype=np.int32), axis=1, dtype=np.int32,
                  out=sums[top:top + lv.height, :lv.width])
        sq = (level * level).astype(np.uint32)
        np.cumsum(np.cumsum(sq, axis=0, dtype=np.uint32), axis=1, dtype=np.uint32,
                  out=sqs[top:top + lv.height, :lv.width])
    return sums.ravel(), sqs.ravel(), offsets[:-1]


def scan(gray: np.ndarray, cascade: Cascade, threshold: float = 0.5, scale: float = 1.5, roi=None,
         keep_sums: bool = False) -> Scan:
    """Run the cascade over every window of `gray` (H x W uint8 grey levels) inside `roi`;
    keep_sums also keeps every stage sum (for Scan.hits_at: one scan, many thresholds)."""
    gray = np.asarray(gray)
    height, width = gray.shape
    rx, ry, rw, rh = (0, 0, width, height) if roi is None else (int(v) for v in roi)
    win_w, win_h = cascade.window
    if cascade.reach > win_h:
        raise ValueError("cascades whose features reach below the window are not emulated")
    levels = pyramid(cascade, rw, rh, scale)
    lv_idx, xs, ys = [], [], []
    for i, lv in enumerate(levels):
        gy, gx = np.meshgrid(np.arange(0, lv.height - win_h, lv.step), np.arange(0, lv.width - win_w, lv.step),
                             indexing="ij")
        lv_idx.append(np.full(gx.size, i, np.int64))
        xs.append(gx.ravel())
        ys.append(gy.ravel())
    level = np.concatenate(lv_idx) if lv_idx else np.zeros(0, np.int64)
    x = np.concatenate(xs) if xs else np.zeros(0, np.int64)
    y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
    depth = np.full(x.size, -1, np.int64)
    kept = np.zeros((x.size, cascade.n_stages), np.int32) if keep_sums else None
    if x.size == 0:
        return Scan(levels, level, x, y, depth, cascade.n_stages, kept)

    sums, sqs, offsets = _integrals(gray, (rx, ry, rw, rh), levels)
    stride = rw
    base = (offsets[level] + y) * stride + x

    # variance filter and std (haar.c:64-76), in the C's integer types
    n = win_w * win_h
    corner = np.array([win_h * stride + win_w, 0, win_w, win_h * stride], np.int64)

    def window_sum(table):
        v = np.take(table, base[:, None] + corner[None, :])
        return (v[:, 0] + v[:, 1] - v[:, 2] - v[:, 3]).astype(np.int64)  # wraps, then exact

    i_s, i_sq = window_sum(sums), window_sum(sqs)
    m = i_s // n
    keep = (i_sq // n - m * m) >= MIN_VARIANCE
    wrapped = (i_sq * n - i_s * i_s) & 0xFFFFFFFF  # uint32 arithmetic
    std = np.sqrt(wrapped.astype(np.float32)).astype(np.int32)  # fast_sqrtf, then (int)

    alive = np.flatnonzero(keep)
    depth[alive] = 0
    plan = _plan(cascade, stride)
    thr32 = _F32(threshold)
    for s, (groups, stage_thr) in enumerate(plan.stages):
        if alive.size == 0:
            break
        b = base[alive][:, None]
        window_std = std[alive][:, None]
        stage_sum = np.zeros(alive.size, np.int32)
        for n_rects, n_features, corners, weights, tree_thr, alpha1, alpha2 in groups:
            v = np.take(sums, b + corners[None, :]).reshape(alive.size, n_features, n_rects, 4)  # take: 5x [] here
            rect_sums = v[..., 0] + v[..., 1] - v[..., 2] - v[..., 3]
            # int32 products and sums wrap exactly as the M7's do
            sumw = rect_sums[..., 0] * weights[:, 0]
            for k in range(1, n_rects):
                sumw += rect_sums[..., k] * weights[:, k]
            stage_sum += np.where(sumw >= tree_thr[None, :] * window_std, alpha2[None, :], alpha1[None, :]).sum(
                axis=1, dtype=np.int32)
        if kept is not None:
            kept[alive, s] = stage_sum
        passed = stage_sum.astype(np.float64) >= np.float64(_F32(thr32 * stage_thr))
        alive = alive[passed]
        depth[alive] = s + 1
    return Scan(levels, level, x, y, depth, cascade.n_stages, kept)


def hit_rects(result: Scan, cascade: Cascade, roi=(0, 0), hits=None) -> list[tuple[int, int, int, int]]:
    """The hits (or the windows `hits`) as rectangles in image coordinates, in scan order
    (haar.c:166-170)."""
    rects = []
    win_w, win_h = cascade.window
    for i in (result.hits if hits is None else hits).tolist():
        f = result.levels[int(result.level[i])].factor
        rects.append((int(np.rint(_F32(result.x[i]) * f)) + roi[0], int(np.rint(_F32(result.y[i]) * f)) + roi[1],
                      int(np.rint(_F32(win_w) * f)), int(np.rint(_F32(win_h) * f))))
    return rects


def detect(gray: np.ndarray, cascade: Cascade, threshold: float = 0.5, scale: float = 1.5,
           roi=None) -> list[tuple[int, int, int, int]]:
    """find_features: the merged hits (x, y, w, h). `roi` must be larger than the window
    (OSError otherwise, as py_image.c:4199 raises)."""
    from .draw import clamp_roi

    height, width = np.asarray(gray).shape
    roi = clamp_roi(roi, width, height)
    if not (roi[2] > cascade.window[0] and roi[3] > cascade.window[1]):
        raise OSError("Region of interest is smaller than detector window!")
    rects = hit_rects(scan(gray, cascade, threshold, scale, roi), cascade, roi)
    return merge(rects) if len(rects) > 1 else rects


# ---------------------------------------------------------------- merging
def _int16(v: int) -> int:
    return ((v + 0x8000) & 0xFFFF) - 0x8000


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _intersects(a, b) -> bool:
    return a[0] < b[0] + b[2] and a[1] < b[1] + b[3] and a[0] + a[2] > b[0] and a[1] + a[3] > b[1]


def merge(rects) -> list[tuple[int, int, int, int]]:
    """rectangle.c rectangle_merge: each first remaining rectangle absorbs every later one that
    intersects it and becomes their average (int16 fields, truncating division)."""
    rest = [tuple(r) for r in rects]
    out = []
    while rest:
        rect = rest.pop(0)
        group = [r for r in rest if _intersects(rect, r)]
        rest = [r for r in rest if not _intersects(rect, r)]
        count = len(group) + 1
        total = [_int16(sum(r[k] for r in group) + rect[k]) for k in range(4)]
        out.append(tuple(_int16(_cdiv(v, count)) for v in total))
    return out
