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


def _contract_breaking_models(tmp_path_factory) -> dict:
    """Models that break the input contract, built here (untrained: the firmware must refuse
    them whatever they would say): one input channel; int8 input with zero point 0 (the rule
    is pixel - 128); a float model; and the board model truncated."""
    from maskgate.tfenv import keras
    import numpy as np
    import tensorflow as tf

    out = {}
    for name, channels, io in (("1-channel", 1, tf.int8), ("zero point 0", 3, tf.uint8), ("float", 3, None)):
        model = keras.Sequential([keras.layers.Input((32, 32, channels)), keras.layers.Conv2D(4, 3, strides=4),
                                  keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        if io is not None:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            rng = np.random.default_rng(0)
            conv.representative_dataset = lambda: ([rng.random((1, 32, 32, channels), dtype=np.float32)] for _ in range(8))
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = io
            conv.inference_output_type = tf.int8
        out[name] = conv.convert()
    return out


@pytest.fixture(scope="module")
def breaking_models(tmp_path_factory, board_model):
    models = _contract_breaking_models(tmp_path_factory)
    good = board_model["path"].read_bytes()
    models["truncated"] = good[: len(good) // 2]
    models["not a model"] = b"TFL3" + bytes(range(256)) * 8
    return models


BREAKING = ("1-channel", "zero point 0", "float", "truncated", "not a model", "sha256 of another model")


@pytest.mark.parametrize("firmware", memory.EMULATED)
@pytest.mark.parametrize("kind", BREAKING)
def test_a_contract_breaking_model_never_opens_the_door(board_model, breaking_models, masked, tmp_path, kind,
                                                        firmware):
    """The card holds a model the firmware must refuse (written past deploy's own checks, as a
    card edited by hand or a half-copied file would be): the relay stays closed all run."""
    import hashlib

    board = VirtualBoard(masked, tmp_path / "card", relay=("P3", False), firmware=firmware)
    cfg = board.install(board_model["path"], board_model["manifest"], **{"door.k": 1, "door.relay_pin": "P3",
                                                                           "door.active_high": False})
    if kind == "sha256 of another model":
        data = bytearray(board_model["path"].read_bytes())
        data[len(data) // 2] ^= 0x55
        board.card.write_bytes(cfg["model"], bytes(data))  # config.json keeps the first model's sha256
    else:
        data = breaking_models[kind]
        board.card.write_bytes(cfg["model"], data)
        board.write_config(dict(cfg, model_sha256=hashlib.sha256(data).hexdigest(), model_bytes=len(data))
                           if "model_bytes" in cfg else dict(cfg, model_sha256=hashlib.sha256(data).hexdigest()))
    if firmware == "4.5.5" and kind in ("zero point 0", "float"):
        # 4.5.5's tf module shows the firmware the input's shape only, not its type or
        # quantization (firmware/infer.py), and converts pixels to what the input takes:
        # maskgate deploy and simulate are the guard there, refusing the model before it
        # reaches a card
        from maskgate.board import model_check
        from maskgate.errors import BudgetError

        path = tmp_path / "model.tflite"
        path.write_bytes(breaking_models[kind])
        with pytest.raises(BudgetError, match="breaks the model contract"):
            model_check.check(path)
        return
    result = board.run()
    assert result.crash is None, result.crash
    assert not [r for r in board.decisions() if r["prob"] is not None]  # nothing was judged
    assert_never_opened(board, "P3", undriven=False)
