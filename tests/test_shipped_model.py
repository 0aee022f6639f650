"""The model in models/ is what its manifest says, keeps the OpenMV input rule and fits the
board with room to spare (issue targets: <= 64 KB file, model + arena <= 100 KB, <= 3 M MACs).
Accuracy is not asserted here: it is measured in models/report.md."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from maskgate import budget, contract

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture(scope="module")
def shipped():
    manifest = json.loads((MODELS / "manifest.json").read_text())
    return manifest, (MODELS / manifest["model_file"]).read_bytes()


def test_model_matches_its_manifest(shipped):
    manifest, data = shipped
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["bytes"] == len(data)
    assert (MODELS / "labels.txt").read_text().split() == manifest["contract"]["labels"] == list(contract.LABELS_BINARY)
    assert manifest["contract"] == contract.as_dict(manifest["contract"]["labels"], manifest["contract"]["threshold"])


def test_litert_input_quantization_is_pixel_minus_128(shipped):
    from ai_edge_litert.interpreter import Interpreter

    _, data = shipped
    interpreter = Interpreter(model_content=data)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    assert detail["dtype"] == np.int8 and tuple(detail["shape"]) == (1, 32, 32, 3)
    scale, zero_point = detail["quantization"]
    pixels = np.arange(256)
    assert np.array_equal(np.round(pixels / scale + zero_point), pixels - 128)
    # and it runs: an all-grey picture gives a probability
    interpreter.set_tensor(detail["index"], np.zeros((1, 32, 32, 3), np.int8))
    interpreter.invoke()
    out = interpreter.get_output_details()[0]
    q = interpreter.get_tensor(out["index"]).astype(np.float32)
    p = (q - out["quantization"][1]) * out["quantization"][0]
    assert 0.0 <= float(p.ravel()[0]) <= 1.0


def test_fits_the_board_with_the_issue_margins(shipped):
    manifest, data = shipped
    figures = budget.model_figures(data)
    assert figures["arena_bytes"] == manifest["arena_bytes"]
    assert figures["macs"] == manifest["macs"] <= 3_000_000
    assert len(data) <= 64 * 1024
    assert len(data) + figures["arena_bytes_board"] <= 100 * 1024
    assert figures["budget"]["ok"]
