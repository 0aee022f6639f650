"""Pieces every architecture shares: the input (contract-sized, pixel scaling inside the
model) and the classification head (sigmoid for two classes, softmax otherwise)."""
from maskgate import contract
from maskgate.tfenv import keras

layers = keras.layers


def pixel_input():
    """Float pixels in [0, 255] -> [-1, 1]. Keeping the scaling inside the model is what lets the
    int8 export take raw `pixel - 128` from the camera (input scale 1.0, zero point -128)."""
    inputs = keras.Input((contract.INPUT_SIZE, contract.INPUT_SIZE, contract.CHANNELS), name="pixels")
    return inputs, layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(inputs)


def head(x, num_classes: int):
    if num_classes == 2:
        return layers.Dense(1, activation="sigmoid", name="prob")(x)
    return layers.Dense(num_classes, activation="softmax", name="prob")(x)
