"""The preprocessing contract: the numbers the PC and the camera must agree on, and pixels
that are the camera's (the firmware's to_input on the virtual board), bit for bit."""
import numpy as np
import pytest

from maskgate import contract
from maskgate.firmware import module
from maskgate.imlib import draw


def test_int8_input_is_pixel_minus_128():
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)[..., None].repeat(3, axis=2)
    q = contract.to_int8_input(pixels)
    assert q.dtype == np.int8
    assert np.array_equal(q.astype(np.int16), pixels.astype(np.int16) - 128)
    # OpenMV implements it as p XOR 0x80 reinterpreted as int8: the same thing
    assert np.array_equal(q.view(np.uint8), pixels ^ 0x80)


def test_rgb565_round_trip_is_openmvs():
    # truncation in, bit replication out: black and white survive, 32 / 64 levels, idempotent
    extremes = np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8)
    assert np.array_equal(contract.rgb565_round_trip(extremes), extremes)
    ramp = np.arange(256, dtype=np.uint8)[None, :, None].repeat(3, axis=2)
    once = contract.rgb565_round_trip(ramp)
    assert len(np.unique(once[..., 0])) == 32 and len(np.unique(once[..., 1])) == 64
    assert np.array_equal(contract.rgb565_round_trip(once), once)
    r5 = np.arange(256) >> 3
    assert np.array_equal(once[0, :, 0], (r5 << 3) | (r5 >> 2))


def test_rgb565_packing_is_r5_g6_b5():
    v = contract.rgb888_to_rgb565(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8))
    assert v.tolist() == [[0xF800, 0x07E0, 0x001F]]


def test_face_square_grows_and_stays_inside():
    x, y, w, h = contract.face_square((10, 10, 40, 40), 100, 80)
    assert w == h == round(40 * (1 + 2 * contract.FACE_MARGIN))
    assert x >= 0 and y >= 0 and x + w <= 100 and y + h <= 80
    # a face at the border is shifted in, not cut
    x, y, w, h = contract.face_square((0, 0, 30, 30), 100, 80)
    assert (x, y) == (0, 0) and w == h


def test_prepare_gives_contract_sized_input():
    rgb = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    for box in (None, (40, 30, 50, 50)):
        out = contract.prepare(rgb, box=box, camera=True)
        assert out.shape == (contract.INPUT_SIZE, contract.INPUT_SIZE, contract.CHANNELS) and out.dtype == np.uint8


def test_every_square_side_lands_on_the_input_size():
    face = module("face")
    for side in range(1, 961):
        scale = contract.input_scale(side)
        assert draw.output_size((0, 0, side, side), scale, scale) == (contract.INPUT_SIZE,) * 2
        assert scale in face.input_scales(side, contract.INPUT_SIZE)


@pytest.mark.parametrize("seed", range(3))
def test_prepare_is_what_the_firmware_crops_on_the_virtual_board(seed):
    from maskgate.board.virtualboard import image as vimage

    face = module("face")
    rng = np.random.default_rng(seed)
    for _ in range(15):
        height, width = (int(v) for v in rng.choice([(240, 320), (120, 160), (128, 128), (97, 61)]))
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        side = int(rng.integers(1, min(height, width) + 1))
        box = (int(rng.integers(-5, width)), int(rng.integers(-5, height)), side, side) if rng.random() < 0.8 else None
        roi = face.face_square(box, width, height, contract.FACE_MARGIN) if box else face.centre_square(width, height)
        board = face.to_input(vimage.Image.from_rgb(rgb), roi, contract.INPUT_SIZE, vimage.AREA)
        assert np.array_equal(contract.prepare(rgb, box), board.rgb888())


def test_contract_dict_carries_labels_and_rule():
    d = contract.as_dict(contract.LABELS_THREE, 0.7)
    assert d["labels"] == ["no_mask", "mask", "incorrect"] and d["output"] == "softmax"
    assert d["input_scale"] == 1.0 and d["input_zero_point"] == -128 and d["threshold"] == 0.7
    assert contract.as_dict()["output"] == "sigmoid"
