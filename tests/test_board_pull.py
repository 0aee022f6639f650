"""`maskgate pull` and `maskgate device-report` against the virtual board: the SD log copied
through damaged bytes and a pulled cable, every file checked against the card by hash,
only what is new moved the second time; then on-device accuracy and board/PC agreement."""
import hashlib
import json
import time

import pytest

from boards import running_board, sha256
from conftest import pictures
from maskgate.board import device_report, pull
from maskgate.board.link import Link
from maskgate.board.virtualboard.faults import Faults


@pytest.fixture(scope="module")
def board(board_model, tmp_path_factory):
    frames = pictures("Test", "WithMask", 3)  # a masked face in front of the camera all along
    # the centre square is judged (no face stage): every frame is a decision with a crop to log,
    # on any picture, which is what a log to pull needs
    with running_board(board_model, tmp_path_factory.mktemp("pull"), fps=10, frames=frames,
                       **{"face_detection": False, "log.crops": "every_n", "log.every_n": 20,
                          "log.jpeg_quality": 85}) as b:
        time.sleep(3.5)  # a second or so of decisions and a few crops
        yield b


def check_against_card(out, card_root):
    sums = dict(line.split("  ", 1)[::-1] for line in (out / pull.SUMS).read_text().splitlines())
    for rel, digest in sums.items():
        local = (out / rel).read_bytes()
        assert sha256(local) == digest, rel
        on_card = (card_root / rel).read_bytes()
        if rel.endswith(".csv"):
            assert on_card.startswith(local) and local.endswith(b"\n"), rel  # the board goes on appending
        else:
            assert on_card == local, rel
    return sums


def test_pull_through_a_bad_cable_then_only_what_is_new(board, tmp_path):
    out = tmp_path / "pulled"
    with Link(board.pty_path) as link:
        link.connect()
        board.port.faults = Faults(corrupt=0.002, drop=0.0005, seed=5, unplug_after=15000)
        try:
            first = pull.pull(board.pty_path, out, link=link)
        finally:
            counts = board.port.faults.counts
            board.port.faults = None
        assert counts["unplugs"] == 1 and counts["corrupted"] > 0 and link.stats["reconnects"] == 1
    sums = check_against_card(out, board.card.root)
    model = board.config["model"]
    assert {"config.json", model, "log/0000/00.csv", "log/events.txt"} <= set(sums)
    assert any(name.endswith(".jpg") for name in sums)
    assert set(first.new) == set(sums) and not first.grown

    time.sleep(1.0)  # more rows, more crops
    second = pull.pull(board.pty_path, out)
    check_against_card(out, board.card.root)
    assert second.grown == ["log/0000/00.csv"]  # only its new rows moved
    assert set(second.unchanged) == set(first.new) - {"log/0000/00.csv"}
    assert second.new and all(name.endswith(".jpg") for name in second.new)  # crops made since


def test_device_report_on_a_pulled_log(board, board_model, tmp_path):
    out = tmp_path / "pulled"
    pull.pull(board.pty_path, out)
    labels = tmp_path / "sessions.csv"
    labels.write_text("session,label\n00000,mask\n")
    report = device_report.device_report(out, labels)
    acc = report["accuracy"]
    rows = report["decisions"]
    assert acc["per_class"]["mask"]["decisions"] == rows > 3
    judged = acc["per_class"]["mask"]["judged"]
    assert acc["confusion"]["mask"][acc["columns"].index("mask")] == acc["per_class"]["mask"]["correct"]
    assert sum(acc["confusion"]["mask"]) == rows and judged + sum(acc["per_class"]["mask"]["not_judged"].values()) == rows
    ag = report["agreement"]
    assert ag["matches_board_config"] and ag["crops"] >= 1
    assert ag["model_sha256"] == hashlib.sha256(board_model["path"].read_bytes()).hexdigest()
    assert ag["label_agreement"] >= 0.7 and ag["prob_abs_diff"]["mean"] < 0.1  # JPEG crops, not the frame
    md = (out / device_report.REPORT_MD).read_text()
    assert "| mask |" in md and "labels agree" in md
    assert json.loads((out / device_report.REPORT_JSON).read_text())["decisions"] == rows
