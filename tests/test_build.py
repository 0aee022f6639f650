"""`maskgate build` on the real 12K layout (a subset, one epoch): every stage runs and the
build summary carries the figures the README promises; every committed config is valid."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from maskgate.cli import main


def test_quick_build_on_real_data(shared_datasets, tmp_path):
    config = tmp_path / "ci.toml"
    config.write_text(
        'name = "ci"\n[data]\nsources = ["face-mask-12k"]\nfetch_to = "' + str(tmp_path / "fetched") + '"\n'
        '[train]\narch = "maskgate"\narch_options = { width = 0.5 }\nepochs = 1\n'
        '[quick]\nmax_train = 300\nmax_val = 100\nepochs = 1\n'
        '[evaluate]\nsources = ["face-mask-chandrikadeb7"]\n'
    )
    out = tmp_path / "build"
    result = CliRunner().invoke(main, ["build", "--config", str(config), "--data", str(shared_datasets / "face-mask-12k"),
                                       "--out", str(out), "--quick"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "build.json").read_text())
    assert set(summary["accuracy"]) == {"face-mask-12k:test", "face-mask-chandrikadeb7"}
    assert summary["accuracy"]["face-mask-chandrikadeb7"]["images"] > 3000  # never trained on, evaluated whole
    assert summary["model"]["bytes"] <= 230 * 1024 and summary["timings"]["total_s"] > 0
    for name in ("maskgate_int8.tflite", "maskgate_float.tflite", "manifest.json", "labels.txt", "curves.png"):
        assert (out / "run" / name).exists(), name
    assert (out / "eval" / "report.md").exists() and (out / "build.md").exists()
    # the chandrikadeb7 source was found beside --data, not downloaded
    assert not (tmp_path / "fetched").exists()


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "configs").glob("**/*.toml")),
                         ids=lambda p: p.name)
def test_every_committed_config_builds_its_model_and_augmentation(path):
    # a typo in a config otherwise surfaces only after the import, minutes into a build
    from maskgate import nets
    from maskgate.config import load_config
    from maskgate.data.augment import AugmentConfig
    from maskgate.train import TrainConfig

    train = TrainConfig.from_dict(load_config(path)["train"])
    AugmentConfig(**train.augment_options)
    assert nets.build(train.arch, num_classes=train.num_classes, **train.arch_options).count_params() > 0
