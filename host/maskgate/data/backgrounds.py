"""Door-scene backgrounds with nobody in them, drawn from a seed: walls, doors and doorways,
corridors, notice boards and clutter, under varied light.

What a door camera sees when no one is there is what the face stage must never open for, and
what a composed training picture (maskgate.data.compose) puts faces on. Every picture comes
from `(seed, index)` alone, so a test or bench names a background set by its seed range and
training never touches the seeds kept for checking (SPLIT_SEEDS).

Each picture is W x H x 3 uint8 RGB. Nothing here draws anything face-like on purpose; round
shapes (lamps, clocks) and skin-coloured surfaces (wood, beige walls) are there because a
detector that fires on them would fire at a real door.
"""
from __future__ import annotations

import cv2
import numpy as np

# Seeds per use: training, validation (model selection, thresholds) and checking (bench only).
SPLIT_SEEDS = {"train": 1000, "val": 2000, "test": 3000}
KINDS = ("wall", "door", "corridor", "board")


def _muted_colour(rng: np.random.Generator, sat=(0, 90), val=(60, 235)) -> np.ndarray:
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(*sat), rng.integers(*val)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _smooth(shape, rng: np.random.Generator, cells: int) -> np.ndarray:
    """A field of soft blobs in [-1, 1] (low-frequency lighting / stains)."""
    h, w = shape
    grid = rng.uniform(-1, 1, size=(cells, max(2, int(cells * w / h)))).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _texture(canvas: np.ndarray, rng: np.random.Generator, strength: float) -> None:
    """Plaster / paint grain: fine noise, a little blurred."""
    h, w = canvas.shape[:2]
    grain = rng.normal(0, strength, size=(h, w, 1)).astype(np.float32)
    canvas += cv2.GaussianBlur(grain, (0, 0), rng.uniform(0.5, 1.5))[..., None]


def _wall(h, w, rng) -> np.ndarray:
    base = _muted_colour(rng)
    canvas = np.ones((h, w, 3), np.float32) * base
    pattern = rng.integers(0, 4)
    if pattern == 1:  # tiles or bricks
        step = int(rng.integers(14, 48))
        line = _muted_colour(rng, val=(40, 220))
        offset = step // 2 if rng.random() < 0.5 else 0
        for i, y in enumerate(range(int(rng.integers(0, step)), h, step)):
            cv2.line(canvas, (0, y), (w, y), line.tolist(), 1)
            for x in range((offset if i % 2 else 0) + int(rng.integers(0, 2)), w, step * int(rng.integers(1, 3))):
                cv2.line(canvas, (x, y), (x, min(h, y + step)), line.tolist(), 1)
    elif pattern == 2:  # wood or panelling: stripes
        period = rng.uniform(6, 40)
        phase = rng.uniform(0, 2 * np.pi)
        xs = np.arange(w, dtype=np.float32)
        stripes = np.sin(xs / period * 2 * np.pi + phase + 0.8 * _smooth((h, w), rng, 4)) * rng.uniform(5, 25)
        canvas += stripes[..., None]
    canvas *= 1.0 + 0.15 * _smooth((h, w), rng, int(rng.integers(2, 5)))[..., None]
    _texture(canvas, rng, rng.uniform(1, 6))
    return canvas


def _door(h, w, rng) -> np.ndarray:
    canvas = _wall(h, w, rng)
    dw = int(w * rng.uniform(0.3, 0.7))
    x0 = int(rng.uniform(-0.1, 1.0) * (w - dw))
    top = int(rng.uniform(-0.2, 0.3) * h)
    frame = _muted_colour(rng, val=(30, 240))
    panel = _muted_colour(rng, sat=(0, 120), val=(30, 230))
    border = int(rng.integers(3, 12))
    cv2.rectangle(canvas, (x0, top), (x0 + dw, h + 5), frame.tolist(), -1)
    cv2.rectangle(canvas, (x0 + border, top + border), (x0 + dw - border, h + 5), panel.tolist(), -1)
    if rng.random() < 0.5:  # inset panels
        shade = (panel * rng.uniform(0.8, 1.1)).tolist()
        for k in range(int(rng.integers(1, 4))):
            py = top + border + 8 + k * int(h * 0.3)
            cv2.rectangle(canvas, (x0 + border + 8, py), (x0 + dw - border - 8, py + int(h * 0.25)), shade, 2)
    if rng.random() < 0.4:  # glass
        glass = _muted_colour(rng, sat=(0, 40), val=(120, 250))
        gx = x0 + border + int(dw * 0.15)
        cv2.rectangle(canvas, (gx, top + border + 10), (x0 + dw - border - int(dw * 0.15), top + int(h * 0.45)),
                      glass.tolist(), -1)
    hx = x0 + (dw - border - 14 if rng.random() < 0.5 else border + 8)
    hy = int(h * rng.uniform(0.5, 0.8))
    metal = _muted_colour(rng, sat=(0, 30), val=(90, 250)).tolist()
    if rng.random() < 0.5:
        cv2.rectangle(canvas, (hx, hy), (hx + 6, hy + int(rng.integers(6, 30))), metal, -1)
    else:
        cv2.circle(canvas, (hx + 3, hy), int(rng.integers(2, 6)), metal, -1)
    return canvas


def _corridor(h, w, rng) -> np.ndarray:
    canvas = _wall(h, w, rng)
    vx, vy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.6)
    floor = _muted_colour(rng, val=(40, 200))
    pts = np.array([[0, h], [w, h], [vx + w * 0.15, vy + h * 0.1], [vx - w * 0.15, vy + h * 0.1]], np.int32)
    cv2.fillPoly(canvas, [pts], floor.tolist())
    far = _muted_colour(rng, val=(20, 200))
    cv2.rectangle(canvas, (int(vx - w * 0.15), int(vy - h * 0.2)), (int(vx + w * 0.15), int(vy + h * 0.1)), far.tolist(), -1)
    for _ in range(int(rng.integers(0, 4))):  # ceiling lights
        lx = int(rng.uniform(0.1, 0.9) * w)
        ly = int(rng.uniform(0.0, 0.25) * h)
        axes = (int(rng.integers(8, 40)), int(rng.integers(3, 10)))
        cv2.ellipse(canvas, (lx, ly), axes, 0, 0, 360, (250, 250, 245), -1)
    for edge in (pts[2], pts[3]):
        cv2.line(canvas, (int(edge[0]), int(edge[1])), (0 if edge[0] < vx else w, h), (floor * 0.6).tolist(), 2)
    return canvas


def _board(h, w, rng) -> np.ndarray:
    canvas = _wall(h, w, rng)
    for _ in range(int(rng.integers(1, 7))):
        bw, bh = int(rng.integers(20, w // 2)), int(rng.integers(20, h // 2))
        x, y = int(rng.integers(-10, w - 10)), int(rng.integers(-10, h - 10))
        colour = _muted_colour(rng, sat=(0, 200), val=(40, 250))
        kind = rng.integers(0, 4)
        if kind == 0:  # a sign with lines of "text"
            cv2.rectangle(canvas, (x, y), (x + bw, y + bh), colour.tolist(), -1)
            ink = (255 - colour).tolist()
            for ty in range(y + 5, y + bh - 4, int(rng.integers(5, 12))):
                cv2.line(canvas, (x + 4, ty), (x + int(bw * rng.uniform(0.3, 0.95)), ty), ink, 1)
        elif kind == 1:  # a round thing: clock, lamp, extinguisher top
            r = int(rng.integers(6, min(h, w) // 5))
            cv2.circle(canvas, (x, y), r, colour.tolist(), -1)
            cv2.circle(canvas, (x, y), r, (colour * 0.5).tolist(), 2)
        elif kind == 2:  # a poster: blurred colour field
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(w, x + bw), min(h, y + bh)
            if x1 > x0 + 2 and y1 > y0 + 2:
                field = np.stack([_smooth((y1 - y0, x1 - x0), rng, 3) for _ in range(3)], -1) * 90 + colour
                canvas[y0:y1, x0:x1] = field
        else:  # a cabinet, a switch plate, a pipe
            cv2.rectangle(canvas, (x, y), (x + bw, y + bh), colour.tolist(), -1 if rng.random() < 0.7 else 3)
    return canvas


_DRAW = {"wall": _wall, "door": _door, "corridor": _corridor, "board": _board}


def _light(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = canvas.shape[:2]
    gain = rng.uniform(0.45, 1.3)
    tint = rng.uniform(0.85, 1.15, size=3)
    canvas = canvas * gain * tint
    if rng.random() < 0.5:  # a light source off to one side
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = rng.uniform(-0.3, 1.3) * w, rng.uniform(-0.3, 1.0) * h
        fall = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (rng.uniform(0.3, 1.0) * w) ** 2))
        canvas = canvas * (0.6 + 0.6 * fall[..., None])
    return canvas


def background(seed: int, index: int, width: int = 320, height: int = 240, kind: str | None = None) -> np.ndarray:
    """Background number `index` of the set `seed`: an empty door scene, width x height RGB."""
    rng = np.random.default_rng([seed, index])
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    canvas = _light(_DRAW[kind](height, width, rng), rng)
    if rng.random() < 0.3:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.4, 1.5))
    return np.clip(canvas, 0, 255).astype(np.uint8)


def backgrounds(split: str, count: int, width: int = 320, height: int = 240, start: int = 0):
    """`count` backgrounds of a split ("train", "val", "test"), from index `start`."""
    seed = SPLIT_SEEDS[split]
    for i in range(start, start + count):
        yield background(seed, i, width, height)
