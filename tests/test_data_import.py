"""maskgate data import: manifest, skipped files, duplicates, groups and splits."""
import csv
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from maskgate.cli import main
from maskgate.data.images import read_rgb
from maskgate.data.importer import import_sources, run_import
from maskgate.data.manifest import COLUMNS, read_manifest, write_manifest
from maskgate.data.split import PRIORITY
from maskgate.errors import DataError

_seed = iter(range(10**6))


def blob(seed: int, size: int = 48) -> np.ndarray:
    """A smooth random BGR picture: distinct per seed (pHash far apart), stable when re-encoded."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), (size, size), interpolation=cv2.INTER_CUBIC)


def put(folder: Path, count: int, start: int = 0, ext: str = ".jpg") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{start + i:04d}{ext}"
        cv2.imwrite(str(path), blob(next(_seed)))
        paths.append(path)
    return paths


def class_source(root: Path, per_class: int = 10) -> Path:
    put(root / "with_mask", per_class)
    put(root / "without_mask", per_class)
    return root


def groups_split_once(rows) -> bool:
    splits = defaultdict(set)
    for row in rows:
        splits[row["group"]].add(row["split"])
    return all(len(s) == 1 for s in splits.values())


def skipped(out: Path) -> dict:
    with open(out / "skipped.csv", newline="", encoding="utf-8") as f:
        return {Path(r["path"]).name: r["reason"] for r in csv.DictReader(f)}


def test_manifest_columns_types_and_report(tmp_path):
    src = class_source(tmp_path / "faces", 5)
    manifest = import_sources([src], tmp_path / "out", progress=False)
    assert manifest == tmp_path / "out" / "manifest.csv"
    assert manifest.read_text().splitlines()[0] == ",".join(COLUMNS)
    rows = read_manifest(manifest)
    assert len(rows) == 10
    row = rows[0]
    assert Path(row["path"]).is_absolute() and row["source"] == "faces"
    assert (row["width"], row["height"]) == (48, 48) and row["face"] is None
    assert len(row["phash"]) == 16 and int(row["phash"], 16) >= 0 and len(row["sha256"]) == 64
    assert {r["label"] for r in rows} == {"mask", "no_mask"}
    report = (tmp_path / "out" / "import-report.md").read_text()
    assert "class-folders" in report and "faces" in report


def test_manifest_round_trip(tmp_path):
    row = {c: "x" for c in COLUMNS} | {"width": 3, "height": 4, "face": (1, 2, 3, 4)}
    write_manifest(tmp_path / "m.csv", [row, row | {"face": None}])
    back = read_manifest(tmp_path / "m.csv")
    assert back[0]["face"] == (1, 2, 3, 4) and back[1]["face"] is None and back[0]["width"] == 3
    (tmp_path / "bad.csv").write_text("path,label\nx,mask\n")
    with pytest.raises(DataError, match="missing columns"):
        read_manifest(tmp_path / "bad.csv")


def test_bad_files_are_skipped_and_listed_not_fatal(tmp_path):
    src = class_source(tmp_path / "src", 4)
    good = (src / "with_mask" / "0000.jpg").read_bytes()
    (src / "with_mask" / "cut.jpg").write_bytes(good[: len(good) // 2])
    (src / "with_mask" / "text.jpg").write_text("not a picture")
    (src / "with_mask" / "empty.png").write_bytes(b"")
    (src / "without_mask" / "notes.txt").write_text("hello")
    png = cv2.imencode(".png", blob(99))[1].tobytes()
    (src / "without_mask" / "cut.png").write_bytes(png[:-20])

    rows = read_manifest(import_sources([src], tmp_path / "out", progress=False))
    assert len(rows) == 8
    reasons = skipped(tmp_path / "out")
    assert "truncated" in reasons["cut.jpg"] and "truncated" in reasons["cut.png"]
    assert "not a picture" in reasons["text.jpg"]
    assert "empty" in reasons["empty.png"]
    assert "notes.txt" in reasons
    report = (tmp_path / "out" / "import-report.md").read_text()
    assert "cut.jpg" in report and "Skipped files: 5" in report


def test_grey_rgba_and_16_bit_pictures_are_imported(tmp_path):
    src = tmp_path / "odd"
    (src / "mask").mkdir(parents=True)
    cv2.imwrite(str(src / "mask" / "grey.png"), cv2.cvtColor(blob(1), cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(src / "mask" / "rgba.png"), cv2.cvtColor(blob(2), cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(src / "mask" / "deep.png"), blob(3).astype(np.uint16) * 257)
    rows = read_manifest(import_sources([src], tmp_path / "out", progress=False))
    assert sorted(Path(r["path"]).name for r in rows) == ["deep.png", "grey.png", "rgba.png"]
    assert all((r["width"], r["height"]) == (48, 48) for r in rows)
    assert read_rgb(src / "mask" / "deep.png").tolist() == cv2.cvtColor(blob(3), cv2.COLOR_BGR2RGB).tolist()


def test_exact_and_near_duplicates_across_sources(tmp_path):
    a = class_source(tmp_path / "a", 6)
    b = class_source(tmp_path / "b", 6)
    # an exact copy, and a re-encoded, slightly brighter copy, of a's pictures in b
    (b / "with_mask" / "copy.jpg").write_bytes((a / "with_mask" / "0000.jpg").read_bytes())
    near = np.clip(cv2.imread(str(a / "with_mask" / "0001.jpg")).astype(int) + 6, 0, 255).astype(np.uint8)
    cv2.imwrite(str(b / "with_mask" / "near.png"), near)

    result = run_import([f"first={a}", f"second={b}"], tmp_path / "out", progress=False)
    rows = read_manifest(result.manifest)
    assert len(rows) == 24 + 1  # the exact copy dropped, the near one kept
    assert skipped(tmp_path / "out")["copy.jpg"].startswith("exact duplicate of")
    assert [(d["source"], k["source"]) for d, k in result.duplicates] == [("second", "first")]
    by_path = {Path(r["path"]).relative_to(tmp_path).as_posix(): r for r in rows}
    original, copy = by_path["a/with_mask/0001.jpg"], by_path["b/with_mask/near.png"]
    assert original["group"] == copy["group"] and original["split"] == copy["split"]
    assert len({r["group"] for r in rows}) == 24
    assert groups_split_once(rows)


def test_no_group_straddles_splits_and_publisher_splits_are_kept(tmp_path):
    pub = tmp_path / "pub"
    for split in ("Train", "Validation", "Test"):
        put(pub / split / "WithMask", 4)
        put(pub / split / "WithoutMask", 4)
    # a near copy of a Train picture in Test (publisher leak), and one in another source
    leak = cv2.imread(str(pub / "Train" / "WithMask" / "0000.jpg"))
    cv2.imwrite(str(pub / "Test" / "WithMask" / "leak.png"), leak)
    other = class_source(tmp_path / "other", 10)
    cv2.imwrite(str(other / "with_mask" / "leak2.png"), np.clip(leak.astype(int) + 4, 0, 255).astype(np.uint8))

    result = run_import([pub, other], tmp_path / "out", progress=False)
    rows = read_manifest(result.manifest)
    assert groups_split_once(rows)
    by_path = {Path(r["path"]).relative_to(tmp_path).as_posix(): r for r in rows}
    moved = by_path["pub/Train/WithMask/0000.jpg"]
    assert moved["split"] == "test"  # train -> test, the whole group goes to the highest split
    assert by_path["other/with_mask/leak2.png"]["split"] == "test"
    assert result.moved[("train", "test")] == 1
    kept = Counter(r["split"] for r in rows if r["source"] == "pub" and "leak" not in r["path"])
    assert kept == {"train": 7, "val": 8, "test": 9}
    assert "1 train→test" in (tmp_path / "out" / "import-report.md").read_text()


def test_holdout_source_goes_to_test_whole(tmp_path):
    a = class_source(tmp_path / "a", 10)
    b = class_source(tmp_path / "b", 5)
    rows = read_manifest(import_sources([a, b], tmp_path / "out", holdout_source="b", progress=False))
    assert {r["split"] for r in rows if r["source"] == "b"} == {"test"}
    assert Counter(r["split"] for r in rows if r["source"] == "a") == {"train": 16, "val": 2, "test": 2}
    with pytest.raises(DataError, match="holdout source 'c'"):
        import_sources([a, b], tmp_path / "out2", holdout_source="c", progress=False)


def test_same_seed_same_manifest_other_seed_other_split(tmp_path):
    src = class_source(tmp_path / "src", 30)
    m1 = import_sources([src], tmp_path / "o1", seed=7, progress=False)
    m2 = import_sources([src], tmp_path / "o2", seed=7, progress=False)
    m3 = import_sources([src], tmp_path / "o3", seed=8, progress=False)
    assert m1.read_bytes() == m2.read_bytes()
    assert [r["split"] for r in read_manifest(m1)] != [r["split"] for r in read_manifest(m3)]
    counts = Counter((r["label"], r["split"]) for r in read_manifest(m1))
    assert counts == {(lab, s): n for lab in ("mask", "no_mask") for s, n in (("train", 24), ("val", 3), ("test", 3))}


def test_bad_sources_are_refused_before_reading(tmp_path):
    src = class_source(tmp_path / "src", 2)
    with pytest.raises(DataError, match="named src"):
        import_sources([src, src], tmp_path / "out", progress=False)
    with pytest.raises(DataError, match="fraction"):
        import_sources([src], tmp_path / "out", val_fraction=0.6, test_fraction=0.5, progress=False)
    (tmp_path / "junk" / "with_mask").mkdir(parents=True)
    (tmp_path / "junk" / "with_mask" / "a.jpg").write_text("no")
    with pytest.raises(DataError, match="no usable pictures"):
        import_sources([tmp_path / "junk"], tmp_path / "out", progress=False)
    assert "a.jpg" in skipped(tmp_path / "out")


def test_cli_import_with_label_map(tmp_path):
    src = tmp_path / "cam"
    put(src / "covered", 5)
    put(src / "bare", 5)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["data", "import", f"cam={src}", "--out", str(out), "--label-map", "covered=mask,bare=no_mask", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "cam" in result.output and "class-folders" in result.output
    assert Counter(r["label"] for r in read_manifest(out / "manifest.csv")) == {"mask": 5, "no_mask": 5}


def test_crop_faces_on_real_pictures(tmp_path, shared_datasets):
    from maskgate.data.faces import find_face_or_eyes  # as the firmware: frontal, else eye pair

    src = tmp_path / "few" / "without_mask"
    src.mkdir(parents=True)
    originals = sorted((shared_datasets / "face-mask-chandrikadeb7" / "without_mask").glob("*.jpg"))[:12]
    for path in originals:
        (src / path.name).write_bytes(path.read_bytes())
    result = run_import([src.parent], tmp_path / "out", crop_faces=True, progress=False)
    rows = read_manifest(result.manifest)
    for row in rows:
        faces = find_face_or_eyes(read_rgb(row["path"]))
        assert row["face"] == (faces[0] if faces else None)
    assert len(result.no_face) == sum(r["face"] is None for r in rows)
    assert any(r["face"] for r in rows)
    report = (tmp_path / "out" / "import-report.md").read_text()
    assert f"No face found (centre square will be used): {len(result.no_face)}" in report


def test_real_chandrikadeb7_import(tmp_path, shared_datasets):
    result = run_import([shared_datasets / "face-mask-chandrikadeb7"], tmp_path / "out", progress=False)
    rows = read_manifest(result.manifest)
    assert len(rows) + len(result.skipped) == 4070
    assert all(why.startswith("exact duplicate") for _, why in result.skipped)
    labels = Counter(r["label"] for r in rows)
    assert set(labels) == {"mask", "no_mask"} and labels["mask"] > 1900 and labels["no_mask"] > 1800
    splits = Counter(r["split"] for r in rows)
    assert 0.07 < splits["test"] / len(rows) < 0.13 and 0.07 < splits["val"] / len(rows) < 0.13
    assert groups_split_once(rows)
    assert all(r["width"] <= 320 and r["height"] <= 320 for r in rows)


def test_real_12k_keeps_the_publisher_split_without_leaks(tmp_path, shared_datasets):
    result = run_import([shared_datasets / "face-mask-12k"], tmp_path / "out", progress=False)
    rows = read_manifest(result.manifest)
    assert groups_split_once(rows)
    # the publisher's Train holds copies of Validation/Test pictures: they are dropped or moved up
    assert result.duplicates and result.moved[("train", "test")] > 0
    assert all(PRIORITY[kept["split"]] >= PRIORITY[dropped["publisher_split"]] for dropped, kept in result.duplicates)
    splits = Counter(r["split"] for r in rows)
    assert splits["val"] >= 780 and splits["test"] >= 990 and splits["train"] > 9500


def test_join_folder_groups_is_transitive_and_keeps_the_first_id():
    from maskgate.data.split import join_folder_groups

    rows = [{"group": g, "folder": f} for g, f in
            [("g1", "s/a"), ("g2", "s/a"), ("g3", "s/b"), ("g2", "s/b"), ("g4", ""), ("g5", "t/a"), ("g4", "")]]
    assert join_folder_groups(rows) == 2
    assert [r["group"] for r in rows] == ["g1", "g1", "g1", "g1", "g4", "g5", "g4"]


def test_a_big_group_goes_to_train_not_over_a_split():
    from maskgate.data.split import assign_splits

    rows = [{"group": "big", "source": "s", "label": "mask", "publisher_split": None} for _ in range(60)]
    rows += [{"group": f"g{i}", "source": "s", "label": "mask", "publisher_split": None} for i in range(40)]
    assign_splits(rows, seed=0, val_fraction=0.1, test_fraction=0.1)
    assert {r["split"] for r in rows[:60]} == {"train"}
    assert Counter(r["split"] for r in rows[60:]) == {"test": 10, "val": 10, "train": 20}


def test_a_sub_folder_stays_in_one_split(tmp_path):
    # face-mask-rwmfd's layout: with_mask/NNNN/, one folder per original source page. The pages
    # differ in size, as the real ones do (4 to 300 pictures); none may straddle two splits.
    pages = tmp_path / "scenes"
    for page, n in enumerate((12, 3, 8, 1, 5, 9, 2, 6, 4, 10)):
        put(pages / "with_mask" / f"{page:04d}", n)
    put(pages / "without_mask", 30)
    # a near copy of page 1's first picture on page 2: the two pages become one group
    first = cv2.imread(str(pages / "with_mask" / "0001" / "0000.jpg"))
    cv2.imwrite(str(pages / "with_mask" / "0002" / "near.png"), np.clip(first.astype(int) + 5, 0, 255).astype(np.uint8))
    result = run_import([pages], tmp_path / "out", seed=3, val_fraction=0.2, test_fraction=0.2, progress=False)
    rows = read_manifest(result.manifest)
    assert groups_split_once(rows)
    page_of = {r["path"]: Path(r["path"]).parent.name for r in rows if r["label"] == "mask"}
    groups_of_page = defaultdict(set)
    for r in rows:
        if r["label"] == "mask":
            groups_of_page[page_of[r["path"]]].add(r["group"])
    assert all(len(g) == 1 for g in groups_of_page.values())
    assert groups_of_page["0001"] == groups_of_page["0002"]
    assert len({r["group"] for r in rows if r["label"] == "mask"}) == 9
    # bare faces directly in their class folder are still grouped picture by picture
    assert len({r["group"] for r in rows if r["label"] == "no_mask"}) == 30
    assert {r["split"] for r in rows if r["label"] == "mask"} == {"train", "val", "test"}


def test_real_rwmfd_pages_never_straddle_splits(tmp_path, shared_datasets):
    result = run_import([shared_datasets / "face-mask-rwmfd"], tmp_path / "out", progress=False)
    rows = read_manifest(result.manifest)
    splits_of_page = defaultdict(set)
    for r in rows:
        splits_of_page[Path(r["path"]).parent.name].add(r["split"])
    assert all(len(s) == 1 for s in splits_of_page.values())
    assert groups_split_once(rows) and {r["label"] for r in rows} == {"mask"}
    # a few pages hold most pictures (and share copies): they go to train, not swamp val or test
    share = Counter(r["split"] for r in rows)
    assert share["train"] > 0.6 * len(rows) and 0 < share["val"] < 0.2 * len(rows) and 0 < share["test"] < 0.2 * len(rows)
