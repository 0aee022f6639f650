"""Composed door pictures: reproducible from a seed, each face's box is where its pixels are,
door framing is the virtual camera's fit_frame, and the background sets kept for checking are
not the training ones."""
import numpy as np
import pytest

from maskgate import contract
from maskgate.data import backgrounds, compose
from maskgate.detector import background_class


def some_faces(n=6, side=96):
    """Face-like tiles (a distinct flat colour each, so a pasted one can be found again)."""
    rng = np.random.default_rng(5)
    pixels = np.stack([np.full((side, side, 3), rng.integers(30, 220, size=3), np.uint8) for _ in range(n)])
    return compose.Faces(pixels, np.arange(n) % 2, [f"tile{i}" for i in range(n)])


def test_same_seed_same_picture():
    faces = some_faces()
    bg = backgrounds.background(backgrounds.SPLIT_SEEDS["train"], 3)
    a = compose.compose(np.random.default_rng(7), faces, bg)
    b = compose.compose(np.random.default_rng(7), faces, bg)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert np.array_equal(backgrounds.background(1, 2), backgrounds.background(1, 2))
    assert not np.array_equal(backgrounds.background(1, 2), backgrounds.background(1, 3))


def test_the_box_is_where_the_face_is():
    faces = some_faces()
    cfg = compose.ComposeConfig(empty_p=0.0, door_framing_p=0.0, extra_faces_p=0.0, body_p=0.0, oval_p=0.0,
                                blur_p=0.0, noise=0.0, edge=0.0)
    rng = np.random.default_rng(1)
    checked = 0
    for i in range(20):
        bg = backgrounds.background(backgrounds.SPLIT_SEEDS["train"], i)
        frame, boxes, labels = compose.compose(rng, faces, bg, cfg)
        assert len(boxes) == 1 and labels[0] in (0, 1)
        x, y, s, _ = (int(v) for v in boxes[0])
        inside = frame[y + 2 : y + s - 2, x + 2 : x + s - 2].reshape(-1, 3).astype(int)
        # one flat tile under a global light change: the box holds one colour, its ring does not
        assert inside.std(axis=0).max() < 3.0
        checked += 1
    assert checked == 20


def test_door_framing_is_the_virtual_cameras_fit_frame():
    from maskgate.board.virtualboard.frames import fit_frame

    for shape in ((128, 128, 3), (200, 150, 3), (90, 300, 3)):
        picture = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
        frame, box = compose.door_framing(picture)
        assert np.array_equal(frame, fit_frame(picture, 320, 240))
        x, y, s, _ = box
        assert frame[y : y + s, x : x + s].shape[:2] == (s, s)


def test_pictures_go_through_rgb565():
    frame, _, _ = compose.compose(np.random.default_rng(0), some_faces(), backgrounds.background(1, 0))
    assert np.array_equal(frame, contract.rgb565_round_trip(frame))


def test_drawn_at_half_size_boxes_stay_in_frame_pixels():
    faces = some_faces()
    cfg = compose.ComposeConfig(empty_p=0.0, door_framing_p=0.0, extra_faces_p=0.0, edge=0.0)
    bg = backgrounds.background(1, 0, 160, 120)
    frame, boxes, _ = compose.compose(np.random.default_rng(3), faces, bg, cfg, scale=0.5)
    assert frame.shape == (120, 160, 3)
    x, y, s, _ = boxes[0]
    assert 0 <= x and x + s <= 320 + 1 and 0 <= y and y + s <= 240 + 1


def test_splits_are_stable_and_disjoint():
    names = [f"{i}_0_0_2017.jpg.chip.jpg" for i in range(2000)]
    splits = [compose.hash_split(n) for n in names]
    assert splits == [compose.hash_split(n) for n in names]
    share = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert share["train"] == pytest.approx(0.7, abs=0.05) and share["test"] == pytest.approx(0.2, abs=0.05)
    assert len(set(backgrounds.SPLIT_SEEDS.values())) == 3


def test_region_labels_need_a_face_that_fills_the_region():
    region = (40, 0, 240, 240)
    assert background_class.region_label(region, [], []) == 0
    assert background_class.region_label(region, [(100, 50, 120, 120)], [1]) == 2  # mask
    assert background_class.region_label(region, [(100, 50, 120, 120)], [0]) == 1  # no_mask
    assert background_class.region_label(region, [(100, 50, 70, 70)], [1]) is None  # too small to say
    assert background_class.region_label(region, [(150, 100, 20, 20)], [1]) == 0  # a speck far away
    assert background_class.region_label(region, [(0, 0, 30, 200)], [1]) == 0  # centre outside


def test_real_faces_load_with_their_labels(shared_datasets, tmp_path):
    faces = compose.load_faces(shared_datasets, "face-mask-12k", "test", limit=12, cache_dir=tmp_path)
    assert len(faces) == 12 and faces.pixels.shape[1:] == (compose.FACE_SIDE, compose.FACE_SIDE, 3)
    again = compose.load_faces(shared_datasets, "face-mask-12k", "test", limit=12, cache_dir=tmp_path)
    assert np.array_equal(faces.pixels, again.pixels) and list(faces.names) == list(again.names)
    masked = compose.load_faces(shared_datasets, "utk-synth-mask", "test", limit=3)
    assert set(masked.labels) == {compose.MASK}
