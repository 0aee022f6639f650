"""Layout detection: each accepted layout, label maps, and clear refusals."""
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskgate.data.layouts import LAYOUTS, detect_layout, parse_label_map
from maskgate.errors import DataError


def put_images(folder: Path, count: int, seed: int = 0, names=None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        name = names[i] if names else f"{i:05d}.jpg"
        cv2.imwrite(str(folder / name), rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))


def labels_of(layout):
    return Counter((e.label, e.split) for e in layout.entries)


def test_kaggle_12k(tmp_path):
    for split, n in (("Train", 3), ("Validation", 2), ("Test", 1)):
        put_images(tmp_path / split / "WithMask", n)
        put_images(tmp_path / split / "WithoutMask", n)
    layout = detect_layout(tmp_path)
    assert layout.name == "kaggle-12k"
    assert labels_of(layout) == {
        ("mask", "train"): 3, ("no_mask", "train"): 3, ("mask", "val"): 2, ("no_mask", "val"): 2,
        ("mask", "test"): 1, ("no_mask", "test"): 1,
    }


def test_kaggle_12k_inside_a_wrapping_folder(tmp_path):
    put_images(tmp_path / "Face Mask Dataset" / "Train" / "WithMask", 2)
    layout = detect_layout(tmp_path)
    assert layout.name == "kaggle-12k" and len(layout.entries) == 2
    assert any("Face Mask Dataset" in note for note in layout.notes)


@pytest.mark.parametrize(
    "folders",
    [
        {"with_mask": "mask", "without_mask": "no_mask"},
        {"WithMask": "mask", "WithoutMask": "no_mask"},
        {"MASK": "mask", "No-Mask": "no_mask", "mask_weared_incorrect": "incorrect"},
        {"With Mask": "mask", "NO_MASK": "no_mask", "incorrect_mask": "incorrect"},
    ],
)
def test_class_folders_any_case(tmp_path, folders):
    for i, folder in enumerate(folders):
        put_images(tmp_path / folder, 2 + i)
    layout = detect_layout(tmp_path)
    assert layout.name == "class-folders"
    assert labels_of(layout) == {(label, None): 2 + i for i, label in enumerate(folders.values())}


def test_class_folders_note_unknown_folders_and_list_stray_files(tmp_path):
    put_images(tmp_path / "with_mask", 2)
    put_images(tmp_path / "with_mask" / "more", 1)  # sub-folders belong to their class
    put_images(tmp_path / "selfies", 3)
    (tmp_path / "with_mask" / "notes.txt").write_text("hello")
    (tmp_path / "with_mask" / ".DS_Store").write_bytes(b"\0")
    layout = detect_layout(tmp_path)
    assert len(layout.entries) == 3
    assert any("selfies" in note and "--label-map" in note for note in layout.notes)
    assert [(p.name, "txt" in why) for p, why in layout.ignored] == [("notes.txt", True)]


@pytest.mark.parametrize("prefix", ["", "00000.", "00001."])
def test_openmv_ide(tmp_path, prefix):
    put_images(tmp_path / f"{prefix}mask.class", 3)
    put_images(tmp_path / f"{prefix}no_mask.class", 2)
    (tmp_path / "labels.txt").write_text("mask\nno_mask\n")
    layout = detect_layout(tmp_path)
    assert layout.name == "openmv-ide"
    assert labels_of(layout) == {("mask", None): 3, ("no_mask", None): 2}
    assert layout.entries[0].path.name == "00000.jpg"


def test_maskgate_capture_is_openmv_ide_with_provenance(tmp_path):
    put_images(tmp_path / "mask.class", 2)
    put_images(tmp_path / "no_mask.class", 2)
    (tmp_path / "labels.txt").write_text("mask\nno_mask\n")
    (tmp_path / "provenance.json").write_text(json.dumps({"board": "OpenMV Cam H7", "firmware": "4.5.9"}))
    layout = detect_layout(tmp_path)
    assert layout.name == "maskgate-capture"
    assert len(layout.entries) == 4
    assert any("firmware=4.5.9" in note for note in layout.notes)


def test_openmv_class_without_label_needs_a_label_map(tmp_path):
    put_images(tmp_path / "bare_face.class", 2)
    with pytest.raises(DataError, match="--label-map bare_face="):
        detect_layout(tmp_path)
    layout = detect_layout(tmp_path, {"bare_face": "no_mask"})
    assert labels_of(layout) == {("no_mask", None): 2}


def test_label_map_extends_and_overrides(tmp_path):
    put_images(tmp_path / "covered", 2)
    put_images(tmp_path / "with_mask", 1)
    layout = detect_layout(tmp_path, parse_label_map("covered=mask, with_mask=incorrect"))
    assert labels_of(layout) == {("mask", None): 2, ("incorrect", None): 1}


@pytest.mark.parametrize("text", ["covered", "covered=", "=mask", "covered=masked"])
def test_bad_label_maps_are_refused(text):
    with pytest.raises(DataError):
        parse_label_map(text)


def test_unknown_layout_names_the_accepted_ones(tmp_path):
    put_images(tmp_path / "cats", 2)
    put_images(tmp_path / "dogs", 2)
    with pytest.raises(DataError) as e:
        detect_layout(tmp_path)
    message = str(e.value)
    assert "cats/" in message and "dogs/" in message
    for name in LAYOUTS:
        assert name in message


def test_empty_folder_names_the_accepted_layouts(tmp_path):
    with pytest.raises(DataError) as e:
        detect_layout(tmp_path)
    assert all(name in str(e.value) for name in LAYOUTS)


def test_layout_without_pictures_is_refused(tmp_path):
    (tmp_path / "with_mask").mkdir()
    (tmp_path / "without_mask").mkdir()
    (tmp_path / "with_mask" / "readme.txt").write_text("no pictures here")
    with pytest.raises(DataError, match="class-folders.*no pictures"):
        detect_layout(tmp_path)


def test_missing_folder_and_file_are_refused(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        detect_layout(tmp_path / "absent")
    (tmp_path / "data.zip").write_bytes(b"PK")
    with pytest.raises(DataError, match="unpack"):
        detect_layout(tmp_path / "data.zip")


def test_real_layouts(shared_datasets):
    layout = detect_layout(shared_datasets / "face-mask-12k")
    assert layout.name == "kaggle-12k"
    by_split = Counter(e.split for e in layout.entries)
    assert set(by_split) == {"train", "val", "test"} and by_split["val"] == 800
    assert {e.label for e in layout.entries} == {"mask", "no_mask"}
    layout = detect_layout(shared_datasets / "face-mask-chandrikadeb7")
    assert layout.name == "class-folders" and len(layout.entries) == 4070


def test_sub_folders_of_a_class_folder_are_recorded(tmp_path):
    # face-mask-rwmfd: with_mask/NNNN/, one folder per original source page
    for page, n in (("0000", 2), ("0001", 3)):
        put_images(tmp_path / "with_mask" / page, n)
    put_images(tmp_path / "with_mask" / "0001" / "deeper", 1, seed=1)
    put_images(tmp_path / "without_mask", 2)
    layout = detect_layout(tmp_path)
    assert layout.name == "class-folders"
    assert Counter((e.label, e.folder) for e in layout.entries) == {
        ("mask", "0000"): 2, ("mask", "0001"): 4, ("no_mask", ""): 2}
    assert any("2 sub-folders inside class folders" in note for note in layout.notes)


def test_utkface_names_are_bare_faces(tmp_path):
    # face-utkface: without_mask/AGE_GENDER_RACE_DATE.jpg.chip.jpg (two published names lack the race)
    names = ["100_1_0_20170110183726390.jpg.chip.jpg", "61_1_20170109142408075.jpg.chip.jpg"]
    put_images(tmp_path / "without_mask", 2, names=names)
    layout = detect_layout(tmp_path)
    assert layout.name == "class-folders" and not layout.ignored
    assert sorted((e.path.name, e.label, e.folder) for e in layout.entries) == sorted((n, "no_mask", "") for n in names)


def test_real_one_class_layouts(shared_datasets):
    utk = detect_layout(shared_datasets / "face-utkface")
    assert utk.name == "class-folders" and len(utk.entries) == 9780
    assert {e.label for e in utk.entries} == {"no_mask"} and all(e.path.name.endswith(".jpg.chip.jpg") for e in utk.entries)
    rwmfd = detect_layout(shared_datasets / "face-mask-rwmfd")
    assert rwmfd.name == "class-folders" and len(rwmfd.entries) == 1194
    assert {e.label for e in rwmfd.entries} == {"mask"} and len({e.folder for e in rwmfd.entries}) == 23
