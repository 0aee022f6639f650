"""Which layers the tfmot wrappers (pruning, clustering, QAT annotation) go on, and the clone
that puts them there.

Only layers with kernels are wrapped: Conv2D, DepthwiseConv2D, SeparableConv2D and Dense. The
pixel_input Rescaling layer must stay as it is (tfmot has no wrapper for it, and it is what gives
the int8 export its pixel - 128 input), and Dropout, pooling, BatchNormalization and merges have
nothing to prune or cluster. The output layer (the one-unit sigmoid head) is left dense too: a
single column of weights has nothing to spare.
"""
from __future__ import annotations

from maskgate.tfenv import keras

KERNEL_LAYERS = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D, keras.layers.Dense)


def output_layer_names(model) -> set[str]:
    return {t._keras_history.layer.name for t in model.outputs}


def wrappable(model, layer, include_output: bool = False) -> bool:
    if not isinstance(layer, KERNEL_LAYERS):
        return False
    return include_output or layer.name not in output_layer_names(model)


def fresh_copy(layer):
    """A new layer with the same config and weights (clones never share variables with the
    source, so wrapping one cannot change the other)."""
    copy = layer.__class__.from_config(layer.get_config())
    if layer.weights:
        copy.build(layer.input_shape)
        copy.set_weights(layer.get_weights())
    return copy


def clone_wrapping(model, wrap, include_output: bool = False):
    """A copy of `model` (same weights) with `wrap(layer)` around every wrappable layer.
    The layer is a trained copy when `wrap` sees it: clustering picks its centroids from it.
    Raises ValueError when nothing in the model can be wrapped."""
    chosen = {layer.name for layer in model.layers if wrappable(model, layer, include_output)}
    if not chosen:
        raise ValueError(f"{model.name} has no Conv2D / DepthwiseConv2D / SeparableConv2D / Dense layer to wrap")

    def clone(layer):
        copy = fresh_copy(layer)
        return wrap(copy) if layer.name in chosen else copy

    return keras.models.clone_model(model, clone_function=clone)

