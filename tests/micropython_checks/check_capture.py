# CAPTURE (firmware/capture.py): the requests, the shot the main loop makes (through a fake
# picture whose copy is sized as OpenMV sizes it and whose JPEG is made-up bytes), the chunks
# the PC pages through, saving on the card; the centred region for every aspect.
import json

import capture
import commands
import frame
from checks import hx


class FakeJpeg:
    def __init__(self, data):
        self.data = data

    def bytearray(self):
        return bytearray(self.data)


class FakeImage:
    def __init__(self, w, h):
        self.w, self.h = w, h

    def width(self):
        return self.w

    def height(self):
        return self.h

    def copy(self, roi=None, x_scale=1.0, y_scale=1.0, hint=0):
        return FakeImage(int(roi[2] * x_scale), int(roi[3] * y_scale))

    def to_jpeg(self, quality=90):
        return FakeJpeg(bytes([(i * 7 + quality) & 0xFF for i in range(self.w * self.h // 16)]))


def ask(ctx, req):
    try:
        reply = capture.command(ctx, json.dumps(req).encode())
        if isinstance(reply, dict):
            return ["ok", reply]
        head, data = frame.split_data(reply)  # the head's JSON text has the interpreter's dict order
        return ["data", head, hx(data)]
    except commands.Refused as e:
        return ["refused", e.code, e.detail]


def run(inputs):
    out = {"regions": [], "sessions": []}
    for width, height, w, h in inputs["regions"]:
        out["regions"].append(capture._region(width, height, w, h))
    for session in inputs["sessions"]:
        ctx = {}
        got = []
        for step in session:
            if step[0] == "take":
                capture.take(ctx, FakeImage(step[1], step[2]), step[3])
                shot = ctx.get("shot")
                got.append(["shot", None if shot is None else sorted([k for k in shot if k != "data"])])
            else:
                got.append(ask(ctx, step[1]))
        out["sessions"].append(got)
    return out
