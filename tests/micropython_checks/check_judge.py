# One picture -> what the door makes of it (firmware/judge.py), with the face stage
# (face_stage.FaceStage: Haar through face.find, a detector whose hit is given, or both), the
# model's decision (infer.Classifier.decide, a 3-class model's background refusing the region)
# and the crop math (face.py): a fake picture (to_grayscale, find_features, copy, crop, width,
# height; a copy bigger than the case's heap raises MemoryError, so judge crops in place) and a
# classifier whose scores are given; the Reading's box, square, P(mask), label, scores and
# whether it cropped in place. Microsecond timings differ by nature: only counted.
import face
import face_stage
import infer
import judge


class FakeImage:
    def __init__(self, w, h, boxes, log, copy_max=None):
        self.w, self.h = w, h
        self.boxes = boxes
        self.log = log
        self.copy_max = copy_max  # the largest copy (its w * h pixels) the heap holds; None: any

    def width(self):
        return self.w

    def height(self):
        return self.h

    def to_grayscale(self, x_scale=1.0, y_scale=1.0, copy=False):
        return FakeImage(int(self.w * x_scale), int(self.h * y_scale), self.boxes, self.log)

    def find_features(self, cascade, **kw):
        self.log.append(["find_features", cascade, sorted(kw.items())])
        return [tuple(b) for b in self.boxes.get(cascade, [])]

    def copy(self, roi=None, x_scale=1.0, y_scale=1.0, hint=0):
        w, h = (roi[2], roi[3]) if roi else (self.w, self.h)
        if self.copy_max is not None and int(w * x_scale) * int(h * y_scale) > self.copy_max:
            self.log.append(["copy refused", list(roi) if roi else None])
            raise MemoryError("memory allocation failed")
        self.log.append(["copy", list(roi) if roi else None, x_scale, hint])
        return FakeImage(int(w * x_scale), int(h * y_scale), self.boxes, self.log)

    def crop(self, roi=None):
        # in place: this picture becomes the square (py_image.c py_image_to with copy=False)
        self.log.append(["crop", list(roi)])
        self.w, self.h = roi[2], roi[3]
        return self


class GivenScores(infer.Classifier):
    # infer.Classifier without a model file: scores are given, decide() is the firmware's
    def __init__(self, labels, output, positive_label, threshold, scores):
        self.labels = labels
        self.output = output
        self.positive = labels.index(positive_label)
        self.threshold = threshold
        self.given = scores

    def scores(self, img):
        return self.given


def make_stage(case):
    """The FaceStage main.py builds for the case's face_stage (None: no face detection)."""
    kind = case["stage"]
    if kind is None:
        return None
    cfg = case["cfg"]
    cascade, eyes, keyword = case["cascade"], case["eyes"], case["keyword"]
    hit = case["detector_hit"]

    def haar(img):
        return face.find(img, cascade, cfg["detect_scale"], cfg["haar_threshold"], cfg["haar_scale_factor"],
                         eyes, keyword)

    def detector(img):
        return (hit[0], tuple(hit[1])) if hit else None

    return face_stage.FaceStage(kind, cfg["face_margin"], haar if cascade else None, detector)


def run(inputs):
    out = {"readings": [], "decide": [], "flat": []}
    for case in inputs["cases"]:
        log = []
        img = FakeImage(case["w"], case["h"], case["boxes"], log, case.get("copy_max"))
        model = GivenScores(case["labels"], case["output"], case["positive"], case["threshold"], case["scores"])
        try:
            stage = make_stage(case)
            r = judge.judge(img, model, case["cfg"], stage)
            out["readings"].append([r.box, r.roi, r.prob, r.label, r.scores, r.cropped, len(r.us), len(r.t),
                                    stage.last if stage else None, log])
        except ValueError as e:
            out["readings"].append(["ValueError", str(e), log])
    for labels, output, positive, threshold, scores in inputs["decide"]:
        try:
            out["decide"].append(list(GivenScores(labels, output, positive, threshold, scores).decide(scores)))
        except ValueError as e:
            out["decide"].append(["ValueError", str(e)])
    for value in inputs["flat"]:
        out["flat"].append(infer._flat(value))
    out["flat"].append(infer._flat(((1, 2), [3, (4.5,)])))
    return out
