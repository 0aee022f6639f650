"""The detector's training data from real photos: the teacher's post-processing (OpenMV's
mediapipe anchors and soft NMS), the face-box annotations file, photo pictures with their boxes,
face-free windows, "do not care" targets, and the classifier's background crops made by the
stage (seeded). Real pictures come from ../shared/datasets (tests needing them skip without)."""
import numpy as np
import pytest

from maskgate.data import compose
from maskgate.detector import background_export, face_boxes, photos, targets, teacher
from maskgate.firmware import module

fd = module("facedet")


def test_anchors_follow_mediapipe_blazeface():
    a = teacher.anchors()
    assert a.shape == (16 * 16 * 2 + 8 * 8 * 6, 2)
    assert tuple(a[0]) == tuple(a[1]) == (0.5 / 16, 0.5 / 16)  # two anchors per cell of the 16 grid
    assert tuple(a[512]) == (0.5 / 8, 0.5 / 8)


def test_soft_nms_keeps_the_best_and_decays_overlaps():
    boxes = [[0, 0, 10, 10, 0.9], [1, 1, 10, 10, 0.8], [50, 50, 10, 10, 0.7]]
    kept = teacher.soft_nms(boxes)
    assert kept[0][4] == 0.9 and kept[1][:4] == [50, 50, 10, 10]
    assert all(b[4] < 0.8 for b in kept[2:])  # the overlapping box survives only decayed (< 0.1 dropped)
    inner = teacher._drop_contained([[0, 0, 100, 100, 0.9], [20, 20, 20, 20, 0.6]])
    assert inner == [[0, 0, 100, 100, 0.9]]  # an eye inside a face is not a second face


def test_annotations_round_trip_and_grow_to_the_face_picture(tmp_path):
    rows = [{"path": "src/a.jpg", "width": 100, "height": 80, "boxes": "10,20,30,30,0.9;1,1,5,5,0.35"},
            {"path": "src/b.jpg", "width": 50, "height": 50, "boxes": ""}]
    path = face_boxes.write(tmp_path / "boxes.csv", rows, "maskgate data face-boxes ...")
    assert path.read_text().startswith("# made by: maskgate data face-boxes")
    got = face_boxes.read(path)
    assert got["src/a.jpg"]["boxes"][0] == (10, 20, 30, 30, 0.9) and got["src/b.jpg"]["boxes"] == []
    x, y, s, _ = face_boxes.face_square((10, 20, 30, 30))
    assert s == pytest.approx(30 * face_boxes.FACE_SCALE) and x + s / 2 == pytest.approx(25)
    assert y + s / 2 < 35  # raised: the face picture reaches higher than the teacher's box


def test_shipped_annotations_cover_both_photo_sources():
    boxes = face_boxes.read(face_boxes.default_file())
    sources = {p.split("/")[0] for p in boxes}
    assert sources == set(face_boxes.SOURCES)
    assert len(boxes) >= 5000 and all(b[4] >= face_boxes.LABEL_THRESHOLD for v in boxes.values() for b in v["boxes"])


def test_unsure_boxes_are_neither_face_nor_background():
    t = targets.encode([(40, 40, 60, 60)], 320, 240, unsure=[(200, 100, 60, 60)])
    heat = t[..., 0]
    assert (heat >= 0.999).sum() == 1  # one face
    r, c = int(130 / (240 / fd.ROWS)), int(230 / (320 / fd.COLS))
    assert heat[r, c] == pytest.approx(targets.UNSURE_HEAT)  # the background term is (1 - heat)^4 ~ 0
    assert t[r, c, 4] == 0  # and no box is learnt there


def _fake_photos():
    rng = np.random.default_rng(0)
    ph = photos.Photos()
    for i in range(6):
        ph.pictures.append(rng.integers(0, 256, (180, 160, 3), dtype=np.uint8))
        ph.faces.append([(40.0, 20.0, 60.0, 60.0)])
        ph.unsure.append([] if i else [(0.0, 0.0, 20.0, 20.0)])
        ph.labels.append(compose.MASK)
        ph.paths.append(f"face-mask-rwmfd/with_mask/0000/{i}.jpg")
    return ph


def test_photo_pictures_carry_their_boxes_into_the_frame():
    ph = _fake_photos()
    rng = np.random.default_rng(1)
    for door_framing in (1.0, 0.0):
        for _ in range(20):
            frame, faces, unsure = photos.picture(rng, ph, compose.ComposeConfig(), 0.5, door_framing)
            assert frame.shape == (120, 160, 3)
            for b in faces:  # boxes in 320 x 240 frame pixels, mostly inside, not tiny
                assert b[2] >= photos.MIN_FACE and compose.visible(b) >= 0.5
    # door framing: a 160 x 180 picture fitted in 320 x 240 -> scale 240 / 180
    frame, faces, _ = photos.picture(np.random.default_rng(0), ph, compose.ComposeConfig(), 1.0, 1.0)
    assert faces.shape == (1, 4) and faces[0][2] == pytest.approx(60 * 240 / 180)


def test_free_windows_come_only_from_below_the_one_face():
    ph = _fake_photos()
    ph.pictures = [np.zeros((180, 160, 3), np.uint8) for _ in ph.pictures]
    for p in ph.pictures:
        p[:20 + 60 + 9] = 255  # everything above the face's bottom (+ margin) is white
    windows = photos.free_windows(np.random.default_rng(2), ph, 30, 64, 48)
    assert len(windows) == 30 and all(w.max() == 0 for w in windows)
    ph.unsure = [[(0.0, 0.0, 5.0, 5.0)]] * len(ph)  # every picture unsure somewhere: none used
    assert photos.free_windows(np.random.default_rng(2), ph, 5, 64, 48) == []


def test_photo_splits_keep_an_rwmfd_page_together():
    a = photos.split_of("face-mask-rwmfd/with_mask/0006/0001.jpg")
    assert all(photos.split_of(f"face-mask-rwmfd/with_mask/0006/{i:04d}.jpg") == a for i in range(20))
    assert photos._in_split("test", "fit") and not photos._in_split("val", "fit")


def test_background_crops_are_seeded_and_made_by_the_stage(tmp_path):
    one = list(background_export.stage_crops("train", 6, seed=3, haar=False))
    two = list(background_export.stage_crops("train", 6, seed=3, haar=False))
    assert len(one) == 6 and all(np.array_equal(a, b) for a, b in zip(one, two))
    assert all(c.ndim == 3 and c.shape[0] == c.shape[1] >= 26 for c in one)  # squares, as the board crops
    info = background_export.export_folder(tmp_path / "bg", None, {"train": 4, "val": 2}, seed=1)
    assert info["counts"] == {"train": 4, "val": 2}
    assert len(list((tmp_path / "bg" / "train" / "background").glob("*.png"))) == 4
    from maskgate.errors import DataError

    with pytest.raises(DataError, match="not empty"):
        background_export.export_folder(tmp_path / "bg", None, {"train": 1})


def test_background_generator_fits_the_classifiers_crops(tmp_path):
    """The signature maskgate.data.background_crops.crops(generator=...) calls."""
    gen = background_export.generator(None)
    crops = list(gen("val", 3, 0))
    assert len(crops) == 3 and gen.version.startswith("stage-none")


def test_real_photos_load_with_their_boxes(shared_datasets):
    ph = photos.load(shared_datasets, ("face-mask-rwmfd",), "val")
    assert len(ph) > 10 and all(p.startswith("face-mask-rwmfd/") for p in ph.paths)
    assert max(max(p.shape[:2]) for p in ph.pictures) <= photos.MAX_SIDE
    assert not set(ph.paths) & photos.walkup_scene_pictures()
    crops = photos.face_crops(ph)
    assert len(crops) > 10 and crops.pixels.shape[1:] == (compose.FACE_SIDE, compose.FACE_SIDE, 3)
