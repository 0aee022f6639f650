"""Door-like backgrounds for walk-up sequences, fixed before any tuning.

Two kinds, both 320 x 240 (the firmware's QVGA frame):
- procedural walls and doorways, drawn from a seed alone: a wall colour from a palette of
  painted walls, a light gradient and plaster texture, a doorway (dark corridor, wooden door or
  glass door) with its frame, a floor, and now and then a light switch, a notice with text-like
  stripes, tiles or a ceiling light;
- face-free regions of the shared scene pictures (scene_regions.json, how they were picked is
  written there and in bench/walkup_scene_regions.py), scaled up to the frame.

The list (PROCEDURAL procedural seeds + every scene region found under the datasets folder) is
the same for every model: a visit names its background by index into it.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 320, 240
PROCEDURAL = 60
REGIONS_FILE = Path(__file__).with_name("scene_regions.json")

WALLS = ((214, 205, 186), (198, 198, 192), (236, 232, 222), (180, 196, 180), (176, 190, 206), (168, 92, 74),
         (222, 210, 170), (150, 150, 154), (120, 110, 100), (206, 180, 160))
WOODS = ((120, 78, 44), (150, 104, 62), (92, 60, 40), (176, 138, 96))


def _texture(rng: np.random.Generator, scale: int, amplitude: float) -> np.ndarray:
    """Smooth random texture: coarse noise scaled up (plaster, uneven light)."""
    coarse = rng.normal(0, 1, (HEIGHT // scale + 2, WIDTH // scale + 2)).astype(np.float32)
    return cv2.resize(coarse, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)[..., None] * amplitude


def procedural(seed: int) -> np.ndarray:
    """A wall with a doorway, RGB uint8 HEIGHT x WIDTH x 3."""
    rng = np.random.default_rng([7, seed])
    wall = np.array(WALLS[rng.integers(len(WALLS))], np.float32) * rng.uniform(0.85, 1.1)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    lx, ly = rng.uniform(-0.5, 1.5) * WIDTH, rng.uniform(-0.6, 0.4) * HEIGHT  # where the light comes from
    light = 1.0 - rng.uniform(0.15, 0.45) * np.hypot(xx - lx, yy - ly)[..., None] / np.hypot(WIDTH, HEIGHT)
    img = wall * light + _texture(rng, 24, rng.uniform(2, 6)) + _texture(rng, 3, rng.uniform(1, 3))

    floor_y = int(HEIGHT * rng.uniform(0.72, 0.92))
    floor = np.array(WOODS[rng.integers(len(WOODS))] if rng.random() < 0.5 else (110, 108, 104), np.float32)
    img[floor_y:] = floor * light[floor_y:] + _texture(rng, 6, 4)[floor_y:]
    img[floor_y - 4:floor_y] *= 0.7  # skirting board shadow

    if rng.random() < 0.25:  # tiles
        step = int(rng.integers(16, 32))
        img[:floor_y, ::step] *= 0.85
        img[:floor_y][::step] *= 0.85

    dw = int(WIDTH * rng.uniform(0.22, 0.38))
    dx = int(rng.uniform(0.05, 0.95) * (WIDTH - dw))
    dy = int(HEIGHT * rng.uniform(0.05, 0.22))
    kind = rng.integers(3)
    frame = np.array(WOODS[rng.integers(len(WOODS))] if rng.random() < 0.5 else (235, 235, 230), np.float32)
    fw = int(rng.integers(4, 9))
    img[dy - fw:floor_y, dx - fw:dx + dw + fw] = frame * light[dy - fw:floor_y, dx - fw:dx + dw + fw]
    inner = (slice(dy, floor_y), slice(dx, dx + dw))
    if kind == 0:  # an open doorway onto a darker corridor
        depth = np.linspace(rng.uniform(40, 90), rng.uniform(15, 40), floor_y - dy, dtype=np.float32)[:, None, None]
        img[inner] = depth * np.array(WALLS[rng.integers(len(WALLS))], np.float32) / 200.0
    elif kind == 1:  # a closed wooden door with panels and a handle
        wood = np.array(WOODS[rng.integers(len(WOODS))], np.float32)
        img[inner] = wood * light[inner] + _texture(rng, 2, 5)[inner]
        for top, bottom in ((0.08, 0.45), (0.55, 0.92)):
            y0, y1 = dy + int(top * (floor_y - dy)), dy + int(bottom * (floor_y - dy))
            img[y0:y1, dx + dw // 6:dx + dw - dw // 6] *= 0.88
        hx, hy = (dx + dw - dw // 8) if rng.random() < 0.5 else (dx + dw // 8), dy + int(0.55 * (floor_y - dy))
        cv2.circle(img, (int(hx), hy), 3, (200, 190, 150), -1)
    else:  # glass: brighter, with a reflection band
        img[inner] = img[inner] * 0.5 + 110
        x0 = dx + int(rng.uniform(0.1, 0.6) * dw)
        img[dy:floor_y, x0:x0 + dw // 6] += 35

    if rng.random() < 0.6:  # light switch beside the door
        sx = dx + dw + fw + int(rng.integers(6, 20)) if dx + dw + 40 < WIDTH else dx - fw - 20
        sy = int(HEIGHT * rng.uniform(0.45, 0.55))
        cv2.rectangle(img, (sx, sy), (sx + 9, sy + 14), (240, 240, 236), -1)
    if rng.random() < 0.4:  # a notice with text-like stripes
        nx = int(rng.uniform(0, WIDTH - 50))
        if not (dx - 60 < nx < dx + dw):
            ny, nw, nh = int(HEIGHT * rng.uniform(0.15, 0.4)), int(rng.integers(28, 50)), int(rng.integers(36, 60))
            cv2.rectangle(img, (nx, ny), (nx + nw, ny + nh), (245, 245, 240), -1)
            for line in range(ny + 6, ny + nh - 4, 6):
                cv2.line(img, (nx + 4, line), (nx + 4 + int(rng.integers(nw // 3, nw - 8)), line), (60, 60, 70), 1)
    if rng.random() < 0.3:  # a ceiling light
        cv2.ellipse(img, (int(rng.uniform(0.2, 0.8) * WIDTH), 4), (30, 8), 0, 0, 360, (255, 255, 250), -1)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.0))
    return np.clip(img, 0, 255).astype(np.uint8)


@lru_cache(maxsize=1)
def _regions() -> list[dict]:
    return json.loads(REGIONS_FILE.read_text())["regions"]


def scene_region(datasets: Path, entry: dict) -> np.ndarray:
    from maskgate.data.images import read_rgb

    x, y, w, h = entry["region"]
    rgb = read_rgb(datasets / entry["path"])[y:y + h, x:x + w]
    return cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def names(datasets: Path | None) -> list[str]:
    """Every background's name: procedural:N, then scene:PATH for the regions whose picture is
    under `datasets` (none when it is absent)."""
    out = [f"procedural:{i}" for i in range(PROCEDURAL)]
    if datasets is not None:
        out += [f"scene:{r['path']}" for r in _regions() if (Path(datasets) / r["path"]).is_file()]
    return out


def make(name: str, datasets: Path | None) -> np.ndarray:
    kind, _, what = name.partition(":")
    if kind == "procedural":
        return procedural(int(what))
    entry = next(r for r in _regions() if r["path"] == what)
    return scene_region(Path(datasets), entry)
