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
    channel_shuffle_p: float = 0.0
    # Hide the eyes and forehead now and then, so the decision has to come from the lower face
    # (where a mask is) and not from who the person looks like: in face-mask-12k the bare faces
    # are all CelebA and the masked ones web photos, a shortcut that fails on a new source.
    occlude_top_p: float = 0.0
    interpolation: bool = True


def augment_one(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    side = img.shape[0]
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
    out = np.clip(out.astype(np.float32) * alpha + beta + (1 - alpha) * 128.0, 0, 255).astype(np.uint8)
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
