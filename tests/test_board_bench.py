"""`maskgate bench` against the virtual board: stage timings of live frames (BENCH), and a
labelled folder streamed through the board's own frame path (INFER) -- on-device accuracy
and agreement with the PC's int8 model on exactly the pixels the board received."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from boards import running_board
from conftest import dataset_files
from maskgate_tools import bench_board
from maskgate_tools.link import Link

MASKGATE = os.path.join(os.path.dirname(sys.executable), "maskgate")


@pytest.fixture(scope="module")
def board(board_model, tmp_path_factory):
    with running_board(board_model, tmp_path_factory.mktemp("bench")) as b:
        yield b


@pytest.fixture(scope="module")
def holdout(tmp_path_factory):
    root = tmp_path_factory.mktemp("holdout")
    for folder, source in (("with_mask", "WithMask"), ("without_mask", "WithoutMask")):
        (root / folder).mkdir()
        for path in dataset_files("Test", source, 8, start=100):
            shutil.copy(path, root / folder / path.name)
    return root


def test_live_stage_timings(board):
    with Link(board.pty_path) as link:
        link.connect()
        report = bench_board.bench_live(link, frames=20)
    assert report["frames"] == 20 and report["fps"] > 1
    for stage in bench_board.STAGES:
        s = report["stage_ms"][stage]
        assert 0 <= s["p50"] <= s["p95"]
    assert report["frame_ms"]["p50"] > 0 and report["board"]["fw"] == "0.2.0"


def test_labelled_folder_through_the_board(board, board_model, holdout):
    with Link(board.pty_path) as link:
        link.connect()
        report = bench_board.bench_images(link, holdout, model=board_model["path"])
        detected = bench_board.bench_images(link, holdout, model=board_model["path"], detect=True, limit=6)
    assert report["images"] == 16 and set(report["per_class"]) == {"mask", "no_mask"}
    assert report["accuracy"] >= 0.6  # the tiny test model; the point is the agreement below
    ag = report["agreement"]
    assert ag["same_model_as_board"] and ag["label_agreement"] == 1.0
    assert ag["prob_abs_diff"]["max"] == 0.0  # same pixels, same crop, same int8 kernels
    assert report["images_per_s"] > 1 and report["link_bytes"] > 16 * 64 * 64 * 2
    assert detected["images"] == 6 and detected["agreement"]["label_agreement"] == 1.0


def test_cli_bench_json(board):
    done = subprocess.run([MASKGATE, "bench", "--port", board.pty_path, "--frames", "10", "--json"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frames"] == 10 and set(report["stage_ms"]) == set(bench_board.STAGES)
