"""The SD log, driven directly on a PC folder through the virtual board's MicroPython `os`
(ilistdir, tuples for stat): a flushed CSV row per decision, crops by policy, bounded size
(segments and deletion when space runs low), events -- and a layout that lasts a year on FAT:
8.3 names, bounded folders, and a boot that lists nothing."""
import csv
import re

import pytest

from maskgate.board.virtualboard.card import Card, OsModule
from maskgate.firmware import module

sdlog = module("sdlog")
SHORT_NAME = re.compile(r"^[0-9a-z_]{1,8}(\.[0-9a-z]{1,3})?$")  # 8.3, lower case: one FAT entry


class CountingOs(OsModule):
    """MicroPython's os on a PC folder, counting how often a folder is listed."""

    def __init__(self, card):
        super().__init__(card)
        self.listings = 0

    def listdir(self, path="."):
        self.listings += 1
        return super().listdir(path)


@pytest.fixture
def card_os(tmp_path, monkeypatch):
    card = Card(tmp_path)
    fake = CountingOs(card)
    monkeypatch.setattr(sdlog, "os", fake)
    monkeypatch.setattr(sdlog, "open", card.open, raising=False)  # the firmware's open(): on the card
    return fake


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def rows(log, n, crop=False):
    for i in range(n):
        path = log.crop_path(i) if crop else ""
        if crop:
            with sdlog.open(path, "wb") as f:
                f.write(b"\xff\xd8" + bytes(100))
        log.row(i, i, None, None, "no_face", "closed", (0, 0, 0, 0, 0), 1.0, path)


def test_rows_are_flushed_as_they_are_written(tmp_path, card_os):
    log = sdlog.Log("log")
    log.row(1234, 7, (10, 20, 30, 40), 0.91234, "mask", "open", (1.5, 2.25, 0.5, 3.0, 0.75), 14.2, "")
    log.row(1300, 8, None, None, "no_face", "closed", (1, 2, 0, 0, 1), 14.0)
    # read while the file is still open: nothing waits in a buffer
    got = read_rows(tmp_path / "log" / "0000" / "00.csv")
    assert list(got[0]) == list(sdlog.COLUMNS)
    assert got[0]["frame"] == "7" and got[0]["face_w"] == "30" and got[0]["prob"] == "0.9123"
    assert got[0]["infer_ms"] == "3.00" and got[0]["door"] == "open"
    assert got[1]["face_x"] == "" and got[1]["prob"] == "" and got[1]["label"] == "no_face"
    log.close()


def test_every_boot_starts_a_new_segment_and_segments_are_capped(tmp_path, card_os):
    sdlog.Log("log").close()
    log = sdlog.Log("log", max_rows=10)
    assert log.name == "0000/01.csv"
    rows(log, 25)
    assert log.name == "0000/03.csv"
    assert [len(read_rows(tmp_path / "log" / "0000" / n)) for n in ("01.csv", "02.csv", "03.csv")] == [10, 10, 5]
    assert (tmp_path / "log" / "seq.txt").read_text().split() == ["0", "0", "3"]


def test_a_boot_lists_no_folder_however_full_the_card(tmp_path, card_os):
    log = sdlog.Log("log", crops="all", max_rows=10)
    rows(log, 1050, crop=True)  # 105 segments of 10 rows, each with its 10 crops
    log.close()
    card_os.listings = 0
    again = sdlog.Log("log")
    assert card_os.listings == 0  # seq.txt says where to carry on
    assert again.name == "0001/06.csv" and again.segment == 106
    # without seq.txt (a damaged card) it recovers from the newest folder, without a full scan
    again.close()
    (tmp_path / "log" / "seq.txt").unlink()
    card_os.listings = 0
    recovered = sdlog.Log("log")
    assert recovered.segment == 107 and recovered.first == 0
    assert card_os.listings <= 3  # the log folder, the newest and the oldest group


def test_names_are_short_and_folders_bounded(tmp_path, card_os):
    log = sdlog.Log("log", crops="all", max_rows=12)
    rows(log, 12 * 130 + 5, crop=True)
    log.close()
    root = tmp_path / "log"
    for path in root.rglob("*"):
        assert SHORT_NAME.match(path.name), path
    for folder in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        entries = list(folder.iterdir())
        limit = 12 if folder.parent.parent == root else 2 * sdlog.SEGMENTS_PER_FOLDER
        assert len(entries) <= limit, (folder, len(entries))
    assert sorted(p.name for p in root.iterdir()) == ["0000", "0001", "seq.txt"]
    crop = read_rows(root / "0001" / "05.csv")[3]["crop"]
    assert crop == "0001/05/0003.jpg" and (root / crop).is_file()


@pytest.mark.parametrize("policy, expected", [
    ("all", [True] * 6), ("none", [False] * 6),
    ("every_n", [True, False, False, True, False, False]),
    ("low_confidence", [False, True, True, False, False, False]),
])
def test_crop_policy(card_os, policy, expected):
    log = sdlog.Log("log", crops=policy, every_n=3, band=0.2, threshold=0.5)
    got = []
    for prob in (0.95, 0.6, 0.4, 0.05, 0.99, None):
        got.append(log.want_crop(prob))
        log.row(0, 0, None, prob, "x", "closed", (0, 0, 0, 0, 0), 1.0)
    assert got == expected


def test_oldest_crops_then_oldest_tables_go_when_space_runs_low(tmp_path, card_os):
    free = {"bytes": 10**9}
    log = sdlog.Log("log", crops="all", max_rows=4, min_free_kb=2, free_bytes=lambda: free["bytes"])
    rows(log, 12, crop=True)  # segments 0, 1, 2 full; 3 open
    gone = []
    real_remove = OsModule.remove

    def remove(self, path):
        gone.append(path.split("log/", 1)[1])
        free["bytes"] += 600
        real_remove(self, path)

    free["bytes"] = 0
    OsModule.remove = remove
    try:
        assert log.make_room() == 4  # 2400 bytes: the first four crops were enough
        free["bytes"] = 0
        assert log.make_room() == 4
        free["bytes"] = -10**6  # a card that stays full: every old crop, then the old tables
        log.make_room()
    finally:
        OsModule.remove = real_remove
    assert gone[:8] == [f"0000/{s:02d}/{r:04d}.jpg" for s in (0, 1) for r in range(4)]
    assert gone[12:] == ["0000/00.csv", "0000/01.csv", "0000/02.csv"]
    assert sorted(p.name for p in (tmp_path / "log" / "0000").iterdir()) == ["03.csv"]
    assert (tmp_path / "log" / "seq.txt").read_text().split() == ["3", "3", "3"]


def test_events_file_is_bounded(tmp_path, card_os):
    log = sdlog.Log("log")
    for i in range(1500):
        log.event(i, "x" * 60)
    size = (tmp_path / "log" / "events.txt").stat().st_size
    assert size <= sdlog.EVENTS_MAX + 100 and (tmp_path / "log" / "events.1.txt").exists()


def test_the_pc_reads_segment_numbers_from_paths():
    assert sdlog.segment_csv(123) == "0001/23.csv" and sdlog.segment_number("0001/23.csv") == 123
    assert [sdlog.segment_number(p) for p in ("00012.csv", "0001/2.csv", "x/01.csv", "0001/01.jpg")] == [-1] * 4
