"""Walk-up sequences: a person approaching the door camera, and empty scenes, as QVGA frames.

A visit is FRAMES frames at FPS (2 s at 15 fps). The visitor's head is the centre square of a
held-out picture (the contract's crop of a published face picture, a tight face crop in every
shared bare or masked set), cut out with a soft ellipse and set on a plain torso in a random
clothing colour, over a background (backgrounds.py). Over the visit that head picture grows from
about 40 to about 120 px a side as someone walking at a steady pace would (the apparent size goes
as 1 / distance, the distance falls linearly), drifts from where
it entered towards the middle, sways with the gait (1 Hz sideways, 2 Hz up and down) and jitters
a pixel; the person is defocused more when far and motion-blurred along the way they move; the
light drifts over the visit (exposure, colour cast, a little flicker) and the sensor adds noise.
An empty scene is the background alone with the same light drift, noise and a pixel of camera
shake. Everything is drawn from (seed, kind, index): the same seed gives the same frames.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from maskgate import contract

from . import backgrounds

FPS = 15
FRAMES = 30  # 2 s
FACE_PX = (40.0, 120.0)
KINDS = ("no_mask", "mask", "empty")


@dataclass(frozen=True)
class Visit:
    kind: str  # "no_mask" or "mask" (a visitor of that label), or "empty"
    index: int  # per kind
    background: str  # a backgrounds.names() entry
    picture: str | None = None  # the held-out picture the visitor's head is cut from
    source: str | None = None

    def rng(self, seed: int) -> np.random.Generator:
        return np.random.default_rng([seed, KINDS.index(self.kind), self.index])

    def as_dict(self) -> dict:
        return asdict(self)


def plan(pictures: dict[str, list[tuple[str, str]]], visits: int, empty_frames: int, seed: int,
         background_names: list[str]) -> list[Visit]:
    """The visits: `visits` per label in `pictures` (label -> [(path, source)]), spread evenly
    over the sources that have that label, pictures drawn without replacement while they last;
    then ceil(empty_frames / FRAMES) empty scenes. Backgrounds are drawn evenly at random."""
    rng = np.random.default_rng([seed, 99])
    out = []
    for label in ("no_mask", "mask"):
        items = pictures.get(label) or []
        if not items or not visits:
            continue
        by_source: dict[str, list[str]] = {}
        for path, source in sorted(items):
            by_source.setdefault(source, []).append(path)
        names = sorted(by_source)
        order = {s: list(rng.permutation(len(by_source[s]))) for s in names}
        for i in range(visits):
            source = names[i % len(names)]
            if not order[source]:
                order[source] = list(rng.permutation(len(by_source[source])))
            path = by_source[source][order[source].pop()]
            out.append(Visit(label, i, background_names[int(rng.integers(len(background_names)))], path, source))
    for i in range(-(-empty_frames // FRAMES)):
        out.append(Visit("empty", i, background_names[int(rng.integers(len(background_names)))]))
    return out


def head_picture(path) -> np.ndarray:
    """The contract's centre square of a published picture: what the visitor's head is made of."""
    from maskgate.data.images import read_rgb

    rgb = read_rgb(path)
    return contract.crop(rgb, contract.centre_square(rgb.shape[1], rgb.shape[0]))


def _soft_ellipse(side: int) -> np.ndarray:
    alpha = np.zeros((side, side), np.float32)
    cv2.ellipse(alpha, (side // 2, side // 2), (int(side * 0.46), int(side * 0.5)), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(alpha, (0, 0), max(0.8, side * 0.04))


def _motion_kernel(dx: float, dy: float) -> np.ndarray | None:
    length = float(np.hypot(dx, dy))
    if length < 1.0:
        return None
    size = int(np.ceil(length)) * 2 + 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    cv2.line(kernel, (int(round(c - dx / 2)), int(round(c - dy / 2))), (int(round(c + dx / 2)), int(round(c + dy / 2))), 1.0, 1)
    return kernel / kernel.sum()


def _light(rng: np.random.Generator) -> tuple:
    gain0 = rng.uniform(0.75, 1.2)  # exposure at the start, drifting by up to 15 % over the sequence
    return gain0, gain0 * rng.uniform(0.85, 1.15), rng.uniform(0.92, 1.08, 3), rng.uniform(1.5, 4.0)


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    # unit sensor noise, made once: each frame takes a window at a random offset (drawing
    # fresh Gaussian noise for every frame costs more than the rest of the frame)
    return np.random.default_rng(12345).standard_normal((4, 240 + 64, 320 + 64, 3), dtype=np.float32)


def _expose(img: np.ndarray, u: float, light: tuple, rng: np.random.Generator) -> np.ndarray:
    gain0, gain1, cast, noise = light
    gain = (gain0 * (1 - u) + gain1 * u) * (1 + rng.uniform(-0.015, 0.015))
    out = img * (gain * cast).astype(np.float32)
    h, w = img.shape[:2]
    bank = _noise_bank()
    k, dy, dx = int(rng.integers(len(bank))), int(rng.integers(bank.shape[1] - h + 1)), int(rng.integers(bank.shape[2] - w + 1))
    out += bank[k, dy:dy + h, dx:dx + w] * np.float32(noise)
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def walk_path(rng: np.random.Generator, width: int = backgrounds.WIDTH, height: int = backgrounds.HEIGHT) -> list[tuple]:
    """(head side in px, centre x, centre y) for each frame of an approach."""
    s0, s1 = FACE_PX[0] * rng.uniform(0.9, 1.1), FACE_PX[1] * rng.uniform(0.9, 1.1)
    x0, x1 = rng.uniform(0.25, 0.75) * width, rng.uniform(0.4, 0.6) * width
    y0, y1 = rng.uniform(0.35, 0.55) * height, rng.uniform(0.42, 0.55) * height
    sway, bob, phase = rng.uniform(0.01, 0.03), rng.uniform(0.01, 0.03), rng.uniform(0, 2 * np.pi)
    out = []
    for f in range(FRAMES):
        u, t = f / (FRAMES - 1), f / FPS
        side = int(round(1.0 / ((1 - u) / s0 + u / s1)))  # apparent size ~ 1 / distance
        cx = x0 + (x1 - x0) * u + sway * side * np.sin(2 * np.pi * t + phase) + rng.uniform(-1, 1)
        cy = y0 + (y1 - y0) * u + bob * side * np.sin(4 * np.pi * t + phase) + rng.uniform(-1, 1)
        out.append((side, float(np.clip(cx, side / 2, width - side / 2)), float(np.clip(cy, side / 2, height - side / 2))))
    return out


def visitor_frames(head: np.ndarray, background: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """FRAMES frames of a person whose head is `head` walking up to the camera."""
    h, w = background.shape[:2]
    path = walk_path(rng, w, h)
    torso = rng.uniform(20, 235, 3).astype(np.float32)
    person_gain = rng.uniform(0.85, 1.15)
    blur_far, blur_near, exposure = rng.uniform(0.5, 1.6), rng.uniform(0.0, 0.8), rng.uniform(0.3, 0.8)
    light = _light(rng)
    bg = background.astype(np.float32)
    frames, last = [], None
    for f, (side, cx, cy) in enumerate(path):
        u = f / (FRAMES - 1)
        layer = np.zeros((h, w, 3), np.float32)
        alpha = np.zeros((h, w), np.float32)
        # torso: shoulders (an ellipse) and the body below them, to the bottom of the frame
        top = int(cy + 0.42 * side)
        if top < h:
            cv2.ellipse(alpha, (int(cx), top + int(0.3 * side)), (int(0.95 * side), int(0.32 * side)), 0, 180, 360, 1.0, -1)
            cv2.rectangle(alpha, (int(cx - 0.95 * side), top + int(0.3 * side)), (int(cx + 0.95 * side), h), 1.0, -1)
            shade = np.linspace(1.05, 0.8, h - top, dtype=np.float32)[:, None, None]  # light from above
            layer[top:] = torso * shade
        face = cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA if side < head.shape[0] else cv2.INTER_LINEAR)
        ax, ay = int(round(cx - side / 2)), int(round(cy - side / 2))
        fx0, fy0, fx1, fy1 = max(ax, 0), max(ay, 0), min(ax + side, w), min(ay + side, h)
        soft = _soft_ellipse(side)[fy0 - ay:fy1 - ay, fx0 - ax:fx1 - ax]
        region = (slice(fy0, fy1), slice(fx0, fx1))
        layer[region] = layer[region] * (1 - soft[..., None]) + face[fy0 - ay:fy1 - ay, fx0 - ax:fx1 - ax] * soft[..., None]
        alpha[region] = np.maximum(alpha[region], soft)
        sigma = blur_far * (1 - u) + blur_near * u
        if sigma > 0.3:
            layer, alpha = cv2.GaussianBlur(layer, (0, 0), sigma), cv2.GaussianBlur(alpha, (0, 0), sigma)
        if last is not None:
            kernel = _motion_kernel((cx - last[0]) * exposure, (cy - last[1]) * exposure)
            if kernel is not None:
                layer, alpha = cv2.filter2D(layer, -1, kernel), cv2.filter2D(alpha, -1, kernel)
        last = (cx, cy)
        a = alpha[..., None]
        frames.append(_expose(bg + (layer * np.float32(person_gain) - bg) * a, u, light, rng))
    return frames


def empty_frames(background: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """FRAMES frames of the background alone: light drift, sensor noise, a pixel of shake."""
    light = _light(rng)
    sigma = rng.uniform(0.0, 1.0)
    bg = cv2.GaussianBlur(background, (0, 0), sigma) if sigma > 0.3 else background
    h, w = bg.shape[:2]
    out = []
    for f in range(FRAMES):
        shift = np.float32([[1, 0, rng.uniform(-1, 1)], [0, 1, rng.uniform(-1, 1)]])
        moved = cv2.warpAffine(bg, shift, (w, h), borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        out.append(_expose(moved, f / (FRAMES - 1), light, rng))
    return out


def frames_of(visit: Visit, seed: int, datasets: Path | None) -> list[np.ndarray]:
    rng = visit.rng(seed)
    background = backgrounds.make(visit.background, datasets)
    if visit.kind == "empty":
        return empty_frames(background, rng)
    return visitor_frames(head_picture(visit.picture), background, rng)
