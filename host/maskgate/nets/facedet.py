"""The face detector: a small stride-8 grid net on a 96 x 72 RGB copy of the frame
(CenterNet / FOMO style), for the door's face stage. Geometry and decoding live in
firmware/facedet.py (the board runs the same decode).

    72x96x3 -conv s2-> 36x48xC1 -sep s2-> 18x24xC2 -sep-> 18x24xC2 -sep s2-> 9x12xC3
            -sep x3 (+ frame context)-> 9x12xC3 -1x1 conv, sigmoid-> 9x12x4 -flatten-> 432

No pixel scaling layer: the first convolution takes pixel values in [0, 255] as they are (its
batch norm does the scaling, and folds into it), so the int8 model takes `pixel - 128` with no
MUL / ADD on the input (issue 20: those cost 8.5 % of the classifier's instructions). "same"
padding pads with pixel value 0 in training and on the board alike (the int8 input's zero
point is pixel 0). The optional frame context (mean over the grid, a 1x1 convolution, added
back to every cell) tells each cell how big the face filling the frame is, which the 3x3
receptive fields alone cannot see for faces larger than about 60 of the 72 input rows.

context="head" adds the same context to the head's 4 logits instead of its 48 features:
grid(x + g) = W x + W g + b for the 1x1 head, so a head-context net with its context projection
set to W (`head_context_from`) computes what a feature-context net does, and may then learn
its own projection. On the emulated M7 (maskgate.m7) the feature-context MEAN and the 48-channel
broadcast ADD were 16 % of the detector's instructions; here the mean is an AVERAGE_POOL_2D
(CMSIS-NN) and the ADD runs on 4 channels.
"""
from maskgate.tfenv import keras

from . import register_detector

layers = keras.layers

# firmware/facedet.py: IN_W, IN_H, COLS, ROWS, CHANNELS (a test holds these equal)
INPUT_SHAPE = (72, 96, 3)
OUTPUTS = 9 * 12 * 4


def _conv_bn(x, filters, name, kernel=3, strides=1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _separable(x, filters, name, strides=1):
    x = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = layers.ReLU(name=f"{name}_dw_relu")(x)
    return _conv_bn(x, filters, f"{name}_pw", kernel=1)


@register_detector("facedet")
def facedet(width: float = 1.0, widths=(8, 16, 32, 48), blocks: int = 3, context=True,
            dropout: float = 0.0, batch_size=None):
    """batch_size=1 for export: the flatten then needs no run-time shape ops (SHAPE,
    STRIDED_SLICE, PACK) in the .tflite. context: True (added to the features), "head" (added
    to the head's logits) or False."""
    c1, c2, c3, c4 = (max(4, int(round(c * width))) for c in widths)
    inputs = keras.Input(INPUT_SHAPE, batch_size=batch_size, name="pixels")
    x = _conv_bn(inputs, c1, "stem", strides=2)  # 36 x 48
    x = _separable(x, c2, "down1", strides=2)  # 18 x 24
    x = _separable(x, c2, "mid1")
    x = _separable(x, c3, "down2", strides=2)  # 9 x 12
    for i in range(blocks):
        x = _separable(x, c4, f"grid{i + 1}")
    if context == "head":
        g = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="context_mean")(x)
        g = layers.Conv2D(c4, 1, name="context_conv")(g)
        g = layers.ReLU(name="context_relu")(g)
        g = layers.Conv2D(4, 1, use_bias=False, name="context_head")(g)
        if dropout:
            x = layers.Dropout(dropout, name="head_drop")(x)
        x = layers.Conv2D(4, 1, name="grid_logits")(x)
        x = layers.Add(name="context_add")([x, g])
        x = layers.Activation("sigmoid", name="grid")(x)
    else:
        if context:
            g = layers.GlobalAveragePooling2D(keepdims=True, name="context_mean")(x)
            g = layers.Conv2D(c4, 1, name="context_conv")(g)
            g = layers.ReLU(name="context_relu")(g)
            x = layers.Add(name="context_add")([x, g])
        if dropout:
            x = layers.Dropout(dropout, name="head_drop")(x)
        x = layers.Conv2D(4, 1, activation="sigmoid", name="grid")(x)
    outputs = layers.Reshape((OUTPUTS,), name="flat")(x)
    return keras.Model(inputs, outputs, name="facedet")


def head_context_from(model, source) -> None:
    """Set a context="head" facedet `model` to compute what the feature-context facedet `source`
    computes: every layer of the same name takes its weights, the head's 1x1 kernel and bias go
    to grid_logits, and the context projection gets the same kernel (W g)."""
    names = {layer.name for layer in model.layers}
    for layer in source.layers:
        if layer.weights and layer.name in names and layer.name != "grid":
            model.get_layer(layer.name).set_weights(layer.get_weights())
    kernel, bias = source.get_layer("grid").get_weights()
    model.get_layer("grid_logits").set_weights([kernel, bias])
    model.get_layer("context_head").set_weights([kernel])
