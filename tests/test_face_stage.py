"""The configured face stage, end to end: config.json's face_stage and detector keys (checked by
the firmware's validator), the firmware's FaceStage order and margins, a 3-class model's
background refusing a region, the detector going on the card with the classifier (sha256
checked), both models planned one after the other on every release and loaded so by the
virtual board, and the PC's face stage finding what the board's firmware finds.

The models here are tiny nets made in the test with weights set so they do what a test needs
(a detector that always finds the same face, a classifier that always says background or
mask); the door's trained models are measured by bench/bench_face_stage.py, not asserted."""
import json

import numpy as np
import pytest

from maskgate import budget, contract, memory
from maskgate.digest import sha256_bytes
from maskgate.firmware import module

fw_config = module("config")
fw_stage = module("face_stage")
fd = module("facedet")


# ---------------------------------------------------------------- tiny models
def _int8(model, shape):
    from maskgate import quantize

    rng = np.random.default_rng(0)
    rep = rng.integers(0, 256, (16,) + shape, dtype=np.uint8)
    return quantize.convert_int8(model, rep, input_shape=shape)


def _classifier(bias):
    """A 3-class (background, no_mask, mask) int8 model whose softmax is softmax(bias) for any
    picture (the last layer's weights are zero)."""
    from maskgate.tfenv import keras

    layers = keras.layers
    inputs = keras.Input((32, 32, 3), batch_size=1)
    x = layers.Conv2D(4, 4, strides=4)(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    dense = layers.Dense(3, activation="softmax")
    outputs = dense(x)
    model = keras.Model(inputs, outputs)
    dense.set_weights([np.zeros((4, 3), np.float32), np.asarray(bias, np.float32)])
    return _int8(model, (32, 32, 3))


def _detector(objectness: float | None = 6.0, seed: int = 0, side_share: float = 0.4, bright: bool = False):
    """A detector-shaped int8 model (72 x 96 x 3 -> 9 x 12 x 4 grid, flat): with `objectness`
    every cell scores sigmoid(objectness) and points at a face of side_share x the frame height
    in its middle (a plateau: the first cell is the face); `bright`: only cells on white pixels
    score; with None its weights are random."""
    from maskgate.tfenv import keras

    layers = keras.layers
    inputs = keras.Input((fd.IN_H, fd.IN_W, 3), batch_size=1)
    conv = layers.Conv2D(fd.CHANNELS, 8, strides=8, activation="sigmoid")
    outputs = layers.Reshape((fd.ROWS * fd.COLS * fd.CHANNELS,))(conv(inputs))
    model = keras.Model(inputs, outputs)
    if objectness is not None:
        v = min(fd.side_value(side_share), 0.98)
        kernel = np.zeros((8, 8, 3, fd.CHANNELS), np.float32)
        bias = np.asarray([objectness, np.log(v / (1 - v)), 0.0, 0.0], np.float32)
        if bright:  # a cell of white pixels sums to 8 * 8 * 3 * 255 * 0.05 = 2448
            kernel[..., 0], bias[0] = 0.05, -1200.0
        conv.set_weights([kernel, bias])
    else:
        rng = np.random.default_rng(seed)
        conv.set_weights([rng.normal(0, 0.02, (8, 8, 3, fd.CHANNELS)).astype(np.float32),
                          np.asarray([-1.0, 0.0, 0.0, 0.0], np.float32)])
    return _int8(model, (fd.IN_H, fd.IN_W, 3))


@pytest.fixture(scope="module")
def models():
    return {"background": _classifier([6.0, 0.0, 0.0]), "mask": _classifier([0.0, 0.0, 6.0]),
            "always_face": _detector(6.0), "never_face": _detector(-6.0), "random": _detector(None),
            "filling_face": _detector(0.0, side_share=1.1, bright=True)}


def _bundle(tmp_path, classifier: bytes, detector: bytes | None, stage: str, threshold: float = 0.5):
    from maskgate.detector import bundle

    folder = tmp_path / "bundle"
    folder.mkdir(exist_ok=True)
    (folder / "door_int8.tflite").write_bytes(classifier)
    manifest = {"schema": 1, "model_file": "door_int8.tflite", "sha256": sha256_bytes(classifier),
                "bytes": len(classifier), "contract": contract.as_dict(contract.LABELS_BACKGROUND)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    if detector is not None:
        (tmp_path / "facedet_int8.tflite").write_bytes(detector)
        bundle.attach(folder, tmp_path / "facedet_int8.tflite", stage, threshold)
    return folder / "door_int8.tflite", json.loads((folder / "manifest.json").read_text())


# ---------------------------------------------------------------- config.json
def _cfg(**extra):
    from maskgate.board import board_config

    manifest = {"model_file": "m.tflite", "contract": contract.as_dict(contract.LABELS_BACKGROUND)}
    return board_config.make_config(manifest, **extra)


def test_config_names_the_stage_and_the_detector():
    assert fw_config.DEFAULTS["face_stage"] == "haar"  # what every existing card does
    assert set(fw_config.FACE_STAGES) == set(fw_stage.KINDS)
    assert fw_stage.DETECTOR_MARGIN == fd.MARGIN
    assert fw_config.BACKGROUND == contract.LABELS_BACKGROUND[0]
    cfg = _cfg(face_stage="haar+facedet", detector={"model": "facedet_int8.tflite", "threshold": 0.7})
    assert cfg["detector"] == {"model": "facedet_int8.tflite", "model_sha256": None, "threshold": 0.7}


@pytest.mark.parametrize("extra,key", [
    ({"face_stage": "fomo"}, "face_stage"),
    ({"face_stage": "facedet"}, "detector.model"),  # the detector stage without a detector file
    ({"face_stage": "facedet", "detector": {"model": "d.tflite", "threshold": 0}}, "detector.threshold"),
    ({"detector": {"model_sha256": "abc"}}, "detector.model_sha256"),
    ({"detector": "d.tflite"}, "detector must be an object"),
    ({"face_stage": "facedet", "detector": {"model": "m.tflite"}}, "another file than model"),
    ({"positive_label": "background"}, "positive_label"),
])
def test_config_refuses_a_bad_stage_with_the_key_named(extra, key):
    from maskgate.errors import DataError

    with pytest.raises(DataError, match=key.replace(".", r"\.")):
        _cfg(**extra)


def test_a_detector_stage_is_fine_without_face_detection():
    assert _cfg(face_detection=False, face_stage="facedet")["face_stage"] == "facedet"


# ---------------------------------------------------------------- the stage's logic
def test_haar_first_then_the_detector_each_with_its_margin():
    calls = []

    def haar(img):
        calls.append("haar")
        return img.get("haar")

    def detect(img):
        calls.append("detector")
        return (0.9, img["det"]) if img.get("det") else None

    both = fw_stage.FaceStage("haar+facedet", 0.2, haar, detect)
    assert both.find({"haar": (1, 2, 3, 3), "det": (5, 5, 9, 9)}) == ((1, 2, 3, 3), 0.2) and both.last == "haar"
    assert calls == ["haar"]  # the detector does not run when Haar found a face
    assert both.find({"det": (5, 5, 9, 9)}) == ((5, 5, 9, 9), fd.MARGIN) and both.last == "facedet"
    assert both.find({}) is None and both.last is None
    assert fw_stage.FaceStage("facedet", 0.2, haar, detect).find({"haar": (1, 2, 3, 3)}) is None  # no Haar
    with pytest.raises(ValueError, match="detector"):
        fw_stage.FaceStage("facedet", 0.2, haar, None)
    with pytest.raises(ValueError, match="cascade"):
        fw_stage.FaceStage("haar", 0.2, None, detect)


def test_a_detector_box_is_stored_as_the_box_the_contract_margin_grows_into_the_same_square():
    from maskgate.data.manifest import format_face, parse_face

    for box in [(40, 30, 100, 100), (0, 0, 240, 240), (201, 17, 33, 33)]:
        want = contract.face_square(box, 320, 240, fd.MARGIN)
        stored = parse_face(format_face(contract.equivalent_box(box, fd.MARGIN)))
        assert contract.face_square(stored, 320, 240) == want
    assert parse_face(format_face((1, 2, 3, 4))) == (1, 2, 3, 4)  # whole pixels stay integers


# ---------------------------------------------------------------- memory
def test_both_models_are_planned_one_after_the_other_on_every_release(models):
    cls, det = models["mask"], models["always_face"]
    cls_used = budget.manifest_arena_used({}, cls)
    det_used = budget.manifest_arena_used({}, det)
    for release in memory.EMULATED:
        one = memory.plan(release, len(cls), cls_used)
        two = memory.plan(release, len(cls), cls_used, then=[("the face detector", len(det), det_used)])
        assert two["ok"] and [m["what"] for m in two["models"]] == ["the model", "the face detector"]
        assert two["models"][0] == {k: v for k, v in one["models"][0].items()}  # the classifier goes first
        mem = memory.for_release(release)
        taken = one["heap_free_after"] - two["heap_free_after"]
        on_heap = ((mem.model_allocation(len(det)) if two["models"][1]["model_in"] == "heap" else 0)
                   + (mem.arena_allocation(det_used) if mem.arena_in == "heap" else 0))
        assert taken == (on_heap + 15) // 16 * 16 or abs(taken - on_heap) < 32  # GC blocks
    # a detector too big for what the classifier leaves is refused, with both named
    huge = memory.plan("4.8.1", len(cls), cls_used, then=[("the face detector", 200 * 1024, 120 * 1024)])
    assert not huge["ok"] and "face detector" in " ".join(huge["problems"])


# ---------------------------------------------------------------- the card and the board
def test_the_detector_goes_on_the_card_and_a_wrong_one_is_refused(models, tmp_path):
    from maskgate.board import board_config
    from maskgate.errors import DataError

    model, manifest = _bundle(tmp_path, models["mask"], models["always_face"], "haar+facedet", 0.6)
    files = board_config.card_files(model, manifest)
    cfg = json.loads(files["config.json"])
    assert cfg["face_stage"] == "haar+facedet" and cfg["detector"]["threshold"] == 0.6
    assert files[cfg["detector"]["model"]] == models["always_face"]
    assert "face_stage.py" in files and "facedet.py" in files
    assert "facedet_int8.tflite" not in board_config.card_files(model, manifest, face_stage="haar")
    (model.parent / "facedet_int8.tflite").write_bytes(models["never_face"])  # not the one the manifest names
    with pytest.raises(DataError, match="not the detector"):
        board_config.card_files(model, manifest)


def _run_board(tmp_path, model, manifest, frames, firmware=None, hello=False, **overrides):
    from maskgate.board.virtualboard import VirtualBoard

    card = tmp_path / f"card-{firmware}"
    while card.exists():
        card = card.with_name(card.name + "+")
    board = VirtualBoard(frames, card_dir=card, firmware=firmware)
    board.install(model, manifest, **{"door.k": 1, "door.hold_s": 0.2, "log.crops": "none", **overrides})
    if hello:
        board.port.host_write(module("frame").encode(module("frame").HELLO, 1))
    result = board.run()
    assert result.crash is None, result.crash
    return board


def _hello(board) -> dict:
    frame = module("frame")
    parser = frame.Parser(frame.LIMIT_PAYLOAD)
    parser.feed(board.port.host_read())
    while (ev := parser.next()) is not None:
        if ev[1] == frame.HELLO | frame.REPLY:
            return json.loads(ev[3])
    raise AssertionError("no HELLO reply")


def _empty_scenes(n):
    from maskgate.data import backgrounds

    return list(backgrounds.backgrounds("test", n))


@pytest.mark.parametrize("firmware", [None, "4.5.5"])
def test_background_refuses_what_the_detector_found_and_the_door_stays_closed(models, tmp_path, firmware):
    model, manifest = _bundle(tmp_path, models["background"], models["always_face"], "facedet")
    board = _run_board(tmp_path, model, manifest, _empty_scenes(4), firmware)
    rows = board.decisions()
    assert len(rows) == 4 and all(r["label"] == "background" and r["prob"] is None for r in rows)
    assert all(r["face"] for r in rows)  # the detector did find something: the classifier refused it
    assert {state for _, state in board.door_events()} == {"closed"}


def test_the_same_stage_opens_when_the_classifier_reads_mask(models, tmp_path):
    model, manifest = _bundle(tmp_path, models["mask"], models["always_face"], "facedet")
    board = _run_board(tmp_path, model, manifest, _empty_scenes(3))
    assert any(state == "open" for _, state in board.door_events())
    model, manifest = _bundle(tmp_path, models["mask"], models["never_face"], "facedet")
    board = _run_board(tmp_path, model, manifest, _empty_scenes(3))
    assert all(r["label"] == "no_face" for r in board.decisions())
    assert {state for _, state in board.door_events()} == {"closed"}


@pytest.mark.parametrize("firmware", ["4.5.9", "5.0.0"])
def test_the_board_holds_both_models_as_the_plan_says(models, tmp_path, firmware):
    from maskgate.board import deploy

    model, manifest = _bundle(tmp_path, models["mask"], models["always_face"], "haar+facedet")
    board = _run_board(tmp_path, model, manifest, _empty_scenes(2), firmware, hello=True)
    hello = _hello(board)
    files, _ = deploy.card_contents(model, manifest)
    check = deploy.memory_check(manifest, files["door_int8.tflite"], None, None, firmware,
                                deploy.detector_model(manifest, files))
    plan = check["releases"][firmware]
    assert plan["ok"] and [m["model_in"] for m in plan["models"]] == ["heap", "heap"]
    assert hello["error"] is None and hello["face_stage"] == "haar+facedet"
    assert (hello["heap_free"], hello["model_heap"]) == (plan["heap_free_after"],
                                                          plan["heap_free_before"] - plan["heap_free_after"])
    assert hello["detector_sha256"] == manifest["face_stage"]["detector"]["sha256"]


def test_the_pc_stage_finds_on_each_frame_what_the_board_firmware_found(models, tmp_path):
    """maskgate.data.faces find_face (the importer's, evaluation's and `data faces`' stage) and
    the firmware on the virtual board, same frames, stage "facedet" with an untrained detector
    (some frames have a face above the threshold, some not)."""
    from maskgate.data import faces
    from maskgate.detector.stage import HostDetector

    frames = [np.ascontiguousarray(f) for f in _empty_scenes(8)]
    scores = HostDetector(models["random"]).outputs(frames)[:, ::fd.CHANNELS].max(axis=1)
    threshold = float(np.median(scores))
    model, manifest = _bundle(tmp_path, models["background"], models["random"], "facedet", threshold)
    board = _run_board(tmp_path, model, manifest, frames)
    host = faces.stage_detector("facedet", tmp_path / "bundle" / "facedet_int8.tflite", threshold)
    rows = board.decisions()
    assert len(rows) == len(frames)
    found = 0
    for frame, row in zip(frames, rows):
        got = faces.find_face(frame, host)
        assert (got[0] if got else None) == (tuple(row["face"]) if row["face"] else None)
        found += got is not None
    assert 0 < found < len(frames)


def test_a_square_the_heap_cannot_copy_is_cropped_in_place_with_the_same_pixels(models, tmp_path):
    """A face filling the frame beside two models: the two-step copy of its 240 px square does
    not fit a small heap, judge crops the picture in place, the model sees the same input."""
    from maskgate.board.virtualboard import VirtualBoard

    frames = []
    for scene in _empty_scenes(2):  # a white patch on one cell (4, 6): the face is there
        scene = scene // 4
        scene[110:130, 163:184] = 255
        frames.append(scene)
    model, manifest = _bundle(tmp_path, models["mask"], models["filling_face"], "facedet")
    tensors = {}
    small = memory.FIRMWARE_HEAP + 100 * 1024  # under the 115 KB copy of a 240 px square, with the models in
    for heap in (None, small):
        board = VirtualBoard(frames, card_dir=tmp_path / f"card-heap-{heap}", heap_bytes=heap)
        board.install(model, manifest, **{"log.crops": "all"})
        assert board.run().crash is None
        rows = board.decisions()
        assert len(rows) == 2 and all(r["prob"] is not None for r in rows), board.console
        assert all(r["face"][3] == 240 for r in rows)  # the box fills the frame's height
        tensors[heap] = [i.tensor for i in board.inferences if i.tensor.shape[0] == 32]
        assert (board.heap.max_free() < 240 * 240 * 2) == (heap is not None)  # the copy could not fit
    assert len(tensors[small]) == 2 and all(np.array_equal(a, b) for a, b in zip(tensors[None], tensors[small]))
