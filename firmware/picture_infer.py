# INFER: the model on a picture sent by the PC, through the very function the door loop calls
# on a camera frame (judge.judge: the configured face stage when asked, the face square -- or
# the centre square without detection -- 32x32 resize, int8 model).
# `maskgate bench --images` streams a labelled folder through it to measure on-device
# accuracy and agreement with the PC's int8 model.
#
#   INFER {"id": n, "w": W, "h": H, "o": offset, "detect": bool} NUL bytes
#     The picture is W x H RGB565 (2 bytes a pixel, little-endian, row by row), sent in
#     chunks at increasing offsets (one request frame each).
#     -> {"id": n, "have": bytes received so far}            while the picture is incomplete
#     -> {"id": n, "prob": P(positive label), "label": str, "scores": [...], "box": face or null,
#         "roi": [x, y, w, h] judged, "us": [detect, resize, infer]}   when the last chunk lands
#        (with "detect" and no face found: "label": "no_face", prob, scores and roi null, as
#        the door would not judge that frame)
# The result stays until the next id, so a lost reply is answered again, not recomputed.

import image

import files
import frame
import judge
from commands import Refused

MAX_SIDE = 160  # 160 x 160 x 2 = 51 KB of heap at most
MIN_SIDE = 8


def _run(ctx, picture, detect):
    img = image.Image(picture["w"], picture["h"], image.RGB565, buffer=picture["buf"])
    r = judge.judge(img, ctx["model"], ctx["config"], ctx.get("stage") if detect else None)
    del img
    return {"id": picture["id"], "prob": r.prob, "label": r.label, "scores": r.scores,
            "box": list(r.box) if r.box else None, "roi": list(r.roi) if r.roi else None, "us": list(r.us)}


def command(ctx, payload):
    if ctx.get("model") is None:
        raise Refused(frame.E_NOT_READY, "no model running: %s" % (ctx.get("error") or "not configured"))
    head, data = frame.split_data(payload)
    if not isinstance(head, dict):
        raise Refused(frame.E_BAD_PAYLOAD, "INFER takes a JSON head, NUL, then RGB565 bytes")
    pic_id = files._int(head, "id", 0, 1 << 30)
    done = ctx.get("infer_done")
    if done is not None and done["id"] == pic_id:
        return done
    picture = ctx.get("infer_buf")
    offset = files._int(head, "o", 0, 1 << 30, 0)
    if picture is None or picture["id"] != pic_id:
        w = files._int(head, "w", MIN_SIDE, MAX_SIDE)
        h = files._int(head, "h", MIN_SIDE, MAX_SIDE)
        ctx["infer_buf"] = None
        ctx["infer_done"] = None
        picture = {"id": pic_id, "w": w, "h": h, "buf": bytearray(w * h * 2), "have": 0}
        ctx["infer_buf"] = picture
    total = len(picture["buf"])
    if offset > picture["have"] or offset + len(data) > total:
        return {"id": pic_id, "have": picture["have"]}  # out of step: the PC resends from here
    picture["buf"][offset:offset + len(data)] = data
    if offset + len(data) > picture["have"]:
        picture["have"] = offset + len(data)
    if picture["have"] < total:
        return {"id": pic_id, "have": picture["have"]}
    ctx["infer_buf"] = None
    result = _run(ctx, picture, bool(head.get("detect")))
    ctx["infer_done"] = result
    return result
