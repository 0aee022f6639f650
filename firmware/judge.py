# One picture -> what the door makes of it: the face (frontal, else placed from an eye pair),
# the square judged, P(mask) and the label. The door loop (main.py) and the INFER command
# (picture_infer.py, `maskgate bench --images`) both call judge(), so what the PC measures
# through INFER is what the door does with a camera frame.
#
# With a cascade, no face means no judgement (label "no_face", the door stays closed); without
# one (face detection off, or INFER without "detect") the centre square is judged.

import image
import time

import face

NO_FACE = "no_face"


class Reading:
    """box: the face in picture pixels or None; roi: the square judged or None; prob, label,
    scores: the model's reading (prob None without a face); us: microseconds spent on
    (detect, resize, infer); t: the ticks_us marks after each of them."""

    def __init__(self, box, roi, prob, label, scores, t0, t1, t2, t3):
        self.box = box
        self.roi = roi
        self.prob = prob
        self.label = label
        self.scores = scores
        self.t = (t1, t2, t3)
        self.us = (time.ticks_diff(t1, t0), time.ticks_diff(t2, t1), time.ticks_diff(t3, t2))


def judge(img, model, cfg, cascade=None, eyes=None, scale_keyword="scale_factor"):
    """Read one RGB565 picture the door's way (see the top of this file)."""
    t0 = time.ticks_us()
    box = None
    if cascade is not None:
        box = face.find(img, cascade, cfg["detect_scale"], cfg["haar_threshold"], cfg["haar_scale_factor"],
                        eyes, scale_keyword)
    t1 = time.ticks_us()
    if box is None and cascade is not None:
        return Reading(None, None, None, NO_FACE, None, t0, t1, t1, t1)
    w, h = img.width(), img.height()
    roi = face.face_square(box, w, h, cfg["face_margin"]) if box else face.centre_square(w, h)
    crop = face.to_input(img, roi, cfg["input_size"], image.AREA)
    t2 = time.ticks_us()
    scores = model.scores(crop)
    prob, label = model.decide(scores)
    del crop
    t3 = time.ticks_us()
    return Reading(box, roi, prob, label, scores, t0, t1, t2, t3)
