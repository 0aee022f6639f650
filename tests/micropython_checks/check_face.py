# Where the model looks (firmware/face.py): face and centre squares, the largest box, eye
# pairing and the face placed from the eyes, boxes mapped back from the detection copy, the
# resize scales; and find / to_input / load_cascade driven through small fake images written
# here (only what face.py calls: to_grayscale, find_features, copy, width, height).
import face


class FakeImage:
    # OpenMV sizes a copy as floor(w * scale) (py_image.c): here in double precision
    def __init__(self, w, h, boxes=None, log=None):
        self.w, self.h = w, h
        self.boxes = boxes or {}
        self.log = log if log is not None else []

    def width(self):
        return self.w

    def height(self):
        return self.h

    def to_grayscale(self, x_scale=1.0, y_scale=1.0, copy=False):
        self.log.append(["to_grayscale", x_scale, y_scale, copy])
        return FakeImage(int(self.w * x_scale), int(self.h * y_scale), self.boxes, self.log)

    def find_features(self, cascade, **kw):
        self.log.append(["find_features", cascade, sorted(kw.items())])
        return [tuple(b) for b in self.boxes.get(cascade, [])]

    def copy(self, roi=None, x_scale=1.0, y_scale=1.0, hint=0):
        self.log.append(["copy", list(roi) if roi else None, x_scale, y_scale, hint])
        w, h = (roi[2], roi[3]) if roi else (self.w, self.h)
        return FakeImage(int(w * x_scale), int(h * y_scale), self.boxes, self.log)


class FakeImageModule:
    def __init__(self, missing):
        self.missing = missing

    def HaarCascade(self, where, stages=25):
        if where in self.missing:
            raise OSError(2)
        return "cascade:%s:%d" % (where, stages)


def run(inputs):
    out = {"face_square": [], "centre_square": [], "largest": [], "eye_pair": [], "face_from_eyes": [],
           "frame_box": [], "input_scales": [], "find": [], "to_input": [], "load_cascade": []}
    for box, width, height, margin in inputs["squares"]:
        out["face_square"].append(face.face_square(box, width, height, margin))
    for width, height in inputs["frames"]:
        out["centre_square"].append(face.centre_square(width, height))
    for boxes in inputs["box_sets"]:
        out["largest"].append(face.largest([tuple(b) for b in boxes]))
    for eyes, width, height in inputs["eye_sets"]:
        out["eye_pair"].append(face.eye_pair(eyes))
        out["face_from_eyes"].append(face.face_from_eyes(eyes, width, height))
    for box, scale, width, height in inputs["frame_boxes"]:
        out["frame_box"].append(face.frame_box(box, scale, width, height))
    for side, size in inputs["scales"]:
        scales = face.input_scales(side, size)
        out["input_scales"].append([scales, [int(side * s) for s in scales]])
    for case in inputs["find"]:
        log = []
        img = FakeImage(case["w"], case["h"], case["boxes"], log)
        eyes = "eye" if case["eyes"] else None
        box = face.find(img, "frontal", case["scale"], 0.9, 1.35, eyes, case["keyword"])
        out["find"].append([box, log])
    for w, h, roi, size in inputs["to_input"]:
        log = []
        try:
            got = face.to_input(FakeImage(w, h, None, log), tuple(roi), size, 1)
            out["to_input"].append([got.width(), got.height(), log])
        except ValueError as e:
            out["to_input"].append(["ValueError", str(e), log])
    for missing in inputs["cascades"]:
        try:
            out["load_cascade"].append(list(face.load_cascade(FakeImageModule(missing), "eye", 24)))
        except OSError as e:
            out["load_cascade"].append(["OSError", e.args[0]])
    out["constants"] = [face.EYE_Y, face.EYE_X, face.EYE_SPAN, face.EYE_MAX_TILT, face.EYE_MAX_SIZE_RATIO,
                        face.EYE_SIZE_PER_DISTANCE, face.EYE_STAGES, face.CASCADE_PLACES, face.SCALE_EXTRAS]
    return out
