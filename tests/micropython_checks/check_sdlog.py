# The SD log (firmware/sdlog.py) on the interpreter's own `os` in a folder: segments and their
# names, crops, a boot that lists nothing, recovery without seq.txt, making room, the events
# file, the CSV text of rows (numbers formatted), crop policies; then the whole folder as
# this interpreter reads it back.
import hashlib
import os

import sdlog
from checks import hx

DIR_FLAG = 0x4000


class CountingOs:
    # the interpreter's os, counting folder listings and noting removals
    def __init__(self, real, on_remove):
        self.real = real
        self.on_remove = on_remove
        self.listings = 0
        self.removed = []

    def ilistdir(self, path="."):
        self.listings += 1
        return self.real.ilistdir(path)

    def remove(self, path):
        self.removed.append(path)
        self.real.remove(path)
        self.on_remove()

    def stat(self, path):
        return self.real.stat(path)

    def mkdir(self, path):
        return self.real.mkdir(path)

    def rmdir(self, path):
        return self.real.rmdir(path)

    def rename(self, a, b):
        return self.real.rename(a, b)


def tree(path):
    out = []
    for entry in sorted([tuple(e[:2]) for e in os.ilistdir(path)]):
        full = path + "/" + entry[0]
        if entry[1] & DIR_FLAG:
            out.append([full, "<dir>"])
            out.extend(tree(full))
        else:
            with open(full, "rb") as f:
                data = f.read()
            # big files (the events) by length and sha256: the whole text is a lot of JSON
            out.append([full, hx(data) if len(data) < 16384 else [len(data), hx(hashlib.sha256(data).digest())]])
    return out


def rows(log, n, crop):
    for i in range(n):
        path = log.crop_path(i) if crop else ""
        if crop:
            with open(path, "wb") as f:
                f.write(b"\xff\xd8" + bytes([i & 0xFF]) * 20)  # a made-up JPEG
        log.row(1000 * i, i, None, None, "no_face", "closed", (0, 0, 0, 0, 0), 1.0, path)


def run(inputs):
    free = {"bytes": 10 ** 9}

    def freed():
        free["bytes"] += 600

    fake = CountingOs(os, freed)
    sdlog.os = fake
    os.mkdir("work")
    os.chdir("work")
    out = {}
    room = lambda: free["bytes"]  # noqa: E731 (the WASI build's os has no statvfs)
    sdlog.Log("log", free_bytes=room).close()
    log = sdlog.Log("log", max_rows=10, free_bytes=room)
    rows(log, 25, False)
    out["capped"] = [log.name, log.segment, log.rows]
    log.close()

    log = sdlog.Log("log", crops="all", max_rows=1, free_bytes=room)
    rows(log, inputs["crop_rows"], True)
    out["crops"] = [log.name, log.segment, log.first, log.crops_first]
    free["bytes"] = 0
    out["room"] = [log.make_room()]
    free["bytes"] = 0
    out["room"].append(log.make_room())
    free["bytes"] = -10 ** 6  # a card that stays full: every old crop, then the old tables
    out["room"].append(log.make_room())
    out["room"].append([log.first, log.crops_first, log.segment, log.deleted])
    out["removed"] = fake.removed
    log.close()

    fake.listings = 0
    again = sdlog.Log("log", free_bytes=room)
    out["boot"] = [again.name, again.segment, again.first, fake.listings]
    again.close()
    os.remove("log/" + sdlog.STATE)
    fake.listings = 0
    free["bytes"] = 10 ** 9
    recovered = sdlog.Log("log", free_bytes=room)
    out["recovered"] = [recovered.name, recovered.segment, recovered.first, recovered.crops_first, fake.listings]

    for i, row in enumerate(inputs["rows"]):
        box, prob, stage_ms, fps = row
        recovered.row(i, i, box, prob, "mask", "open", stage_ms, fps, recovered.folder + "/0000/00/0001.jpg")
    for i in range(inputs["events"]):
        recovered.event(i, "x" * 600)
    recovered.close()

    out["want_crop"] = []
    for policy in ("all", "none", "every_n", "low_confidence"):
        log = sdlog.Log("p_" + policy[:6], crops=policy, every_n=3, band=0.2, threshold=0.5, free_bytes=room)
        got = []
        for prob in (0.95, 0.6, 0.4, 0.05, 0.99, None, 0.3, 0.7, 0.5):
            got.append(log.want_crop(prob))
            log.row(0, 0, None, prob, "x", "closed", (0, 0, 0, 0, 0), 1.0)
        out["want_crop"].append(got)
        log.close()
    out["names"] = [[sdlog.segment_csv(n), sdlog.segment_crops(n), sdlog.segment_number(sdlog.segment_csv(n))]
                    for n in inputs["segments"]]
    out["numbers"] = [sdlog.segment_number(p) for p in inputs["paths"]]
    out["tree"] = tree(".")
    os.chdir("..")
    return out
