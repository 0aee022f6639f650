"""Unstructured magnitude pruning: the sparsity asked for is reached (zeros counted in the
kernels, in Keras and in the int8 file), the result goes through the export, gate and
evaluation, and the report has seed 002's per-ratio table."""
import json

import numpy as np
import pytest

from maskgate import nets
from maskgate.optimize import prune
from maskgate.optimize.options import OptimizeOptions
from maskgate.optimize.run import optimize_run
from maskgate.run_folder import load_model
from maskgate.bundle import INT8_FILE, MANIFEST_FILE
from maskgate.quantize import check_input_contract


def test_one_shot_magnitude_pruning_zeroes_the_smallest_weights():
    model = nets.build("tinycnn", width=0.25)
    pruned = prune.magnitude_prune(model, 0.7)
    assert prune.sparsity(pruned) == pytest.approx(0.7, abs=0.01)
    assert prune.sparsity(model) < 0.01  # the original is untouched
    before, after = model.get_layer("conv2").kernel.numpy(), pruned.get_layer("conv2").kernel.numpy()
    kept = after != 0
    assert np.abs(before[kept]).min() >= np.abs(before[~kept]).max()


def test_schedule_reaches_the_target_at_the_last_step():
    schedule = prune.schedule(0.6, total_steps=37)
    assert schedule.end_step <= 37
    should_prune, sparsity = schedule(schedule.end_step)
    assert bool(should_prune) and float(sparsity) == pytest.approx(0.6)


@pytest.fixture(scope="module")
def pruned(tiny_bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("pruned")
    options = OptimizeOptions(epochs=2, sparsity=0.6, sweep=(0.0, 0.5), micro_sample=10)
    return out, optimize_run(tiny_bundle, "prune", out, options)


@pytest.mark.slow
def test_prune_reaches_the_sparsity_and_ships(pruned):
    out, summary = pruned
    model = load_model(out / "model.keras")
    assert prune.sparsity(model) == pytest.approx(0.6, abs=0.01)
    assert summary["details"]["sparsity_reached"] == pytest.approx(0.6, abs=0.01)
    # zeros survive int8 quantization (symmetric weights: 0.0 -> 0)
    assert summary["weights"]["zero_fraction"] >= 0.55
    check_input_contract((out / INT8_FILE).read_bytes())
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["budget"]["ok"] and manifest["training"]["optimize"]["method"] == "prune"
    # same file size as the dense model (zeros are still stored) but it compresses better
    assert manifest["gzip_bytes"] < manifest["bytes"] * 0.85
    assert (out / "eval" / "metrics.json").exists()
    report = (out / "report.md").read_text()
    assert "seed 002 Table 1" in report and "| 0.50 |" in report and "Reached sparsity" in report
