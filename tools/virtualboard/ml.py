"""`ml` (firmware >= 4.5.6) and `tf` (older) on the virtual board, run by tflite-micro.

An image handed to a model becomes its input tensor the way OpenMV does it: RGB565 expanded to
RGB888 (grayscale for a 1-channel model), and for an int8 model each pixel p becomes p - 128
(p XOR 0x80) whatever the model's own input quantization says; uint8 models get p, float
models p / 255. An image whose size is not the model's is stretched bilinearly (the firmware
here always passes the exact size). Outputs come back dequantized, one float array per output
tensor (ml) or one object whose output() is a list (tf). The engine is tflite-micro (the
`tflite_micro` PyPI package, reference kernels), the interpreter the camera runs
(lib/tflm/tflm_backend.cc); its CMSIS-NN kernels are bit-exact to the reference ones.

Every call is recorded (board.inferences: frame, input tensor, outputs) for parity checks.

The heap: loading a model takes its size from the GC heap (unless load_to_fb) plus the
tensor arena (align16(arena) + 512 bytes, as OpenMV allocates it; the arena is the manifest's
arena_bytes_board when the board knows it, else tflite-micro's own arena measured by bisection
(maskgate.budget) plus the CMSIS-NN scratch).
A model that does not fit raises MemoryError, like on the camera.
"""
from __future__ import annotations

import cv2
import numpy as np


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


def _interpreter(data: bytes, arena_size: int):
    from tflite_micro.python.tflite_micro import runtime

    # The Python side of the package unpacks the whole flatbuffer first (a damaged file
    # raises here instead of reaching the C++ interpreter).
    return runtime.Interpreter.from_bytes(data, arena_size=arena_size)


def _details(data: bytes, interp, inputs: bool) -> list[dict]:
    """Every input (or output) tensor's details. tflite-micro answers one index at a time
    (and complains on stderr past the end), so the count comes from the flatbuffer."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    graph = schema.Model.GetRootAsModel(data, 0).Subgraphs(0)
    count = graph.InputsLength() if inputs else graph.OutputsLength()
    getter = interp.get_input_details if inputs else interp.get_output_details
    out = []
    for i in range(count):
        d = getter(i)
        q = d["quantization_parameters"]
        scale = float(q["scales"][0]) if len(q["scales"]) else 0.0
        zero_point = int(q["zero_points"][0]) if len(q["zero_points"]) else 0
        out.append({"index": i, "shape": tuple(int(v) for v in d["shape"]), "dtype": d["dtype"],
                    "quantization": (scale, zero_point)})
    return out


_measured_arena: dict[str, int] = {}


def _board_arena(data: bytes) -> int:
    # Without the manifest's figure: tflite-micro's own arena (bisection, once per model)
    # plus the CMSIS-NN scratch, allocated the OpenMV way (maskgate.budget).
    import hashlib

    from maskgate import budget

    key = hashlib.sha256(data).hexdigest()
    if key not in _measured_arena:
        _measured_arena[key] = budget.board_arena_bytes(budget.arena_bytes(data), budget.layer_costs(data))
    return _measured_arena[key]


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
            ram = int(board.arena_bytes or _board_arena(data))
            self._interp = _interpreter(data, ram)
        except Exception as e:
            raise ValueError(f"Failed to load the model: {e}") from None
        self._board = board
        self._ins = _details(data, self._interp, True)
        self._outs = _details(data, self._interp, False)
        self._in = self._ins[0]
        if not load_to_fb:
            board.heap.take(len(data), "the model")
        board.heap.take(ram, "the tensor arena")
        self.len = len(data)
        self.ram = ram
        self.load_to_fb = bool(load_to_fb)

    def _run(self, img) -> list[np.ndarray]:
        shape = self._in["shape"]
        _, h, w, c = shape
        if hasattr(img, "rgb888"):
            tensor = to_tensor(pixels_for(img, h, w, c), self._in["dtype"])[None]
        else:
            tensor = np.asarray(img, dtype=self._in["dtype"]).reshape(shape)
        self._interp.set_input(np.ascontiguousarray(tensor), 0)
        self._interp.invoke()
        outputs = []
        for out in self._outs:
            raw = np.asarray(self._interp.get_output(out["index"]))
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
        self.input_shape = [self._in["shape"]]
        self.input_dtype = [dtype_code.get(self._in["dtype"], "f")]
        self.input_scale = [float(self._in["quantization"][0])]
        self.input_zero_point = [int(self._in["quantization"][1])]
        self.output_shape = [o["shape"] for o in self._outs]
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
