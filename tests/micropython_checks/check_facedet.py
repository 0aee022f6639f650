# The face detector's decode (firmware/facedet.py) on detector outputs (quantized like the
# int8 model's, so equal scores happen), its geometry, and Detector.find through a fake model
# and image (only copy, width, height and scores).
import facedet


class FakeImage:
    def __init__(self, w, h):
        self.w, self.h = w, h

    def width(self):
        return self.w

    def height(self):
        return self.h

    def copy(self, x_scale=1.0, y_scale=1.0, hint=0):
        return FakeImage(int(self.w * x_scale), int(self.h * y_scale))  # floor, as OpenMV sizes a copy


class FakeModel:
    def __init__(self, out):
        self.out = out
        self.seen = []

    def scores(self, img):
        self.seen.append([img.width(), img.height()])
        return self.out


def run(inputs):
    out = {"decode": [], "nearest": [], "cell_box": [], "side": [], "clip": [], "scales": [], "find": [],
           "refused": []}
    for grid, width, height, threshold in inputs["decode"]:
        found = facedet.decode(grid, width, height, threshold)
        out["decode"].append(found)
        out["nearest"].append(facedet.nearest(found))
    grid = inputs["decode"][0][0]
    for r in range(facedet.ROWS):
        for c in range(facedet.COLS):
            out["cell_box"].append(facedet.cell_box(grid, r, c, 320, 240))
    for v in inputs["side"]:
        side = facedet.side_of(v)
        out["side"].append([side, facedet.side_value(side), facedet.side_value(v)])
    for box, width, height in inputs["clip"]:
        out["clip"].append(facedet.clip_box(box, width, height))
    for width, height in inputs["frames"]:
        xs, ys = facedet.input_scales(width, height)
        out["scales"].append([xs, ys, int(width * xs), int(height * ys)])
    for grid, width, height, threshold in inputs["find"]:
        model = FakeModel(grid)
        try:
            hit = facedet.Detector(model, threshold).find(FakeImage(width, height), 1)
            out["find"].append([hit, model.seen])
        except ValueError as e:
            out["find"].append(["ValueError", str(e), model.seen])
    for threshold in inputs["thresholds"]:
        try:
            facedet.Detector(None, threshold)
            out["refused"].append("accepted")
        except ValueError as e:
            out["refused"].append(str(e))
    return out
