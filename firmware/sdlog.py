# The SD card log: one CSV row per door decision, face crops as JPEG by policy, and a short
# text file of events (boot, errors). Bounded: a CSV file holds at most max_rows rows, and
# when free space drops below min_free_kb the oldest crops, then the oldest CSV files, go.
# Every row is flushed (FatFS syncs the file on flush), so a power cut loses at most the
# row being written.
#
# Files, in log.dir (relative to the card, the working directory on the camera):
#   NNNNN.csv           decisions; a new number at every boot and every max_rows rows
#   NNNNN_FFFFFF.jpg    the face square of frame FFFFFF, saved while NNNNN.csv was open
#   events.txt          "time_ms message" lines (events.1.txt is the previous 64 KB)

import os

COLUMNS = (
    "time_ms", "frame", "face_x", "face_y", "face_w", "face_h", "prob", "label", "door",
    "capture_ms", "detect_ms", "resize_ms", "infer_ms", "log_ms", "fps", "crop",
)
HEADER = ",".join(COLUMNS) + "\n"
EVENTS = "events.txt"
EVENTS_MAX = 65536
ROOM_CHECK_EVERY = 16  # rows between free-space checks (statvfs is not free on FAT)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _number(name):
    # "00012.csv" -> 12; anything else -> -1
    if len(name) == 9 and name.endswith(".csv"):
        try:
            return int(name[:5])
        except ValueError:
            pass
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
        self.max_rows = max_rows
        self.free_bytes = free_bytes or self._statvfs_free
        self.decisions = 0
        self.deleted = 0
        self.file = None
        if not _exists(folder):
            os.mkdir(folder)
        numbers = [_number(n) for n in os.listdir(folder)]
        self.segment = max(numbers) + 1 if numbers else 0
        self._open_segment()

    def _statvfs_free(self):
        st = os.statvfs(self.folder)
        return st[0] * st[4]  # f_bsize * f_bavail

    def _path(self, name):
        return self.folder + "/" + name

    def _open_segment(self):
        if self.file is not None:
            self.file.close()
        self.name = "%05d.csv" % self.segment
        self.file = open(self._path(self.name), "a")
        self.file.write(HEADER)
        self.file.flush()
        self.rows = 0

    def want_crop(self, prob):
        """Save this decision's face crop? (call once per decision, before row())"""
        if self.crops == "all":
            return True
        if self.crops == "every_n":
            return self.decisions % self.every_n == 0
        if self.crops == "low_confidence":
            return prob is not None and abs(prob - self.threshold) < self.band
        return False

    def crop_path(self, frame_id):
        return self._path("%05d_%06d.jpg" % (self.segment, frame_id))

    def row(self, time_ms, frame_id, box, prob, label, door, stage_ms, fps, crop=""):
        """Append one decision. stage_ms: (capture, detect, resize, infer, log) in ms."""
        if box is None:
            box_text = ",,,"
        else:
            box_text = "%d,%d,%d,%d" % (box[0], box[1], box[2], box[3])
        prob_text = "" if prob is None else "%.4f" % prob
        stages = ",".join(["%.2f" % v for v in stage_ms])
        crop_name = crop[len(self.folder) + 1:] if crop.startswith(self.folder + "/") else crop
        self.file.write("%d,%d,%s,%s,%s,%s,%s,%.1f,%s\n" % (
            time_ms, frame_id, box_text, prob_text, label, door, stages, fps, crop_name))
        self.file.flush()
        self.rows += 1
        self.decisions += 1
        if self.rows >= self.max_rows:
            self.segment += 1
            self._open_segment()
        if self.decisions % ROOM_CHECK_EVERY == 0:
            self.make_room()

    def make_room(self):
        """Delete the oldest crops, then the oldest CSV files, until min_free is free.
        Returns how many files went."""
        if self.free_bytes() >= self.min_free:
            return 0
        names = sorted(os.listdir(self.folder))
        crops = [n for n in names if n.endswith(".jpg")]
        tables = [n for n in names if _number(n) >= 0 and n != self.name]
        gone = 0
        for name in crops + tables:
            os.remove(self._path(name))
            gone += 1
            if self.free_bytes() >= self.min_free:
                break
        self.deleted += gone
        return gone

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
