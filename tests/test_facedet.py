"""The face detector's geometry and decode (firmware/facedet.py, run by the board and the PC
alike), its training targets, and its int8 export: OpenMV's input rule, one flat output,
and tflite-micro (the board's engine) agreeing bit for bit with the PC's LiteRT."""
import math

import numpy as np
import pytest

from maskgate import nets
from maskgate.detector import targets
from maskgate.firmware import module
from maskgate.nets import facedet as facedet_net

fd = module("facedet")


def output_from_target(t: np.ndarray) -> list:
    """A perfect detector's flat output for a target grid (heat as objectness)."""
    return [float(v) for v in t[..., :4].reshape(-1)]


def test_net_and_firmware_agree_on_the_geometry():
    assert facedet_net.INPUT_SHAPE == (fd.IN_H, fd.IN_W, 3)
    assert facedet_net.OUTPUTS == fd.ROWS * fd.COLS * fd.CHANNELS
    assert fd.IN_W / fd.COLS == fd.IN_H / fd.ROWS == 8  # stride 8, square cells


def test_detectors_are_registered_apart_from_the_classifiers():
    assert "facedet" in nets.detector_names() and "facedet" not in nets.names()
    with pytest.raises(KeyError, match="unknown face detector"):
        nets.build_detector("maskgate")


@pytest.mark.parametrize("width,height", [(320, 240), (160, 120), (240, 160), (640, 480)])
def test_input_scales_give_the_input_size_the_way_openmv_floors(width, height):
    xs, ys = fd.input_scales(width, height)
    assert (math.floor(width * xs), math.floor(height * ys)) == (fd.IN_W, fd.IN_H)


@pytest.mark.parametrize("box", [(100, 60, 80, 80), (10, 20, 40, 40), (40, 0, 240, 240), (250, 150, 30, 30)])
def test_encoded_box_decodes_back(box):
    out = output_from_target(targets.encode([box], 320, 240))
    found = fd.decode(out, 320, 240, 0.5)
    assert len(found) == 1
    score, got = found[0]
    assert score == pytest.approx(1.0)
    expected = fd.clip_box(box, 320, 240)
    # the side channel is stored with 1/256 steps when quantized; exact here, so within rounding
    assert all(abs(a - b) <= 1 for a, b in zip(got, expected)), (got, expected)


def test_two_faces_two_peaks_and_the_nearest_is_the_biggest():
    boxes = [(20, 40, 40, 40), (200, 60, 110, 110)]
    found = fd.decode(output_from_target(targets.encode(boxes, 320, 240)), 320, 240, 0.5)
    assert len(found) == 2
    score, box = fd.nearest(found)
    assert abs(box[2] - 110) <= 1


def test_nothing_above_the_threshold_is_no_face():
    out = [0.0] * (fd.ROWS * fd.COLS * fd.CHANNELS)
    for i in range(0, len(out), fd.CHANNELS):
        out[i] = 0.49
    assert fd.decode(out, 320, 240, 0.5) == []
    assert fd.nearest([]) is None


def test_a_plateau_gives_one_face():
    out = [0.5] * (fd.ROWS * fd.COLS * fd.CHANNELS)  # every cell equal: only the first is a peak
    assert len(fd.decode(out, 320, 240, 0.5)) == 1


def test_boxes_stay_inside_the_frame():
    t = targets.encode([(-30, -30, 100, 100)], 320, 240)
    x, y, w, h = fd.decode(output_from_target(t), 320, 240, 0.5)[0][1]
    assert x >= 0 and y >= 0 and x + w <= 320 and y + h <= 240
    assert fd.clip_box((400, 10, 20, 20), 320, 240) is None


def test_side_value_round_trips_and_clips():
    for side in (0.1, 0.3, 1.0):
        assert fd.side_of(fd.side_value(side)) == pytest.approx(side)
    assert fd.side_value(0.01) == 0.0 and fd.side_value(5.0) == 1.0


def test_target_peak_is_one_at_the_centre_cell_only():
    t = targets.encode([(100, 60, 60, 60)], 320, 240)
    heat = t[..., 0]
    r, c = np.unravel_index(heat.argmax(), heat.shape)
    assert (r, c) == (int(90 / (240 / fd.ROWS)), int(130 / (320 / fd.COLS)))
    assert (heat >= 0.999).sum() == 1
    assert ((t[..., 4] > 0) == (heat >= targets.REGRESS_HEAT)).all()


def test_detector_runs_on_the_virtual_board_image_at_the_input_size():
    from maskgate.board.virtualboard import image as vimage

    img = vimage.Image.from_rgb(np.zeros((240, 320, 3), np.uint8))
    small = fd.shrink(img, vimage.AREA)
    assert (small.width(), small.height()) == (fd.IN_W, fd.IN_H)


@pytest.fixture(scope="module")
def int8_detector():
    from maskgate.detector.train import DetectorConfig, export_int8

    cfg = DetectorConfig(arch_options={"width": 0.5})
    model = nets.build_detector(cfg.arch, **cfg.arch_options)
    rng = np.random.default_rng(0)
    return export_int8(model, cfg, rng.integers(0, 256, (8, fd.IN_H, fd.IN_W, 3), dtype=np.uint8))


def test_int8_export_takes_pixel_minus_128_and_gives_one_flat_grid(int8_detector):
    from maskgate import budget
    from maskgate import quantize

    quantize.check_input_contract(int8_detector, (fd.IN_H, fd.IN_W, 3))
    with pytest.raises(Exception, match="shape"):
        quantize.check_input_contract(int8_detector)  # not the classifier's 32 x 32 x 3
    ops = [r["op"] for r in budget.layer_costs(int8_detector)]
    assert ops[-1] == "RESHAPE" and "SHAPE" not in ops  # batch 1: no run-time shape ops
    assert not {"MUL", "QUANTIZE", "DEQUANTIZE"} & set(ops)  # no input rescaling in the graph


def test_tflite_micro_agrees_with_the_host_bit_for_bit(int8_detector):
    from maskgate.detector.stage import HostDetector
    from maskgate.detector.train import detector_input
    from maskgate.runtime import micro_raw

    frames = np.random.default_rng(1).integers(0, 256, (3, 240, 320, 3), dtype=np.uint8)
    host = HostDetector(int8_detector)
    raw = host.model.raw(np.stack([detector_input(f) for f in frames]))
    micro = micro_raw(int8_detector, np.stack([detector_input(f) for f in frames]))
    assert raw.reshape(3, -1).shape == (3, fd.ROWS * fd.COLS * fd.CHANNELS)
    assert np.array_equal(raw.reshape(3, -1), micro.reshape(3, -1))
    out = host.outputs(frames)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_the_firmware_detector_on_the_virtual_board_finds_what_the_host_finds(int8_detector, tmp_path):
    """firmware facedet.Detector (shrink -> ml.Model.predict -> decode) on the virtual board's
    image and ml modules against the host's HostDetector + find_in, on the same pixels (a frame
    already at the input size, so neither side resizes)."""
    from maskgate import contract
    from maskgate.board.virtualboard import VirtualBoard
    from maskgate.board.virtualboard import image as vimage
    from maskgate.board.virtualboard import ml as vml
    from maskgate.detector.stage import HostDetector, find_in

    infer = module("infer")
    board = VirtualBoard([], card_dir=tmp_path)
    board.card.write_bytes("facedet_int8.tflite", int8_detector)
    model = infer.Model.__new__(infer.Model)  # what infer.Model(path) makes when `ml` imports
    model.api, model.net = "ml", vml.MlModule(board).Model("facedet_int8.tflite")
    host = HostDetector(int8_detector)
    rng = np.random.default_rng(4)
    for _ in range(3):
        frame = contract.rgb565_round_trip(rng.integers(0, 256, (fd.IN_H, fd.IN_W, 3), dtype=np.uint8))
        out = host.outputs([frame])[0]
        threshold = float(np.sort(out[:: fd.CHANNELS])[-3])  # an untrained net: take its top cells
        got = fd.Detector(model, threshold).find(vimage.Image.from_rgb(frame), vimage.AREA)
        assert got is not None and got == find_in(out, fd.IN_W, fd.IN_H, threshold)
