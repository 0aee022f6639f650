"""Post-training dynamic-range quantization (seed 000): int8 weights, float activations, no
calibration. It shrinks the file about as much as full-integer quantization but the model still
takes and computes in float, and tflite-micro has no kernels for it, so it cannot run on the
OpenMV Cam's int8 path: it is reported for comparison only and the budget gate refuses it."""
from __future__ import annotations

from maskgate import budget
from maskgate.digest import sha256_bytes

MODEL_FILE = "maskgate_dynamic.tflite"  # beside the float model in OUT (it is not a model bundle)
REASON = "dynamic-range model: float input and activations (int8 weights only); OpenMV's int8 path cannot run it"


def convert_dynamic(model) -> bytes:
    from maskgate.tfenv import tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # no representative data: dynamic range
    return converter.convert()


def figures(tflite_bytes: bytes) -> dict:
    """model_figures' size, parameter and MAC figures; no arena (tflite-micro cannot load it)."""
    import gzip

    macs = sum(r["macs"] for r in budget.layer_costs(tflite_bytes))
    return {
        "sha256": sha256_bytes(tflite_bytes),
        "bytes": len(tflite_bytes),
        "gzip_bytes": len(gzip.compress(tflite_bytes, compresslevel=9, mtime=0)),
        "params": budget.parameter_count(tflite_bytes),
        "macs": macs,
        "arena_bytes": None,
        "arena_bytes_board": None,
        "budget": {"model_max_bytes": budget.MODEL_MAX_BYTES, "heap_bytes": budget.HEAP_BYTES,
                   "model_plus_arena_bytes": None, "ok": False, "refused": REASON},
        "estimate": budget.estimate(macs),
    }
