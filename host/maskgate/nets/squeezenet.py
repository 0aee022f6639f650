"""SqueezeNet (Iandola et al., 2016), the tiny-CNN paper's comparison model, and its "Modified
SqueezeNet" with two fire modules removed.

At 32 x 32 the v1.0 layout is kept (conv1 96 x 7x7/2, fire modules 2-9, max pools after conv1,
fire4 and fire8); pools use "same" padding so the map goes 32 -> 16 -> 8 -> 4 -> 2. The paper's
conv10 (1x1, one filter per class) followed by global average pooling is the same linear map as
global average pooling followed by the shared dense head, which is what is built here.
With one sigmoid output this is ~0.73 M parameters (int8 ~ the paper's 780 KB): over the board's
230 KB, as the paper found; the budget gate refuses it.
"""
from maskgate.tfenv import keras

from . import register
from ._blocks import head, pixel_input

layers = keras.layers

# (name, squeeze, expand) per fire module, v1.0; "pool" marks a 3x3/2 max pool
SQUEEZENET_V1 = (
    ("fire2", 16, 64), ("fire3", 16, 64), ("fire4", 32, 128), "pool",
    ("fire5", 32, 128), ("fire6", 48, 192), ("fire7", 48, 192), ("fire8", 64, 256), "pool",
    ("fire9", 64, 256),
)
# fire8 and fire9 are the two largest modules (~190 K parameters each); without them the int8
# model is ~0.35 M parameters, the paper's 386 KB "Modified SqueezeNet".
MODIFIED = (
    ("fire2", 16, 64), ("fire3", 16, 64), ("fire4", 32, 128), "pool",
    ("fire5", 32, 128), ("fire6", 48, 192), ("fire7", 48, 192),
)


def fire(x, squeeze: int, expand: int, name: str):
    s = layers.Conv2D(squeeze, 1, activation="relu", name=f"{name}_squeeze")(x)
    e1 = layers.Conv2D(expand, 1, activation="relu", name=f"{name}_expand1x1")(s)
    e3 = layers.Conv2D(expand, 3, padding="same", activation="relu", name=f"{name}_expand3x3")(s)
    return layers.Concatenate(name=f"{name}_concat")([e1, e3])


def _squeezenet(modules, name: str, num_classes: int, dropout: float, weights=None):
    inputs, x = pixel_input()
    x = layers.Conv2D(96, 7, strides=2, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    pools = 1
    for module in modules:
        if module == "pool":
            pools += 1
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{pools}")(x)
        else:
            x = fire(x, module[1], module[2], module[0])
    x = layers.Dropout(dropout, name="drop")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, head(x, num_classes), name=name)
    if weights:
        model.load_weights(weights)
    return model


@register("squeezenet")
def squeezenet(num_classes: int = 2, dropout: float = 0.5, weights=None):
    return _squeezenet(SQUEEZENET_V1, "squeezenet", num_classes, dropout, weights)


@register("squeezenet_modified")
def squeezenet_modified(num_classes: int = 2, dropout: float = 0.5, weights=None):
    return _squeezenet(MODIFIED, "squeezenet_modified", num_classes, dropout, weights)
