"""The firmware's crop: the largest face is the one judged, and the crop it hands to the model
is exactly input_size x input_size. (The contract's crop geometry is this file's: contract.py
loads it, so there is no second copy to compare.)"""
import numpy as np
import pytest

from maskgate.firmware import module
from maskgate.board.virtualboard import image as vimage

face = module("face")


def test_centre_square_is_the_largest_centred_square():
    assert face.centre_square(320, 240) == (40, 0, 240, 240)
    assert face.centre_square(241, 320) == (0, 39, 241, 241)
    assert face.centre_square(7, 7) == (0, 0, 7, 7)


def test_largest():
    assert face.largest([]) is None
    assert face.largest([(0, 0, 10, 10), (5, 5, 30, 20), (1, 1, 20, 20)]) == (5, 5, 30, 20)


@pytest.mark.parametrize("side", [24, 31, 32, 33, 97, 100, 150, 213, 240, 479])
def test_crop_is_exactly_the_input_size(side):
    img = vimage.Image.from_rgb(np.random.default_rng(side).integers(0, 256, (482, 640, 3), dtype=np.uint8))
    out = face.to_input(img, (3, 2, side, side), 32, vimage.AREA)
    assert (out.width(), out.height()) == (32, 32)
