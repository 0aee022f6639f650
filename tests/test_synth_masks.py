"""Synthetic masks: each placement covers what it says (nose, mouth, chin), synthetic pictures
keep the group and split of the face they were drawn on, the same seed gives the same
pictures, and a 3-class model made from them exports three labels that the firmware's door
treats as deny for "incorrect"."""
import hashlib
import json
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest

from maskgate.data import mask_render, synth_masks
from maskgate.data.hashing import phash
from maskgate.data.images import read_rgb
from maskgate.data.manifest import read_csv, read_manifest, write_manifest
from maskgate.data.mask_render import FaceFrame
from maskgate.errors import DataError

COVERED = {  # face point (v, eye distances below the eye line, on the face's midline) -> covered?
    "correct": {"eyes": False, "nose": True, "mouth": True, "chin": True},
    "below_nose": {"eyes": False, "nose": False, "mouth": True, "chin": True},
    "chin": {"eyes": False, "nose": False, "mouth": False, "chin": True},
}
POINTS = {"eyes": 0.0, "nose": 0.55, "mouth": 1.0, "chin": 1.65}


@pytest.mark.parametrize("style", mask_render.STYLES)
@pytest.mark.parametrize("placement", mask_render.PLACEMENTS)
def test_placement_covers_nose_mouth_chin_as_labelled(style, placement):
    base = np.zeros((220, 200, 3), np.uint8)
    base[:] = (20, 160, 60)  # a colour none of the mask palettes is close to
    frame = FaceFrame(100.0, 60.0, 50.0, 0.0)
    spec = mask_render.random_spec(np.random.default_rng(3), placement, style)
    out = mask_render.draw_mask(base, frame, spec)
    changed = np.abs(out.astype(int) - base.astype(int)).sum(axis=2) > 30
    for point, v in POINTS.items():
        x, y = (int(round(c)) for c in frame.to_image(spec.shift, v))
        patch = changed[y - 1:y + 2, x - 1:x + 2]
        assert patch.mean() > 0.5 if COVERED[placement][point] else patch.mean() == 0, (style, placement, point)
    assert spec.label == ("mask" if placement == "correct" else "incorrect")


def test_mask_follows_the_eye_line():
    frame = FaceFrame.from_eyes((80.0, 60.0), (120.0, 80.0))  # head tilted by atan(20/40)
    assert frame.d == pytest.approx(np.hypot(40, 20)) and frame.angle == pytest.approx(np.arctan2(20, 40))
    x, y = frame.to_image(0.0, 1.0)  # one eye distance "down" the face is down-left of the eye midpoint
    assert x < 100 and y > 70


def test_mask_outside_the_picture_is_refused():
    spec = mask_render.random_spec(np.random.default_rng(0), "chin", "surgical")
    inside = FaceFrame(100.0, 40.0, 40.0, 0.0)
    low = FaceFrame(100.0, 160.0, 40.0, 0.0)  # chin far below the bottom edge
    assert mask_render.visible_fraction(inside, spec, 200, 200) == pytest.approx(1.0, abs=0.01)
    assert mask_render.visible_fraction(low, spec, 200, 200) < synth_masks.MIN_VISIBLE


def _with_face_boxes(manifest, out):
    """tests/synthetic.py faces are ellipses the Haar detector does not know: give them the box."""
    rows = read_manifest(manifest)
    for row in rows:
        row["face"] = (11, 6, 42, 52)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_manifest(out, rows)


@pytest.fixture(scope="module")
def synthetic_with_masks(tmp_path_factory, synthetic_import):
    base = tmp_path_factory.mktemp("synth-masks")
    manifest = _with_face_boxes(synthetic_import, base / "boxed" / "manifest.csv")
    out = synth_masks.synth_masks(manifest, base / "out", incorrect=True, seed=0, progress=False)
    return manifest, out


def test_synthetic_pictures_keep_the_group_and_split_of_their_face(synthetic_with_masks):
    manifest_in, manifest_out = synthetic_with_masks
    before = read_manifest(manifest_in)
    after = read_manifest(manifest_out)
    assert after[:len(before)] == before  # the input rows, unchanged, come first
    new = after[len(before):]
    bare = {r["path"]: r for r in before if r["label"] == "no_mask"}
    provenance = {p["path"]: p for p in read_csv(manifest_out.parent / "synth.csv")}
    assert len(new) == len(provenance) == 2 * len(bare)  # every face: one mask, one incorrect
    for row in new:
        face = bare[provenance[row["path"]]["from_path"]]
        assert (row["group"], row["split"], row["face"]) == (face["group"], face["split"], face["face"])
        assert row["source"] == synth_masks.SOURCE_NAME and row["label"] in ("mask", "incorrect")
        data = open(row["path"], "rb").read()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert row["phash"] == f"{phash(read_rgb(row['path'])):016x}"
    splits_of_group = defaultdict(set)
    for row in after:
        splits_of_group[row["group"]].add(row["split"])
    assert all(len(s) == 1 for s in splits_of_group.values()), "a group straddles two splits"
    assert {r["label"] for r in new} == {"mask", "incorrect"}
    assert {r["split"] for r in new} == {"train", "val", "test"}


def test_same_seed_same_pictures(synthetic_with_masks, tmp_path):
    manifest_in, manifest_out = synthetic_with_masks
    first = [r["sha256"] for r in read_manifest(manifest_out)]
    again = synth_masks.synth_masks(manifest_in, tmp_path / "again", incorrect=True, seed=0, progress=False)
    assert [r["sha256"] for r in read_manifest(again)] == first
    other = synth_masks.synth_masks(manifest_in, tmp_path / "other", incorrect=True, seed=1, progress=False)
    assert [r["sha256"] for r in read_manifest(other)] != first
    # a subset draws exactly the same picture for the faces it keeps
    subset = synth_masks.synth_masks(manifest_in, tmp_path / "subset", incorrect=True, seed=0, limit=5, progress=False)
    assert {r["sha256"] for r in read_manifest(subset)} <= set(first)


def test_refuses_a_manifest_without_bare_faces(tmp_path, synthetic_import):
    rows = [r for r in read_manifest(synthetic_import) if r["label"] == "mask"]
    manifest = write_manifest(tmp_path / "in" / "manifest.csv", rows)
    with pytest.raises(DataError, match="no no_mask faces"):
        synth_masks.synth_masks(manifest, tmp_path / "out", progress=False)


def test_real_faces_get_masks_from_their_eyes(bare_faces_import, tmp_path):
    out = synth_masks.synth_masks(bare_faces_import, tmp_path / "out", incorrect=True, seed=0, progress=False)
    provenance = read_csv(out.parent / "synth.csv")
    faces_used = {p["from_path"] for p in provenance}
    bare = [r for r in read_manifest(bare_faces_import) if r["label"] == "no_mask"]
    assert len(faces_used) >= 0.75 * len(bare)
    assert sum(p["geometry"] == "eyes" for p in provenance) >= 0.5 * len(provenance)
    by_path = {r["path"]: r for r in bare}
    for p in provenance:
        assert (p["group"], p["split"]) == (by_path[p["from_path"]]["group"], by_path[p["from_path"]]["split"])
    report = (out.parent / "synth-report.md").read_text()
    assert "keeps the group and split" in report


@pytest.mark.slow
def test_three_class_model_exports_three_labels_and_the_door_denies_incorrect(synthetic_with_masks, tmp_path):
    from maskgate import contract
    from maskgate.data.arrays import load_split
    from maskgate.bundle import LABELS_FILE, MANIFEST_FILE
    from maskgate.quantize import quantize_run
    from maskgate.runtime import LiteModel
    from maskgate.train import TrainConfig, train
    from maskgate.board.board_config import make_config
    from maskgate.firmware import module

    _, manifest = synthetic_with_masks
    cfg = TrainConfig(arch="tinycnn", arch_options={"width": 0.25, "dropout": 0.0}, num_classes=3, epochs=1,
                      batch_size=16, augment=False, seed=0)
    run = train(manifest, tmp_path / "run", cfg)
    quantize_run(run, calibration_images=30)
    model_manifest = json.loads((run / MANIFEST_FILE).read_text())
    assert model_manifest["contract"]["labels"] == ["no_mask", "mask", "incorrect"]
    assert model_manifest["contract"]["output"] == "softmax"
    assert (run / LABELS_FILE).read_text().split() == ["no_mask", "mask", "incorrect"]
    # a 3-unit head with per-tensor weights: the TFLM of OpenMV <= 4.8.1 can prepare it
    from maskgate.m7.measure import unsupported

    assert unsupported((run / "maskgate_int8.tflite").read_bytes()) == []

    config = make_config(model_manifest)
    assert config["labels"] == ["no_mask", "mask", "incorrect"] and config["positive_label"] == "mask"
    infer, door = module("infer"), module("door")
    classifier = SimpleNamespace(labels=config["labels"], output=config["output"],
                                 positive=config["labels"].index(config["positive_label"]), threshold=config["threshold"])

    def door_after(scores, frames):
        d = door.Door(k=config["door"]["k"], hold_ms=int(config["door"]["hold_s"] * 1000),
                      threshold=config["threshold"], hysteresis=config["door"]["hysteresis"])
        label = None
        for i in range(frames):
            p, label = infer.Classifier.decide(classifier, scores)
            d.update(i * 100, p)
        return d.state, d.signal, label

    frames = config["door"]["k"] + 2
    assert door_after([0.05, 0.25, 0.70], frames) == (door.CLOSED, door.SIG_DENIED, "incorrect")
    assert door_after([0.05, 0.90, 0.05], frames)[0] == door.OPEN
    # and on the model's own outputs: whatever it calls "incorrect" never opens the door
    test = load_split(manifest, "test", contract.labels_for(3))
    probs = LiteModel((run / model_manifest["model_file"]).read_bytes()).probabilities(test["x32"])
    assert probs.shape == (len(test["y"]), 3)
    for scores in probs[probs.argmax(axis=1) == 2][:10]:
        assert door_after([float(s) for s in scores], frames)[0] == door.CLOSED
