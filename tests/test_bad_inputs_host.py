"""Bad inputs through every host command that takes them (issue 17), run in-process with click's
CliRunner through the `maskgate` group, so they stay fast: none of these imports TensorFlow
(one test at the end does, for a damaged model.keras).

Every case asserts the exit code the README's table documents for it, a message naming the file
or key, no traceback, and that every file that was there before is byte-identical afterwards.
Case ids read `c<class>-x<exit code>-<what>` (the issue's classes: 1 a bad setting, 2 an
existing output, 3 a silent wrong result, 4 a traceback); `bench/bad_inputs_count.py` counts them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from maskgate.cli import main
from maskgate.errors import DataError, MaskgateError

from synthetic import write_class_folders

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # chmod does not stop root from writing


# ---------------------------------------------------------------- the world each case starts from
@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Dataset folder, its import, a model bundle (the shipped int8 model), a run record, a
    finished-looking build and outputs of the data commands: the "earlier outputs"."""
    from maskgate.data.importer import import_sources

    w = tmp_path_factory.mktemp("world")
    write_class_folders(w / "src", per_class=10, seed=1)
    import_sources([str(w / "src")], w / "imp", seed=0, val_fraction=0.3, test_fraction=0.3, progress=False)
    (w / "bundle").mkdir()
    for name in ("maskgate_int8.tflite", "maskgate_float.tflite", "labels.txt", "manifest.json"):
        shutil.copy2(MODELS / name, w / "bundle" / name)
    (w / "run").mkdir()
    (w / "run" / "config.json").write_text(json.dumps({
        "train": {"arch": "tinycnn", "seed": 0, "epochs": 1}, "labels": ["no_mask", "mask"],
        "data_manifest": str(w / "imp" / "manifest.csv"), "epochs_run": 1, "best_val_accuracy": 0.5}))
    (w / "run" / "model.keras").write_bytes(b"PK\x03\x04 not a whole keras archive")
    (w / "build").mkdir()
    (w / "build" / "build.json").write_text("{}")
    (w / "build" / "build.md").write_text("# an earlier build\n")
    for folder, names in (("faces", ("faces.csv", "faces-report.md")), ("synth", ("manifest.csv", "synth.csv"))):
        (w / folder).mkdir()
        for name in names:
            (w / folder / name).write_text("an earlier result\n")
    (w / "file.txt").write_text("a regular file: nothing can be made under it\n")
    return w


@pytest.fixture
def w(base, tmp_path) -> Path:
    world = tmp_path / "w"
    shutil.copytree(base, world, symlinks=True)
    return world


def snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def invoke(args):
    return CliRunner().invoke(main, [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args])


def check(result, code: int, needle: str):
    out = result.output
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, out
    assert needle in out, out


# ---------------------------------------------------------------- bad files the tests make
def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def jpeg_bytes(seed=0) -> bytes:
    from synthetic import synthetic_face

    rgb = synthetic_face("mask", np.random.default_rng(seed))
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def damaged_in_the_middle(data: bytes) -> bytes:
    """Bytes overwritten in the entropy-coded data; the end marker FFD9 is still there."""
    b = bytearray(data)
    middle = len(b) // 2
    b[middle:middle + 40] = bytes(np.random.default_rng(5).integers(0, 255, 40, dtype=np.uint8))
    assert bytes(b).endswith(b"\xff\xd9")
    return bytes(b)


HEADER = "path,source,label,width,height,sha256,phash,group,split,face\n"


def manifest_rows(w: Path) -> list[str]:
    return (w / "imp" / "manifest.csv").read_text().splitlines()[1:]


BAD_MANIFESTS = {  # name -> (content from the world, what the message names)
    "too-few-fields": (lambda w: HEADER + "a.jpg,src,mask,3\n", "line 2"),
    "not-utf8": (lambda w: HEADER.encode() + b"\xff\xfe\xfa,src,mask\n", "manifest.csv"),
    "missing-columns": (lambda w: "path,label\nx.jpg,mask\n", "missing columns"),
    "picture-bytes": (lambda w: jpeg_bytes(), "manifest.csv"),
    "bad-width": (lambda w: HEADER + manifest_rows(w)[0].replace(",64,64,", ",wide,64,") + "\n", "line 2"),
}


def bad_manifest(w: Path, kind: str) -> Path:
    make, _ = BAD_MANIFESTS[kind]
    return write(w / "bad" / "manifest.csv", make(w))


def tflite(kind: str):
    good = (MODELS / "maskgate_int8.tflite").read_bytes()
    return {"empty": b"", "truncated": good[: len(good) // 2], "text": "not a model\n", "jpeg": jpeg_bytes(),
            "zip": b"PK\x03\x04" + bytes(200), "flipped-identifier": good[:4] + b"TFL4" + good[8:]}[kind]


TFLITE_KINDS = ("empty", "truncated", "text", "jpeg", "zip", "flipped-identifier")

# ---------------------------------------------------------------- bad build configs
BAD_CONFIGS = {  # name -> (TOML, the key the message must name)
    "string-budget": ('[quantize]\nmodel_max_kb = "1"\n', "model_max_kb"),
    "epochs-text": ('[train]\nepochs = "one"\n', "epochs"),
    "batch-zero": ("[train]\nbatch_size = 0\n", "batch_size"),
    "augment-typo": ("[train.augment_options]\nzom = [1.0, 1.2]\n", "zom"),
    "augment-p-range": ("[train.augment_options]\nportrait_p = 1.5\n", "portrait_p"),
    "arch-options-scalar": ("[train]\narch_options = 3\n", "arch_options"),
    "quantize-typo": ("[quantize]\ntreshold = 0.4\n", "treshold"),
    "threshold-range": ("[quantize]\nthreshold = 2.0\n", "threshold"),
    "heap-negative": ("[quantize]\nheap_kb = -5\n", "heap_kb"),
    "micro-negative": ("[evaluate]\nmicro_sample = -1\n", "micro_sample"),
    "camera-crop-text": ('[evaluate]\ncamera_crop = "yes"\n', "camera_crop"),
    "sparsity-range": ("[optimize]\nsparsity = 2.0\n", "sparsity"),
    "optimize-typo": ("[optimize]\nclustres = 8\n", "clustres"),
    "walkup-zero": ("[walkup]\nvisits = 0\n", "visits"),
    "loso-one": ('[loso]\nsources = ["a"]\n', "sources"),
    "fraction-range": ("[data]\nval_fraction = 1.5\n", "val_fraction"),
    "label-map": ('[data.label_map]\nmasked = "maskk"\n', "maskk"),
    "unknown-section": ("[trian]\nepochs = 3\n", "trian"),
    "false-open-range": ("[operating_point]\nmax_false_open = 1.0\n", "max_false_open"),
    "quick-zero": ("[quick]\nepochs = 0\n", "epochs"),
    "section-scalar": ("quantize = 3\n", "quantize"),
    "not-toml": ("[train\nepochs =\n", "not valid TOML"),
    "not-utf8": (b"\xff\xfe[train]\n", "UTF-8"),
}

CONFIG_COMMANDS = {  # command -> its arguments around --config (each otherwise fine)
    "train": lambda w: ["train", "--data", w / "imp", "--out", w / "new-run"],
    "quantize": lambda w: ["quantize", w / "run"],
    "evaluate": lambda w: ["evaluate", w / "bundle", w / "imp", "--micro-sample", "0"],
    "optimize": lambda w: ["optimize", w / "run", "--method", "prune", "--out", w / "new-opt"],
    "build": lambda w: ["build", "--out", w / "new-build"],
}


def _config_cases():
    for command in CONFIG_COMMANDS:
        for name in BAD_CONFIGS:
            yield pytest.param(command, name, id=f"c3-x3-config-{name}-{command}")


@pytest.mark.parametrize("command, name", list(_config_cases()))
def test_bad_config_value_or_key_is_named(w, command, name):
    text, key = BAD_CONFIGS[name]
    config = write(w / "bad.toml", text)
    before = snapshot(w)
    result = invoke([*CONFIG_COMMANDS[command](w), "--config", config])
    check(result, 3, key)
    assert "bad.toml" in result.output
    assert all(snapshot(w).get(k) == v for k, v in before.items())


# ---------------------------------------------------------------- one case = args + what is named
def ro_folder(w: Path) -> Path:
    ro = w / "ro"
    ro.mkdir(exist_ok=True)
    ro.chmod(0o555)
    return ro


def non_utf8_source(w: Path) -> Path:
    src = w / "src8"
    shutil.copytree(w / "src", src)
    with open(os.path.join(os.fsencode(src / "with_mask"), b"caf\xe9.jpg"), "wb") as f:
        f.write(jpeg_bytes(9))
    os.mkdir(os.path.join(os.fsencode(src), b"bare\xff"))
    return src


def damaged_jpeg_source(w: Path) -> Path:
    src = w / "srcj"
    shutil.copytree(w / "src", src)
    write(src / "with_mask" / "smeared.jpg", damaged_in_the_middle(jpeg_bytes(11)))
    return src


def one_class_and_unknown(w: Path) -> Path:
    src = w / "src1"
    shutil.copytree(w / "src" / "with_mask", src / "with_mask")
    shutil.copytree(w / "src" / "without_mask", src / "no-maks")  # a misspelt class folder
    return src


def manifest_with(w: Path, edit) -> Path:
    rows = [edit(r) for r in manifest_rows(w)]
    return write(w / "edited" / "manifest.csv", HEADER + "\n".join(r for r in rows if r) + "\n")


def quantized_run(w: Path) -> Path:
    for name in ("maskgate_int8.tflite", "labels.txt", "manifest.json"):
        shutil.copy2(w / "bundle" / name, w / "run" / name)
    return w / "run"


def second_run(w: Path) -> Path:
    shutil.copytree(quantized_run(w), w / "run2")
    return w / "run2"


def record_case(w: Path, record, command: str) -> list:
    """RUN's config.json replaced by `record`, then quantize or optimize on RUN."""
    write(w / "run" / "config.json", record)
    if command == "quantize":
        return ["quantize", w / "run"]
    return ["optimize", w / "run", "-m", "prune", "--out", w / "o2"]


def C(klass, code, name, make, needle, skip=None):
    return pytest.param(make, needle, code, id=f"c{klass}-x{code}-{name}",
                        marks=[pytest.mark.skipif(skip, reason="running as root: chmod does not block writes")]
                        if skip else [])


CASES = [
    # ---- 1: a bad setting is refused where it is made (exit 2, the option named)
    *(C(1, 2, f"quantize-threshold-{v}", lambda w, v=v: ["quantize", w / "run", "--threshold", v], "--threshold")
      for v in ("2.0", "0", "1", "-0.5", "nan", "inf")),
    C(1, 2, "quantize-max-model-kb-0", lambda w: ["quantize", w / "run", "--max-model-kb", "0"], "--max-model-kb"),
    C(1, 2, "quantize-heap-kb-negative", lambda w: ["quantize", w / "run", "--heap-kb", "-1"], "--heap-kb"),
    C(1, 2, "quantize-calibration-0", lambda w: ["quantize", w / "run", "--calibration-images", "0"], "--calibration-images"),
    *(C(1, 2, f"train{opt}-{v}", lambda w, opt=opt, v=v: ["train", "--data", w / "imp", "--out", w / "r", opt, v], opt)
      for opt, v in (("--epochs", "0"), ("--epochs", "-3"), ("--batch-size", "0"), ("--label-smoothing", "1.5"),
                     ("--max-train", "0"), ("--swa-start", "0"), ("--seed", "-1"))),
    *(C(1, 2, f"evaluate{opt}-{v}", lambda w, opt=opt, v=v: ["evaluate", w / "bundle", w / "imp", opt, v], opt)
      for opt, v in (("--max-false-open", "1.5"), ("--max-false-open", "nan"), ("--hysteresis", "0.7"),
                     ("--micro-sample", "-1"), ("--visits", "0"), ("--workers", "0"), ("--empty-frames", "-3"))),
    *(C(1, 2, f"import{opt}-{v}", lambda w, opt=opt, v=v: ["data", "import", w / "src", "--out", w / "i2", opt, v], opt)
      for opt, v in (("--val-fraction", "1.5"), ("--test-fraction", "-0.1"), ("--near-distance", "999"),
                     ("--seed", "-2"))),
    *(C(1, 2, f"optimize{opt}-{v}", lambda w, opt=opt, v=v: ["optimize", w / "run", "-m", "prune", "--out", w / "o2",
                                                              opt, v], opt)
      for opt, v in (("--sparsity", "2"), ("--clusters", "1"), ("--alpha", "2"), ("--sweep", "0.5,1.5"),
                     ("--temperature", "0"), ("--epochs", "0"))),
    C(1, 2, "compare-epochs-0", lambda w: ["compare", "--data", w / "imp", "--epochs", "0"], "--epochs"),
    C(1, 2, "synth-limit-0", lambda w: ["data", "synth-masks", "--data", w / "imp", "--out", w / "s2", "--limit", "0"],
      "--limit"),
    C(1, 2, "synth-per-face-0", lambda w: ["data", "synth-masks", "--data", w / "imp", "--out", w / "s2",
                                           "--per-face", "0"], "--per-face"),
    C(1, 2, "faces-max-side-0", lambda w: ["data", "faces", w / "src", "--out", w / "f2", "--max-side", "0"], "--max-side"),

    # ---- 2: nothing a user made is replaced silently (exit 3; --overwrite named)
    C(2, 3, "train-over-a-quantized-run", lambda w: ["train", "--data", w / "imp", "--out", quantized_run(w)], "--overwrite"),
    C(2, 3, "train-overwrite-but-bad-data-keeps-the-run",
      lambda w: ["train", "--data", bad_manifest(w, "too-few-fields"), "--out", quantized_run(w), "--overwrite"], "line 2"),
    C(2, 3, "quantize-over-a-bundle", lambda w: ["quantize", quantized_run(w)], "--overwrite"),
    C(2, 3, "optimize-over-a-run", lambda w: ["optimize", w / "run", "-m", "prune", "--out", second_run(w)], "--overwrite"),
    C(2, 2, "optimize-out-is-run", lambda w: ["optimize", w / "run", "-m", "prune", "--out", w / "run"], "--out"),
    C(2, 3, "ship-over-a-bundle", lambda w: ["ship", w / "build", "--to", w / "bundle"], "--overwrite"),
    C(2, 3, "import-over-an-import", lambda w: ["data", "import", w / "src", "--out", w / "imp"], "--overwrite"),
    C(2, 3, "faces-over-faces", lambda w: ["data", "faces", w / "src", "--out", w / "faces"], "--overwrite"),
    C(2, 3, "synth-over-synth", lambda w: ["data", "synth-masks", "--data", w / "imp", "--out", w / "synth"], "--overwrite"),
    C(2, 3, "build-over-a-build", lambda w: ["build", "--out", w / "build"], "--overwrite"),

    # ---- 3: a command that succeeds did what it says
    C(3, 3, "train-unknown-label", lambda w: ["train", "--data", manifest_with(w, lambda r: r.replace(",mask,", ",maskk,")),
                                              "--out", w / "r"], "maskk"),
    C(3, 3, "train-missing-pictures", lambda w: ["train", "--data", manifest_with(w, lambda r: r.replace(".jpg,", ".gone.jpg,")),
                                                 "--out", w / "r"], "missing"),
    C(3, 3, "train-one-class", lambda w: ["train", "--data", manifest_with(w, lambda r: r if ",mask," in r else ""),
                                          "--out", w / "r"], "one class"),
    C(3, 3, "train-odd-split", lambda w: ["train", "--data", manifest_with(w, lambda r: r.replace(",train,", ",trian,")),
                                          "--out", w / "r"], "trian"),
    C(3, 4, "evaluate-float-model", lambda w: ["evaluate", write(w / "f" / "m.tflite", (MODELS / "maskgate_float.tflite")
                                                                 .read_bytes()), w / "imp"], "not an int8 model"),
    C(3, 4, "evaluate-float-model-micro-0", lambda w: ["evaluate", write(w / "f" / "m.tflite", (MODELS / "maskgate_float.tflite")
                                                                         .read_bytes()), w / "imp", "--micro-sample", "0"],
      "input float32"),
    C(3, 0, "import-one-class-and-an-unknown-folder", lambda w: ["data", "import", one_class_and_unknown(w), "--out", w / "i1"],
      "warning: src1: ignored folder no-maks/"),
    C(3, 0, "import-jpeg-damaged-in-the-middle", lambda w: ["data", "import", damaged_jpeg_source(w), "--out", w / "ij"],
      "smeared.jpg: damaged JPEG data"),

    # ---- 4: no traceback: a named error and its exit code
    *(C(4, 3, f"info-tflite-{k}", lambda w, k=k: ["info", write(w / "bad" / "m.tflite", tflite(k))], "m.tflite")
      for k in TFLITE_KINDS),
    *(C(4, 3, f"evaluate-tflite-{k}", lambda w, k=k: ["evaluate", write(w / "bad" / "maskgate_int8.tflite", tflite(k)),
                                                      w / "imp"], "maskgate_int8.tflite") for k in TFLITE_KINDS),
    C(4, 2, "info-missing-model", lambda w: ["info", w / "nowhere.tflite"], "nowhere.tflite"),
    C(4, 3, "evaluate-damaged-float-beside-int8",
      lambda w: ["evaluate", write(w / "bundle" / "maskgate_float.tflite", tflite("truncated")).parent, w / "imp"],
      "maskgate_float.tflite"),
    *(C(4, 3, f"evaluate-manifest-json-{k}", lambda w, v=v: ["evaluate", write(w / "bundle" / "manifest.json", v).parent,
                                                              w / "imp"], "manifest.json")
      for k, v in (("cut", '{"schema": 1, "model_file"'), ("list", "[1, 2]"), ("not-utf8", b"{\xff}"), ("empty", ""))),
    *(C(4, 3, f"evaluate-manifest-csv-{k}", lambda w, k=k: ["evaluate", w / "bundle", bad_manifest(w, k)], BAD_MANIFESTS[k][1])
      for k in BAD_MANIFESTS),
    *(C(4, 3, f"train-manifest-csv-{k}", lambda w, k=k: ["train", "--data", bad_manifest(w, k), "--out", w / "r"],
        BAD_MANIFESTS[k][1]) for k in BAD_MANIFESTS),
    *(C(4, 3, f"synth-manifest-csv-{k}", lambda w, k=k: ["data", "synth-masks", "--data", bad_manifest(w, k),
                                                          "--out", w / "s2"], BAD_MANIFESTS[k][1]) for k in BAD_MANIFESTS),
    C(4, 3, "train-no-manifest", lambda w: ["train", "--data", w / "nowhere", "--out", w / "r"], "nowhere"),
    C(4, 3, "evaluate-no-such-data", lambda w: ["evaluate", w / "bundle", w / "nowhere"], "nowhere"),
    C(4, 3, "evaluate-empty-folder", lambda w: ["evaluate", w / "bundle", (w / "empty").mkdir() or w / "empty"], "empty"),
    *(C(4, 3, f"run-record-{k}-{cmd}", lambda w, v=v, cmd=cmd: record_case(w, v, cmd), "config.json")
      for k, v in (("cut", '{"train": {'), ("list", "[]"), ("not-utf8", b"\xff\xfe")) for cmd in ("quantize", "optimize")),
    C(4, 3, "quantize-record-lacks-keys", lambda w: record_case(w, "{}", "quantize"), "missing"),
    C(4, 3, "quantize-not-a-run", lambda w: ["quantize", w / "src"], "model.keras"),
    C(4, 3, "optimize-not-a-run", lambda w: ["optimize", w / "src", "-m", "prune", "--out", w / "o2"], "config.json"),
    C(4, 3, "ship-a-train-run", lambda w: ["ship", w / "run", "--to", w / "m2"], "train run"),
    C(4, 3, "ship-an-empty-folder", lambda w: ["ship", (w / "empty").mkdir() or w / "empty", "--to", w / "m2"], "build.json"),
    C(4, 3, "ship-damaged-build-json", lambda w: ["ship", write(w / "build" / "build.json", "{oops").parent, "--to", w / "m2"],
      "build.json"),
    C(4, 3, "ship-unfinished-build", lambda w: ["ship", w / "build", "--to", w / "m2"], "unfinished build"),
    C(4, 3, "import-missing-source", lambda w: ["data", "import", w / "nowhere", "--out", w / "i2"], "nowhere"),
    C(4, 3, "import-source-is-a-file", lambda w: ["data", "import", w / "file.txt", "--out", w / "i2"], "file.txt"),
    C(4, 3, "import-empty-source", lambda w: ["data", "import", (w / "empty").mkdir() or w / "empty", "--out", w / "i2"], "empty"),
    C(4, 3, "import-only-junk", lambda w: ["data", "import", write(write(w / "junk" / "with_mask" / "a.jpg", "text").parent
                                                                   / "b.png", b"").parent.parent, "--out", w / "i2"],
      "no usable pictures"),
    C(4, 0, "import-names-not-utf8", lambda w: ["data", "import", non_utf8_source(w), "--out", w / "i8"], "not valid UTF-8"),
    C(4, 2, "config-is-a-folder", lambda w: ["train", "--data", w / "imp", "--out", w / "r", "--config", w / "src"], "--config"),
    C(4, 3, "config-missing", lambda w: ["build", "--config", w / "nowhere.toml", "--out", w / "b2"], "nowhere.toml"),
    *(C(4, 3, f"out-under-a-file-{name}", lambda w, make=make: make(w), "file.txt") for name, make in (
        ("train", lambda w: ["train", "--data", w / "imp", "--out", w / "file.txt" / "out"]),
        ("import", lambda w: ["data", "import", w / "src", "--out", w / "file.txt" / "out"]),
        ("evaluate", lambda w: ["evaluate", w / "bundle", w / "imp", "--out", w / "file.txt" / "out", "--micro-sample", "0"]),
        ("optimize", lambda w: ["optimize", w / "run", "-m", "prune", "--out", w / "file.txt" / "out"]),
        ("ship", lambda w: ["ship", w / "build", "--to", w / "file.txt" / "out"]),
        ("build", lambda w: ["build", "--out", w / "file.txt" / "out"]),
        ("synth", lambda w: ["data", "synth-masks", "--data", w / "imp", "--out", w / "file.txt" / "out"]),
        ("faces", lambda w: ["data", "faces", w / "src", "--out", w / "file.txt" / "out"]),
    )),
    *(C(4, 3, f"out-read-only-{name}", lambda w, make=make: make(w), "read-only", skip=AS_ROOT) for name, make in (
        ("train", lambda w: ["train", "--data", w / "imp", "--out", ro_folder(w) / "out"]),
        ("import", lambda w: ["data", "import", w / "src", "--out", ro_folder(w) / "out"]),
        ("build", lambda w: ["build", "--out", ro_folder(w) / "out"]),
    )),
]


@pytest.mark.parametrize("make, needle, code", CASES)
def test_bad_input_gets_its_exit_code_and_names_it(w, make, needle, code):
    args = make(w)
    before = snapshot(w)
    try:
        result = invoke(args)
    finally:
        if (w / "ro").exists():
            (w / "ro").chmod(0o755)
    check(result, code, needle)
    after = snapshot(w)
    changed = [k for k, v in before.items() if after.get(k) != v]
    assert not changed, f"earlier outputs changed: {changed}"


# ---------------------------------------------------------------- what the successful cases did
def test_damaged_jpeg_is_listed_with_its_name_and_not_kept(w):
    src = damaged_jpeg_source(w)
    check(invoke(["data", "import", src, "--out", w / "ij"]), 0, "damaged JPEG data")
    skipped = (w / "ij" / "skipped.csv").read_text()
    assert "smeared.jpg" in skipped and "damaged JPEG data (Corrupt JPEG data" in skipped
    assert "smeared.jpg" not in (w / "ij" / "manifest.csv").read_text()


def test_non_utf8_names_are_skipped_and_listed_readably(w):
    check(invoke(["data", "import", non_utf8_source(w), "--out", w / "i8"]), 0, "ignored folder bare\\xff/")
    skipped = (w / "i8" / "skipped.csv").read_text(encoding="utf-8")
    assert "caf\\xe9.jpg" in skipped and "not valid UTF-8" in skipped


def test_evaluate_imports_a_dataset_folder_again_when_its_pictures_change(w):
    """The on-the-fly import is keyed by the folder's path and files, not its name."""
    out = w / "eval"
    data = w / "door"
    write_class_folders(data, per_class=4, seed=2)
    first = invoke(["evaluate", w / "bundle", data, "--out", out, "--micro-sample", "0", "--json"])
    check(first, 0, "")
    assert json.loads(first.stdout)["datasets"][0]["images"] == 8
    write_class_folders(data, per_class=6, seed=3)  # new pictures, two more per class, same folder
    second = invoke(["evaluate", w / "bundle", data, "--out", out, "--micro-sample", "0", "--json"])
    assert json.loads(second.stdout)["datasets"][0]["images"] == 12
    other = w / "elsewhere" / "door"  # another folder of the same name
    write_class_folders(other, per_class=3, seed=4)
    third = invoke(["evaluate", w / "bundle", other, "--out", out, "--micro-sample", "0", "--json"])
    assert json.loads(third.stdout)["datasets"][0]["images"] == 6


def test_overwrite_clears_the_old_run_whole(tmp_path):
    from maskgate import bundle, out_folder, run_folder

    run = tmp_path / "run"
    for name in (run_folder.MODEL_FILE, run_folder.RECORD_FILE, *bundle.FILES):
        write(run / name, "old")
    write(run / "notes.txt", "the user's own")
    with pytest.raises(DataError, match="--overwrite"):
        out_folder.check_new(run, run_folder.WRITTEN + bundle.FILES)
    out_folder.clear(out_folder.check_new(run, run_folder.WRITTEN + bundle.FILES, overwrite=True))
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_config_rules_cover_the_dataclasses_they_check():
    from dataclasses import fields

    from maskgate.config import RULES
    from maskgate.optimize.options import OptimizeOptions
    from maskgate.train_config import TrainConfig

    assert set(RULES["train"]) == {f.name for f in fields(TrainConfig)}
    assert set(RULES["optimize"]) == {f.name for f in fields(OptimizeOptions)}


# ---------------------------------------------------------------- properties: outside input never crashes
KEYS = st.sampled_from(["epochs", "batch_size", "model_max_kb", "threshold", "zoom", "sources", "seed", "visits",
                        "arch_options", "portrait_p", "micro_sample", "sparsity", "max_false_open", "xyz", "name"])
SECTIONS = st.sampled_from(["train", "quantize", "evaluate", "optimize", "walkup", "loso", "data", "quick",
                            "operating_point", "train.augment_options", "train.arch_options", "nope"])
SCALARS = st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False), st.booleans(),
                    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return "[" + ", ".join(toml_value(x) for x in v) + "]"


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.dictionaries(SECTIONS, st.dictionaries(KEYS, VALUES, max_size=4), max_size=4))
def test_config_files_give_a_config_or_a_named_error(tmp_path_factory, tables):
    from maskgate.config import load_config

    text = "".join(f"[{section}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in keys.items())
                   for section, keys in tables.items())
    path = tmp_path_factory.mktemp("cfg") / "c.toml"
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path)
    except DataError as e:
        assert str(path) in str(e)
        return
    assert config["quantize"]["model_max_kb"] > 0 and 0 < config["quantize"]["threshold"] < 1


FIELD = st.text(st.sampled_from("ab,1-\"\n\r x.jpg0:;\xe9"), max_size=12)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.lists(st.lists(FIELD, min_size=0, max_size=12), max_size=5), st.booleans())
def test_manifest_rows_read_or_give_a_named_error(tmp_path_factory, rows, header):
    import csv
    import io

    from maskgate.data.manifest import check_for_training, read_manifest

    buf = io.StringIO()
    if header:
        buf.write(HEADER)
    csv.writer(buf).writerows(rows)
    path = tmp_path_factory.mktemp("man") / "manifest.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    for read in (read_manifest, lambda p: check_for_training(p, ("no_mask", "mask"))):
        try:
            got = read(path)
        except DataError as e:
            assert "manifest.csv" in str(e)
        else:
            assert all(isinstance(r["width"], int) for r in got)


# ---------------------------------------------------------------- the one case that needs TensorFlow
def test_quantize_names_a_damaged_model_keras(w):
    before = snapshot(w)
    check(invoke(["quantize", w / "run"]), 3, "model.keras")
    assert snapshot(w) == before


def test_every_failure_is_a_maskgate_error_with_a_table_code():
    """The codes the corpus expects are the README's table."""
    table = (ROOT / "README.md").read_text().split("| code | meaning |")[1].split("\n\n")[0]
    documented = {int(line.split("|")[1]) for line in table.splitlines() if line.startswith("| ") and
                  line.split("|")[1].strip().isdigit()}
    assert {0, 2, 3, 4} <= documented
    assert issubclass(DataError, MaskgateError) and DataError.exit_code == 3
