"""The firmware's crop math is the contract's (face_square / centre_square), and the crop it
hands to the model is exactly input_size x input_size."""
import random

import numpy as np
import pytest

from maskgate import contract
from maskgate.firmware import module
from maskgate.board.virtualboard import image as vimage

face = module("face")


def test_face_square_matches_the_contract():
    rng = random.Random(0)
    for _ in range(5000):
        width, height = rng.choice([(320, 240), (160, 120), (640, 480), (240, 160), (128, 128)])
        w = rng.randint(1, width)
        h = rng.randint(1, height)
        box = (rng.randint(-5, width - 1), rng.randint(-5, height - 1), w, h)
        margin = rng.choice([contract.FACE_MARGIN, 0.0, 0.35])
        assert face.face_square(box, width, height, margin) == contract.face_square(box, width, height, margin)


def test_centre_square_matches_the_contract():
    for width in range(1, 400, 7):
        for height in range(1, 300, 11):
            assert face.centre_square(width, height) == contract.centre_square(width, height)


def test_largest():
    assert face.largest([]) is None
    assert face.largest([(0, 0, 10, 10), (5, 5, 30, 20), (1, 1, 20, 20)]) == (5, 5, 30, 20)


@pytest.mark.parametrize("side", [24, 31, 32, 33, 97, 100, 150, 213, 240, 479])
def test_crop_is_exactly_the_input_size(side):
    img = vimage.Image.from_rgb(np.random.default_rng(side).integers(0, 256, (482, 640, 3), dtype=np.uint8))
    out = face.to_input(img, (3, 2, side, side), 32, vimage.AREA)
    assert (out.width(), out.height()) == (32, 32)
