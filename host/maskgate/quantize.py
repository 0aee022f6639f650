"""`maskgate quantize`: full-integer int8 post-training quantization of a run's model, the budget
gate, and the model bundle (maskgate.bundle) the firmware config is made from. Every build
runs it; optimize, compare and the face-stage models use the same export.

The representative set always contains an all-black and an all-white picture, so the input
tensor is calibrated on exactly [0, 255] and gets scale 1.0 / zero point -128: the int8 input
is then `pixel - 128`, which is what OpenMV feeds an int8 model. The export is checked, not
assumed: any other input quantization is refused.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from maskgate import budget, bundle, contract, run_folder
from maskgate.errors import BudgetError, DataError


def representative_pixels(x32: np.ndarray, count: int = 300, seed: int = 0) -> np.ndarray:
    """A seeded sample of training inputs plus the two extremes that pin the input range."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x32), size=min(count, len(x32)), replace=False)
    shape = (1,) + x32.shape[1:]
    return np.concatenate([np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8), x32[pick]])


def _converter(model):
    from maskgate.tfenv import tf

    return tf.lite.TFLiteConverter.from_keras_model(model)


def convert_float(model) -> bytes:
    return _converter(model).convert()


def convert_int8(model, rep_pixels: np.ndarray, input_shape: tuple | None = None) -> bytes:
    """Full-integer int8 export calibrated on `rep_pixels` (uint8 images); `input_shape`
    (H, W, C) for models that do not take the contract's 32 x 32 x 3 (the face detector)."""
    from maskgate.tfenv import tf

    converter = _converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative():
        for pixels in rep_pixels:
            yield [contract.to_float_input(pixels[None])]

    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    # Per-tensor Dense weights: the TFLM that OpenMV links up to v4.8.1 (libtflm 73eb1aa) cannot
    # prepare a FULLY_CONNECTED with per-channel weights (a 2- or 3-unit head), and the model would
    # not load on those boards (maskgate.m7.measure.unsupported names it).
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    tflite = converter.convert()
    check_input_contract(tflite, input_shape)
    return tflite


def input_details(tflite_bytes: bytes) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=tflite_bytes).get_input_details()[0]


def check_input_contract(tflite_bytes: bytes, input_shape: tuple | None = None) -> None:
    """Refuse a model whose int8 input is not `pixel - 128` (OpenMV ignores the model's own
    input quantization for int8 models and feeds p XOR 0x80), or whose input is not the
    contract's shape (or `input_shape`, H x W x C, where one is given)."""
    details = input_details(tflite_bytes)
    scale, zero_point = details["quantization"]
    expected = tuple(input_shape) if input_shape else (contract.INPUT_SIZE, contract.INPUT_SIZE, contract.CHANNELS)
    if details["dtype"] != np.int8:
        raise BudgetError(f"model input is {details['dtype'].__name__}, the OpenMV int8 path needs int8")
    if tuple(details["shape"][1:]) != expected:
        raise BudgetError(f"model input shape {tuple(details['shape'][1:])} is not the contract's {expected}")
    if not (abs(scale - contract.INPUT_SCALE) < 1e-6 and zero_point == contract.INPUT_ZERO_POINT):
        raise BudgetError(
            f"model input quantization is scale {scale}, zero point {zero_point}; OpenMV feeds "
            f"pixel - 128, which needs scale {contract.INPUT_SCALE}, zero point {contract.INPUT_ZERO_POINT}"
        )


def gate(int8_bytes: bytes, model_max_bytes: int = budget.MODEL_MAX_BYTES, heap_bytes: int | None = None) -> dict:
    """The model's figures (maskgate.budget) once it passes the gate: the input contract, the
    size limit, the memory of every supported OpenMV release and an optional cap of the
    build's own on model + arena. BudgetError says every reason it does not."""
    check_input_contract(int8_bytes)
    figures = budget.model_figures(int8_bytes, model_max_bytes, heap_bytes, emulate=True)
    problems = budget.budget_problems(figures)
    if problems:
        raise BudgetError("refusing to export: " + "; ".join(problems))
    return figures


def write_bundle(out_dir, int8_bytes: bytes, float_bytes: bytes | None, labels, arch: str,
                 training: dict | None = None, threshold: float = contract.THRESHOLD,
                 model_max_bytes: int = budget.MODEL_MAX_BYTES, heap_bytes: int | None = None) -> dict:
    """Gate the int8 model on the budget, then write the bundle (model(s), labels.txt,
    manifest.json). Raises BudgetError (and writes nothing) when the model cannot go on the board."""
    figures = gate(int8_bytes, model_max_bytes, heap_bytes)
    from maskgate import __version__

    facts = {
        **{k: figures[k] for k in ("sha256", "bytes", "gzip_bytes", "params", "macs", "arena_bytes",
                                   "arena_bytes_used_board", "arena_bytes_board")},
        "arch": arch,
        "budget": figures["budget"],
        "estimate": figures["estimate"],
        "m7": figures["m7"],  # instructions counted on the emulated M7, or why there are none
        "contract": contract.as_dict(labels, threshold),
        "training": training or {},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "maskgate_version": __version__,
    }
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return bundle.write(out_dir, int8_bytes, float_bytes, labels, facts)


def quantize_with(run_dir, limits: dict, data_manifest=None) -> dict:
    """quantize_run with [quantize] settings (maskgate.config: model_max_kb, heap_kb, where 0
    means no cap of the build's own, threshold, calibration_images)."""
    return quantize_run(run_dir, data_manifest, model_max_bytes=int(limits["model_max_kb"] * 1024),
                        heap_bytes=int(limits["heap_kb"] * 1024) if limits["heap_kb"] else None,
                        threshold=limits["threshold"], calibration_images=limits["calibration_images"])


def quantize_run(run_dir, data_manifest=None, model_max_bytes: int = budget.MODEL_MAX_BYTES,
                 heap_bytes: int | None = None, threshold: float = contract.THRESHOLD,
                 calibration_images: int = 300) -> dict:
    """The run's model -> the model bundle in the run folder (maskgate_int8.tflite,
    maskgate_float.tflite, labels.txt, manifest.json)."""
    from maskgate.data.arrays import load_split

    run_dir = Path(run_dir)
    model_path = run_folder.model_file(run_dir)
    config = run_folder.record(run_dir)
    lacking = [k for k in ("train", "labels", "data_manifest") if k not in config]
    if lacking or not isinstance(config["train"], dict) or "seed" not in config["train"]:
        raise DataError(f"{run_dir / run_folder.RECORD_FILE}: not a run record `maskgate train` wrote "
                        f"(missing {', '.join(lacking) or 'train.seed'})")
    train_cfg = config["train"]
    labels = config["labels"]
    data_manifest = data_manifest or config["data_manifest"]
    model = run_folder.load_model(model_path)
    calib = load_split(data_manifest, "train", labels, limit=calibration_images, seed=train_cfg["seed"])
    int8_bytes = convert_int8(model, representative_pixels(calib["x32"], calibration_images, train_cfg["seed"]))
    float_bytes = convert_float(model)
    training = {
        "run": str(run_dir.resolve()),
        "seed": train_cfg["seed"],
        "epochs_run": config.get("epochs_run"),
        "best_val_accuracy": config.get("best_val_accuracy"),
        "data_manifest_sha256": config.get("data_manifest_sha256"),
        "train_images": config.get("train_images"),
        "calibration_images": int(len(calib["y"])) + 2,
    }
    return write_bundle(run_dir, int8_bytes, float_bytes, labels, train_cfg["arch"], training,
                        threshold, model_max_bytes, heap_bytes)
