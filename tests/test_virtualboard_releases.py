"""Each emulated OpenMV release accepts what it accepts, rejects what it rejects and ignores
what it ignores -- as read from the OpenMV source (tools/virtualboard/releases.py names the
files). A probe script runs on the virtual board of every release and reports what each call
did; the table below is what the source says it must do. Plus the GPIO pin model (glitch
without value=, floating input) the door's safety rests on."""
import numpy as np
import pytest

from maskgate import memory
from maskgate.board.virtualboard import VirtualBoard

PROBE = r'''
import gc, image, os, omv, pyb

def attempt(label, f):
    try:
        print(label, "=", repr(f()))
    except Exception as e:
        print(label, "!", type(e).__name__)

def loads(path, *args, **kw):
    image.HaarCascade(path, *args, **kw)
    return True

attempt("builtin frontalface", lambda: loads("frontalface", stages=25))
attempt("builtin eye", lambda: loads("eye", stages=24))
attempt("rom frontalface", lambda: loads("/rom/haarcascade_frontalface.cascade", stages=25))
attempt("rom eye", lambda: loads("/rom/haarcascade_eye.cascade"))
attempt("stages by position", lambda: loads(CASCADE, 10))
attempt("unknown keyword", lambda: loads(CASCADE, colour=1))
c = image.HaarCascade(CASCADE)
img = image.Image(32, 32, image.GRAYSCALE)
attempt("find_features scale_factor", lambda: img.find_features(c, threshold=0.5, scale_factor=1.5))
attempt("find_features scale", lambda: img.find_features(c, threshold=0.5, scale=1.5))
attempt("find_features positional", lambda: img.find_features(c, 0.5, 1.5))

def has(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False

attempt("import ml", lambda: has("ml"))
attempt("import tf", lambda: has("tf"))
if has("ml"):
    import ml
    attempt("tf.load exists", lambda: hasattr(__import__("tf"), "load"))
    attempt("ml.Model positional", lambda: ml.Model("m.tflite", True) is not None)
    gc.collect(); before = gc.mem_free()
    net = ml.Model("m.tflite", load_to_fb=True, colour="ignored")
    attempt("load_to_fb keeps the model off the heap", lambda: before - gc.mem_free() < net.len)
    attempt("ram is an int", lambda: isinstance(net.ram, int))
    attempt("labels", lambda: net.labels)
    import uml
    attempt("uml second argument", lambda: type(uml.Model("m.tflite", lambda m, i, o: "post").predict([img])).__name__)
else:
    import tf
    net = tf.load("m.tflite", load_to_fb=False)
    attempt("ram is an int", lambda: isinstance(net.ram, int))
    attempt("ram() is a method", lambda: net.ram() > 0)
    attempt("tf.load positional", lambda: tf.load("m.tflite", True))
    attempt("tf.load unknown keyword", lambda: tf.load("m.tflite", colour=1))
    attempt("classify", lambda: len(net.classify(image.Image(32, 32, image.RGB565))[0].output()))
attempt("cwd", lambda: os.getcwd())
attempt("rom listed", lambda: "rom" in os.listdir("/"))
attempt("omv ints", lambda: (omv.version_major, omv.version_minor, omv.version_patch))
attempt("omv.disable_fb", lambda: hasattr(omv, "disable_fb"))
'''

# What the OpenMV source says (file and lines in releases.py / image.py / ml.py)
EXPECTED = {
    "builtin frontalface": {"4.5.5": "True", "4.5.9": "True", "4.8.1": "!OSError", "5.0.0": "!OSError"},
    "builtin eye": {"4.5.5": "True", "4.5.9": "!OSError", "4.8.1": "!OSError", "5.0.0": "!OSError"},
    "rom frontalface": {"4.5.5": "!OSError", "4.5.9": "!OSError", "4.8.1": "True", "5.0.0": "True"},
    "rom eye": {"4.5.5": "!OSError", "4.5.9": "!OSError", "4.8.1": "True", "5.0.0": "True"},
    "stages by position": {"4.5.5": "True", "4.5.9": "True", "4.8.1": "True", "5.0.0": "!TypeError"},
    "unknown keyword": {"4.5.5": "True", "4.5.9": "True", "4.8.1": "True", "5.0.0": "!TypeError"},
    "find_features scale_factor": {"4.5.5": "[]", "4.5.9": "[]", "4.8.1": "[]", "5.0.0": "!TypeError"},
    "find_features scale": {"4.5.5": "[]", "4.5.9": "[]", "4.8.1": "[]", "5.0.0": "[]"},  # 4.x ignores it
    "find_features positional": {"4.5.5": "[]", "4.5.9": "[]", "4.8.1": "[]", "5.0.0": "!TypeError"},
    "import ml": {"4.5.5": "False", "4.5.9": "True", "4.8.1": "True", "5.0.0": "True"},
    "import tf": {"4.5.5": "True", "4.5.9": "True", "4.8.1": "True", "5.0.0": "True"},
    "tf.load exists": {"4.5.9": "False", "4.8.1": "False", "5.0.0": "False"},
    "ml.Model positional": {"4.5.9": "!TypeError", "4.8.1": "!TypeError", "5.0.0": "!TypeError"},
    "load_to_fb keeps the model off the heap": {"4.5.9": "True", "4.8.1": "True", "5.0.0": "False"},
    "ram is an int": {"4.5.5": "False", "4.5.9": "True", "4.8.1": "True", "5.0.0": "True"},
    "ram() is a method": {"4.5.5": "True"},
    "labels": {"4.5.9": "None", "4.8.1": "['no_mask', 'mask']", "5.0.0": "['no_mask', 'mask']"},
    # 4.5.9: load_to_fb (any true value); 4.8: postprocess is required too; 5.0: the post-processor
    "uml second argument": {"4.5.9": "'list'", "4.8.1": "!TypeError", "5.0.0": "'str'"},
    "tf.load positional": {"4.5.5": "!TypeError"},
    "tf.load unknown keyword": {"4.5.5": "!TypeError"},
    "classify": {"4.5.5": "1"},
    "cwd": {"4.5.5": "'/'", "4.5.9": "'/'", "4.8.1": "'/sdcard'", "5.0.0": "'/sdcard'"},
    "rom listed": {"4.5.5": "False", "4.5.9": "False", "4.8.1": "True", "5.0.0": "True"},
    "omv ints": {"4.5.5": "(4, 5, 5)", "4.5.9": "(4, 5, 9)", "4.8.1": "(4, 8, 1)", "5.0.0": "(5, 0, 0)"},
    "omv.disable_fb": {"4.5.5": "True", "4.5.9": "True", "4.8.1": "False", "5.0.0": "False"},
}
CASCADE = {"4.5.5": "frontalface", "4.5.9": "frontalface", "4.8.1": "/rom/haarcascade_frontalface.cascade",
           "5.0.0": "/rom/haarcascade_frontalface.cascade"}


def probe(tmp_path, firmware, board_model, script):
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)], tmp_path / "card", firmware=firmware)
    board.card.write_bytes("m.tflite", board_model["path"].read_bytes())
    board.card.write_bytes("m.txt", b"no_mask\nmask\n")  # 4.7+: labels from <model stem>.txt
    board.card.write_bytes("main.py", script.encode())
    result = board.run()
    assert result.crash is None, result.crash
    got = {}
    for line in board.console:
        for sep in (" = ", " ! "):
            if sep in line:
                label, value = line.split(sep, 1)
                got[label] = ("!" if sep == " ! " else "") + value
    return board, got


@pytest.mark.parametrize("firmware", memory.EMULATED)
def test_each_release_accepts_rejects_and_ignores_what_its_source_does(board_model, tmp_path, firmware):
    board, got = probe(tmp_path, firmware, board_model, f"CASCADE = {CASCADE[firmware]!r}\n" + PROBE)
    want = {label: by_release[firmware] for label, by_release in EXPECTED.items() if firmware in by_release}
    assert {label: got.get(label) for label in want} == want


def test_a_pin_made_an_output_without_value_glitches_through_the_wrong_level(tmp_path):
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)], tmp_path / "card")
    board.card.write_bytes("main.py", b"""
import pyb
a = pyb.Pin("P1", pyb.Pin.OUT_PP)           # the old way: drives the reset level (0) ...
a.value(1)                                    # ... until told otherwise
b = pyb.Pin("P2", pyb.Pin.OUT_PP, value=1)   # value= first, then output: never 0
c = pyb.Pin("P3", pyb.Pin.IN)                 # an input: not driven
d = pyb.Pin("P4", pyb.Pin.OUT_OD, value=1)   # open drain at 1: released
e = pyb.Pin("P5")                             # no mode: nothing configured
e.value(1)                                    # the output register only
print("reads", c.value(), b.value(), c.mode() == pyb.Pin.IN)
try:
    pyb.Pin("P6", 99)
except ValueError as err:
    print("mode", err)
""")
    assert board.run().crash is None
    pins = {name: [v for _, v in history] for name, history in board.recorder.pins.items()}
    assert pins == {"P1": [0, 1], "P2": [1]}  # P3-P5 never drove anything
    assert [board.recorder.gpio[p]["mode"] for p in ("P3", "P4", "P5")] == [0, 0x11, 3]  # IN, OUT_OD, analog
    assert "reads 0 1 True" in board.console and "mode invalid pin mode: 99" in board.console


def test_a_reset_releases_the_pins(board_model, tmp_path):
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)] * 2, tmp_path / "card")
    board.install(board_model["path"], board_model["manifest"], **{"door.active_high": False})
    board.run()
    board.run()  # boots again: between the two boots P0 floats (the relay's pull resistor holds it)
    assert [v for _, v in board.relay_levels()] == [1, None, 1]
    assert {s for _, s in board.door_events()} == {"closed"}


def test_an_unknown_release_is_refused_with_the_choices():
    from maskgate.errors import DataError

    with pytest.raises(DataError, match="4.5.5, 4.5.9, 4.8.1, 5.0.0"):
        VirtualBoard([], firmware="4.6.0")
