"""Training augmentation: seeded, shape-keeping, and each option does what it says."""
import numpy as np

from maskgate import contract
from maskgate.data.augment import AugmentConfig, augment_batch, portrait


def _faces(n=6, side=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, side, side, 3), dtype=np.uint8)


def test_augmentation_is_seeded_and_gives_contract_inputs():
    cfg = AugmentConfig(portrait_p=0.5, white_balance=0.2, gamma=(0.7, 1.8), hue_deg=20, occlude_top_p=0.3)
    a = augment_batch(_faces(), np.random.default_rng([1, 2]), cfg)
    b = augment_batch(_faces(), np.random.default_rng([1, 2]), cfg)
    c = augment_batch(_faces(), np.random.default_rng([1, 3]), cfg)
    assert a.shape == (6, contract.INPUT_SIZE, contract.INPUT_SIZE, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_portrait_shrinks_the_face_onto_head_and_shoulders():
    face = np.full((64, 64, 3), 200, np.uint8)  # a flat "face" tile
    out = portrait(face, np.random.default_rng(0), (0.5, 0.5))
    assert out.shape == face.shape and out.dtype == np.uint8
    near_face = np.all(np.abs(out.astype(int) - 200) <= 2, axis=2)
    # the face covers about (0.5 * side)^2 * pi / 4 of the picture, not all of it
    assert 0.1 < near_face.mean() < 0.35
    rows = np.nonzero(near_face.any(axis=1))[0]
    assert rows.max() < 64 - 8  # something (neck, clothes) lies under the chin
