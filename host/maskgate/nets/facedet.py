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
def facedet(width: float = 1.0, widths=(8, 16, 32, 48), blocks: int = 3, context: bool = True,
            dropout: float = 0.0, batch_size=None):
    """batch_size=1 for export: the flatten then needs no run-time shape ops (SHAPE,
    STRIDED_SLICE, PACK) in the .tflite."""
    c1, c2, c3, c4 = (max(4, int(round(c * width))) for c in widths)
    inputs = keras.Input(INPUT_SHAPE, batch_size=batch_size, name="pixels")
    x = _conv_bn(inputs, c1, "stem", strides=2)  # 36 x 48
    x = _separable(x, c2, "down1", strides=2)  # 18 x 24
    x = _separable(x, c2, "mid1")
    x = _separable(x, c3, "down2", strides=2)  # 9 x 12
    for i in range(blocks):
        x = _separable(x, c4, f"grid{i + 1}")
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
