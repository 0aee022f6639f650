"""`maskgate capture` against the virtual board: a dataset folder `maskgate data import`
reads, numbering that resumes, Ctrl-C keeping what arrived, pictures kept on the card
(--to-sd); and through 1 % damaged bytes and a pulled cable, no picture saved half."""
import json

import cv2
import numpy as np
import pytest

from boards import FIRMWARE_VERSION, running_board, sha256
from maskgate.data.layouts import detect_layout
from maskgate.errors import DataError
from maskgate.board import capture
from maskgate.board.virtualboard.faults import Faults


@pytest.fixture(scope="module")
def board(board_model, tmp_path_factory):
    with running_board(board_model, tmp_path_factory.mktemp("capture")) as b:
        yield b



def whole_jpeg(path, size):
    data = path.read_bytes()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9" and img is not None and img.shape[:2] == size[::-1]


def test_capture_makes_a_dataset_that_data_import_reads(board, link, tmp_path):
    out = tmp_path / "captured"
    result = capture.capture(board.pty_path, "mask", 3, out, size=(96, 80), link=link, log=lambda *_: None)
    assert [p.name for p in result.saved] == ["00000.jpg", "00001.jpg", "00002.jpg"]
    again = capture.capture(board.pty_path, "mask", 2, out, size=(96, 80), interval_ms=50, link=link)
    assert [p.name for p in again.saved] == ["00003.jpg", "00004.jpg"]  # numbering resumes
    capture.capture(board.pty_path, "no_mask", 2, out, size=(96, 80), link=link)
    assert all(whole_jpeg(p, (96, 80)) for p in sorted(out.rglob("*.jpg")))
    assert (out / "labels.txt").read_text() == "mask\nno_mask\n"
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["board_id"] == link.hello["id"] and prov["firmware"] == FIRMWARE_VERSION
    assert [(s["label"], s["first"], s["count"], s["size"]) for s in prov["sessions"]] == [
        ("mask", 0, 3, [96, 80]), ("mask", 3, 2, [96, 80]), ("no_mask", 0, 2, [96, 80])]
    layout = detect_layout(out)
    assert layout.name == "maskgate-capture"
    assert sorted(e.label for e in layout.entries) == ["mask"] * 5 + ["no_mask"] * 2
    assert not list(out.rglob("*.tmp*"))


def test_ctrl_c_keeps_what_was_received(board, link, tmp_path):
    got = []

    def interrupt_after_two(n):
        got.append(n)
        if len(got) == 2:
            raise KeyboardInterrupt

    result = capture.capture(board.pty_path, "mask", 10, tmp_path, size=(64, 64), link=link,
                             progress=interrupt_after_two)
    assert result.interrupted and len(result.saved) == 2
    assert sorted(p.name for p in (tmp_path / "mask.class").iterdir()) == ["00000.jpg", "00001.jpg"]
    assert json.loads((tmp_path / "provenance.json").read_text())["sessions"][0]["count"] == 2


def test_to_sd_saves_on_the_card(board, link):
    result = capture.capture(board.pty_path, "no_mask", 2, to_sd=True, size=(64, 64), link=link)
    assert result.saved == ["captures/no_mask.class/00000.jpg", "captures/no_mask.class/00001.jpg"]
    root = board.card.root / "captures"
    assert all(whole_jpeg(root / p.split("/", 1)[1], (64, 64)) for p in result.saved)
    assert (root / "labels.txt").read_text() == "no_mask\n" and (root / "provenance.json").is_file()
    assert detect_layout(root).name == "maskgate-capture"


def test_bad_requests_are_refused():
    with pytest.raises(DataError, match="WIDTHxHEIGHT"):
        capture.parse_size("big")
    with pytest.raises(DataError, match="16..320"):
        capture.parse_size("400x400")
    with pytest.raises(DataError, match="letters"):
        capture.check_label("../mask")
    assert "label-map" in capture.check_label("masked_face")


def test_capture_through_damaged_bytes_and_a_pulled_cable(board, link, tmp_path, monkeypatch):
    made = {}  # every picture the firmware made, by sha256
    firmware_capture = board.firmware_module("capture")
    take = firmware_capture.take

    def recording_take(ctx, img, frame_id):
        take(ctx, img, frame_id)
        shot = ctx.get("shot")
        if shot and shot.get("data"):
            made[sha256(shot["data"])] = shot["data"]

    monkeypatch.setattr(firmware_capture, "take", recording_take)
    board.port.faults = Faults(corrupt=0.01, seed=11, unplug_after=5000)  # 1 % of the bytes, both ways
    try:
        result = capture.capture(board.pty_path, "mask", 4, tmp_path, size=(48, 48), quality=70, link=link)
    finally:
        counts = board.port.faults.counts
        board.port.faults = None
    assert counts["unplugs"] == 1 and counts["corrupted"] > 50
    assert link.stats["reconnects"] == 1 and link.stats["retries"] > 50
    saved = sorted((tmp_path / "mask.class").iterdir())
    assert [p.name for p in saved] == [f"{i:05d}.jpg" for i in range(4)] == [p.name for p in result.saved]
    assert all(whole_jpeg(p, (48, 48)) for p in saved)
    for path in saved:  # byte for byte what the firmware made (checked by hash)
        assert made[sha256(path.read_bytes())] == path.read_bytes()
