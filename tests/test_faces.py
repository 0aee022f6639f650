"""Face crops on the host: the Haar detector the camera runs (OpenMV's, ported) finds a real
face where it was put, crops it the contract's way, and reports pictures with no face or
several faces instead of guessing. It is the firmware's own face stage: same settings, and
the same boxes as the firmware on the virtual board."""
import csv

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from maskgate import contract
from maskgate.data import faces
from maskgate.errors import DataError

from conftest import dataset_files


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / float(aw * ah + bw * bh - inter)


def _scene(face_rgb, box, positions, size=(480, 360), scale=2):
    """A wide grey scene with the face picture pasted (scaled) at each (x, y); returns the scene
    and the face boxes where they must be found."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    scene = np.dstack([90 + 40 * xx / width, 100 + 30 * yy / height, 110 + 0 * xx]).astype(np.uint8)
    big = cv2.resize(face_rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    expected = []
    for x, y in positions:
        scene[y:y + big.shape[0], x:x + big.shape[1]] = big
        expected.append((x + scale * box[0], y + scale * box[1], scale * box[2], scale * box[3]))
    return scene, expected


def _save(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])


def test_face_found_where_it_was_put_and_cropped_within_tolerance(known_face, tmp_path):
    from maskgate.data.images import read_rgb

    rgb, box = known_face
    scene, (expected,) = _scene(rgb, box, [(150, 60)])
    _save(tmp_path / "src" / "without_mask" / "scene.jpg", scene)
    scene = read_rgb(tmp_path / "src" / "without_mask" / "scene.jpg")  # what crop_faces reads
    found = faces.find_faces(scene)
    assert len(found) == 1
    assert _iou(found[0], expected) >= 0.6, (found[0], expected)

    result = faces.crop_faces(tmp_path / "src", tmp_path / "out", progress=False)
    (row,) = result.rows
    assert row["status"] == "cropped" and row["faces"] == 1
    square = tuple(int(v) for v in row["square"].split(","))
    height, width = scene.shape[:2]
    assert square == contract.face_square(found[0], width, height)
    # the crop is the expected face grown by the margin, give or take one pyramid step
    ex, ey, ew, eh = expected
    sx, sy, side, _ = square
    assert sx <= ex + ew / 2 <= sx + side and sy <= ey + eh / 2 <= sy + side
    grown = ew * (1 + 2 * contract.FACE_MARGIN)
    assert 0.75 * grown <= side <= 1.25 * grown
    assert abs((sx + side / 2) - (ex + ew / 2)) <= 0.15 * ew and abs((sy + side / 2) - (ey + eh / 2)) <= 0.15 * eh
    crop = cv2.imread(row["crop"])
    assert crop.shape[0] == crop.shape[1] == min(side, 256)
    assert row["crop"].startswith(str((tmp_path / "out" / "no_mask").absolute()))
    # the folder of crops is a dataset the importer reads
    from maskgate.data.layouts import detect_layout

    layout = detect_layout(tmp_path / "out")
    assert layout.name == "class-folders" and [e.label for e in layout.entries] == ["no_mask"]


def test_pictures_without_a_face_are_reported_not_guessed(tmp_path):
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (0, 0), 1.5)
    flat = np.full((200, 200, 3), (120, 160, 200), np.uint8)
    _save(tmp_path / "src" / "with_mask" / "noise.jpg", noise)
    _save(tmp_path / "src" / "without_mask" / "flat.jpg", flat)
    (tmp_path / "src" / "without_mask" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")

    result = faces.crop_faces(tmp_path / "src", tmp_path / "out", progress=False)
    status = {r["path"].rsplit("/", 1)[-1]: r["status"] for r in result.rows}
    assert status == {"noise.jpg": "no_face", "flat.jpg": "no_face", "broken.jpg": "unreadable"}
    assert result.crops() == 0
    assert not list((tmp_path / "out").rglob("*.jpg"))
    report = (tmp_path / "out" / "faces-report.md").read_text()
    assert "## No face found: 2" in report and "noise.jpg" in report and "flat.jpg" in report
    with open(tmp_path / "out" / "faces.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["status"] for r in rows} == {"no_face", "unreadable"} and all(r["crop"] == "" for r in rows)


def test_several_faces_are_reported_and_cropped_only_when_asked(known_face, tmp_path):
    rgb, box = known_face
    scene, expected = _scene(rgb, box, [(20, 40), (260, 90)], size=(520, 360), scale=2)
    _save(tmp_path / "src" / "without_mask" / "two.jpg", scene)

    skipped = faces.crop_faces(tmp_path / "src", tmp_path / "skip", progress=False)
    (row,) = skipped.rows
    assert row["status"] == "several_faces" and row["faces"] == 2 and row["crop"] == ""
    boxes = [tuple(int(v) for v in b.split(",")) for b in row["boxes"].split(";")]
    for want in expected:
        assert max(_iou(want, got) for got in boxes) >= 0.6
    assert "## Several faces found: 1" in (tmp_path / "skip" / "faces-report.md").read_text()

    every = faces.crop_faces(tmp_path / "src", tmp_path / "all", several="all", progress=False)
    assert every.crops() == 2
    assert len(list((tmp_path / "all" / "no_mask").glob("*.jpg"))) == 2


def test_publisher_split_is_kept_in_the_crop_folder(known_face, tmp_path):
    rgb, box = known_face
    scene, _ = _scene(rgb, box, [(100, 50)])
    _save(tmp_path / "src" / "Test" / "WithoutMask" / "a.jpg", scene)
    _save(tmp_path / "src" / "Train" / "WithoutMask" / "b.jpg", scene)
    faces.crop_faces(tmp_path / "src", tmp_path / "out", progress=False)
    from maskgate.data.layouts import detect_layout

    layout = detect_layout(tmp_path / "out")
    assert layout.name == "kaggle-12k"
    assert sorted((e.split, e.label) for e in layout.entries) == [("test", "no_mask"), ("train", "no_mask")]


def test_crops_refuse_to_go_inside_the_source(tmp_path):
    _save(tmp_path / "src" / "with_mask" / "a.jpg", np.zeros((50, 50, 3), np.uint8))
    with pytest.raises(DataError, match="outside the source"):
        faces.crop_faces(tmp_path / "src", tmp_path / "src" / "crops", progress=False)


def test_eye_pair_of_a_real_face_sits_in_the_upper_face(known_face):
    rgb, box = known_face
    pair = faces.eye_pair(faces.find_eyes(rgb, box), box)
    assert pair is not None
    (lx, ly), (rx, ry) = pair
    x, y, w, h = box
    assert x <= lx < x + w / 2 < rx <= x + w
    assert y + 0.15 * h <= ly <= y + 0.6 * h and y + 0.15 * h <= ry <= y + 0.6 * h


def test_host_finds_the_face_the_firmware_finds_on_the_virtual_board():
    """find_face_or_eyes (the importer's and the camera-crop evaluation's face) is the box the
    firmware's face.find returns on the virtual board, frontal or through the eyes."""
    from maskgate.board.virtualboard import image as vimage
    from maskgate.board.virtualboard.frames import fit_frame
    from maskgate.data.images import read_rgb
    from maskgate.firmware import module

    face, cfg = module("face"), module("config").DEFAULTS
    frontal = vimage.HaarCascade("frontalface", stages=cfg["haar_stages"])
    eyes = vimage.HaarCascade("eye", stages=face.EYE_STAGES)
    found = 0
    for path in dataset_files("Test", "WithMask", 12) + dataset_files("Test", "WithoutMask", 8):
        frame = fit_frame(read_rgb(path), 320, 240)
        board = face.find(vimage.Image.from_rgb(frame), frontal, cfg["detect_scale"], cfg["haar_threshold"],
                          cfg["haar_scale_factor"], eyes if cfg["eye_fallback"] else None)
        host = faces.find_face_or_eyes(frame)
        assert host == ([board] if board is not None else []), path
        if board is not None:
            frontal_boxes = faces.find_faces(frame)
            if frontal_boxes:  # a frontal face: one of them (find maps its box as find_faces does)
                assert board in frontal_boxes
            found += 1
    assert found >= 8  # the comparison is about faces, not about empty results


def test_a_dataset_picture_gets_the_face_the_board_finds_in_its_frame():
    """A tight 12K crop is framed as the camera frames it (fitted into QVGA); the face the
    firmware finds there, mapped back, is the host's face for the picture."""
    from maskgate.board.virtualboard import image as vimage
    from maskgate.data.framing import box_in_picture, fit_frame, fit_geometry
    from maskgate.data.images import read_rgb
    from maskgate.firmware import module

    face, cfg = module("face"), module("config").DEFAULTS
    frontal = vimage.HaarCascade("frontalface", stages=cfg["haar_stages"])
    eyes = vimage.HaarCascade("eye", stages=face.EYE_STAGES)
    found = 0
    for path in dataset_files("Test", "WithoutMask", 6) + dataset_files("Test", "WithMask", 6):
        rgb = read_rgb(path)
        height, width = rgb.shape[:2]
        board = face.find(vimage.Image.from_rgb(fit_frame(rgb, 320, 240)), frontal, cfg["detect_scale"],
                          cfg["haar_threshold"], cfg["haar_scale_factor"], eyes)
        want = [box_in_picture(board, width, height, 320, 240)] if board is not None else []
        assert faces.find_face_or_eyes(rgb) == want, path
        found += board is not None
    assert found >= 6
    # the picture's own area in the frame maps back onto the whole picture
    x0, y0, w, h = fit_geometry(106, 98, 320, 240)
    assert box_in_picture((x0, y0, w, h), 106, 98, 320, 240) == (0, 0, 106, 98)


def test_cli_data_faces(known_face, tmp_path):
    from maskgate.cli import main

    rgb, box = known_face
    scene, _ = _scene(rgb, box, [(100, 50)])
    _save(tmp_path / "src" / "without_mask" / "a.jpg", scene)
    _save(tmp_path / "src" / "with_mask" / "b.jpg", np.full((64, 64, 3), 128, np.uint8))
    result = CliRunner().invoke(main, ["data", "faces", str(tmp_path / "src"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "1 one face, 1 no face" in result.output
    assert (tmp_path / "out" / "faces-report.md").exists()
