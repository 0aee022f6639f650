"""Running .tflite models on the PC: LiteRT for batches, tflite-micro for agreement checks.

LiteRT runs without its default XNNPACK delegate: XNNPACK requantizes int8 with its own
rounding and drifts a few steps from tflite-micro, whereas LiteRT's built-in kernels agree with
tflite-micro's reference kernels (and so with CMSIS-NN, which is bit-exact to them) exactly.
Host int8 figures therefore are the board's int8 figures.

Both take contract pixels (uint8, N x 32 x 32 x 3) and give class probabilities, so callers
never handle quantization themselves: int8 models get `pixel - 128` (the OpenMV rule), float
models get the pixels as floats, and int8 outputs are dequantized with the model's own scale.
"""
from __future__ import annotations

import numpy as np

from maskgate import contract


class LiteModel:
    def __init__(self, tflite_bytes: bytes, batch: int = 256):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.interpreter = Interpreter(
            model_content=tflite_bytes, num_threads=2,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        self.input = self.interpreter.get_input_details()[0]
        self.batch = batch
        self._allocated_for = None

    @property
    def is_int8(self) -> bool:
        return self.input["dtype"] == np.int8

    def tensor_for(self, pixels: np.ndarray) -> np.ndarray:
        return contract.to_int8_input(pixels) if self.is_int8 else contract.to_float_input(pixels)

    def raw(self, pixels: np.ndarray) -> np.ndarray:
        """Raw output tensor (int8 for int8 models) for a batch of pixels."""
        outs = []
        for start in range(0, len(pixels), self.batch):
            chunk = self.tensor_for(pixels[start : start + self.batch])
            if self._allocated_for != len(chunk):
                self.interpreter.resize_tensor_input(self.input["index"], [len(chunk), *chunk.shape[1:]])
                self.interpreter.allocate_tensors()
                self._allocated_for = len(chunk)
            self.interpreter.set_tensor(self.input["index"], chunk)
            self.interpreter.invoke()
            out = self.interpreter.get_output_details()[0]
            outs.append(self.interpreter.get_tensor(out["index"]).copy())
        return np.concatenate(outs) if outs else np.zeros((0, 1))

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        out = self.interpreter.get_output_details()[0]
        scale, zero_point = out["quantization"]
        if out["dtype"] == np.int8 and scale:
            return (raw.astype(np.float32) - zero_point) * scale
        return raw.astype(np.float32)

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """N x num_classes class probabilities (a sigmoid output becomes [1 - p, p])."""
        p = self.dequantize(self.raw(pixels))
        return to_class_probabilities(p)


def decide(probs: np.ndarray, labels, threshold: float) -> np.ndarray:
    """Class index per row, as the firmware decides: binary models use the threshold on
    P(positive label), the others the most probable class."""
    if len(labels) == 2:
        positive = list(labels).index(contract.POSITIVE_LABEL)
        return np.where(probs[:, positive] >= threshold, positive, 1 - positive)
    return probs.argmax(axis=1)


def to_class_probabilities(outputs: np.ndarray) -> np.ndarray:
    outputs = np.asarray(outputs, dtype=np.float32).reshape(len(outputs), -1)
    if outputs.shape[1] == 1:
        return np.concatenate([1.0 - outputs, outputs], axis=1)
    return outputs


def micro_raw(tflite_bytes: bytes, pixels: np.ndarray, arena_size: int = 512 * 1024) -> np.ndarray:
    """Raw int8 outputs from tflite-micro (reference kernels), one image at a time."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(tflite_bytes, arena_size=arena_size)
    outs = []
    for image in contract.to_int8_input(pixels):
        interpreter.set_input(image[None], 0)
        interpreter.invoke()
        outs.append(np.array(interpreter.get_output(0)).reshape(-1))
    return np.stack(outs)
