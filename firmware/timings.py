# BENCH: how long each stage of the door loop takes, measured on the camera.
#
# The main loop notes every frame's stage times (microseconds, time.ticks_us); the last
# KEPT frames are kept in a ring. The PC pages through them and computes the statistics
# (p50, p95, fps) itself, so the board only records.
#
#   BENCH {"since": frame, "n": count}
#     -> {"frames": [[frame, ms, capture, detect, resize, infer, log, face], ...] (frame >= since,
#         oldest first, at most n), "last": newest frame noted, "fps": clock.fps(),
#         "kept": KEPT, "boot": boot id}
# `ms` is time.ticks_ms() when the frame was taken (for the frame rate); `log` is the previous
# frame's logging (a row cannot time its own write); `face` is 1 when a face was found.

import files

KEPT = 128
PAGE = 48


class Timings:
    def __init__(self, size=KEPT):
        self.rows = [None] * size
        self.count = 0
        self.last = -1

    def note(self, frame_id, ms, capture, detect, resize, infer, log, face):
        self.rows[self.count % len(self.rows)] = (frame_id, ms, capture, detect, resize, infer, log, face)
        self.count += 1
        self.last = frame_id

    def since(self, first, limit):
        size = len(self.rows)
        start = self.count - size if self.count > size else 0
        out = []
        for i in range(start, self.count):
            row = self.rows[i % size]
            if row[0] >= first:
                out.append(list(row))
                if len(out) >= limit:
                    break
        return out


def command(ctx, payload):
    req = files.request(payload)
    first = files._int(req, "since", -1, 1 << 30, 0)
    limit = files._int(req, "n", 1, PAGE, PAGE)
    timings = ctx.get("timings")
    rows = timings.since(first, limit) if timings else []
    return {"frames": rows, "last": timings.last if timings else -1, "fps": ctx["status"].get("fps"),
            "kept": KEPT, "boot": ctx.get("boot")}
