# The model on the board: load it with whichever API the firmware has, run it on the
# 32x32 crop, and turn its output into P(mask) and a label.
#
# - firmware >= 4.5.6: `ml.Model(path)`, predict([img]) -> one array per output tensor;
#   `ram` (the arena, on the GC heap) is an int. 5.0 ignores load_to_fb (it puts a model the
#   heap cannot hold in its UMA pool), which is why it is only ever passed by keyword.
# - older firmware:    `tf.load(path)`,  classify(img) -> objects whose output() is a list;
#   `ram()` is a method there, and the arena is taken from the frame buffer at every call.
# Which one is found by importing, never from the version. Both feed an int8 model
# `pixel - 128` from the RGB565 image expanded to RGB888: the contract the model was exported
# for (input scale 1.0, zero point -128).

import gc
import os

try:
    import hashlib
except ImportError:  # not on every port: the sha256 check is then skipped
    hashlib = None


def file_sha256(path):
    """Hex sha256 of a file, or None where hashlib is missing."""
    if hashlib is None:
        return None
    h = hashlib.sha256()
    buf = bytearray(4096)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf if n == len(buf) else buf[:n])
    return "".join("%02x" % b for b in h.digest())


# The input contract (host/maskgate/contract.py): RGB, int8 fed pixel - 128.
INPUT_CHANNELS = 3
INPUT_SCALE = 1.0
INPUT_ZERO_POINT = -128


def _first(x):
    # the ml API gives one entry per tensor (a tuple on the camera, py_ml.c py_ml_dtype_char_tuple)
    if isinstance(x, (list, tuple)):
        return x[0] if x else None
    return x


def _count(shape):
    n = 1
    for v in shape:
        n *= v
    return n


def _flat(x):
    # ulab/numpy arrays have flatten(); the tf API gives plain lists.
    if hasattr(x, "flatten"):
        return [float(v) for v in x.flatten().tolist()]
    out = []
    for v in x:
        if isinstance(v, (list, tuple)) or hasattr(v, "flatten"):
            out.extend(_flat(v))
        else:
            out.append(float(v))
    return out


class Model:
    """A .tflite loaded with the firmware's API; scores(img) -> its outputs as floats.
    The face detector (facedet.py) uses this directly, the mask classifier through Classifier."""

    def __init__(self, path):
        size = os.stat(path)[6]
        gc.collect()
        free_before = gc.mem_free()
        # OpenMV's own rule: models that would crowd the heap go to the frame buffer.
        load_to_fb = size > (free_before - 64 * 1024)
        try:
            import ml
        except ImportError:
            ml = None
        if ml is not None:
            self.api = "ml"
            self.net = ml.Model(path, load_to_fb=load_to_fb)
        else:
            try:
                import tf
            except ImportError:
                raise RuntimeError("this firmware has neither the ml nor the tf module")
            self.api = "tf"
            self.net = tf.load(path, load_to_fb=load_to_fb)
        self.load_to_fb = load_to_fb
        self.model_bytes = size
        ram = getattr(self.net, "ram", 0)
        self.ram_kind = "method" if callable(ram) else "int"  # tf API (py_tf.c): ram() is a method
        self.arena_bytes = (ram() if callable(ram) else ram) or 0
        # Measured, not assumed: where the model and arena went differs by release (frame
        # buffer with load_to_fb on 4.x, UMA on 5.0; the tf API's arena is not on the heap).
        self.heap_used = max(0, free_before - gc.mem_free())

    def heap_bytes(self):
        """GC heap the loaded model holds (model and arena, where they are on the heap)."""
        return self.heap_used

    def input_shape(self):
        """(height, width, channels) of the model input where the API tells, else None."""
        shape = getattr(self.net, "input_shape", None)
        if callable(getattr(self.net, "input_height", None)):  # the tf API: methods
            return (self.net.input_height(), self.net.input_width(), self.net.input_channels())
        if not shape:
            return None
        shape = shape[0] if isinstance(shape[0], (list, tuple)) else shape
        return tuple(shape[-3:])

    def contract_problems(self, size, values):
        """What breaks the contract, as far as the API tells: the input's size and channels
        (every release), its type and quantization and the output's size (the ml API's
        attributes, py_ml.c py_ml_model_attr; the tf API of 4.5.5 tells only the size). A
        model fed the wrong pixels can open the door for anything, so the firmware refuses it."""
        problems = []
        shape = self.input_shape()
        if shape:
            if shape[0] != size or shape[1] != size:
                problems.append("model input is %dx%d, config.json says %d" % (shape[0], shape[1], size))
            if len(shape) > 2 and shape[2] != INPUT_CHANNELS:
                problems.append("model input has %d channel(s), the camera feeds %d" % (shape[2], INPUT_CHANNELS))
        dtype = _first(getattr(self.net, "input_dtype", None))
        if dtype is not None and dtype != "b":
            problems.append("model input type is %s, not int8" % dtype)
        scale = _first(getattr(self.net, "input_scale", None))
        zero_point = _first(getattr(self.net, "input_zero_point", None))
        if dtype == "b" and zero_point is not None and (
                zero_point != INPUT_ZERO_POINT or scale is None or abs(scale - INPUT_SCALE) > 1e-6):
            problems.append("model input quantization is scale %s, zero point %s; the camera feeds "
                            "pixel - 128 (scale 1, zero point -128)" % (scale, zero_point))
        out = _first(getattr(self.net, "output_shape", None))
        if out is not None and values is not None and _count(out) != values:
            problems.append("model output has %d value(s), config.json needs %d" % (_count(out), values))
        return problems

    def scores(self, img):
        """The model's dequantized outputs for one image, as a flat list of floats."""
        if self.api == "ml":
            return _flat(self.net.predict([img])[0])
        return _flat(self.net.classify(img)[0].output())


class Classifier(Model):
    def __init__(self, path, labels, output, positive_label, threshold):
        self.labels = labels
        self.output = output
        self.positive = labels.index(positive_label)
        self.threshold = threshold
        Model.__init__(self, path)

    def values(self):
        """How many output values config.json's output kind needs."""
        return 1 if self.output == "sigmoid" else len(self.labels)

    def decide(self, scores):
        """(P(positive label), label) from the model outputs."""
        if self.output == "sigmoid":
            if len(scores) != 1:
                raise ValueError("config says sigmoid but the model has %d outputs" % len(scores))
            p = scores[0]
            other = 1 - self.positive
            return p, self.labels[self.positive] if p >= self.threshold else self.labels[other]
        if len(scores) != len(self.labels):
            raise ValueError("the model has %d outputs for %d labels" % (len(scores), len(self.labels)))
        best = 0
        for i in range(1, len(scores)):
            if scores[i] > scores[best]:
                best = i
        return scores[self.positive], self.labels[best]

    def classify(self, img):
        return self.decide(self.scores(img))
