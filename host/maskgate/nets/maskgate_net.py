"""maskgate's own net: a strided 3x3 stem, depthwise-separable blocks that widen as they
downsample, global average pooling, and dropout after every block (the seed paper's finding:
dropout everywhere is what makes a tiny CNN generalise).

Sized for the board (issue targets: <= 64 KB int8, <= 3 M MACs, model + arena <= 100 KB). The
stride-2 stem keeps the largest activations at 16 x 16, which is what keeps the tflite-micro
arena small; a 32 x 32 input still reaches every pixel through the 3x3 stem. Batch
normalisation folds into the convolutions at export, so it costs nothing on the camera.

    32x32x3 -stem s2-> 16x16xC -sep C2 -sep C2 -pool-> 8x8xC2 -sep C3 -pool-> 4x4xC3 -sep C4
            -GAP-> C4 -dropout-> head          (C = 24, 48, 96, 192 at width 1.0)
"""
from maskgate.tfenv import keras

from . import register
from ._blocks import head, pixel_input

layers = keras.layers


def _conv_bn(x, filters, name, kernel=3, strides=1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _separable(x, filters, name, dropout):
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = layers.ReLU(name=f"{name}_dw_relu")(x)
    x = _conv_bn(x, filters, f"{name}_pw", kernel=1)
    return layers.Dropout(dropout, name=f"{name}_drop")(x)


@register("maskgate")
def maskgate_net(num_classes: int = 2, width: float = 1.0, dropout: float = 0.1, head_dropout: float = 0.3,
                 widths=(24, 48, 96, 192)):
    c1, c2, c3, c4 = (max(8, int(c * width)) for c in widths)
    inputs, x = pixel_input()
    x = _conv_bn(x, c1, "stem", strides=2)  # 16 x 16
    x = layers.Dropout(dropout, name="stem_drop")(x)
    x = _separable(x, c2, "block1", dropout)
    x = _separable(x, c2, "block2", dropout)
    x = layers.MaxPooling2D(name="pool1")(x)  # 8 x 8
    x = _separable(x, c3, "block3", dropout)
    x = layers.MaxPooling2D(name="pool2")(x)  # 4 x 4
    x = _separable(x, c4, "block4", dropout)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(head_dropout, name="head_drop")(x)
    return keras.Model(inputs, head(x, num_classes), name="maskgate")
