"""The SD log, driven directly on a PC folder: a flushed CSV row per decision, crops by
policy, bounded size (segments and deletion when space runs low), events."""
import csv

import pytest

from maskgate.firmware import module

sdlog = module("sdlog")


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_rows_are_flushed_as_they_are_written(tmp_path):
    log = sdlog.Log(str(tmp_path / "log"))
    log.row(1234, 7, (10, 20, 30, 40), 0.91234, "mask", "open", (1.5, 2.25, 0.5, 3.0, 0.75), 14.2, "")
    log.row(1300, 8, None, None, "no_face", "closed", (1, 2, 0, 0, 1), 14.0)
    # read while the file is still open: nothing waits in a buffer
    rows = read_rows(tmp_path / "log" / "00000.csv")
    assert list(rows[0]) == list(sdlog.COLUMNS)
    assert rows[0]["frame"] == "7" and rows[0]["face_w"] == "30" and rows[0]["prob"] == "0.9123"
    assert rows[0]["infer_ms"] == "3.00" and rows[0]["door"] == "open"
    assert rows[1]["face_x"] == "" and rows[1]["prob"] == "" and rows[1]["label"] == "no_face"
    log.close()


def test_every_boot_starts_a_new_file_and_files_are_capped(tmp_path):
    folder = str(tmp_path / "log")
    sdlog.Log(folder).close()
    log = sdlog.Log(folder, max_rows=10)
    assert log.name == "00001.csv"
    for i in range(25):
        log.row(i, i, None, None, "no_face", "closed", (0, 0, 0, 0, 0), 1.0)
    assert log.name == "00003.csv"
    assert [len(read_rows(tmp_path / "log" / n)) for n in ("00001.csv", "00002.csv", "00003.csv")] == [10, 10, 5]


@pytest.mark.parametrize("policy, expected", [
    ("all", [True] * 6), ("none", [False] * 6),
    ("every_n", [True, False, False, True, False, False]),
    ("low_confidence", [False, True, True, False, False, False]),
])
def test_crop_policy(tmp_path, policy, expected):
    log = sdlog.Log(str(tmp_path / "log"), crops=policy, every_n=3, band=0.2, threshold=0.5)
    got = []
    for prob in (0.95, 0.6, 0.4, 0.05, 0.99, None):
        got.append(log.want_crop(prob))
        log.row(0, 0, None, prob, "x", "closed", (0, 0, 0, 0, 0), 1.0)
    assert got == expected


def test_oldest_crops_then_oldest_tables_go_when_space_runs_low(tmp_path):
    folder = tmp_path / "log"
    folder.mkdir()
    for name in ("00000.csv", "00001.csv", "00000_000001.jpg", "00001_000005.jpg"):
        (folder / name).write_bytes(b"x" * 1000)
    free = {"bytes": 0}

    def free_bytes():
        return free["bytes"]

    log = sdlog.Log(str(folder), min_free_kb=2, free_bytes=free_bytes)
    assert log.name == "00002.csv"
    gone = []
    real_remove = sdlog.os.remove

    def remove(path):
        gone.append(path.rsplit("/", 1)[-1])
        free["bytes"] += 1000
        real_remove(path)

    sdlog.os.remove = remove
    try:
        assert log.make_room() == 3
    finally:
        sdlog.os.remove = real_remove
    assert gone == ["00000_000001.jpg", "00001_000005.jpg", "00000.csv"]
    assert sorted(p.name for p in folder.iterdir()) == ["00001.csv", "00002.csv"]


def test_events_file_is_bounded(tmp_path):
    log = sdlog.Log(str(tmp_path / "log"))
    for i in range(1500):
        log.event(i, "x" * 60)
    size = (tmp_path / "log" / "events.txt").stat().st_size
    assert size <= sdlog.EVENTS_MAX + 100 and (tmp_path / "log" / "events.1.txt").exists()
