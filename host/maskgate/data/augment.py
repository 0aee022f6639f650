"""Training-time augmentation, reproducible from a seed.

Works on the cached 64 x 64 square crops (twice the input size, so geometry changes keep
detail) and ends with the paper's interpolation augmentation: the final resize to 32 x 32 uses
one of five OpenCV interpolations drawn per sample per epoch, instead of multiplying the dataset
by five as the paper did. An RGB565 round trip imitates the camera's 5/6/5-bit colour.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskgate import contract

INTERPOLATIONS = (cv2.INTER_AREA, cv2.INTER_CUBIC, cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_LANCZOS4)


@dataclass
class AugmentConfig:
    rotation_deg: float = 15.0
    zoom: tuple = (0.9, 1.15)  # >1 zooms in
    shift: float = 0.08  # fraction of the side
    flip: bool = True
    blur_p: float = 0.2
    brightness: float = 40.0  # +- added to pixel values
    contrast: tuple = (0.7, 1.3)
    rgb565_p: float = 0.5
    gray_p: float = 0.05  # some cameras / IR lighting give near-grey faces
    hue_deg: float = 0.0  # +- hue rotation: masks come in every colour
    # Per-channel gains (white balance) and a gamma curve: other cameras, lighting and skin
    # tones than CelebA's studio-lit faces, which would otherwise be the whole "bare" class
    white_balance: float = 0.0  # each channel x U(1 - wb, 1 + wb)
    gamma: tuple = (1.0, 1.0)  # > 1 darkens the mid-tones
    channel_shuffle_p: float = 0.0
    # Hide the eyes and forehead now and then, so the decision has to come from the lower face
    # (where a mask is) and not from who the person looks like: in face-mask-12k the bare faces
    # are all CelebA and the masked ones web photos, a shortcut that fails on a new source.
    occlude_top_p: float = 0.0
    # Shrink the face into a made-up head-and-shoulders picture now and then (both classes
    # alike). face-mask-12k has tight face crops only, so a model never sees clothes or a
    # background under a chin and learns "something that is not skin below the face = mask":
    # head-and-shoulders photos of bare faces from another source then read as masked.
    portrait_p: float = 0.0
    portrait_scale: tuple = (0.4, 0.8)  # face side / picture side
    interpolation: bool = True


def _smooth_noise(side: int, rng: np.random.Generator, cells: int) -> np.ndarray:
    """A side x side RGB field of soft colour blobs: a background that is no particular thing."""
    grid = rng.integers(0, 256, size=(cells, cells, 3)).astype(np.float32)
    grid = 0.5 * grid + 0.5 * grid.mean(axis=2, keepdims=True)  # photos are seldom saturated
    return cv2.resize(grid, (side, side), interpolation=cv2.INTER_CUBIC)


def portrait(img: np.ndarray, rng: np.random.Generator, scale: tuple) -> np.ndarray:
    """The face crop `img`, shrunk, on a random background above a neck and shoulders."""
    side = img.shape[0]
    face = int(round(side * rng.uniform(*scale)))
    canvas = _smooth_noise(side, rng, int(rng.integers(2, 6)))
    top = int(rng.uniform(0.0, 0.3) * (side - face))
    left = int((side - face) / 2 + rng.uniform(-0.5, 0.5) * (side - face))
    cx, bottom = left + face / 2.0, top + face
    # skin for the neck from the cheeks (above any mask); clothes any colour, a little texture
    cheeks = img[int(0.35 * side) : int(0.5 * side), int(0.2 * side) : int(0.8 * side)]
    skin = cheeks.reshape(-1, 3).mean(axis=0) * rng.uniform(0.7, 1.0)
    neck_w = face * rng.uniform(0.35, 0.55)
    cv2.rectangle(canvas, (int(cx - neck_w / 2), int(bottom - face * 0.2)), (int(cx + neck_w / 2), side),
                  tuple(float(v) for v in skin), thickness=-1)
    clothes = _smooth_noise(side, rng, int(rng.integers(1, 4))) * 0.3 + rng.integers(0, 256, size=3) * 0.7
    body = np.zeros((side, side), np.uint8)
    cv2.ellipse(body, (int(cx), int(bottom + face * rng.uniform(0.45, 0.65))),
                (int(face * rng.uniform(0.9, 1.4)), int(face * 0.45)), 0, 180, 360, 255, thickness=-1)
    body[int(bottom + face * 0.5) :] = 255
    canvas = np.where(body[..., None] > 0, clothes, canvas)
    # the face on top, its corners faded out so that no square outline gives it away
    tile = cv2.resize(img, (face, face), interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = np.zeros((face, face), np.float32)
    cv2.ellipse(alpha, (face // 2, face // 2), (int(face * 0.48), int(face * 0.52)), 0, 0, 360, 1.0, thickness=-1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(face / 20.0, 0.5))[..., None]
    region = canvas[top : top + face, left : left + face]
    canvas[top : top + face, left : left + face] = alpha * tile + (1 - alpha) * region
    return np.clip(canvas, 0, 255).astype(np.uint8)


def augment_one(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    side = img.shape[0]
    if cfg.portrait_p and rng.random() < cfg.portrait_p:
        img = portrait(img, rng, cfg.portrait_scale)
    angle = rng.uniform(-cfg.rotation_deg, cfg.rotation_deg)
    scale = rng.uniform(*cfg.zoom)
    matrix = cv2.getRotationMatrix2D((side / 2.0, side / 2.0), angle, scale)
    matrix[:, 2] += rng.uniform(-cfg.shift, cfg.shift, size=2) * side
    out = cv2.warpAffine(img, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if rng.random() < cfg.occlude_top_p:
        out = out.copy()
        out[: int(side * rng.uniform(0.3, 0.5))] = rng.integers(0, 256, size=3, dtype=np.uint8)
    if cfg.flip and rng.random() < 0.5:
        out = out[:, ::-1]
    if rng.random() < cfg.blur_p:
        out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.3, 1.2))
    alpha = rng.uniform(*cfg.contrast)
    beta = rng.uniform(-cfg.brightness, cfg.brightness)
    out = np.clip(out.astype(np.float32) * alpha + beta + (1 - alpha) * 128.0, 0, 255)
    if cfg.white_balance:
        out = np.clip(out * rng.uniform(1 - cfg.white_balance, 1 + cfg.white_balance, size=3), 0, 255)
    if tuple(cfg.gamma) != (1.0, 1.0):  # a TOML config gives a list
        out = 255.0 * (out / 255.0) ** np.exp(rng.uniform(np.log(cfg.gamma[0]), np.log(cfg.gamma[1])))
    out = out.astype(np.uint8)
    if cfg.hue_deg:
        hsv = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(rng.uniform(-cfg.hue_deg, cfg.hue_deg) / 2)) % 180
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    if rng.random() < cfg.channel_shuffle_p:
        out = out[..., rng.permutation(3)]
    if rng.random() < cfg.gray_p:
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    method = INTERPOLATIONS[rng.integers(len(INTERPOLATIONS))] if cfg.interpolation else cv2.INTER_AREA
    out = cv2.resize(np.ascontiguousarray(out), (contract.INPUT_SIZE, contract.INPUT_SIZE), interpolation=method)
    if rng.random() < cfg.rgb565_p:
        out = contract.rgb565_round_trip(out)
    return out


def augment_batch(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    return np.stack([augment_one(img, rng, cfg) for img in images])
