"""The emulated Cortex-M7 (maskgate.m7): the counter is exact, the runner's outputs equal
tflite-micro's, and info / compare report the counts, or say why not and fall back to MACs.

Tests that need only the toolchain (arm-none-eabi-g++, qemu-system-arm; .ci/run installs them)
run in CI; those that need OpenMV's libtflm skip, naming it, where MASKGATE_LIBTFLM is unset."""
import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from maskgate import budget, package_data
from maskgate.errors import EmulatorError
from maskgate.m7 import build, emulator, measure, selfcheck, toolchain


@pytest.fixture(scope="module")
def arm_tools():
    missing = toolchain.missing_tools()
    if missing:
        pytest.skip("; ".join(missing))


@pytest.fixture(scope="module")
def libtflm(arm_tools):
    lib = toolchain.find_libtflm()
    if lib is None:
        pytest.skip(f"needs OpenMV's libtflm: set {toolchain.LIBTFLM_ENV} ({toolchain.HOW_TO_GET})")
    return lib


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory, monkeypatch):
    # one build cache for the whole session, never the user's
    monkeypatch.setenv("MASKGATE_CACHE", str(tmp_path_factory.getbasetemp() / "m7-cache"))


@settings(derandomize=True, deadline=None, max_examples=300)
@given(start=st.integers(0, 10**9), n=st.integers(0, 2 * 10**9), phase=st.integers(0, 10**9))
def test_tick_decoding_recovers_every_instruction_count_whatever_the_phase(start, n, phase):
    # the timer counts down one tick per 40 ns; each instruction is 128 ns of virtual time
    def counter(t_ns):
        return (phase - t_ns) // emulator.NS_PER_TICK

    ns = 1 << emulator.ICOUNT_SHIFT
    ticks = counter(start * ns) - counter((start + n) * ns)
    assert emulator.ticks_to_instructions(ticks) == n


def test_counter_counts_runs_of_known_length_exactly_and_the_same_every_time(arm_tools):
    first = selfcheck.calibration_counts()
    assert selfcheck.deviations(first) == []
    assert first["loop"][4_000_000] - first["loop"][1] == 2 * 3_999_999
    assert selfcheck.calibration_counts() == first


def test_info_without_the_library_falls_back_to_the_macs_estimate_and_says_so(monkeypatch):
    from maskgate.cli import main

    monkeypatch.delenv(toolchain.LIBTFLM_ENV, raising=False)
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps the table at 80 columns otherwise
    result = CliRunner().invoke(main, ["info", str(package_data.shipped_model())])
    assert result.exit_code == 0, result.output
    assert "ESTIMATE from MACs, the weaker figure" in result.output
    assert "no libtflm given" in result.output and "github.com/openmv/libtflm" in result.output


def test_info_with_a_folder_that_is_not_libtflm_exits_7(tmp_path):
    result = subprocess.run([sys.executable, "-c", "from maskgate.cli import run; run()", "info",
                             str(package_data.shipped_model()), "--libtflm", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 7, result.stderr
    assert "not a checkout of openmv/libtflm" in result.stderr


# ---------------------------------------------------------------- with OpenMV's libtflm
def test_shipped_model_runs_bit_exact_and_its_counts_repeat(libtflm):
    model = package_data.shipped_model().read_bytes()
    figures = measure.measure(model, libtflm, count=measure.CHECK_INPUTS)
    assert figures["check"]["inputs"] == figures["check"]["identical"] == 50
    assert figures["check"]["distinct_outputs"] > 10  # the inputs exercise the model, not one saturated answer
    layers = figures["layers"]
    assert [r["op"] for r in layers] == [r["op"] for r in budget.layer_costs(model)]
    # the per-operator counts (second interpreter, counting trampolines) and the whole Invoke()
    # of the plain interpreter are separate measurements: they agree up to the interpreter's
    # loop between operators
    assert 0 <= figures["interpreter_instructions"] < 200 * len(layers)
    assert all(r["instructions"] > 0 for r in layers)
    inputs = measure.default_inputs(model, 3, seed=0)
    assert measure.run_counts(model, inputs, libtflm)["invoke"] == measure.run_counts(model, inputs, libtflm)["invoke"]


def test_runner_without_a_model_is_an_error(libtflm):
    with pytest.raises(EmulatorError, match="no model blob"):
        emulator.run(build.runner_elf(libtflm))


def test_info_reports_instructions_per_op(libtflm):
    from maskgate.cli import main

    result = CliRunner().invoke(main, ["info", str(package_data.shipped_model()), "--layers", "--libtflm",
                                       str(libtflm.root), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    m7 = figures["m7"]
    assert m7["kind"] == "measured" and m7["latency"]["kind"] == "estimate"
    assert len(figures["layers"]) == len(m7["layers"]) and all(r["instructions"] > 0 for r in figures["layers"])
    assert m7["instructions"] == max(m7["instructions_by_input"])
    # the band's lower end is the dual-issue limit: two instructions a cycle at 480 MHz
    assert m7["latency"]["latency_ms"]["floor"] == pytest.approx(m7["instructions"] / 2 / 480e3, abs=1e-3)


def test_compare_counts_a_model_refused_by_the_gate(libtflm, tmp_path):
    from maskgate.compare import m7_of

    (tmp_path / "over_budget").mkdir()
    shutil.copy(package_data.shipped_model(), tmp_path / "over_budget" / "maskgate_int8.tflite")
    m7 = m7_of({"out": str(tmp_path)})
    assert m7["kind"] == "measured" and m7["check"]["identical"] == m7["check"]["inputs"]
