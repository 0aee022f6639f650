"""The unmodified firmware on the virtual board, fed real faces from ../shared/datasets, on
every emulated OpenMV release (4.5.5, 4.5.9, 4.8.1, 5.0.0): masked faces open the door after K
frames and it closes T seconds later; unmasked faces and empty frames keep it closed; a missing
or broken model or config keeps it closed and says why; a corrupt serial frame gets an error
reply and the loop goes on, and HELLO says what the release has; the SD log matches what the
board did. Pure logic that does not depend on the release (tick wrap, log bounds) runs once."""
import json

import numpy as np
import pytest

from maskgate import memory
from maskgate.firmware import module
from maskgate.board.virtualboard import VirtualBoard

frame = module("frame")
FPS = 10
FRAME_MS = 1000 // FPS
BOOT_MS = 2000  # sensor.skip_frames(time=2000) in main.py
ROM = "/rom/haarcascade_%s.cascade"
# What HELLO's "features" must say on each release (read from the OpenMV source: releases.py)
FEATURES = {
    "4.5.5": {"api": "tf", "ram": "method", "frontalface": "frontalface", "eye": "eye",
              "haar_scale": "scale_factor", "cwd": "/"},
    "4.5.9": {"api": "ml", "ram": "int", "frontalface": "frontalface", "eye": None,
              "haar_scale": "scale_factor", "cwd": "/"},
    "4.8.1": {"api": "ml", "ram": "int", "frontalface": ROM % "frontalface", "eye": ROM % "eye",
              "haar_scale": "scale_factor", "cwd": "/sdcard"},
    "5.0.0": {"api": "ml", "ram": "int", "frontalface": ROM % "frontalface", "eye": ROM % "eye",
              "haar_scale": "scale", "cwd": "/sdcard"},
}
assert tuple(FEATURES) == memory.EMULATED


@pytest.fixture(params=memory.EMULATED)
def firmware(request):
    return request.param


@pytest.fixture
def scored(scored_faces_on, firmware):
    """The faces this release's firmware finds, with its P(mask) (conftest.scored_faces_on)."""
    return scored_faces_on(firmware)


def empty_frame(seed: int) -> np.ndarray:
    """A wall: smooth shading and a little noise, nothing face-like."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:240, 0:320]
    wall = np.dstack([120 + 40 * xx / 320, 110 + 30 * yy / 240, 100 + 0 * xx])
    return np.clip(wall + rng.normal(0, 3, wall.shape), 0, 255).astype(np.uint8)


def confident(scored_faces, label, count):
    """Faces the firmware finds and classifies clearly (see conftest.scored_faces)."""
    if label == "mask":
        picked = [p for p, prob in scored_faces["mask"] if prob >= 0.85]
    else:
        picked = [p for p, prob in scored_faces["no_mask"] if prob <= 0.15]
    assert len(picked) >= count, f"only {len(picked)} confident {label} faces"
    return picked[:count]


def run(frames, board_model, tmp_path, firmware=None, start_ms=0, port_input=b"", card_bytes=4 * 1024**3,
        **overrides):
    board = VirtualBoard(frames, tmp_path / "card", fps=FPS, firmware=firmware, start_ms=start_ms,
                         card_bytes=card_bytes)
    board.install(board_model["path"], board_model["manifest"], **overrides)
    if port_input:
        board.port.host_write(port_input)
    result = board.run()
    assert result.crash is None, result.crash
    return board


def replies(board):
    parser = frame.Parser(frame.LIMIT_PAYLOAD)
    parser.feed(board.port.host_read())
    out = []
    while (ev := parser.next()) is not None:
        out.append(ev)
    return out


def test_the_tiny_model_tells_masks_apart_on_the_board_path(scored_faces):
    mask = np.mean([p >= 0.5 for _, p in scored_faces["mask"]])
    no_mask = np.mean([p < 0.5 for _, p in scored_faces["no_mask"]])
    assert mask >= 0.7 and no_mask >= 0.8, (mask, no_mask)


def test_masked_faces_open_after_k_frames_and_close_t_seconds_later(board_model, scored, tmp_path, firmware):
    frames = [empty_frame(0), empty_frame(1)] + confident(scored, "mask", 6) + [empty_frame(i) for i in range(14)]
    board = run(frames, board_model, tmp_path, firmware, **{"door.k": 3, "door.hold_s": 1.0})
    doors = [d["door"] for d in board.decisions()]
    assert doors == ["closed"] * 4 + ["open"] * 10 + ["closed"] * 8  # 3rd masked frame opens, 1 s = 10 frames
    events = board.door_events()
    assert [e for _, e in events] == ["closed", "open", "closed"]
    assert events[1][0] == BOOT_MS + 5 * FRAME_MS
    assert events[2][0] - events[1][0] == 1000
    green = board.led_events()["green"]
    assert [v for _, v in green] == [0, 1, 0] and green[1][0] == events[1][0]


def test_unmasked_faces_keep_it_closed(board_model, scored, tmp_path, firmware):
    frames = confident(scored, "no_mask", 10)
    board = run(frames, board_model, tmp_path, firmware, **{"door.k": 1})
    rows = board.decisions()
    assert [r["label"] for r in rows] == ["no_mask"] * 10 and all(r["face"] for r in rows)
    assert {e for _, e in board.door_events()} == {"closed"}
    leds = board.led_events()
    assert leds["red"][-1][1] == 1 and all(v == 0 for _, v in leds["green"])


def test_empty_frames_keep_it_closed(board_model, tmp_path, firmware):
    board = run([empty_frame(i) for i in range(8)], board_model, tmp_path, firmware, **{"door.k": 1})
    rows = board.decisions()
    assert [(r["label"], r["face"], r["prob"], r["door"]) for r in rows] == [("no_face", None, None, "closed")] * 8
    assert board.led_events()["blue"][-1][1] == 1
    assert {e for _, e in board.door_events()} == {"closed"}


def test_without_face_detection_the_centre_square_is_judged(board_model, scored_faces, tmp_path):
    board = run(confident(scored_faces, "mask", 4), board_model, tmp_path, face_detection=False)
    rows = board.decisions()
    assert all(r["face"] is None and r["prob"] is not None for r in rows)
    assert len(board.inferences) == 4


def assert_fails_closed(board, message):
    assert board.decisions() == []
    assert {e for _, e in board.door_events()} == {"closed"}
    assert any(message in line for line in board.console), board.console
    events = (board.card.root / "log" / "events.txt").read_text()
    assert "ERROR" in events and message in events
    red = [v for _, v in board.led_events()["red"]]
    assert red.count(1) >= 2  # blinking
    (hello,) = [r for r in replies(board) if r[1] == frame.HELLO | frame.REPLY]
    assert message in json.loads(hello[3])["error"]


def test_missing_model_keeps_it_closed_and_says_why(board_model, scored, tmp_path, firmware):
    board = VirtualBoard(confident(scored, "mask", 8), tmp_path / "card", fps=FPS, firmware=firmware)
    board.install(board_model["path"], board_model["manifest"], **{"door.k": 1})
    (board.card.root / "maskgate_int8.tflite").unlink()
    board.port.host_write(frame.encode(frame.HELLO, 1))
    assert board.run().crash is None
    assert_fails_closed(board, "model file maskgate_int8.tflite not found")


def test_corrupt_model_keeps_it_closed_and_says_why(board_model, scored, tmp_path, firmware):
    board = VirtualBoard(confident(scored, "mask", 8), tmp_path / "card", fps=FPS, firmware=firmware)
    cfg = board.install(board_model["path"], board_model["manifest"], **{"door.k": 1})
    garbage = b"TFL3 not really a model" * 100
    board.card.write_bytes("maskgate_int8.tflite", garbage)
    import hashlib

    board.write_config(dict(cfg, model_sha256=hashlib.sha256(garbage).hexdigest()))  # so loading is what fails
    board.port.host_write(frame.encode(frame.HELLO, 1))
    assert board.run().crash is None
    assert_fails_closed(board, "cannot load the model")


def test_model_that_does_not_match_its_config_is_refused(board_model, scored, tmp_path, firmware):
    board = VirtualBoard(confident(scored, "mask", 6), tmp_path / "card", fps=FPS, firmware=firmware)
    board.install(board_model["path"], board_model["manifest"], **{"door.k": 1})
    data = bytearray(board_model["path"].read_bytes())
    data[-1] ^= 0xFF
    board.card.write_bytes("maskgate_int8.tflite", bytes(data))
    board.port.host_write(frame.encode(frame.HELLO, 1))
    assert board.run().crash is None
    assert_fails_closed(board, "does not match config.json")


@pytest.mark.parametrize("broken, message", [
    (None, "config.json not found on the card"),
    (b"{ this is not json", "config.json is not valid JSON"),
    (b'{"schema": 1, "model": "maskgate_int8.tflite"}', "labels is missing"),
])
def test_missing_or_invalid_config_keeps_it_closed(board_model, scored, tmp_path, broken, message, firmware):
    board = VirtualBoard(confident(scored, "mask", 6), tmp_path / "card", fps=FPS, firmware=firmware)
    board.install(board_model["path"], board_model["manifest"])
    if broken is None:
        (board.card.root / "config.json").unlink()
    else:
        board.card.write_bytes("config.json", broken)
    board.port.host_write(frame.encode(frame.HELLO, 1))
    assert board.run().crash is None
    assert_fails_closed(board, message)


def test_relay_polarity_and_pin_come_from_the_config(board_model, scored, tmp_path, firmware):
    board = run(confident(scored, "mask", 4), board_model, tmp_path, firmware,
                **{"door.k": 2, "door.relay_pin": "P5", "door.active_high": False})
    levels = [v for _, v in board.recorder.pins["P5"]]
    assert levels == [1, 0]  # idle high (closed), low to open
    assert "P0" not in board.recorder.pins


def test_corrupt_serial_frame_gets_an_error_reply_and_the_loop_goes_on(board_model, tmp_path, firmware):
    bad = bytearray(frame.encode(frame.HELLO, 3))
    bad[-2] ^= 0x55
    stream = (b"hello board\r\n" + bytes(bad) + frame.encode(0x66, 4) + frame.encode(frame.HELLO, 5)
              + frame.encode(frame.PUT, 6, bytes(frame.MAX_PAYLOAD)))
    board = run([empty_frame(i) for i in range(6)], board_model, tmp_path, firmware, port_input=stream)
    got = replies(board)
    kinds = [(ev[1], ev[2]) for ev in got]
    assert kinds == [(frame.ERROR, 3), (frame.ERROR, 4), (frame.HELLO | frame.REPLY, 5), (frame.ERROR, 6)]
    errors = [json.loads(ev[3]) for ev in got if ev[1] == frame.ERROR]
    assert [e["error"] for e in errors] == ["bad_crc", "unknown_type", "bad_payload"]
    assert "JSON head" in errors[2]["detail"]  # a PUT of 4096 zero bytes has no file name
    hello = json.loads(got[2][3])
    assert hello["fw"] and hello["model_sha256"] == board_model["manifest"]["sha256"]
    assert hello["config"]["door"]["k"] == 3 and hello["error"] is None and hello["heap_free"] > 0
    assert len(board.decisions()) == 6  # every frame still decided
    # HELLO says which release this is and what it has, as probed by the firmware
    assert hello["omv"] == firmware and hello["api"] == FEATURES[firmware]["api"]
    assert {k: hello["features"][k] for k in FEATURES[firmware]} == FEATURES[firmware]
    assert hello["features"]["release"] == firmware
    # and the heap it reports is the memory plan quantize and deploy make for this release
    used = board.arena_used
    plan = memory.plan(firmware, board_model["manifest"]["bytes"], used)
    assert (hello["heap_free"], hello["model_heap"]) == (plan["heap_free_after"],
                                                          plan["heap_free_before"] - plan["heap_free_after"])


def test_sd_log_rows_match_what_the_board_did(board_model, scored, tmp_path, firmware):
    frames = (confident(scored, "mask", 5) + [empty_frame(0)] + confident(scored, "no_mask", 3)
              + [p for p, _ in scored["mask"][:8]] + [empty_frame(i) for i in range(12)])
    board = run(frames, board_model, tmp_path, firmware, **{"door.k": 2, "door.hold_s": 0.5, "log.crops": "all"})
    rows = board.decisions()
    assert [r["frame"] for r in rows] == list(range(len(frames)))
    # the door column follows the relay pin, row by row
    pin_state, events, i = "closed", board.door_events(), 0
    for row in rows:
        while i < len(events) and events[i][0] <= row["time_ms"]:
            pin_state = events[i][1]
            i += 1
        assert row["door"] == pin_state, row
    assert any(r["door"] == "open" for r in rows)
    # the probability is the model's output for that frame, the label its reading
    by_frame = {inf.frame: inf for inf in board.inferences}
    threshold = board_model["manifest"]["contract"]["threshold"]
    for row in rows:
        if row["prob"] is None:
            assert row["frame"] not in by_frame and row["label"] == "no_face"
            continue
        p = float(by_frame[row["frame"]].outputs[0].reshape(-1)[0])
        assert row["prob"] == pytest.approx(p, abs=1e-4)  # logged with 4 decimals
        assert row["label"] == ("mask" if p >= threshold else "no_mask")
        crop = board.card.root / "log" / row["crop"]
        assert crop.is_file() and crop.read_bytes()[:2] == b"\xff\xd8"


def test_log_stays_bounded_on_a_small_card(board_model, scored_faces, tmp_path):
    faces = [p for p, _ in scored_faces["mask"] + scored_faces["no_mask"]][:60]
    board = VirtualBoard(faces, tmp_path / "card", fps=FPS)
    board.install(board_model["path"], board_model["manifest"], **{"log.crops": "all", "log.min_free_kb": 150})
    board.card.write_bytes("card_id.txt", b"0123456789abcdef\n")  # as the first boot writes it, counted below
    board.card.capacity = board.card.used_bytes() + 300 * 1024
    assert board.run().crash is None
    rows = board.decisions()
    assert len(rows) == 60
    crops = [r["crop"] for r in rows if r["crop"]]
    kept = [c for c in crops if (board.card.root / "log" / c).exists()]
    assert len(kept) < len(crops)  # the oldest crops went
    assert (board.card.root / "log" / kept[-1]).exists()
    assert board.card.used_bytes() < board.card.capacity


def test_every_release_judges_a_square_the_same(board_model, scored_faces, tmp_path):
    # tf.classify (4.5.5) and ml.predict (4.5.6+) feed the same tensor to the same engine
    frames = confident(scored_faces, "mask", 4) + confident(scored_faces, "no_mask", 2)
    strip = lambda rows: [(r["frame"], r["prob"], r["label"], r["door"]) for r in rows]  # noqa: E731
    got = {fw: run(frames, board_model, tmp_path / fw, fw, face_detection=False) for fw in memory.EMULATED}
    assert all(strip(b.decisions()) == strip(got["5.0.0"].decisions()) for b in got.values())
    assert any("api tf" in line for line in got["4.5.5"].console)


def test_door_timing_survives_the_tick_counter_wrapping(board_model, scored_faces, tmp_path):
    frames = confident(scored_faces, "mask", 3) + [empty_frame(i) for i in range(14)]
    board = run(frames, board_model, tmp_path, start_ms=(1 << 30) - BOOT_MS - 500,
                **{"door.k": 3, "door.hold_s": 1.0})
    doors = [d["door"] for d in board.decisions()]
    assert doors == ["closed"] * 2 + ["open"] * 10 + ["closed"] * 5
