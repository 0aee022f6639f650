"""`ml` (firmware >= 4.5.6) and `tf` (older) on the virtual board, backed by LiteRT.

An image handed to a model becomes its input tensor the way OpenMV does it: RGB565 expanded to
RGB888 (grayscale for a 1-channel model), and for an int8 model each pixel p becomes p - 128
(p XOR 0x80) whatever the model's own input quantization says; uint8 models get p, float
models p / 255. An image whose size is not the model's is stretched bilinearly (the firmware
here always passes the exact size). Outputs come back dequantized, one float array per output
tensor (ml) or one object whose output() is a list (tf). The kernels are LiteRT's builtin ones
(no XNNPACK), which agree with tflite-micro on int8 models.

Every call is recorded (board.inferences: frame, input tensor, outputs) for parity checks.

The heap: loading a model takes its size from the GC heap (unless load_to_fb) plus the
tensor arena (align16(arena) + 512 bytes, as OpenMV allocates it; the arena is the manifest's
arena_bytes_board when the board knows it, else the sum of the model's activation tensors).
A model that does not fit raises MemoryError, like on the camera.
"""
from __future__ import annotations

import cv2
import numpy as np

ARENA_OVERHEAD = 512


class Heap:
    """A model of the MicroPython GC heap (numbers, not a measurement): `total` bytes, of which
    the interpreter, the firmware's modules and buffers use `base`; models and arenas come off
    the rest. gc.mem_free() reports what is left."""

    def __init__(self, total: int, base: int = 48 * 1024):
        self.total = int(total)
        self.base = int(base)
        self.allocated = 0

    def free(self) -> int:
        return max(0, self.total - self.base - self.allocated)

    def take(self, n: int, what: str) -> None:
        if n > self.free():
            raise MemoryError(f"memory allocation failed, allocating {n} bytes for {what}")
        self.allocated += n


def _interpreter(data: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # LiteRT's builtin kernels, not the default XNNPACK delegate: XNNPACK rounds int8 ops
    # differently and can land a few quantization steps away from tflite-micro (the board's
    # engine, whose CMSIS-NN kernels match its reference kernels bit for bit).
    interp = Interpreter(model_content=data, num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    return interp


def _estimate_arena(interp) -> int:
    # Without the manifest's measured arena: every activation (graph input and op output)
    # counted once, no reuse -- an upper bound of what tflite-micro plans.
    sizes = {t["index"]: int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize
             for t in interp.get_tensor_details()}
    live = {d["index"] for d in interp.get_input_details()}
    for op in interp._get_ops_details():
        live.update(int(i) for i in op["outputs"])
    return sum(sizes.get(i, 0) for i in live)


def pixels_for(img, height: int, width: int, channels: int) -> np.ndarray:
    """H x W x C uint8 pixels the model sees for an Image (the OpenMV expansion)."""
    rgb = img.rgb888()
    if rgb.shape[:2] != (height, width):
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
    if channels == 1:
        from .image import luma

        return luma(rgb)[..., None]
    return rgb


def to_tensor(pixels: np.ndarray, dtype) -> np.ndarray:
    if dtype == np.int8:
        return (pixels.astype(np.uint8) ^ 0x80).view(np.int8)  # p XOR 0x80 == p - 128
    if dtype == np.uint8:
        return pixels.astype(np.uint8)
    return pixels.astype(np.float32) / 255.0


class _LoadedModel:
    def __init__(self, board, path, load_to_fb):
        data = board.card.read_bytes(path)
        try:
            self._interp = _interpreter(data)
        except Exception as e:
            raise ValueError(f"Failed to load the model: {e}") from None
        self._board = board
        self._in = self._interp.get_input_details()[0]
        self._outs = self._interp.get_output_details()
        arena = board.arena_bytes or _estimate_arena(self._interp)
        ram = ((arena + 15) // 16) * 16 + ARENA_OVERHEAD
        if not load_to_fb:
            board.heap.take(len(data), "the model")
        board.heap.take(ram, "the tensor arena")
        self.len = len(data)
        self.ram = ram
        self.load_to_fb = bool(load_to_fb)

    def _run(self, img) -> list[np.ndarray]:
        shape = self._in["shape"]
        _, h, w, c = (int(v) for v in shape)
        if hasattr(img, "rgb888"):
            tensor = to_tensor(pixels_for(img, h, w, c), self._in["dtype"])[None]
        else:
            tensor = np.asarray(img, dtype=self._in["dtype"]).reshape(shape)
        self._interp.set_tensor(self._in["index"], tensor)
        self._interp.invoke()
        outputs = []
        for out in self._outs:
            raw = self._interp.get_tensor(out["index"])
            scale, zero_point = out["quantization"]
            if out["dtype"] in (np.int8, np.uint8) and scale:
                outputs.append((raw.astype(np.float32) - zero_point) * scale)
            else:
                outputs.append(raw.astype(np.float32))
        self._board.record_inference(tensor[0].copy(), [o.copy() for o in outputs])
        return outputs


class Model(_LoadedModel):
    """ml.Model(path, load_to_fb=False)."""

    def __init__(self, board, path, load_to_fb=False):
        super().__init__(board, path, load_to_fb)
        dtype_code = {np.int8: "b", np.uint8: "B", np.float32: "f"}
        self.input_shape = [tuple(int(v) for v in self._in["shape"])]
        self.input_dtype = [dtype_code.get(self._in["dtype"], "f")]
        self.input_scale = [float(self._in["quantization"][0])]
        self.input_zero_point = [int(self._in["quantization"][1])]
        self.output_shape = [tuple(int(v) for v in o["shape"]) for o in self._outs]
        self.output_dtype = [dtype_code.get(o["dtype"], "f") for o in self._outs]
        self.output_scale = [float(o["quantization"][0]) for o in self._outs]
        self.output_zero_point = [int(o["quantization"][1]) for o in self._outs]

    def predict(self, args, callback=None):
        if not isinstance(args, (list, tuple)) or len(args) != 1:
            raise ValueError("predict() takes a list with one input per input tensor")
        outputs = self._run(args[0])
        return callback(self, args, outputs) if callback else outputs


class MlModule:
    def __init__(self, board):
        self._board = board

    def Model(self, path, load_to_fb=False, **_ignored):  # noqa: N802
        return Model(self._board, path, load_to_fb)


class TfClassification:
    def __init__(self, rect, output):
        self._rect = rect
        self._output = output

    def rect(self):
        return self._rect

    def x(self):
        return self._rect[0]

    def y(self):
        return self._rect[1]

    def w(self):
        return self._rect[2]

    def h(self):
        return self._rect[3]

    def output(self):
        return self._output


class TfModel(_LoadedModel):
    """What tf.load() returns on older firmware."""

    def classify(self, img, roi=None, min_scale=1.0, scale_mul=0.5, x_overlap=0, y_overlap=0):
        if roi is not None:
            img = img.copy(roi=roi)
        outputs = self._run(img)
        return [TfClassification((0, 0, img.width(), img.height()), [float(v) for v in outputs[0].reshape(-1)])]

    def input_height(self):
        return int(self._in["shape"][1])

    def input_width(self):
        return int(self._in["shape"][2])

    def input_channels(self):
        return int(self._in["shape"][3])


class TfModule:
    def __init__(self, board):
        self._board = board

    def load(self, path, load_to_fb=False):
        return TfModel(self._board, path, load_to_fb)

    def classify(self, path, img, **kw):
        return self.load(path).classify(img, **kw)
