# One picture -> what the door makes of it (firmware/judge.py), with the model's decision
# (infer.Classifier.decide) and the crop math (face.py): a fake picture (to_grayscale,
# find_features, copy, width, height) and a classifier whose scores are given; the Reading's
# box, square, P(mask), label and scores. Microsecond timings differ by nature: only counted.
import infer
import judge


class FakeImage:
    def __init__(self, w, h, boxes, log):
        self.w, self.h = w, h
        self.boxes = boxes
        self.log = log

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
        self.log.append(["copy", list(roi) if roi else None, x_scale, hint])
        w, h = (roi[2], roi[3]) if roi else (self.w, self.h)
        return FakeImage(int(w * x_scale), int(h * y_scale), self.boxes, self.log)


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


def run(inputs):
    out = {"readings": [], "decide": [], "flat": []}
    for case in inputs["cases"]:
        log = []
        img = FakeImage(case["w"], case["h"], case["boxes"], log)
        model = GivenScores(case["labels"], case["output"], case["positive"], case["threshold"], case["scores"])
        try:
            r = judge.judge(img, model, case["cfg"], case["cascade"], case["eyes"], case["keyword"])
            out["readings"].append([r.box, r.roi, r.prob, r.label, r.scores, len(r.us), len(r.t), log])
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
