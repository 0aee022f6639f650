"""The model bundle: what `quantize` and `optimize` hand to evaluate, info, deploy, simulate and
ship. A folder holding

    maskgate_int8.tflite    the model the board runs
    maskgate_float.tflite   the float model it came from (optional; evaluate compares the two)
    labels.txt              the class names, one a line (deploy puts a copy on the card)
    manifest.json           what the model is: figures, budget, contract, training record

This module alone knows those names and reads and writes them; `quantize` decides what goes
into the manifest. A .tflite without a manifest beside it (any model a user brings) is
described from the file itself and the contract's defaults (`describe`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from maskgate import contract
from maskgate.atomic import write_bytes, write_json
from maskgate.digest import sha256_bytes
from maskgate.errors import BudgetError, DataError, printable

INT8_FILE = "maskgate_int8.tflite"
FLOAT_FILE = "maskgate_float.tflite"
LABELS_FILE = "labels.txt"
MANIFEST_FILE = "manifest.json"
SCHEMA = 1
FILES = (INT8_FILE, FLOAT_FILE, LABELS_FILE, MANIFEST_FILE)  # what a bundle can hold, the model first


def labels_text(labels) -> bytes:
    return ("\n".join(labels) + "\n").encode()


def write_models(folder, int8_bytes: bytes, float_bytes: bytes | None = None) -> Path:
    """The model files alone (no manifest: e.g. a model the budget gate refused, kept to be
    measured). Returns the int8 file."""
    folder = Path(folder)
    write_bytes(folder / INT8_FILE, int8_bytes)
    if float_bytes is not None:
        write_bytes(folder / FLOAT_FILE, float_bytes)
    return folder / INT8_FILE


def write(folder, int8_bytes: bytes, float_bytes: bytes | None, labels, facts: dict) -> dict:
    """Write a whole bundle; the manifest is `facts` under the bundle's own keys (schema, the
    file names). Each file is written atomically, the manifest last. Returns the manifest."""
    manifest = {"schema": SCHEMA, "model_file": INT8_FILE,
                "float_model_file": FLOAT_FILE if float_bytes is not None else None, **facts}
    write_models(folder, int8_bytes, float_bytes)
    write_bytes(Path(folder) / LABELS_FILE, labels_text(labels))
    write_json(Path(folder) / MANIFEST_FILE, manifest)
    return manifest


def read_manifest(folder) -> dict | None:
    """The bundle's manifest.json, None when there is none; DataError naming the file when it
    is not a JSON object (damaged, cut short, not UTF-8)."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        return None
    return read_json_object(path, "model manifest")


def read_json_object(path, what: str) -> dict:
    """A JSON file holding one object, or DataError naming the file and what it should be."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise DataError(f"{printable(path)}: cannot read the {what} ({e.strerror or e})") from e
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DataError(f"{printable(path)}: damaged {what}, not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise DataError(f"{printable(path)}: damaged {what} (holds {type(value).__name__}, not an object)")
    return value


TFLITE_IDENTIFIER = b"TFL3"  # the flatbuffer file identifier at bytes 4..8 of every .tflite


def read_tflite(path) -> bytes:
    """The bytes of a .tflite LiteRT can load, or DataError naming the file: missing, empty,
    cut short, or not a TFLite model at all (a .keras, a picture, text)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"{printable(path)}: cannot read the model ({e.strerror or e})") from e
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise DataError(f"{printable(path)}: not a TFLite model ({len(data)} bytes, no TFL3 identifier)")
    try:
        from ai_edge_litert.interpreter import Interpreter

        Interpreter(model_content=data).allocate_tensors()
    except Exception as e:  # LiteRT says ValueError / RuntimeError for a damaged flatbuffer
        raise DataError(f"{printable(path)}: damaged TFLite model, LiteRT cannot load it "
                        f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from e
    return data


def check_int8_io(path, data: bytes) -> None:
    """BudgetError (exit 4) for a model whose input or output is not int8: a float model is
    not what the board runs, and must not be reported as int8."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    kinds = {f"{side} {d['dtype'].__name__}" for side, details in
             (("input", interpreter.get_input_details()), ("output", interpreter.get_output_details()))
             for d in details if d["dtype"].__name__ != "int8"}
    if kinds:
        raise BudgetError(f"{printable(path)}: not an int8 model ({', '.join(sorted(kinds))}); "
                          f"give the int8 model ({INT8_FILE}) or its bundle folder")


@dataclass(frozen=True)
class Bundle:
    """A bundle as the stages after quantize see it (the manifest may be empty for a bare model)."""

    int8_path: Path
    float_path: Path | None  # None: no float model beside it
    manifest: dict

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.get("contract", {}).get("labels", contract.LABELS_BINARY))

    @property
    def threshold(self) -> float:
        return self.manifest.get("contract", {}).get("threshold", contract.THRESHOLD)


def load(model, allow_float_io: bool = False) -> Bundle:
    """MODEL is an int8 .tflite (its folder's manifest and float model are used when there) or
    a bundle folder. allow_float_io: also a model with float input/output (optimize's
    dynamic-range model, which its report names as such), never what a user hands evaluate."""
    model = Path(model)
    folder = model if model.is_dir() else model.parent
    int8 = model if model.is_file() else folder / INT8_FILE
    if not int8.exists():
        raise DataError(f"no int8 model at {int8}")
    data = read_tflite(int8)
    if not allow_float_io:
        check_int8_io(int8, data)
    manifest = read_manifest(folder) or {}
    float_path = folder / (manifest.get("float_model_file") or FLOAT_FILE)
    return Bundle(int8, float_path if float_path.is_file() else None, manifest)


def int8_of(folder) -> Path | None:
    """The int8 model of a bundle folder, or None."""
    path = Path(folder) / INT8_FILE
    return path if path.is_file() else None


def _output_count(model_bytes: bytes) -> int:
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_content=model_bytes).get_output_details()[0]
    return int(details["shape"][-1])


def describe(model_path) -> dict:
    """The manifest that describes `model_path`: manifest.json beside it when that names this
    file, else a minimal one from the file itself and the contract's defaults."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise DataError(f"model {model_path} not found")
    manifest = read_manifest(model_path.parent)
    if manifest and manifest.get("model_file") == model_path.name:
        return manifest
    data = model_path.read_bytes()
    try:
        outputs = _output_count(data)
    except Exception as e:
        raise DataError(f"{model_path} is not a TFLite model LiteRT can load: {e}") from e
    labels = contract.labels_for(2 if outputs == 1 else outputs)
    return {
        "schema": SCHEMA,
        "model_file": model_path.name,
        "sha256": sha256_bytes(data),
        "bytes": len(data),
        "contract": contract.as_dict(labels),
    }
