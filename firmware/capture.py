# CAPTURE: pictures for a training set, taken by the camera and handed to the PC as JPEG
# (or saved on the card, the paper's way, for a later pull).
#
#   CAPTURE {"id": n, "w": 200, "h": 200, "q": 90, "sd": null, "o": 0, "n": 4096}
#     first ask for shot n: -> {"id": n, "pending": true}; the next frame is taken (before
#                              anything is drawn on it), cropped to the w:h aspect around
#                              the centre, resized to w x h and compressed
#     ask again:            -> head {"id", "bytes", "sha256", "frame", "w", "h", "saved", "o"}
#                              (only {"id", "o"} for o > 0), NUL, then bytes o .. o+n of the
#                              JPEG (nothing when saved on the card)
#
# The shot stays until the PC asks for another id, so a chunk that arrived damaged is simply
# asked for again and a picture is never handed over half. With "sd": "captures/x.class/
# 00012.jpg" the board writes the file itself (temporary name, then rename).

import image

import files
import frame
from commands import Refused

MIN_SIDE = 16
MAX_SIDE = 320


def _want(req):
    want = {"id": files._int(req, "id", 0, 1 << 30),
            "w": files._int(req, "w", MIN_SIDE, MAX_SIDE, 200),
            "h": files._int(req, "h", MIN_SIDE, MAX_SIDE, 200),
            "q": files._int(req, "q", 10, 100, 90),
            "sd": None}
    if req.get("sd"):
        want["sd"] = files.card_path(req["sd"])
        if not want["sd"].endswith(".jpg"):
            raise Refused(frame.E_BAD_PAYLOAD, "sd: a .jpg file name")
    return want


def command(ctx, payload):
    req = files.request(payload)
    shot_id = files._int(req, "id", 0, 1 << 30)
    shot = ctx.get("shot")
    if shot is not None and shot["id"] == shot_id:
        if shot.get("error"):
            raise Refused(frame.E_FAILED, shot["error"])
        offset = files._int(req, "o", 0, 1 << 30, 0)
        count = files._int(req, "n", 1, frame.MAX_CHUNK, frame.MAX_CHUNK)
        data = shot["data"]
        if offset:
            head = {"id": shot_id, "o": offset}  # later chunks: a short head (noisy links)
        else:
            head = {"id": shot_id, "bytes": shot["bytes"], "sha256": shot["sha256"], "frame": shot["frame"],
                    "w": shot["w"], "h": shot["h"], "saved": shot["saved"], "o": 0}
        return frame.with_data(head, data[offset:offset + count] if data else b"")
    want = ctx.get("want")
    if want is None or want["id"] != shot_id:
        ctx["want"] = _want(req)
        ctx["shot"] = None  # free the previous picture before the next one is made
    return {"id": shot_id, "pending": True}


def _region(width, height, w, h):
    # the largest centred region of the frame with the w:h aspect
    if width * h > height * w:
        rw, rh = height * w // h, height
    else:
        rw, rh = width, width * h // w
    return ((width - rw) // 2, (height - rh) // 2, rw, rh)


def jpeg(img, w, h, quality):
    """The centre of `img` at w x h, as JPEG bytes."""
    roi = _region(img.width(), img.height(), w, h)
    small = None
    # OpenMV sizes a copy as floor(roi_w * scale): nudge the scale until it lands on w x h
    for extra in (0.5, 0.25, 0.75, 0.0, 0.99):
        small = img.copy(roi=roi, x_scale=(w + extra) / roi[2], y_scale=(h + extra) / roi[3],
                         hint=image.BILINEAR)
        if small.width() == w and small.height() == h:
            break
        small = None
    if small is None:
        raise ValueError("cannot resize the frame to %dx%d" % (w, h))
    try:
        small = small.to_jpeg(quality=quality)
    except AttributeError:  # firmware before to_jpeg()
        small = small.compress(quality=quality)
    data = bytes(small.bytearray())
    del small
    return data


def take(ctx, img, frame_id):
    """Called by the main loop right after the snapshot: make the shot the PC asked for."""
    want = ctx.get("want")
    if want is None or img is None:
        return
    ctx["want"] = None
    shot = {"id": want["id"], "w": want["w"], "h": want["h"], "frame": frame_id, "saved": want["sd"]}
    try:
        data = jpeg(img, want["w"], want["h"], want["q"])
        shot["bytes"] = len(data)
        shot["sha256"] = files.sha256_hex(data)
        if want["sd"]:
            files.write_atomic(want["sd"], data)
            data = None
        shot["data"] = data
    except MemoryError:
        shot["error"] = "not enough heap for a %dx%d picture: ask for a smaller --size" % (want["w"], want["h"])
    except Exception as e:
        shot["error"] = "%s: %s" % (type(e).__name__, e)
    ctx["shot"] = shot
