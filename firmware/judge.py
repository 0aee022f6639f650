# One picture -> what the door makes of it: the face (face_stage.py: Haar, the detector, or
# Haar then the detector, as config.json says), the square judged, P(mask) and the label. The
# door loop (main.py) and the INFER command (picture_infer.py, `maskgate bench --images`) both
# call judge(), so what the PC measures through INFER is what the door does with a camera frame.
#
# With a face stage, no face means no judgement (label "no_face", the door stays closed);
# without one (face detection off, or INFER without "detect") the centre square is judged.
# A 3-class model (labels with config.BACKGROUND) refuses a region with nobody in it: when
# "background" wins, the reading is no face (prob None), whatever P(mask) says.

import gc
import image
import time

import config
import face

NO_FACE = "no_face"


class Reading:
    """box: the face in picture pixels or None; roi: the square judged or None; prob, label,
    scores: the model's reading (prob None without a face, or when the region is background);
    us: microseconds spent on (detect, resize, infer); t: the ticks_us marks after each of them;
    cropped: the picture itself was cut down to roi (the heap could not hold a copy of it)."""

    def __init__(self, box, roi, prob, label, scores, t0, t1, t2, t3, cropped=False):
        self.box = box
        self.roi = roi
        self.prob = prob
        self.label = label
        self.scores = scores
        self.cropped = cropped
        self.t = (t1, t2, t3)
        self.us = (time.ticks_diff(t1, t0), time.ticks_diff(t2, t1), time.ticks_diff(t3, t2))


def crop_square(img, roi, size):
    """(the model's input for the square roi, whether img itself was cut to roi). The square
    is copied first (face.to_input); when the heap cannot hold that copy (a face filling the
    frame beside two models: 115 KB at QVGA) the picture is cropped in place instead, which
    gives the same pixels (py_image.c py_image_to: a crop is the same copy, into itself)."""
    try:
        return face.to_input(img, roi, size, image.AREA), False
    except MemoryError:
        gc.collect()
        return face.to_input(img, roi, size, image.AREA, True), True


def judge(img, model, cfg, stage=None):
    """Read one RGB565 picture the door's way (see the top of this file). stage: a
    face_stage.FaceStage, or None for the centre square."""
    t0 = time.ticks_us()
    found = stage.find(img) if stage is not None else None
    t1 = time.ticks_us()
    if found is None and stage is not None:
        return Reading(None, None, None, NO_FACE, None, t0, t1, t1, t1)
    w, h = img.width(), img.height()
    box = found[0] if found else None
    roi = face.face_square(box, w, h, found[1]) if found else face.centre_square(w, h)
    crop, cropped = crop_square(img, roi, cfg["input_size"])
    t2 = time.ticks_us()
    scores = model.scores(crop)
    prob, label = model.decide(scores)
    del crop
    if label == config.BACKGROUND:
        prob = None  # nobody there: the door sees no face
    t3 = time.ticks_us()
    return Reading(box, roi, prob, label, scores, t0, t1, t2, t3, cropped)
