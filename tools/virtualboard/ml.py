"""`ml` / `uml` (firmware >= 4.5.6) and `tf` on the virtual board, run by tflite-micro.

The engine is tflite-micro (the `tflite_micro` PyPI package, reference kernels), the
interpreter the camera runs (lib/tflm/tflm_backend.cc); its CMSIS-NN kernels are bit-exact to
the reference ones. Every call is recorded (board.inferences: frame, input tensor, outputs)
for parity checks.

What each release accepts (releases.py names the release; the files below are what it follows):
- <= 4.5.5 (src/omv/modules/py_tf.c): only `tf`. tf.load(path, *, load_to_fb=False) -- one
  positional argument, unknown keywords raise; net.classify(img, *, roi, min_scale, scale_mul,
  x_overlap, y_overlap) returns objects whose output() is a list; `len`, `ram`,
  `input_height`, ... are METHODS (py_tf.c:837-906), so `net.ram` is a bound method there.
- 4.5.6 - 4.6 (scripts/libraries/ml/ml/model.py, src/omv/modules/py_ml.c): `ml` is a frozen
  Python class over the C `uml.Model(path, load_to_fb)` (both arguments required): it passes
  its positional arguments on and adds load_to_fb, so ml.Model(path, x) gives the C type three
  positional arguments and raises; other keywords are dropped. `import tf` is the C module
  (py_ml.c: MP_REGISTER_EXTENSIBLE_MODULE(MP_QSTR_tf, ml_module)): Model, no load().
  `ram`, `len`, `input_shape` ... are attributes (py_ml.c py_ml_model_attr).
- 4.7 (ml-core/ml/model.py): the same, and `labels` is read from <model stem>.txt.
- 4.8 (modules/py_ml.c:328-342): C Model(path, load_to_fb, postprocess); the Python class
  passes load_to_fb= and postprocess= on.
- 5.0 (modules/py_ml.c:328-341, ml-core/ml/model.py:36): C Model(path, postprocess);
  load_to_fb is gone -- the Python class silently drops the keyword -- and a model the GC heap
  cannot hold goes to the UMA pool.
An image handed to a model becomes its input tensor the way OpenMV does it (ml/preprocessing.py
Normalization, py_tf.c py_tf_input_callback): drawn into the input with BILINEAR, centred,
SCALE_ASPECT_EXPAND (4.x) or SCALE_ASPECT_IGNORE (5.0) -- the firmware passes the exact size,
so this is a copy -- RGB565 expanded to RGB888 (grayscale for a 1-channel model), and for an
int8 model each pixel p becomes p - 128 (p XOR 0x80) whatever the model's own input
quantization says; uint8 models get p, float models p / 255. ndarray inputs use the model's
scale and zero point with a truncating cast (py_ml.c py_ml_process_input). Outputs come back
dequantized (a postprocess callback gets the raw tensors on 4.8+).

The heap (maskgate.memory Heap and MEMORY, the same rows quantize and deploy plan with): the
model takes its allocation from the GC heap (or the frame buffer with load_to_fb on 4.x, the
UMA pool on 5.0); tflite-micro first plans the arena in the largest free block ("Failed to
allocate tensors" when it cannot), then the release's rounding of it is allocated (MemoryError
when no block holds it). On <= 4.5.5 the arena comes from the frame buffer at every classify.
"""
from __future__ import annotations

import cv2
import numpy as np

from maskgate import budget, memory
from maskgate.digest import sha256_bytes


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


def arena_used(data: bytes, known: int | None = None) -> int:
    """tflite-micro's arena_used_bytes() on the camera for this model: the manifest's figure
    when the board was told it, else measured (bisection, once per model) plus the CMSIS-NN
    scratch (maskgate.budget)."""
    if known:
        return int(known)
    key = sha256_bytes(data)
    if key not in _measured_arena:
        _measured_arena[key] = budget.manifest_arena_used({}, data)
    return _measured_arena[key]


def _fit(rgb: np.ndarray, height: int, width: int, expand: bool) -> np.ndarray:
    if rgb.shape[:2] == (height, width):
        return rgb
    if expand:  # SCALE_ASPECT_EXPAND + CENTER: the centre at the model's aspect fills the input
        h, w = rgb.shape[:2]
        if w * height > h * width:
            cw = max(1, h * width // height)
            rgb = rgb[:, (w - cw) // 2:(w - cw) // 2 + cw]
        else:
            ch = max(1, w * height // width)
            rgb = rgb[(h - ch) // 2:(h - ch) // 2 + ch]
    return cv2.resize(np.ascontiguousarray(rgb), (width, height), interpolation=cv2.INTER_LINEAR)


def pixels_for(img, height: int, width: int, channels: int, expand: bool = True) -> np.ndarray:
    """H x W x C uint8 pixels the model sees for an Image (the OpenMV expansion)."""
    rgb = _fit(img.rgb888(), height, width, expand)
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


def _from_array(values, shape, dtype, scale: float, zero_point: int) -> np.ndarray:
    # py_ml.c py_ml_process_input: (int8_t)((value / scale) + zero_point), a truncating cast
    values = np.asarray(values, dtype=np.float64)
    if tuple(values.shape) != tuple(shape):
        raise ValueError("Input shape does not match the model input shape")
    if dtype == np.float32:
        return values.astype(np.float32)
    return np.trunc(values / (scale or 1.0) + zero_point).astype(np.int64).astype(dtype)


class _Engine:
    """A model file loaded the way `release` loads it: the interpreter and the heap taken."""

    def __init__(self, board, path, load_to_fb: bool):
        release = board.release
        mem = memory.for_release(release.version)
        data = board.card.read_bytes(path)
        try:
            used = arena_used(data, board.arena_for(data))  # each model its own figure
            self._interp = _interpreter(data, mem.arena_allocation(used))
            self._ins = _details(data, self._interp, True)
            self._outs = _details(data, self._interp, False)
        except Exception as e:
            raise ValueError(f"Failed to load the model: {e}") from None
        heap = board.heap
        self.model_in = "heap"
        if load_to_fb and mem.model_spill == "framebuffer":
            if len(data) > board.framebuffer_free():
                raise MemoryError("FB Alloc Collision!!!")
            self.model_in = "framebuffer"  # fb_alloc(size), kept until the model is freed
            board.fb_models += len(data)
        else:
            try:
                heap.take(mem.model_allocation(len(data)), "the model")
            except MemoryError:
                if mem.model_spill != "uma":  # 4.x: xalloc raises; 5.0: m_malloc_maybe, then uma_malign
                    raise
                self.model_in = "uma"
        if mem.arena_in == "heap":
            if used > heap.max_free():  # the temporary interpreter gets the largest free block
                raise ValueError("Failed to allocate tensors")
            heap.take(mem.arena_allocation(used), "the tensor arena")
        self.board = board
        self.size = len(data)
        self.ram = mem.arena_reported(used)
        self.expand = release.aspect_expand
        self.input = self._ins[0]

    def tensor(self, arg) -> np.ndarray:
        shape = self.input["shape"]
        if hasattr(arg, "rgb888"):
            _, h, w, c = shape
            return to_tensor(pixels_for(arg, h, w, c, self.expand), self.input["dtype"])[None]
        if callable(arg):
            raise ValueError("virtual board: callable model inputs are not emulated")
        scale, zero_point = self.input["quantization"]
        return _from_array(arg, shape, self.input["dtype"], scale, zero_point)

    def run(self, tensor: np.ndarray, dequantize: bool = True) -> list[np.ndarray]:
        self._interp.set_input(np.ascontiguousarray(tensor), 0)
        self._interp.invoke()
        outputs = []
        for out in self._outs:
            raw = np.array(self._interp.get_output(out["index"]))
            scale, zero_point = out["quantization"]
            if dequantize and out["dtype"] != np.float32:
                outputs.append((raw.astype(np.float32) - zero_point) * np.float32(scale or 1.0))
            else:
                outputs.append(raw if not dequantize else raw.astype(np.float32))
        self.board.record_inference(tensor[0].copy(), [o.copy() for o in outputs])
        return outputs


_DTYPE_CODE = {np.int8: "b", np.uint8: "B", np.int16: "h", np.uint16: "H", np.float32: "f"}


class UmlModel:
    """The C type `uml.Model` (and `tf.Model` on 4.5.6+): modules/py_ml.c of the release."""

    def __init__(self, board, *args, **kwargs):
        # mp_arg_parse_all_kw_array over the release's allowed arguments (py/argcheck.c):
        # every argument is required and may be given by position or keyword.
        names = board.release.uml_args
        if len(args) > len(names):
            raise TypeError("extra positional arguments given")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names or key in values:
                raise TypeError("extra keyword arguments given")
            values[key] = value
        for name in names:
            if name not in values:
                raise TypeError(f"'{name}' argument required")
        self._engine = _Engine(board, values["path"], bool(values.get("load_to_fb", False)))
        self.postprocess = values.get("postprocess")
        e = self._engine
        self.len = e.size
        self.ram = e.ram
        self.input_shape = [d["shape"] for d in e._ins]
        self.input_dtype = [_DTYPE_CODE.get(d["dtype"], "f") for d in e._ins]
        self.input_scale = [d["quantization"][0] or 1.0 for d in e._ins]
        self.input_zero_point = [d["quantization"][1] for d in e._ins]
        self.output_shape = [d["shape"] for d in e._outs]
        self.output_dtype = [_DTYPE_CODE.get(d["dtype"], "f") for d in e._outs]
        self.output_scale = [d["quantization"][0] or 1.0 for d in e._outs]
        self.output_zero_point = [d["quantization"][1] for d in e._outs]
        self.labels = None

    def predict(self, args, callback=None, **extra):
        if extra:
            raise TypeError("extra keyword arguments given")
        if not isinstance(args, list):
            raise ValueError("Unsupported input type. Expected a list")
        if len(args) != len(self._engine._ins):
            raise ValueError("predict() takes one input per input tensor")
        post = callback or self.postprocess
        outputs = self._engine.run(self._engine.tensor(args[0]), dequantize=post is None)
        return post(self, args, outputs) if post is not None else outputs


class MlModule:
    """`import ml`: the frozen ml package's Model class over uml.Model (its model.py of the
    release: what it passes on and what it drops)."""

    def __init__(self, board):
        self._board = board

    def Model(self, *args, **kwargs):  # noqa: N802
        board = self._board
        extra = [kwargs.get(name, default) for name, default in board.release.ml_passes]
        model = UmlModel(board, *args, *extra)
        if board.release.model_labels:  # 4.7+: labels from <model stem>.txt
            try:
                path = str(args[0]).split(".")[0] + ".txt"
                model.labels = [line.rstrip("\n") for line in board.card.read_bytes(path).decode().splitlines()]
            except Exception:
                model.labels = None
        return model


class UmlModule:
    """`import uml` (and `import tf` on 4.5.6+): the C module, Model only."""

    def __init__(self, board):
        self._board = board

    def Model(self, *args, **kwargs):  # noqa: N802
        return UmlModel(self._board, *args, **kwargs)


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


class TfModel:
    """What tf.load() returns on <= 4.5.5 (py_tf.c): its figures are methods."""

    def __init__(self, board, path, load_to_fb):
        self._engine = _Engine(board, path, load_to_fb)
        self._board = board

    def len(self):
        return self._engine.size

    def ram(self):  # py_tf.c py_tf_ram: a method on this release
        return self._engine.ram

    def input_height(self):
        return int(self._engine.input["shape"][1])

    def input_width(self):
        return int(self._engine.input["shape"][2])

    def input_channels(self):
        return int(self._engine.input["shape"][3])

    def classify(self, img, *, roi=None, min_scale=1.0, scale_mul=0.5, x_overlap=0, y_overlap=0):
        # py_tf.c:412-516; the default (min_scale 1) is one window: the whole image (or roi).
        # The arena is fb_alloc'd for the call (:454): the frame buffer must hold it.
        if not 0 < min_scale <= 1:
            raise ValueError("0 < min_scale <= 1")
        if self._engine.ram > self._board.framebuffer_free():
            raise MemoryError("FB Alloc Collision!!!")
        if roi is not None:
            img = img.copy(roi=roi)
        outputs = self._engine.run(self._engine.tensor(img))
        return [TfClassification((0, 0, img.width(), img.height()), [float(v) for v in outputs[0].reshape(-1)])]


class TfModule:
    """`import tf` on <= 4.5.5 (py_tf.c globals: load, classify, ...)."""

    def __init__(self, board):
        self._board = board

    def load(self, path, *args, **kwargs):
        # py_tf.c:221-231: load_to_fb is the only (keyword-only) argument
        if args:
            raise TypeError("extra positional arguments given")
        if set(kwargs) - {"load_to_fb"}:
            raise TypeError("extra keyword arguments given")
        return TfModel(self._board, path, bool(kwargs.get("load_to_fb", False)))

    def classify(self, path, img, **kw):
        return self.load(path).classify(img, **kw)
