"""config.json: made by the host from the manifest, checked by the firmware's own validator,
with clear messages for what is missing or wrong."""
import copy
import json

import pytest

from maskgate import bundle, contract
from maskgate.board import board_config
from maskgate.digest import sha256_file
from maskgate.errors import DataError
from maskgate.firmware import module

config = module("config")

MANIFEST = {"schema": 1, "model_file": "maskgate_int8.tflite", "sha256": "ab" * 32,
            "contract": contract.as_dict(contract.LABELS_BINARY, 0.6)}


def test_config_from_manifest_carries_the_contract_and_door_defaults():
    cfg = board_config.make_config(MANIFEST)
    assert cfg["model"] == "maskgate_int8.tflite" and cfg["model_sha256"] == "ab" * 32
    assert cfg["labels"] == ["no_mask", "mask"] and cfg["output"] == "sigmoid" and cfg["positive_label"] == "mask"
    assert cfg["threshold"] == 0.6
    assert cfg["input_size"] == contract.INPUT_SIZE and cfg["face_margin"] == contract.FACE_MARGIN
    assert cfg["door"] == {"k": 3, "hold_s": 5.0, "hysteresis": 0.05, "relay_pin": "P0", "active_high": True}
    assert cfg["face_detection"] is True
    assert config.validate(json.loads(json.dumps(cfg))) == cfg


def test_overrides_by_group_or_dotted_key():
    cfg = board_config.make_config(MANIFEST, door={"k": 5}, **{"door.relay_pin": "P4", "log.crops": "all"})
    assert cfg["door"]["k"] == 5 and cfg["door"]["relay_pin"] == "P4" and cfg["door"]["hold_s"] == 5.0
    assert cfg["log"]["crops"] == "all"
    with pytest.raises(DataError, match="door.k"):
        board_config.make_config(MANIFEST, **{"door.k": 0})


def test_three_class_manifest_gives_softmax():
    cfg = board_config.make_config(dict(MANIFEST, contract=contract.as_dict(contract.LABELS_THREE)))
    assert cfg["output"] == "softmax" and cfg["labels"] == ["no_mask", "mask", "incorrect"]


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("model"), "model is missing"),
    (lambda c: c.update(threshold=1.5), "threshold must be a number in (0, 1]"),
    (lambda c: c.update(labels=["mask"]), "labels must be"),
    (lambda c: c.update(positive_label="masked"), "positive_label must be one of the labels"),
    (lambda c: c["door"].update(relay_pin="P12"), "door.relay_pin must be one of P0..P9"),
    (lambda c: c["door"].update(hysteresis=0.7), "door.hysteresis"),
    (lambda c: c["door"].update(k="3"), 'door.k must be an integer 1..100 (got "3")'),
    (lambda c: c["log"].update(crops="some"), "log.crops must be"),
    (lambda c: c.update(framesize="4K"), "framesize"),
    (lambda c: c.update(schema=2), "schema must be 1"),
])
def test_invalid_configs_say_what_to_fix(change, message):
    cfg = copy.deepcopy(board_config.make_config(MANIFEST))
    change(cfg)
    with pytest.raises(config.ConfigError) as e:
        config.validate(cfg)
    assert message in str(e.value)


def test_several_problems_are_reported_at_once():
    cfg = board_config.make_config(MANIFEST)
    cfg["threshold"], cfg["door"]["k"] = -1, 0
    with pytest.raises(config.ConfigError) as e:
        config.validate(cfg)
    assert "threshold" in str(e.value) and "door.k" in str(e.value)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(config.ConfigError, match="not found on the card"):
        config.load(str(tmp_path / "config.json"))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(config.ConfigError, match="not valid JSON"):
        config.load(str(tmp_path / "config.json"))


def test_relay_settings_are_read_on_their_own_and_never_guessed(tmp_path):
    path = tmp_path / "config.json"
    assert config.relay_settings(str(path)) == (None, None)  # no config.json: the polarity is unknown
    path.write_text('{"door": {"relay_pin": "P3", "active_high": false}, "threshold": "high"}')
    assert config.relay_settings(str(path)) == ("P3", False)  # the rest of the file does not matter
    path.write_text('{"model": "m.tflite"}')
    assert config.relay_settings(str(path)) == ("P0", True)  # no door settings: the documented defaults
    for text, expected in (('{"door": {"active_high": "false"}}', ("P0", None)),
                           ('{"door": {"relay_pin": "P12", "active_high": true}}', (None, True)),
                           ('{"door": {"relay_pin": ["P1"], "active_high": 0}}', (None, None)),
                           ('{"door": 5}', (None, None)), ("[1, 2]", (None, None)), ("garbage", (None, None))):
        path.write_text(text)
        assert config.relay_settings(str(path)) == expected, text


def test_unknown_keys_make_the_config_invalid_and_the_relay_undriven(tmp_path):
    # a misspelt key may be a relay setting the firmware would otherwise replace by its default
    cfg = dict(board_config.make_config(MANIFEST), colour="blue")
    cfg["door"] = dict(cfg["door"], activ_high=False)
    assert sorted(config.unknown_keys(cfg)) == ["colour", "door.activ_high"]
    with pytest.raises(config.ConfigError) as e:
        config.validate(cfg)
    assert "colour is not a key" in str(e.value) and "door.activ_high is not a key" in str(e.value)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    assert config.relay_settings(str(path)) == (None, None)


def test_manifest_for_a_bare_model_file(tmp_path, board_model):
    bare = tmp_path / "some_model.tflite"
    bare.write_bytes(board_model["path"].read_bytes())
    manifest = bundle.describe(bare)
    assert manifest["model_file"] == "some_model.tflite"
    assert manifest["sha256"] == sha256_file(bare)
    assert manifest["contract"]["output"] == "sigmoid"
    # beside its own manifest.json, that one is used
    assert bundle.describe(board_model["path"]) == board_model["manifest"]
    files = board_config.card_files(board_model["path"])
    assert {"main.py", "frame.py", "door.py", "config.json", "maskgate_int8.tflite"} <= set(files)
