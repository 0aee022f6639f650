"""The seed paper's tiny CNN (Mohan et al., 2021), rebuilt: three 3x3 conv stages and one dense
layer, with dropout after every layer (the paper's main regularisation finding). About 128 K
parameters as published; `width` scales every layer."""
from maskgate.tfenv import keras

from . import register
from ._blocks import head, pixel_input

layers = keras.layers


@register("tinycnn")
def tinycnn(num_classes: int = 2, width: float = 1.0, dropout: float = 0.2, dense: int = 32):
    inputs, x = pixel_input()
    for i, filters in enumerate((32, 64, 128)):
        x = layers.Conv2D(int(filters * width), 3, padding="same", activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling2D(name=f"pool{i + 1}")(x)  # 32 -> 16 -> 8 -> 4
        x = layers.Dropout(dropout, name=f"drop{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(int(dense * width), activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="drop_dense")(x)
    return keras.Model(inputs, head(x, num_classes), name="tinycnn")
