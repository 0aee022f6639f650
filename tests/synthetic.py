"""Small synthetic face-mask-like datasets the tests make themselves.

"mask" pictures carry a light band over the lower half of a face-like blob, "no_mask" pictures a
skin-coloured lower half: trivially separable, so a model trained for an epoch or two on a few
dozen of them must learn it, which lets tests assert behaviour rather than accuracy.
"""
from pathlib import Path

import cv2
import numpy as np


def synthetic_face(label: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """RGB uint8 picture."""
    img = np.full((size, size, 3), rng.integers(40, 120, size=3), dtype=np.uint8)
    centre = (size // 2 + int(rng.integers(-3, 4)), size // 2 + int(rng.integers(-3, 4)))
    skin = tuple(int(v) for v in rng.integers([170, 120, 90], [230, 170, 140]))
    cv2.ellipse(img, centre, (size // 3, int(size / 2.4)), 0, 0, 360, skin, -1)
    cv2.circle(img, (centre[0] - size // 8, centre[1] - size // 8), size // 20, (30, 30, 30), -1)
    cv2.circle(img, (centre[0] + size // 8, centre[1] - size // 8), size // 20, (30, 30, 30), -1)
    if label == "mask":
        colour = tuple(int(v) for v in rng.integers([150, 190, 200], [200, 230, 255]))
        cv2.rectangle(img, (centre[0] - size // 3, centre[1]), (centre[0] + size // 3, centre[1] + size // 3), colour, -1)
    else:
        cv2.ellipse(img, (centre[0], centre[1] + size // 5), (size // 8, size // 24), 0, 0, 360, (150, 60, 60), -1)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def write_class_folders(root: Path, per_class: int = 24, seed: int = 0, labels=("with_mask", "without_mask")) -> Path:
    """A dataset in the flat class-folder layout (with_mask/ without_mask/), JPEG files."""
    rng = np.random.default_rng(seed)
    for folder in labels:
        (root / folder).mkdir(parents=True, exist_ok=True)
        label = "mask" if folder.lower().replace("_", "").startswith("withmask") else "no_mask"
        for i in range(per_class):
            rgb = synthetic_face(label, rng)
            cv2.imwrite(str(root / folder / f"{i:04d}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return root
