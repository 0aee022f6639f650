"""`maskgate optimize` / `maskgate compare` end to end on synthetic data: the table, the plot,
the Pareto front, dynamic-range models reported but refused, and the CLI."""
import json

import pytest

from maskgate.compare import CompareConfig, compare, pick_teacher
from maskgate.compare_report import pareto
from maskgate.errors import BudgetError
from maskgate.optimize.options import OptimizeOptions
from maskgate.optimize.run import optimize_run


def test_pareto_front():
    rows = [
        {"arch": "a", "method": "none", "int8_bytes": 100, "test_int8": 0.90},
        {"arch": "b", "method": "none", "int8_bytes": 50, "test_int8": 0.95},   # beats a
        {"arch": "c", "method": "none", "int8_bytes": 200, "test_int8": 0.97},
        {"arch": "d", "method": "dynamic", "int8_bytes": 10, "test_int8": 0.99},  # not an int8 model
    ]
    assert [r["arch"] for r in pareto(rows)] == ["b", "c"]


def test_best_teacher_is_the_most_accurate_other_run(tmp_path):
    runs = {}
    for arch, accuracy in (("student", 0.99), ("small", 0.90), ("big", 0.97)):
        (tmp_path / arch).mkdir()
        (tmp_path / arch / "config.json").write_text(json.dumps({"best_val_accuracy": accuracy}))
        runs[arch] = tmp_path / arch
    assert pick_teacher("best", "student", runs) == str(tmp_path / "big")
    assert pick_teacher("small", "student", runs) == str(tmp_path / "small")
    assert pick_teacher("tinycnn:width=2", "student", runs) == "tinycnn:width=2"


@pytest.mark.slow
def test_compare_writes_table_and_plot(synthetic_import, tmp_path):
    from synthetic import write_class_folders

    unseen = write_class_folders(tmp_path / "unseen-faces", per_class=10, seed=5)
    cfg = CompareConfig(archs=("tinycnn:width=0.25",), methods=("channel_prune", "distill", "dynamic"), epochs=1,
                        finetune_epochs=1, max_train=None, unseen=str(unseen), micro_sample=5, sweep=(0.0, 0.5),
                        teacher="tinycnn:width=0.5")
    result = compare(synthetic_import, tmp_path / "work", tmp_path / "results", cfg, command="maskgate compare --test")
    rows = {r["method"]: r for r in result["rows"]}
    assert set(rows) == {"none", "channel_prune", "distill", "dynamic"}
    assert rows["channel_prune"]["params"] < rows["none"]["params"] and rows["channel_prune"]["macs"] < rows["none"]["macs"]
    assert rows["dynamic"]["arena_board"] is None and not rows["dynamic"]["budget_ok"]
    assert all(r["test_int8"] is not None and r["unseen_int8"] is not None for r in result["rows"])
    md = (tmp_path / "results" / "compare.md").read_text()
    assert "maskgate compare --test" in md and "Wall time" in md and "★" in md and "unseen-faces" in md
    assert (tmp_path / "results" / "compare.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "results" / "compare.json").read_text())["pareto_test"]


@pytest.mark.slow
def test_over_budget_result_is_refused_with_exit_code_4(synthetic_import, tmp_path):
    from maskgate.train import TrainConfig, train

    run = train(synthetic_import, tmp_path / "run", TrainConfig(arch="squeezenet_modified", epochs=1, augment=False,
                                                                   batch_size=32))
    with pytest.raises(BudgetError) as refused:
        optimize_run(run, "cluster", tmp_path / "out", OptimizeOptions(epochs=1, clusters=8, micro_sample=5))
    assert refused.value.exit_code == 4
    assert (tmp_path / "out" / "model.keras").exists() and "Refused" in (tmp_path / "out" / "report.md").read_text()
    assert not (tmp_path / "out" / "maskgate_int8.tflite").exists()
