"""Parity: the frames the virtual camera delivered, through (a) the host -- its own face stage
(maskgate.data.faces: the firmware's find on the imlib port), contract.prepare and tflite-micro
int8 -- and (b) the unmodified firmware on the virtual board give the same face, the identical
int8 input tensor, and the board's output is tflite-micro's bit for bit.

The host starts from the frame alone: it never reads the board's box, crop or tensor. Both
sides compute with maskgate.imlib (the port of OpenMV's imlib), the board through the
firmware's calls into its `image` module. Every comparison is an equality, so the test holds
whatever weights the fixture model trained."""
import numpy as np
import pytest

from conftest import dataset_files
from maskgate import contract
from maskgate.board.virtualboard import VirtualBoard
from maskgate.data import faces
from maskgate.firmware import module
from maskgate.runtime import micro_raw


def board_run(files, board_model, **overrides):
    with VirtualBoard(files, keep_frames=True) as board:
        board.install(board_model["path"], board_model["manifest"], **overrides)
        result = board.run()
        assert result.crash is None, result.crash
        return board.frames, {r["frame"]: r for r in board.decisions()}, list(board.inferences)


def _dequantized(model_bytes: bytes, raw: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    out = Interpreter(model_content=model_bytes).get_output_details()[0]
    scale, zero_point = out["quantization"]
    return (raw.astype(np.float64) - zero_point) * scale


@pytest.mark.parametrize("face_detection", [True, False], ids=["face-box", "centre-square"])
def test_host_and_board_give_the_same_face_tensor_and_output(board_model, face_detection):
    files = dataset_files("Test", "WithMask", 12, start=100) + dataset_files("Test", "WithoutMask", 12, start=100)
    frames, rows, inferences = board_run(files, board_model, face_detection=face_detection)
    assert len(inferences) >= 12
    model_bytes = board_model["path"].read_bytes()
    detector = faces.Detector.from_config(module("config").DEFAULTS)  # the board ran the defaults
    threshold = board_model["manifest"]["contract"]["threshold"]

    # (a) the face: the host finds on each frame what the firmware found there (or nothing)
    for frame_id, row in rows.items():
        host_face = faces.find_face_or_eyes(frames[frame_id], detector) if face_detection else []
        assert host_face == ([row["face"]] if row["face"] else []), f"frame {frame_id}"
        assert (row["label"] == "no_face") == (face_detection and not host_face)

    # (b) the tensor: the host's contract on the frame and its own face, bit for bit
    pixels = []
    for inf in inferences:
        frame = frames[inf.frame]
        found = faces.find_face_or_eyes(frame, detector) if face_detection else []
        pixels.append(contract.prepare(frame, found[0] if found else None))
        assert inf.tensor.dtype == np.int8 and inf.tensor.shape == (32, 32, 3)
        assert np.array_equal(contract.to_int8_input(pixels[-1]), inf.tensor), f"frame {inf.frame}: int8 input differs"

    # (c) the output: tflite-micro (the camera's engine) on the host's pixels
    raw = micro_raw(model_bytes, np.stack(pixels)).reshape(len(pixels), -1)
    host_p = _dequantized(model_bytes, raw)[:, 0]
    board_p = np.array([float(i.outputs[0].reshape(-1)[0]) for i in inferences])
    assert np.allclose(host_p, board_p, atol=1e-6), np.flatnonzero(~np.isclose(host_p, board_p, atol=1e-6))
    for inf, p in zip(inferences, host_p):
        row = rows[inf.frame]
        assert ("mask" if p >= threshold else "no_mask") == row["label"]
        assert p == pytest.approx(row["prob"], abs=1e-4)  # the log keeps 4 decimals


def test_the_face_box_is_the_contract_square_of_the_detection(board_model):
    files = dataset_files("Test", "WithoutMask", 6)
    frames, rows, inferences = board_run(files, board_model)
    assert inferences
    for inf in inferences:
        frame = frames[inf.frame]
        x, y, side, _ = contract.face_square(rows[inf.frame]["face"], frame.shape[1], frame.shape[0])
        # the square alone, as a picture of its own, resized the contract's way
        square = contract.resize_to_input(frame[y:y + side, x:x + side])
        assert np.array_equal(contract.to_int8_input(square), inf.tensor)
