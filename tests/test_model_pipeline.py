"""train -> quantize -> evaluate on a small synthetic dataset: the int8 model keeps the OpenMV
input rule, loads in LiteRT and tflite-micro, the budget gate refuses what does not fit, and
training is deterministic for a seed."""
import json

import numpy as np
import pytest

from maskgate import budget
from maskgate.errors import BudgetError
from maskgate.bundle import INT8_FILE, MANIFEST_FILE
from maskgate.quantize import check_input_contract, write_bundle
from maskgate.runtime import LiteModel, micro_raw


def test_bundle_has_contract_manifest(tiny_bundle):
    manifest = json.loads((tiny_bundle / MANIFEST_FILE).read_text())
    data = (tiny_bundle / INT8_FILE).read_bytes()
    assert manifest["bytes"] == len(data)
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["contract"]["labels"] == ["no_mask", "mask"]
    assert manifest["contract"]["input_scale"] == 1.0 and manifest["contract"]["input_zero_point"] == -128
    assert manifest["estimate"]["kind"] == "estimate"
    lat = manifest["estimate"]["latency_ms"]
    assert lat["low"] < lat["typical"] < lat["high"]
    assert (tiny_bundle / "labels.txt").read_text().split() == ["no_mask", "mask"]
    assert manifest["budget"]["ok"] and manifest["macs"] > 0 and manifest["params"] > 0


def test_int8_input_of_known_image_is_pixel_minus_128(tiny_bundle):
    from ai_edge_litert.interpreter import Interpreter

    data = (tiny_bundle / INT8_FILE).read_bytes()
    check_input_contract(data)
    interpreter = Interpreter(model_content=data)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    pixels = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    tensor = LiteModel(data).tensor_for(pixels[None])
    # the model's own quantization maps the float pixel value p to exactly p - 128
    scale, zero_point = detail["quantization"]
    assert np.array_equal(np.round(pixels / scale + zero_point).astype(np.int16), tensor[0].astype(np.int16))
    assert np.array_equal(tensor[0].astype(np.int16), pixels.astype(np.int16) - 128)


def test_int8_model_runs_in_litert_and_tflite_micro_alike(tiny_bundle):
    data = (tiny_bundle / INT8_FILE).read_bytes()
    pixels = np.random.default_rng(2).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    lite = LiteModel(data).raw(pixels).reshape(8, -1)
    micro = micro_raw(data, pixels).reshape(8, -1)
    # LiteRT's built-in kernels (XNNPACK off) are bit-exact with tflite-micro's reference kernels
    assert np.array_equal(lite, micro)


def test_trained_model_learned_the_synthetic_task(tiny_bundle, synthetic_import):
    from maskgate.data.arrays import load_split

    test = load_split(synthetic_import, "test")
    probs = LiteModel((tiny_bundle / INT8_FILE).read_bytes()).probabilities(test["x32"])
    accuracy = ((probs[:, 1] >= 0.5).astype(int) == test["y"]).mean()
    assert accuracy >= 0.8


def test_arena_is_the_smallest_that_allocates(tiny_bundle):
    from tflite_micro.python.tflite_micro import runtime

    data = (tiny_bundle / INT8_FILE).read_bytes()
    arena = budget.arena_bytes(data)
    runtime.Interpreter.from_bytes(data, arena_size=arena)
    with pytest.raises(RuntimeError):
        runtime.Interpreter.from_bytes(data, arena_size=arena - 64)


def test_budget_gate_refuses_oversized_model_and_writes_nothing(tiny_bundle, tmp_path):
    data = (tiny_bundle / INT8_FILE).read_bytes()
    with pytest.raises(BudgetError, match="over the"):
        write_bundle(tmp_path / "a", data, None, ["no_mask", "mask"], "tinycnn", model_max_bytes=len(data) - 1)
    with pytest.raises(BudgetError, match="heap budget"):
        write_bundle(tmp_path / "b", data, None, ["no_mask", "mask"], "tinycnn", heap_bytes=len(data) + 100)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    manifest = write_bundle(tmp_path / "c", data, None, ["no_mask", "mask"], "tinycnn")
    assert manifest["budget"]["ok"]


def test_input_rule_violation_is_refused():
    from maskgate.nets import build
    from maskgate.quantize import convert_float

    with pytest.raises(BudgetError, match="int8"):
        check_input_contract(convert_float(build("tinycnn", width=0.25)))


def test_evaluate_writes_report_plots_and_agreement(tiny_bundle, synthetic_import, tmp_path):
    from maskgate.evaluate import evaluate

    result = evaluate(tiny_bundle, [f"{synthetic_import}:test", f"{synthetic_import}:val"], tmp_path, micro_sample=10)
    assert [s["name"] for s in result["datasets"]] == ["synthetic-faces:test", "synthetic-faces:val"]
    for s in result["datasets"]:
        assert s["int8"]["images"] == s["float"]["images"] == s["images"] > 0
        assert np.array(s["int8"]["confusion"]).sum() == s["images"]
        assert (tmp_path / s["confusion_png"]).stat().st_size > 0 and (tmp_path / s["roc_png"]).exists()
    assert result["tflite_micro"]["images"] == 10
    assert "| label | precision | recall | F1 | support |" in (tmp_path / "report.md").read_text()
    assert json.loads((tmp_path / "metrics.json").read_text())["labels"] == ["no_mask", "mask"]


def test_metrics_on_known_predictions():
    from maskgate.evaluate import metrics, roc_auc

    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]])
    m = metrics(y, probs, ["no_mask", "mask"], 0.5)
    assert m["confusion"] == [[1, 1], [1, 1]] and m["accuracy"] == 0.5
    assert m["per_class"]["mask"]["precision"] == 0.5
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 0.75  # 3 of 4 pairs ranked right


def test_training_is_deterministic_for_a_seed(synthetic_import, tmp_path):
    from maskgate.tfenv import keras
    from maskgate.train import TrainConfig, train

    cfg = TrainConfig(arch="tinycnn", arch_options={"width": 0.25}, epochs=1, batch_size=16, seed=3)
    weights = []
    for name in ("a", "b"):
        run = train(synthetic_import, tmp_path / name, cfg)
        weights.append(keras.models.load_model(run / "model.keras").get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    assert (tmp_path / "a" / "history.csv").exists() and (tmp_path / "a" / "curves.png").exists()


def test_evaluate_camera_crop_frames_a_folder_as_the_camera(tiny_bundle, shared_datasets, tmp_path):
    """--camera-crop: a dataset folder is evaluated as published and again framed by the Haar
    face box + margin (the firmware's crop); a manifest is evaluated once, as it is."""
    import shutil

    from maskgate.data.manifest import read_manifest
    from maskgate.evaluate import evaluate

    folder = tmp_path / "door-faces"
    for label, src in (("with_mask", "WithMask"), ("without_mask", "WithoutMask")):
        (folder / label).mkdir(parents=True)
        for path in sorted((shared_datasets / "face-mask-12k" / "Test" / src).glob("*.jpg"))[:12]:
            shutil.copy(path, folder / label / path.name)
    out = tmp_path / "eval"
    result = evaluate(tiny_bundle, [str(folder)], out, micro_sample=0, camera_crop=True)
    assert [s["name"] for s in result["datasets"]] == ["door-faces", "door-faces (camera crop)"]
    assert all(s["images"] == 24 for s in result["datasets"])
    plain = read_manifest(out / "imported-door-faces" / "manifest.csv")
    framed = read_manifest(out / "imported-door-faces-camera-crop" / "manifest.csv")
    assert not any(r["face"] for r in plain)
    assert any(r["face"] for r in framed)  # bare 12K faces: the frontal cascade finds most of them


def test_cosine_schedule_decays_the_learning_rate_each_epoch(synthetic_import, tmp_path):
    import csv

    from maskgate.train import TrainConfig, train

    cfg = TrainConfig(arch="tinycnn", arch_options={"width": 0.25}, epochs=3, batch_size=32, seed=3,
                      learning_rate=0.002, lr_schedule="cosine", max_train=96)
    run = train(synthetic_import, tmp_path / "cos", cfg)
    with open(run / "history.csv") as f:
        rates = [float(row["lr"]) for row in csv.DictReader(f)]
    # epoch e of E runs at lr * (1 + cos(pi e / E)) / 2: 0.002, 0.0015, 0.0005
    assert rates == pytest.approx([0.002, 0.0015, 0.0005], rel=1e-5)


def test_unknown_lr_schedule_is_refused():
    from maskgate.errors import DataError
    from maskgate.train import TrainConfig

    with pytest.raises(DataError, match="lr_schedule"):
        TrainConfig.from_dict({"lr_schedule": "step"})
