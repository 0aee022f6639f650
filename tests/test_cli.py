"""Every command answers --help, and errors map to the documented exit codes."""
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from maskgate.cli import main


def _all_commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path", [()] + list(_all_commands(main)), ids=lambda p: " ".join(p) or "maskgate")
def test_help_on_every_command(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def _run(*args):
    return subprocess.run([sys.executable, "-c", "from maskgate.cli import run; run()", *args],
                          capture_output=True, text=True, timeout=300)


def test_quantize_over_budget_exits_4_and_says_why(tiny_bundle, tmp_path):
    """The limit comes from the config file (--config, as for build): 1 KB refuses any model."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_bundle, run)
    (run / "manifest.json").unlink()
    config = tmp_path / "small.toml"
    config.write_text("[quantize]\nmodel_max_kb = 1\n")
    result = _run("quantize", str(run), "--config", str(config))
    assert result.returncode == 4, result.stderr
    assert "refusing to export" in result.stderr and "over the 1 KB limit" in result.stderr
    assert not (run / "manifest.json").exists()


def test_info_prints_figures_as_json(tiny_bundle):
    import json

    result = _run("info", str(tiny_bundle / "maskgate_int8.tflite"), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["macs"] > 0 and figures["arena_bytes"] > 0 and figures["estimate"]["kind"] == "estimate"


def test_a_misspelt_setting_is_a_usage_error_that_names_the_key(tmp_path):
    result = _run("simulate", "--frames", str(tmp_path), "--set", "door.hold=2")
    assert result.returncode == 2, result.stderr
    assert "--set: unknown key 'door.hold' (did you mean door.hold_s?)" in result.stderr
    result = _run("simulate", "--frames", str(tmp_path), "--set", "door.k")
    assert result.returncode == 2 and "--set takes KEY=VALUE, not 'door.k'" in result.stderr


def test_a_misspelt_architecture_option_is_named_before_anything_runs(synthetic_import, tmp_path):
    result = CliRunner().invoke(main, ["train", "--data", str(synthetic_import), "--out", str(tmp_path / "run"),
                                       "--arch-option", "widht=2"])
    assert result.exit_code == 2, result.output  # an OptionError, shown as one line by the CLI group
    assert "error: --arch-option: unknown option of tinycnn 'widht' (did you mean width?)" in result.output
    assert not (tmp_path / "run").exists()


def test_train_on_missing_data_is_a_data_error(tmp_path):
    result = _run("train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"))
    assert result.returncode == 3, result.stderr
    assert "cannot read the manifest" in result.stderr


def test_train_refuses_swa_start_after_the_last_epoch(synthetic_import, tmp_path):
    result = _run("train", "--data", str(synthetic_import), "--out", str(tmp_path / "run"),
                  "--epochs", "3", "--swa-start", "5", "--lr-schedule", "cosine")
    assert result.returncode == 3, result.stderr
    assert "swa_start 5 is not an epoch of 1..3" in result.stderr and not (tmp_path / "run").exists()
