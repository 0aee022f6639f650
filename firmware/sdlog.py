# The SD card log: one CSV row per door decision, face crops as JPEG by policy, and a short
# text file of events (boot, errors). Bounded: a CSV file holds at most max_rows rows, and
# when free space drops below min_free_kb the oldest crops, then the oldest CSV files, go.
# Every row is flushed (FatFS syncs the file on flush), so a power cut loses at most the
# row being written.
#
# Made to last a year of frames on FAT: a FAT folder holds at most 65,536 entries and every
# new name is checked against the whole folder (lib/oofatfs/ff.c), so no folder grows without
# bound, every name is 8.3 (one entry; a long name takes three), folders are walked with
# os.ilistdir (no list of all names on the heap), and a boot reads one small file instead of
# listing anything. Files, in log.dir (relative to the card, the working directory):
#   seq.txt            "first crops last": the oldest segment with a CSV, the oldest that may
#                      still have crops, the newest (written as seq.tmp, then renamed)
#   GGGG/SS.csv        segment n = 100 * GGGG + SS: decisions; a new segment at every boot and
#                      every max_rows rows (100 segments and their crop folders per GGGG)
#   GGGG/SS/RRRR.jpg   the face square of row RRRR of segment n (at most max_rows per folder)
#   events.txt         "time_ms message" lines (events.1.txt is the previous 64 KB)

import os

COLUMNS = (
    "time_ms", "frame", "face_x", "face_y", "face_w", "face_h", "prob", "label", "door",
    "capture_ms", "detect_ms", "resize_ms", "infer_ms", "log_ms", "fps", "crop",
)
HEADER = ",".join(COLUMNS) + "\n"
EVENTS = "events.txt"
EVENTS_MAX = 65536
STATE = "seq.txt"
STATE_TMP = "seq.tmp"
SEGMENTS_PER_FOLDER = 100
MAX_ROWS = 10000  # crops are named by their row: four digits
ROOM_CHECK_EVERY = 16  # rows between free-space checks (statvfs is not free on FAT)
DIR_FLAG = 0x4000  # stat / ilistdir type of a folder


def segment_dir(n):
    return "%04d" % (n // SEGMENTS_PER_FOLDER)


def segment_csv(n):
    """The CSV of segment n, relative to the log folder: "0001/23.csv" for 123."""
    return "%s/%02d.csv" % (segment_dir(n), n % SEGMENTS_PER_FOLDER)


def segment_crops(n):
    return "%s/%02d" % (segment_dir(n), n % SEGMENTS_PER_FOLDER)


def segment_number(relpath):
    """123 for "0001/23.csv" (the PC reads pulled logs with this); -1 for anything else."""
    parts = relpath.replace("\\", "/").split("/")
    if len(parts) != 2 or len(parts[1]) != 6 or not parts[1].endswith(".csv"):
        return -1
    try:
        group = int(parts[0])
        seg = int(parts[1][:2])
    except ValueError:
        return -1
    if len(parts[0]) < 4 or group < 0 or seg < 0:
        return -1
    return group * SEGMENTS_PER_FOLDER + seg


def fixed(value, digits):
    """value with `digits` decimals, the same text on the camera and on the PC: "%.4f" rounds
    an exact tie (P(mask) 8/256 = 0.03125, 1.125 ms) half up on MicroPython and half to even
    on CPython, while round() is half to even on both (tests/test_firmware_micropython.py)."""
    scale = 10 ** digits
    n = int(round(value * scale))
    sign = "-" if n < 0 else ""
    n = -n if n < 0 else n
    return "%s%d.%0*d" % (sign, n // scale, digits, n % scale)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:
        pass  # already there


def _number(name):
    try:
        return int(name)
    except ValueError:
        return -1


class Log:
    def __init__(self, folder, crops="low_confidence", every_n=10, band=0.2, threshold=0.5,
                 min_free_kb=1024, max_rows=5000, free_bytes=None):
        self.folder = folder
        self.crops = crops
        self.every_n = every_n
        self.band = band
        self.threshold = threshold
        self.min_free = min_free_kb * 1024
        self.max_rows = min(max_rows, MAX_ROWS)
        self.free_bytes = free_bytes or self._statvfs_free
        self.decisions = 0
        self.deleted = 0
        self.file = None
        _mkdir(folder)
        first, crops_first, last = self._read_state()
        self.first = first if last >= 0 else 0
        self.crops_first = crops_first if last >= 0 else 0
        self.segment = last + 1
        self._open_segment()

    # --- where things are ---
    def _path(self, name):
        return self.folder + "/" + name

    def _statvfs_free(self):
        st = os.statvfs(self.folder)
        return st[0] * st[4]  # f_bsize * f_bavail

    def _read_state(self):
        for name in (STATE, STATE_TMP):  # seq.tmp: a power cut between writing and renaming
            try:
                with open(self._path(name)) as f:
                    parts = f.read().split()
                first, crops_first, last = int(parts[0]), int(parts[1]), int(parts[2])
                if 0 <= first <= last + 1 and 0 <= crops_first <= last + 1:
                    return first, crops_first, last
            except (OSError, ValueError, IndexError):
                pass
        return self._recover()

    def _recover(self):
        # No readable seq.txt (a new card, or a damaged one): the lowest and the highest group
        # folders, then the segments inside those two. Bounded by the number of groups.
        low = high = -1
        for entry in os.ilistdir(self.folder):
            n = _number(entry[0])
            if n >= 0 and entry[1] & DIR_FLAG:
                low = n if low < 0 or n < low else low
                high = n if n > high else high
        if high < 0:
            return 0, 0, -1
        last = first = -1
        for group, pick_max in ((high, True), (low, False)):
            base = SEGMENTS_PER_FOLDER * group
            for entry in os.ilistdir(self._path("%04d" % group)):
                n = _number(entry[0].split(".")[0])
                if n < 0:
                    continue
                if pick_max and n + base > last:
                    last = n + base
                if not pick_max and (first < 0 or n + base < first):
                    first = n + base
        if last < 0:  # an empty newest group: carry on after it
            last = SEGMENTS_PER_FOLDER * (high + 1) - 1
        if first < 0:
            first = SEGMENTS_PER_FOLDER * low
        return first, first, last

    def _write_state(self):
        tmp = self._path(STATE_TMP)
        with open(tmp, "w") as f:
            f.write("%d %d %d\n" % (self.first, self.crops_first, self.segment))
        os.rename(tmp, self._path(STATE))  # replaces seq.txt (extmod/vfs_fat.c fat_vfs_rename)

    def _open_segment(self):
        if self.file is not None:
            self.file.close()
        self._write_state()
        _mkdir(self._path(segment_dir(self.segment)))
        self.name = segment_csv(self.segment)
        self.file = open(self._path(self.name), "a")
        self.file.write(HEADER)
        self.file.flush()
        self.rows = 0
        self.crop_dir_made = False

    # --- crops ---
    def want_crop(self, prob):
        """Save this decision's face crop? (call once per decision, before row())"""
        if self.crops == "all":
            return True
        if self.crops == "every_n":
            return self.decisions % self.every_n == 0
        if self.crops == "low_confidence":
            return prob is not None and abs(prob - self.threshold) < self.band
        return False

    def crop_path(self, frame_id=None):
        """Where the crop of the next row goes (its folder is made on the first crop)."""
        folder = self._path(segment_crops(self.segment))
        if not self.crop_dir_made:
            _mkdir(folder)
            self.crop_dir_made = True
        return "%s/%04d.jpg" % (folder, self.rows)

    # --- rows ---
    def row(self, time_ms, frame_id, box, prob, label, door, stage_ms, fps, crop=""):
        """Append one decision. stage_ms: (capture, detect, resize, infer, log) in ms."""
        if box is None:
            box_text = ",,,"
        else:
            box_text = "%d,%d,%d,%d" % (box[0], box[1], box[2], box[3])
        prob_text = "" if prob is None else fixed(prob, 4)
        stages = ",".join([fixed(v, 2) for v in stage_ms])
        crop_name = crop[len(self.folder) + 1:] if crop.startswith(self.folder + "/") else crop
        self.file.write("%d,%d,%s,%s,%s,%s,%s,%s,%s\n" % (
            time_ms, frame_id, box_text, prob_text, label, door, stages, fixed(fps, 1), crop_name))
        self.file.flush()
        self.rows += 1
        self.decisions += 1
        if self.rows >= self.max_rows:
            self.segment += 1
            self._open_segment()
        if self.decisions % ROOM_CHECK_EVERY == 0:
            self.make_room()

    # --- room on the card ---
    def _remove_crops(self, n):
        # Returns True when segment n has no crops left.
        folder = self._path(segment_crops(n))
        if not _exists(folder):
            return True
        for entry in os.ilistdir(folder):
            os.remove(folder + "/" + entry[0])
            self.deleted += 1
            if self.free_bytes() >= self.min_free:
                return False
        try:
            os.rmdir(folder)
        except OSError:
            return False
        if n == self.segment:
            self.crop_dir_made = False
        return True

    def make_room(self):
        """Delete the oldest crops, then the oldest CSV files (never the one being written),
        until min_free is free. Returns how many files went."""
        if self.free_bytes() >= self.min_free:
            return 0
        before = self.deleted
        while self.free_bytes() < self.min_free and self.crops_first <= self.segment:
            if not self._remove_crops(self.crops_first):
                break
            if self.crops_first == self.segment:
                break  # the current segment's crops are gone; its next crops start its folder again
            self.crops_first += 1
        while self.free_bytes() < self.min_free and self.first < self.segment:
            n = self.first
            if _exists(self._path(segment_csv(n))):
                os.remove(self._path(segment_csv(n)))
                self.deleted += 1
            self._remove_crops(n)
            if n % SEGMENTS_PER_FOLDER == SEGMENTS_PER_FOLDER - 1:
                try:
                    os.rmdir(self._path(segment_dir(n)))
                except OSError:
                    pass
            self.first += 1
            if self.crops_first < self.first:
                self.crops_first = self.first
        if self.deleted != before:
            self._write_state()
        return self.deleted - before

    # --- events ---
    def event(self, time_ms, text):
        path = self._path(EVENTS)
        try:
            if os.stat(path)[6] > EVENTS_MAX:
                old = self._path("events.1.txt")
                if _exists(old):
                    os.remove(old)
                os.rename(path, old)
        except OSError:
            pass
        with open(path, "a") as f:
            f.write("%d %s\n" % (time_ms, text))

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None
