"""The model a board command is about to use (`deploy`, `simulate --model`), checked before
anything is written: the checks `quantize` makes when it exports, made again on the file the
user hands over, with the interpreter the camera runs (tflite-micro).

- the manifest: manifest.json beside the model, when it names this file, must be a JSON object
  (else the model is described from the file itself, maskgate.bundle.describe);
- the file loads in tflite-micro (a truncated or non-tflite file is refused here, not on the card);
- one input, 32 x 32 x 3 int8 with the contract's quantization (scale 1.0, zero point -128:
  OpenMV feeds an int8 model pixel - 128 whatever the model says, maskgate.contract);
- one int8 output with one value (sigmoid) or one per label (softmax), as the manifest says;
- sha256 (and size) of the file as its manifest records them: a model that is not the one the
  manifest describes is refused, the two hashes named (expected = the manifest's).
Every refusal is a BudgetError (exit 4: the model breaks the contract) or a DataError (exit 3:
the file or its manifest cannot be read), naming the file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from maskgate import bundle, contract
from maskgate.digest import sha256_bytes
from maskgate.errors import BudgetError, DataError

LOAD_ARENA = 4 * 1024 * 1024  # room enough for any model to load: the memory plan is deploy's own check


def read_manifest(model_path: Path) -> dict | None:
    """manifest.json beside the model when it describes this file, else None."""
    path = model_path.parent / bundle.MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"{path}: not a readable JSON manifest ({e})") from None
    if not isinstance(manifest, dict):
        raise DataError(f"{path}: a manifest is a JSON object, not {type(manifest).__name__}")
    return manifest if manifest.get("model_file") == model_path.name else None


def _tensors(path: Path, data: bytes) -> tuple[list[dict], list[dict]]:
    from .virtualboard import ml

    try:
        interp = ml._interpreter(data, LOAD_ARENA)
        return ml._details(data, interp, True), ml._details(data, interp, False)
    except Exception as e:  # the flatbuffer unpacked in Python: a damaged file raises, it does not crash
        raise DataError(f"{path}: not a TFLite model tflite-micro can load ({type(e).__name__}: {e})") from None


def contract_problems(inputs: list[dict], outputs: list[dict], manifest: dict) -> list[str]:
    """What breaks the contract, each as a sentence (empty when the model keeps it)."""
    problems = []
    want = (1, contract.INPUT_SIZE, contract.INPUT_SIZE, contract.CHANNELS)
    if len(inputs) != 1:
        problems.append(f"it has {len(inputs)} inputs, the firmware feeds one picture")
    elif inputs[0]["shape"] != want:
        problems.append(f"input shape {inputs[0]['shape'][1:]} is not the contract's {want[1:]}")
    if inputs and inputs[0]["dtype"] != np.int8:
        problems.append(f"input is {np.dtype(inputs[0]['dtype']).name}, the OpenMV int8 path needs int8")
    elif inputs:
        scale, zero_point = inputs[0]["quantization"]
        if abs(scale - contract.INPUT_SCALE) > 1e-6 or zero_point != contract.INPUT_ZERO_POINT:
            problems.append(f"input quantization is scale {scale:g}, zero point {zero_point}; OpenMV feeds "
                            f"pixel - 128, which needs scale {contract.INPUT_SCALE:g}, zero point "
                            f"{contract.INPUT_ZERO_POINT}")
    c = manifest.get("contract", {}) if isinstance(manifest.get("contract"), dict) else {}
    labels = c.get("labels", contract.LABELS_BINARY)
    kind = c.get("output", "sigmoid")
    values = 1 if kind == "sigmoid" else len(labels) if isinstance(labels, (list, tuple)) else None
    if len(outputs) != 1:
        problems.append(f"it has {len(outputs)} outputs, the firmware reads one")
    else:
        count = int(np.prod(outputs[0]["shape"]))
        if values is not None and count != values:
            problems.append(f"output has {count} value(s), a {kind} output over {len(labels)} labels needs {values}")
        if outputs[0]["dtype"] != np.int8:
            problems.append(f"output is {np.dtype(outputs[0]['dtype']).name}, a full-integer model's is int8")
    return problems


def check(model_path, manifest: dict | None = None) -> tuple[dict, bytes]:
    """(manifest, model bytes) of a model the board may run; BudgetError / DataError otherwise.
    `manifest`: the one to check it against, else the one beside it (or the file's own)."""
    model_path = Path(model_path)
    try:
        data = model_path.read_bytes()
    except OSError as e:
        raise DataError(f"model {model_path}: {e.strerror or e}") from None
    if manifest is None:
        manifest = read_manifest(model_path)
    inputs, outputs = _tensors(model_path, data)
    if manifest is None:
        manifest = bundle.describe(model_path)  # a bare model: described from the file itself
    problems = contract_problems(inputs, outputs, manifest)
    if problems:
        raise BudgetError(f"{model_path} breaks the model contract: " + "; ".join(problems))
    expected, actual = manifest.get("sha256"), sha256_bytes(data)
    if expected is not None and expected != actual:
        raise BudgetError(f"{model_path} is not the model its manifest describes: sha256 expected "
                          f"{str(expected)[:16]}... (manifest.json), actual {actual[:16]}... (the file); "
                          f"re-export it with `maskgate quantize`")
    if isinstance(manifest.get("bytes"), int) and manifest["bytes"] != len(data):
        raise BudgetError(f"{model_path} is {len(data)} bytes, its manifest says {manifest['bytes']}")
    return manifest, data


def check_config_sha(config: dict, data: bytes, model_path) -> None:
    """A config.json whose model_sha256 (e.g. from --set) names another file would make the
    firmware refuse the model: refuse it here instead."""
    expected, actual = config.get("model_sha256"), sha256_bytes(data)
    if expected is not None and expected != actual:
        raise BudgetError(f"model_sha256 in config.json is {str(expected)[:16]}..., the model {model_path} "
                          f"is {actual[:16]}...: the board would refuse it")
