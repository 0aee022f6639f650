"""`maskgate ship`: a build's bundle lands in the target folder with a report whose targets
table is filled from the build's own measurements, the camera-framed evaluation included."""
import json
import shutil

from click.testing import CliRunner
from synthetic import write_class_folders

from maskgate.cli import main
from maskgate.evaluate import evaluate


def test_ship_writes_bundle_and_report_with_both_framings(tiny_bundle, synthetic_import, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(tiny_bundle, build / "run")
    unseen = write_class_folders(tmp_path / "door-source", per_class=8, seed=3)
    evaluate(build / "run", [f"{synthetic_import}:test", str(unseen)], build / "eval", micro_sample=5, camera_crop=True)
    (build / "build.json").write_text(json.dumps({"config": "configs/x.toml", "timings": {"train_s": 60.0, "total_s": 90.0}}))

    models = tmp_path / "models"
    result = CliRunner().invoke(main, ["ship", str(build), "--to", str(models), "--command", "maskgate build --config configs/x.toml"])
    assert result.exit_code == 0, result.output
    for name in ("maskgate_int8.tflite", "maskgate_float.tflite", "manifest.json", "labels.txt", "curves.png",
                 "confusion-door-source.png", "confusion-door-source__camera_crop_.png"):
        assert (models / name).is_file(), name
    report = (models / "report.md").read_text()
    metrics = json.loads((build / "eval" / "metrics.json").read_text())
    camera = next(s for s in metrics["datasets"] if s["name"] == "door-source (camera crop)")
    assert f"| {camera['int8']['accuracy'] * 100:.2f} % |" in report.split("framed as the camera frames them")[1].splitlines()[0]
    assert "maskgate build --config configs/x.toml" in report and "(the form of the paper's Table 4)" in report
    assert "Weights: the checkpoint with the best Validation accuracy." in report


def test_ship_report_says_when_the_weights_are_an_swa_average(tiny_bundle, synthetic_import, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(tiny_bundle, build / "run")
    trained = json.loads((build / "run" / "config.json").read_text())
    trained["swa"] = {"start_epoch": 16, "epochs_averaged": 15, "bn_batches": 225, "val_accuracy": 0.99566}
    (build / "run" / "config.json").write_text(json.dumps(trained))
    evaluate(build / "run", [f"{synthetic_import}:test"], build / "eval", micro_sample=5)
    (build / "build.json").write_text(json.dumps({"config": "configs/x.toml", "timings": {"total_s": 90.0}}))

    result = CliRunner().invoke(main, ["ship", str(build), "--to", str(tmp_path / "models")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "models" / "report.md").read_text()
    assert "after epochs 16–30 (stochastic weight averaging)" in report and "Validation accuracy 99.57 %" in report
