"""A small ResNet: ResNet-8 as in the MLPerf Tiny image-classification benchmark (a 16-filter
stem and three stacks of one residual block each, 16 / 32 / 64 filters), ~78 K parameters."""
from maskgate.tfenv import keras

from . import register
from ._blocks import head, pixel_input

layers = keras.layers


def residual_block(x, filters: int, strides: int, name: str):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    if strides != 1 or x.shape[-1] != filters:
        x = layers.Conv2D(filters, 1, strides=strides, padding="same", use_bias=False, name=f"{name}_shortcut")(x)
        x = layers.BatchNormalization(name=f"{name}_shortcut_bn")(x)
    y = layers.Add(name=f"{name}_add")([x, y])
    return layers.ReLU(name=f"{name}_out")(y)


@register("resnet8")
def resnet8(num_classes: int = 2, filters=(16, 32, 64), dropout: float = 0.2, weights=None):
    inputs, x = pixel_input()
    x = layers.Conv2D(filters[0], 3, padding="same", use_bias=False, name="stem")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, f in enumerate(filters):
        x = residual_block(x, f, 1 if i == 0 else 2, f"stack{i + 1}")  # 32 -> 32 -> 16 -> 8
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="drop")(x)
    model = keras.Model(inputs, head(x, num_classes), name="resnet8")
    if weights:
        model.load_weights(weights)
    return model
