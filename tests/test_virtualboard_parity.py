"""Parity: the same face through (a) the host's preprocessing (contract.prepare, RGB565 round
trip included) + LiteRT int8, and (b) the firmware on the virtual board, gives the identical
int8 input tensor and the same label -- and the board's output is tflite-micro's."""
import numpy as np
import pytest

from conftest import dataset_files
from maskgate import contract
from maskgate.runtime import LiteModel, micro_raw
from maskgate.board.virtualboard import VirtualBoard


def board_run(files, board_model, **overrides):
    with VirtualBoard(files, keep_frames=True) as board:
        board.install(board_model["path"], board_model["manifest"], **overrides)
        result = board.run()
        assert result.crash is None, result.crash
        return board.frames, {r["frame"]: r for r in board.decisions()}, list(board.inferences)


@pytest.mark.parametrize("face_detection", [True, False], ids=["face-box", "centre-square"])
def test_host_and_board_give_the_same_tensor_and_label(board_model, face_detection):
    files = dataset_files("Test", "WithMask", 12, start=100) + dataset_files("Test", "WithoutMask", 12, start=100)
    frames, rows, inferences = board_run(files, board_model, face_detection=face_detection)
    assert len(inferences) >= 12
    host = LiteModel(board_model["path"].read_bytes())
    threshold = board_model["manifest"]["contract"]["threshold"]
    for inf in inferences:
        row = rows[inf.frame]
        # (a) the host: the camera frame, the box the board reported, the contract
        pixels = contract.prepare(frames[inf.frame], row["face"], camera=True)
        tensor = contract.to_int8_input(pixels)
        assert inf.tensor.dtype == np.int8 and inf.tensor.shape == (32, 32, 3)
        assert np.array_equal(tensor, inf.tensor), f"frame {inf.frame}: int8 input differs"
        host_p = float(host.probabilities(pixels[None])[0, 1])  # one at a time, as the camera does
        assert ("mask" if host_p >= threshold else "no_mask") == row["label"]
        assert host_p == pytest.approx(row["prob"], abs=1e-4)  # the log keeps 4 decimals
    # (b) bit for bit what tflite-micro (the engine on the camera) computes
    pixels = (np.stack([i.tensor for i in inferences]).astype(np.int16) + 128).astype(np.uint8)
    raw = micro_raw(board_model["path"].read_bytes(), pixels).reshape(-1)
    board_out = np.array([float(i.outputs[0].reshape(-1)[0]) for i in inferences])
    scale, zero_point = 1 / 256, -128  # sigmoid output quantization of the int8 export
    assert np.allclose((raw.astype(np.float64) - zero_point) * scale, board_out, atol=1e-6)


def test_the_face_box_is_the_contract_square_of_the_detection(board_model):
    files = dataset_files("Test", "WithoutMask", 6)
    frames, rows, inferences = board_run(files, board_model)
    for inf in inferences:
        box = rows[inf.frame]["face"]
        x, y, side, _ = contract.face_square(box, 320, 240)
        region = contract.rgb565_round_trip(frames[inf.frame])[y:y + side, x:x + side]
        assert np.array_equal(contract.to_int8_input(contract.resize_to_input(region)), inf.tensor)
