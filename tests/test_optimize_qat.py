"""Quantization-aware training exports to int8 with the OpenMV input rule (scale 1.0, zero
point -128), and the collaborative pipeline (prune -> sparsity-preserving clustering -> PCQAT)
keeps both the zeros and the clusters in the int8 file."""
import json

import numpy as np
import pytest

from maskgate import nets
from maskgate.optimize import qat
from maskgate.optimize.options import OptimizeOptions
from maskgate.optimize.run import optimize_run
from maskgate.run_folder import load_model
from maskgate.bundle import INT8_FILE, MANIFEST_FILE
from maskgate.quantize import check_input_contract, convert_int8, input_details, representative_pixels
from maskgate.tfenv import keras


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["tinycnn", "maskgate"])
def test_qat_model_exports_with_the_openmv_input_rule(arch):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 32, 32, 3)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 127).astype(np.float32)
    model = qat.quantize_aware(nets.build(arch, width=0.25), "qat")
    assert not any(type(layer).__name__.startswith("Quantize") and isinstance(layer.layer, keras.layers.Rescaling)
                   for layer in model.layers if hasattr(layer, "layer"))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    int8 = convert_int8(model, representative_pixels(x.astype(np.uint8), 8))
    check_input_contract(int8)
    scale, zero_point = input_details(int8)["quantization"]
    assert scale == pytest.approx(1.0) and zero_point == -128


@pytest.mark.slow
def test_pcqat_keeps_sparsity_and_clusters(tiny_bundle, tmp_path):
    options = OptimizeOptions(epochs=1, sparsity=0.5, clusters=8, micro_sample=10)
    summary = optimize_run(tiny_bundle, "pcqat", tmp_path, options)
    assert summary["details"]["sparsity_reached"] == pytest.approx(0.5, abs=0.01)
    assert summary["details"]["sparsity_after_clustering"] >= 0.49
    assert summary["weights"]["zero_fraction"] >= 0.45  # in the int8 file, after QAT
    assert summary["weights"]["max_distinct_per_channel"] <= 8
    check_input_contract((tmp_path / INT8_FILE).read_bytes())
    assert json.loads((tmp_path / MANIFEST_FILE).read_text())["training"]["optimize"]["method"] == "pcqat"
    assert load_model(tmp_path / "model.h5").output_shape == (None, 1)  # QAT models reload from .h5
