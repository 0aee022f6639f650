"""Safety: a bad relay setting never opens the door. For every invalid door setting and every
unreadable config.json the test can make, with the relay wired either way, the relay pin --
as the virtual board models it electrically, not as the firmware reads the config -- never
drives the level that opens the door during the whole run, although the same frames open the
door with a valid config (the control). Where the polarity (or the pin) is unknown the pin is
never driven at all: the relay module's pull resistor holds the closed level (README)."""
import json

import pytest

from maskgate import memory
from maskgate.board import board_config
from maskgate.board.virtualboard import VirtualBoard

PINS = tuple(f"P{i}" for i in range(10))
BAD_POLARITY = ["false", "true", "False", "0", 0, 1, 0.0, None, [], {}, [True]]
BAD_PIN = ["P12", "p0", "P0 ", "", 0, 5, None, ["P0"], {"pin": "P0"}, True]
BAD_DOOR = [5, "P0", [], None, True]
BAD_FILES = {"missing": None, "empty": b"", "not json": b"{ door: closed", "truncated": None,
             "a list": b"[1, 2, 3]", "binary": bytes(range(256)), "not utf-8": b'{"door": "\xff\xfe"}'}


def cases():
    for value in BAD_POLARITY:
        yield f"active_high={json.dumps(value)}", {"door.relay_pin": "P3", "door.active_high": value}, "P3"
    for value in BAD_PIN:
        yield f"relay_pin={json.dumps(value)}", {"door.relay_pin": value, "door.active_high": False}, None
    for value in BAD_DOOR:
        yield f"door={json.dumps(value)}", {"door": value}, None
    for name in BAD_FILES:
        yield f"config.json {name}", name, "P0"


CASES = list(cases())


@pytest.fixture(scope="module")
def masked(scored_faces):
    return [p for p, prob in scored_faces["mask"] if prob >= 0.85][:4]


def board_with(tmp_path, board_model, frames, case, wiring, firmware=None):
    board = VirtualBoard(frames, tmp_path / "card", relay=wiring, firmware=firmware)
    cfg = board.install(board_model["path"], board_model["manifest"], **{"door.k": 1})
    if isinstance(case, dict):
        bad = json.loads(json.dumps(cfg))
        for key, value in case.items():
            node = bad
            parts = key.split(".")
            for part in parts[:-1]:
                node = node[part]
            node[parts[-1]] = value
        board.card.write_bytes("config.json", json.dumps(bad).encode())
    elif case == "missing":
        (board.card.root / "config.json").unlink()
    elif case == "truncated":
        text = (board.card.root / "config.json").read_bytes()
        board.card.write_bytes("config.json", text[: len(text) // 2])
    else:
        board.card.write_bytes("config.json", BAD_FILES[case])
    return board


def assert_never_opened(board, wired_pin, undriven):
    pin, active_high = board.relay_wiring()
    opens = 1 if active_high else 0
    levels = board.recorder.pins.get(pin, [])
    assert all(level != opens for _, level in levels), levels
    assert {state for _, state in board.door_events()} == {"closed"}
    if undriven:  # the firmware cannot know the closed level: it drives no pin at all
        driven = {p: h for p, h in board.recorder.pins.items() if p in PINS and any(v is not None for _, v in h)}
        assert driven == {}, driven


@pytest.mark.parametrize("name, case, pin", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("active_high", [True, False], ids=["wired-active-high", "wired-active-low"])
def test_an_invalid_relay_setting_never_drives_the_open_level(board_model, masked, tmp_path, name, case, pin,
                                                               active_high):
    wired = pin or "P0"
    board = board_with(tmp_path, board_model, masked, case, (wired, active_high))
    result = board.run()
    assert result.crash is None, result.crash
    assert board.decisions() == []  # the door loop never ran
    assert_never_opened(board, wired, undriven=True)


@pytest.mark.parametrize("firmware", memory.EMULATED)
def test_a_string_polarity_leaves_the_pin_floating_on_every_release(board_model, masked, tmp_path, firmware):
    board = board_with(tmp_path, board_model, masked, {"door.active_high": "false"}, ("P0", False), firmware)
    assert board.run().crash is None
    assert_never_opened(board, "P0", undriven=True)
    assert board.relay_levels() in ([], [(board.start_ms, None)]) or all(v is None for _, v in board.relay_levels())


@pytest.mark.parametrize("active_high", [True, False])
def test_control_the_same_frames_open_the_door_with_a_valid_config(board_model, masked, tmp_path, active_high):
    board = VirtualBoard(masked, tmp_path / "card", relay=("P3", active_high))
    board.install(board_model["path"], board_model["manifest"],
                  **{"door.k": 1, "door.relay_pin": "P3", "door.active_high": active_high})
    assert board.run().crash is None
    opens = 1 if active_high else 0
    levels = [v for _, v in board.relay_levels()]
    assert levels[0] == 1 - opens  # created at the closed level: no glitch through the open one
    assert opens in levels and "open" in {s for _, s in board.door_events()}


def test_the_valid_relay_settings_the_host_writes_pass_the_firmware(board_model):
    # make_config refuses the bad values above before they reach a card
    with pytest.raises(Exception, match="door.active_high"):
        board_config.make_config(board_model["manifest"], **{"door.active_high": "false"})
