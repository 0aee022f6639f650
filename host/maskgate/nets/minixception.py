"""Mini-Xception (seed 002): an entry convolution stem and Xception-style residual blocks of two
separable convolutions with a strided 1x1 shortcut. "minixception" has one 128-wide block,
"minixception_128_256" a 128 and a 256 block, the two students of seed 002's Tables 4-5.
Batch-norm momentum is set by `nets.build`."""
from maskgate.tfenv import keras

from . import register
from ._blocks import head, pixel_input

layers = keras.layers


def xception_block(x, filters: int, name: str):
    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False, name=f"{name}_shortcut")(x)
    shortcut = layers.BatchNormalization(name=f"{name}_shortcut_bn")(shortcut)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep1")(x)
    x = layers.BatchNormalization(name=f"{name}_bn1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(x)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep2")(x)
    x = layers.BatchNormalization(name=f"{name}_bn2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return layers.Add(name=f"{name}_add")([x, shortcut])


def _minixception(blocks, name: str, num_classes: int, stem: int, dropout: float, weights):
    inputs, x = pixel_input()
    for i, filters in enumerate((stem, 2 * stem)):
        x = layers.Conv2D(filters, 3, strides=2 if i == 0 else 1, padding="same", use_bias=False, name=f"stem{i + 1}")(x)
        x = layers.BatchNormalization(name=f"stem{i + 1}_bn")(x)
        x = layers.ReLU(name=f"stem{i + 1}_relu")(x)  # 32 -> 16
    for filters in blocks:
        x = xception_block(x, filters, f"block{filters}")  # 16 -> 8 (-> 4)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="drop")(x)
    model = keras.Model(inputs, head(x, num_classes), name=name)
    if weights:
        model.load_weights(weights)
    return model


@register("minixception")
def minixception(num_classes: int = 2, stem: int = 32, dropout: float = 0.2, weights=None):
    return _minixception((128,), "minixception", num_classes, stem, dropout, weights)


@register("minixception_128_256")
def minixception_128_256(num_classes: int = 2, stem: int = 32, dropout: float = 0.2, weights=None):
    return _minixception((128, 256), "minixception_128_256", num_classes, stem, dropout, weights)
