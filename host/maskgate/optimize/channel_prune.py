"""Structured (channel) pruning that really removes channels: parameters, MACs and the int8
.tflite all shrink, unlike zeroed weights.

The output channels of each prunable Conv2D / SeparableConv2D / Dense are ranked by the L1 norm
of their weights; the weakest `ratio` of them go. A NEW, narrower model of the same architecture
is built from the Keras config (only `filters` / `units` change) and the kept weights are copied
in, sliced on both sides: the layer's own output channels, and the input channels of everything
downstream (BatchNormalization, depthwise convolutions, the next convolution or dense layer,
through Flatten's interleaving).

A layer is prunable when its channels reach only layers that can take a narrower input: they may
pass through BatchNormalization, activations, pooling, dropout, padding and depthwise
convolutions and must end in a convolution or dense layer. Channels that meet an Add, a
Concatenate, a Multiply, the model output or an unknown layer must keep their width (residual
and fire-module outputs, for example), so those layers are left whole. A model with no prunable
layer at all is refused with a clear error.

`one_shot_sweep` is seed 002's Table 2: L1 structured pruning of a trained model at a range of
ratios without fine-tuning, with the test loss and accuracy at each.
"""
from __future__ import annotations

import copy

import numpy as np

from maskgate.errors import MaskgateError
from maskgate.tfenv import keras

L = keras.layers
# layers whose output channels are their input channels (index for index)
PASS_THROUGH = (
    "BatchNormalization", "ReLU", "Activation", "LeakyReLU", "Dropout", "SpatialDropout2D", "MaxPooling2D",
    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "DepthwiseConv2D",
)
# layers that consume channels through a weight matrix, so a narrower input is a sliced matrix
ABSORBING = ("Conv2D", "SeparableConv2D", "Dense")
PRUNABLE = ABSORBING
SWEEP = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85)


class ChannelPruningError(MaskgateError):
    pass


def _graph(config: dict):
    """(layer configs by name in topological order, consumers by name, output layer names)."""
    layers = {entry["name"]: entry for entry in config["layers"]}
    consumers = {name: [] for name in layers}
    for entry in config["layers"]:
        for parent in _inbound(entry):
            consumers[parent].append(entry["name"])
    outputs = {o[0] for o in config["output_layers"]}
    return layers, consumers, outputs


def _inbound(entry) -> list[str]:
    nodes = entry.get("inbound_nodes") or []
    if not nodes:
        return []
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3 style, not expected with tf_keras
        raise ChannelPruningError("unsupported model config format")
    return [item[0] for item in node]


def _channels_absorbed(name: str, layers, consumers, outputs) -> bool:
    """Whether the output channels of `name` end only in layers that can take fewer of them."""
    stack = list(consumers[name])
    if name in outputs:
        return False
    while stack:
        current = stack.pop()
        entry = layers[current]
        kind = entry["class_name"]
        if kind in ABSORBING:  # even the output layer: only its input narrows
            continue
        if current in outputs:
            return False
        if kind == "DepthwiseConv2D" and entry["config"].get("depth_multiplier", 1) != 1:
            return False
        if kind in PASS_THROUGH:
            stack.extend(consumers[current])
        elif kind == "Flatten":
            if any(layers[c]["class_name"] != "Dense" for c in consumers[current]):
                return False
            stack.extend(consumers[current])
        else:
            return False
    return True


def prunable_layers(model) -> list[str]:
    layers, consumers, outputs = _graph(model.get_config())
    return [name for name, entry in layers.items()
            if entry["class_name"] in PRUNABLE and _channels_absorbed(name, layers, consumers, outputs)]


def _out_width(layer) -> int:
    return layer.units if isinstance(layer, L.Dense) else layer.filters


def channel_scores(layer) -> np.ndarray:
    """L1 norm of each output channel's weights."""
    if isinstance(layer, L.SeparableConv2D):
        kernel = layer.pointwise_kernel.numpy()
    else:
        kernel = layer.kernel.numpy()
    return np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)


def plan(model, ratio: float, min_channels: int = 1) -> dict:
    """name -> sorted indices of the output channels each prunable layer keeps."""
    names = prunable_layers(model)
    if not names:
        raise ChannelPruningError(
            f"architecture {model.name!r} has no layer whose channels can be removed: every Conv2D / Dense "
            "output meets an Add, Concatenate, the output or a layer channel pruning does not know"
        )
    keep = {}
    for name in names:
        layer = model.get_layer(name)
        width = _out_width(layer)
        n = max(min_channels, int(round(width * (1.0 - ratio))))
        order = np.argsort(-channel_scores(layer), kind="stable")
        keep[name] = np.sort(order[:n])
    return keep


def _slice_weights(layer, old_weights: list, kept_in, kept_out) -> list:
    """Old weights of `layer` cut to the kept input / output channels (None: all kept)."""
    take = lambda a, idx, axis: a if idx is None else np.take(a, idx, axis=axis)  # noqa: E731
    if isinstance(layer, L.SeparableConv2D):
        depthwise, pointwise, *bias = old_weights
        mult = depthwise.shape[-1]
        rows = None if kept_in is None else (np.asarray(kept_in)[:, None] * mult + np.arange(mult)).ravel()
        out = [take(depthwise, kept_in, 2), take(take(pointwise, rows, 2), kept_out, 3)]
        return out + [take(b, kept_out, 0) for b in bias]
    if isinstance(layer, L.DepthwiseConv2D):
        kernel, *bias = old_weights
        return [take(kernel, kept_in, 2)] + [take(b, kept_in, 0) for b in bias]
    if isinstance(layer, L.Conv2D):
        kernel, *bias = old_weights
        return [take(take(kernel, kept_in, 2), kept_out, 3)] + [take(b, kept_out, 0) for b in bias]
    if isinstance(layer, L.Dense):
        kernel, *bias = old_weights
        return [take(take(kernel, kept_in, 0), kept_out, 1)] + [take(b, kept_out, 0) for b in bias]
    if isinstance(layer, L.BatchNormalization):
        return [take(w, kept_in, 0) for w in old_weights]
    if old_weights and kept_in is not None:
        raise ChannelPruningError(f"cannot narrow the weights of {layer.name} ({type(layer).__name__})")
    return old_weights


def narrow(model, keep: dict):
    """The model rebuilt with only the kept channels of the layers in `keep`, weights copied."""
    config = copy.deepcopy(model.get_config())
    for entry in config["layers"]:
        if entry["name"] in keep:
            key = "units" if entry["class_name"] == "Dense" else "filters"
            entry["config"][key] = int(len(keep[entry["name"]]))
    new = keras.Model.from_config(config)
    layers, _, _ = _graph(config)
    kept = {}  # layer name -> kept output channel indices (None: all)
    for name, entry in layers.items():
        parents = _inbound(entry)
        kept_in = kept[parents[0]] if len(parents) == 1 else None
        if len(parents) > 1 and any(kept[p] is not None for p in parents):
            raise ChannelPruningError(f"{name} merges narrowed channels")
        old, fresh = model.get_layer(name), new.get_layer(name)
        if entry["class_name"] == "Flatten" and kept_in is not None:
            h, w, c = old.input_shape[1:]
            kept[name] = (np.arange(h * w)[:, None] * c + np.asarray(kept_in)[None, :]).ravel()
        elif name in keep:
            kept[name] = keep[name]
        elif entry["class_name"] in PASS_THROUGH:
            kept[name] = kept_in
        else:
            kept[name] = None
        if old.weights:
            fresh.set_weights(_slice_weights(old, old.get_weights(), kept_in, keep.get(name)))
    return new


def prune_channels(model, ratio: float):
    """-> (narrower model, {layer: (channels before, after)})."""
    keep = plan(model, ratio)
    widths = {name: (_out_width(model.get_layer(name)), int(len(idx))) for name, idx in keep.items()}
    return narrow(model, keep), widths


def one_shot_sweep(model, x, y, ratios=SWEEP) -> list[dict]:
    """Seed 002's Table 2 for this model: channel ratio removed -> parameters, MACs, test loss
    and accuracy, without fine-tuning."""
    from maskgate import budget
    from maskgate.optimize.prune import test_figures
    from maskgate.quantize import convert_float

    rows = []
    for ratio in ratios:
        narrowed, _ = prune_channels(model, ratio)
        loss, accuracy = test_figures(narrowed, x, y)
        macs = sum(r["macs"] for r in budget.layer_costs(convert_float(narrowed)))
        rows.append({"ratio": ratio, "params": int(narrowed.count_params()), "macs": int(macs),
                     "test_loss": loss, "test_accuracy": accuracy})
    return rows
