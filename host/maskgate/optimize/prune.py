"""Unstructured magnitude pruning (tfmot): the smallest weights of every kernel layer are zeroed
on a polynomial schedule while the model fine-tunes, then the wrappers are stripped.

Zeros alone do not make an int8 .tflite smaller (every weight is still stored); they make it
compress (gzip size) and are what sparsity-preserving clustering and QAT build on. To make the
file itself smaller remove whole channels: see channel_prune.py.

`one_shot_sweep` is seed 002's Table 1: L1 unstructured pruning of a trained model at a range of
ratios, without fine-tuning, and the test loss and accuracy at each.
"""
from __future__ import annotations

import numpy as np

from maskgate.optimize.wrap import clone_wrapping, fresh_copy, wrappable
from maskgate.tfenv import keras

SWEEP = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85)  # seed 002's pruning ratios


def _tfmot():
    import tensorflow_model_optimization as tfmot

    return tfmot


def schedule(target: float, total_steps: int, initial: float = 0.0, updates: int = 10):
    """Polynomial (cubic) sparsity from `initial` to `target`, reached exactly at `total_steps`,
    with the masks updated `updates` times on the way."""
    frequency = max(1, total_steps // updates)
    end_step = max(frequency, total_steps // frequency * frequency)
    return _tfmot().sparsity.keras.PolynomialDecay(
        initial_sparsity=initial, final_sparsity=target, begin_step=0, end_step=end_step, power=3, frequency=frequency
    )


def wrap_for_pruning(model, target: float, total_steps: int, initial: float = 0.0):
    prune = _tfmot().sparsity.keras.prune_low_magnitude
    sched = schedule(target, total_steps, initial)
    return clone_wrapping(model, lambda layer: prune(layer, pruning_schedule=sched))


def strip(model):
    return _tfmot().sparsity.keras.strip_pruning(model)


def pruned_kernels(model) -> dict:
    """name -> kernel of each pruning-wrapped layer (or, on a stripped model, of each layer that
    pruning wraps)."""
    out = {}
    for layer in model.layers:
        inner = getattr(layer, "layer", None)
        if inner is not None and hasattr(layer, "pruning_vars"):
            for weight, _mask, _threshold in layer.pruning_vars:
                out[f"{inner.name}/{weight.name.split('/')[-1]}"] = weight.numpy()
        elif inner is None and wrappable(model, layer):
            for name, array in _prunable_weights(layer).items():
                out[f"{layer.name}/{name}"] = array
    return out


def _prunable_weights(layer) -> dict:
    # the weights tfmot's PruneRegistry prunes for each layer kind (depthwise kernels: none)
    if isinstance(layer, keras.layers.SeparableConv2D):
        return {"pointwise_kernel": layer.pointwise_kernel.numpy()}
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return {}
    return {"kernel": layer.kernel.numpy()}


def sparsity(model) -> float:
    """Fraction of exact zeros over the pruned kernels."""
    kernels = pruned_kernels(model).values()
    total = sum(k.size for k in kernels)
    return float(sum(int((k == 0).sum()) for k in kernels) / total) if total else 0.0


class SparsityLog(keras.callbacks.Callback):
    """After each epoch: the sparsity reached so far and the validation figures."""

    def __init__(self):
        super().__init__()
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.rows.append({"epoch": epoch + 1, "sparsity": sparsity(self.model),
                          "val_loss": logs.get("val_loss"), "val_accuracy": logs.get("val_accuracy")})


def callbacks():
    return [_tfmot().sparsity.keras.UpdatePruningStep(), SparsityLog()]


def magnitude_prune(model, ratio: float):
    """One-shot L1 unstructured pruning: a copy of `model` with the `ratio` smallest-magnitude
    weights of each prunable kernel set to zero (no fine-tuning)."""
    copy = keras.models.clone_model(model, clone_function=fresh_copy)
    for layer in copy.layers:
        if not wrappable(copy, layer):
            continue
        for name in _prunable_weights(layer):
            variable = getattr(layer, name)
            w = variable.numpy()
            k = int(round(ratio * w.size))
            if k:
                cut = np.partition(np.abs(w).ravel(), k - 1)[k - 1]
                w = np.where(np.abs(w) <= cut, 0.0, w)
            variable.assign(w.astype(np.float32))
    return copy


def test_figures(model, x, y) -> tuple[float, float]:
    """(loss, accuracy) of a Keras model with a sigmoid or softmax head on pixels x."""
    probs = model.predict(np.asarray(x, np.float32), batch_size=256, verbose=0)
    if probs.shape[-1] == 1:
        p = np.clip(probs[:, 0], 1e-7, 1 - 1e-7)
        loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        return loss, float(((p >= 0.5).astype(int) == y).mean())
    p = np.clip(probs, 1e-7, 1.0)
    return float(-np.mean(np.log(p[np.arange(len(y)), y]))), float((probs.argmax(1) == y).mean())


def one_shot_sweep(model, x, y, ratios=SWEEP) -> list[dict]:
    """Seed 002's Table 1 for this model: L1 unstructured pruning ratio -> test loss, accuracy."""
    rows = []
    for ratio in ratios:
        pruned = magnitude_prune(model, ratio)
        loss, accuracy = test_figures(pruned, x, y)
        rows.append({"ratio": ratio, "sparsity": sparsity(pruned), "test_loss": loss, "test_accuracy": accuracy})
    return rows
