"""KEY=VALUE settings are read one way (--set, --arch-option, --teacher, --archs), and the one
precedence rule of the config: options over the file over the defaults."""
import pytest

from maskgate import keyvalue
from maskgate.config import settings
from maskgate.errors import OptionError


def test_values_are_typed_and_hashes_stay_text():
    got = keyvalue.parse(["door.k=2", "door.hold_s=1.5", "face_detection=false", "log.crops=all",
                          "labels=[\"a\", \"b\"]", "model_sha256=0123456789", "model=x=y.tflite"], "--set")
    assert got == {"door.k": 2, "door.hold_s": 1.5, "face_detection": False, "log.crops": "all",
                   "labels": ["a", "b"], "model_sha256": "0123456789", "model": "x=y.tflite"}


def test_a_typo_is_named_with_the_closest_known_key_and_exits_2():
    with pytest.raises(OptionError, match=r"--set: unknown key 'door.kk' \(did you mean door.k\?\)") as e:
        keyvalue.parse(["door.kk=3"], "--set", known={"door.k", "door.hold_s", "threshold"})
    assert e.value.exit_code == 2
    with pytest.raises(OptionError, match="--arch-option takes KEY=VALUE, not 'width'"):
        keyvalue.parse(["width"], "--arch-option")


def test_architecture_specs():
    assert keyvalue.parse_spec("tinycnn", "--teacher") == ("tinycnn", {})
    assert keyvalue.parse_spec("mobilenet_v2:alpha=0.1;dropout=0.3", "--archs") == \
        ("mobilenet_v2", {"alpha": 0.1, "dropout": 0.3})
    assert keyvalue.parse_spec("tinycnn:width=2,dropout=0", "--teacher") == ("tinycnn", {"width": 2, "dropout": 0})
    assert keyvalue.split_specs("tinycnn, mobilenet_v2:alpha=0.35;dropout=0.3,resnet8") == \
        ["tinycnn", "mobilenet_v2:alpha=0.35;dropout=0.3", "resnet8"]
    assert keyvalue.split_specs("tinycnn:width=2,dropout=0,maskgate") == ["tinycnn:width=2,dropout=0", "maskgate"]


def test_options_over_the_file_over_the_defaults(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[quantize]\nmodel_max_kb = 100\n\n[train]\narch = \"maskgate\"\n"
                      "[train.arch_options]\nwidth = 0.5\ndropout = 0.2\n")
    assert settings("quantize")["model_max_kb"] == 230  # the default (maskgate.budget)
    assert settings("quantize", config)["model_max_kb"] == 100
    assert settings("quantize", config, model_max_kb=50, threshold=None)["model_max_kb"] == 50
    assert settings("quantize", config, threshold=None)["threshold"] == 0.5
    train = settings("train", config, arch_options={"width": 2})
    assert train["arch"] == "maskgate" and train["arch_options"] == {"width": 2, "dropout": 0.2}
