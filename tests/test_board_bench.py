"""`maskgate bench` against the virtual board: stage timings of live frames (BENCH), and a
labelled folder streamed through the board's own frame path (INFER) -- on-device accuracy
and agreement with the PC's int8 model on exactly the pixels the board received."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from boards import FIRMWARE_VERSION, running_board
from conftest import dataset_files, pictures
from maskgate.board import bench_board
from maskgate.board.link import Link

MASKGATE = os.path.join(os.path.dirname(sys.executable), "maskgate")


@pytest.fixture(scope="module")
def board(board_model, tmp_path_factory):
    with running_board(board_model, tmp_path_factory.mktemp("bench")) as b:
        yield b


def labelled_folder(root, files_of):
    for folder, source in (("with_mask", "WithMask"), ("without_mask", "WithoutMask")):
        (root / folder).mkdir(parents=True)
        for path in files_of("Test", source, 8, start=100):
            shutil.copy(path, root / folder / path.name)
    return root


@pytest.fixture(scope="module")
def holdout(tmp_path_factory):
    return labelled_folder(tmp_path_factory.mktemp("holdout"), pictures)


def test_live_stage_timings(board):
    with Link(board.pty_path) as link:
        link.connect()
        rows = bench_board.timed_frames(link, 20)
        report = bench_board.live_summary(rows, link.hello)
    # every frame of a run of 20, none missed or repeated (BENCH record: frame, ms, 5 stages in us, face)
    assert len(rows) == 20 and [r[0] for r in rows] == list(range(rows[0][0], rows[0][0] + 20))
    records = np.array(rows, dtype=np.int64)
    stage_us = records[:, 2:7]
    assert (stage_us >= 0).all() and (stage_us.sum(axis=1) > 0).all()
    # the summary is these records in ms, stage by stage in the protocol's order
    for i, stage in enumerate(("capture", "detect", "resize", "infer", "log")):
        ms = stage_us[:, i] / 1000
        got = report["stage_ms"][stage]
        assert got["p50"] == pytest.approx(np.percentile(ms, 50), abs=1e-3), stage
        assert got["p95"] == pytest.approx(np.percentile(ms, 95), abs=1e-3), stage
        assert got["mean"] == pytest.approx(ms.mean(), abs=1e-3), stage
    assert report["frame_ms"]["p50"] == pytest.approx(np.percentile(stage_us.sum(axis=1) / 1000, 50), abs=1e-3)
    span_s = (records[-1, 1] - records[0, 1]) / 1000
    assert report["fps"] == pytest.approx(19 / span_s, abs=0.01)
    assert 1 < report["fps"] < 33  # the virtual camera delivers 30 frames a second, never more
    assert report["frames"] == 20 and report["faces"] == records[:, 7].sum()
    assert report["board"]["fw"] == FIRMWARE_VERSION


def test_labelled_folder_through_the_board(board, board_model, holdout):
    with Link(board.pty_path) as link:
        link.connect()
        report = bench_board.bench_images(link, holdout, model=board_model["path"])
    assert report["images"] == 16 and set(report["per_class"]) == {"mask", "no_mask"}
    assert report["accuracy"] >= 0.6  # the tiny test model; the point is the agreement below
    ag = report["agreement"]
    assert ag["same_model_as_board"] and ag["label_agreement"] == 1.0
    assert ag["prob_abs_diff"]["max"] == 0.0  # same pixels, same crop, same int8 kernels
    assert report["images_per_s"] > 1 and report["link_bytes"] > 16 * 64 * 64 * 2


def test_labelled_faces_found_on_the_board_first(board, board_model, tmp_path):
    """--detect: the board's face stage finds the face first, as in a camera frame (real faces)."""
    faces = labelled_folder(tmp_path / "faces", dataset_files)
    with Link(board.pty_path) as link:
        link.connect()
        detected = bench_board.bench_images(link, faces, model=board_model["path"], detect=True, limit=6)
    assert detected["images"] == 6 and detected["agreement"]["label_agreement"] == 1.0


def test_cli_bench_json(board):
    done = subprocess.run([MASKGATE, "bench", "--port", board.pty_path, "--frames", "10", "--json"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frames"] == 10 and set(report["stage_ms"]) == set(bench_board.STAGES)
