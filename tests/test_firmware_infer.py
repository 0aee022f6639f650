"""Model outputs -> P(mask) and label for the two output kinds the manifest can name."""
from types import SimpleNamespace

import numpy as np
import pytest

from maskgate.firmware import module

infer = module("infer")


def classifier(labels, output, threshold=0.5):
    return SimpleNamespace(labels=labels, output=output, positive=labels.index("mask"), threshold=threshold)


def decide(c, scores):
    return infer.Classifier.decide(c, scores)


def test_sigmoid_output_is_p_mask():
    c = classifier(["no_mask", "mask"], "sigmoid", threshold=0.6)
    assert decide(c, [0.75]) == (0.75, "mask")
    assert decide(c, [0.55]) == (0.55, "no_mask")
    with pytest.raises(ValueError, match="sigmoid"):
        decide(c, [0.2, 0.8])


def test_softmax_output_gives_the_mask_share_and_the_argmax_label():
    c = classifier(["no_mask", "mask", "incorrect"], "softmax")
    assert decide(c, [0.1, 0.2, 0.7]) == (0.2, "incorrect")
    assert decide(c, [0.1, 0.8, 0.1]) == (0.8, "mask")
    with pytest.raises(ValueError, match="outputs"):
        decide(c, [0.5, 0.5])


def test_outputs_of_either_api_flatten():
    assert infer._flat(np.array([[0.25]], np.float32)) == [0.25]
    assert infer._flat([[0.1, 0.9]]) == pytest.approx([0.1, 0.9])


def test_file_sha256(tmp_path):
    import hashlib

    path = tmp_path / "m.tflite"
    path.write_bytes(bytes(range(256)) * 100)
    assert infer.file_sha256(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest()
