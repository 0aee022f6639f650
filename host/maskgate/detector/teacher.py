"""Face boxes for real photos, from a teacher detector on the PC (a data-preparation step only).

The door's detector never saw a real photo: it learnt from faces pasted on drawn scenes. Real
photos with known face boxes (masked people in a street, a head-and-shoulders portrait) teach
it what a masked face looks like in a scene. The shared sets publish no boxes, so a bigger
detector that does not fit the H7 labels them once: OpenMV's BlazeFace (front, 128 x 128,
MediaPipe). Nothing of OpenMV's is in this project: the .tflite is a path the user gives
(`git -C OPENMV show HEAD:lib/models/blazeface_front_128.tflite > blazeface.tflite`), and what is
kept is the boxes it produced (`maskgate data face-boxes`, a CSV of file name -> boxes).

Pre- and post-processing follow OpenMV's scripts/libraries/ml/ml-mediapipe
(ml/postprocessing/mediapipe.py BlazeFace: anchors of grids 16 x 2 and 8 x 6, boxes relative
to the anchor in input pixels, sigmoid scores, ml/utils.py NMS: soft NMS, Gaussian with sigma
0.1, boxes below 0.1 dropped) and ml-core's Normalization (float input: pixel / 255). Two
changes, both to find more faces, not different ones: the picture is padded to a square on black
instead of being stretched (OpenMV's example sets a square window for the same reason), and
small faces are looked for again in four overlapping quarter tiles (BlazeFace front is a
close-range model: a face under a tenth of the input is missed).
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from maskgate.errors import DataError

INPUT = 128
ANCHOR_GRID = ((16, 2), (8, 6))  # mediapipe.py BlazeFace
SCORES, CORDS = (1, 2), (0, 3)  # output indexes, as mediapipe.py BlazeFace
NMS_THRESHOLD, NMS_SIGMA = 0.1, 0.1  # mediapipe.py defaults
THRESHOLD = 0.5
TILE = 0.6  # tile side as a share of the square picture's side (overlapping quarters)
TILE_FACE_MAX = 0.5  # a tile keeps faces up to this share of its side (0.3 of the picture)


def anchors() -> np.ndarray:
    """(N, 2) anchor centres in [0, 1], in mediapipe.py's order."""
    out = []
    for grid, per_cell in ANCHOR_GRID:
        for gy in range(grid):
            for gx in range(grid):
                out += [((gx + 0.5) / grid, (gy + 0.5) / grid)] * per_cell
    return np.asarray(out, np.float32)


def soft_nms(boxes: list, threshold: float = NMS_THRESHOLD, sigma: float = NMS_SIGMA) -> list:
    """ml/utils.py NMS.get_bounding_boxes on [x, y, w, h, score] rows: the best box is kept,
    every other score is multiplied by exp(-iou^2 / sigma) and dropped below `threshold`."""
    rows = [list(b) for b in boxes]
    out = []
    while rows:
        best = max(range(len(rows)), key=lambda i: rows[i][4])
        box = rows.pop(best)
        out.append(box)
        for r in rows:
            v = _iou(box, r)
            r[4] *= math.exp(-v * v / sigma)
            if r[4] < threshold:
                r[4] = 0.0
        rows = [r for r in rows if r[4] > 0.0]
    return out


def _iou(a, b) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _whole_in_tile(box, vx, vy, vs, side, edge: float = 2.0) -> bool:
    """A tile's box (input pixels) is a whole small face: not cut by an edge of the tile that is
    inside the picture, and small (bigger faces are the whole view's job)."""
    x, y, w, h = box[:4]
    if max(w, h) > TILE_FACE_MAX * INPUT:
        return False
    if (vx > 0 and x <= edge) or (vy > 0 and y <= edge):
        return False
    if (vx + vs < side and x + w >= INPUT - edge) or (vy + vs < side and y + h >= INPUT - edge):
        return False
    return True


def _drop_contained(boxes: list, share: float = 0.5) -> list:
    """Boxes without the ones lying mostly (`share` of their area) inside a bigger box: an eye
    or a mouth a tile took for a small face. Soft NMS misses them (their IoU is small)."""
    keep = []
    for b in boxes:
        inside = False
        for o in boxes:
            if o is b or o[2] * o[3] <= b[2] * b[3]:
                continue
            iw = max(0.0, min(b[0] + b[2], o[0] + o[2]) - max(b[0], o[0]))
            ih = max(0.0, min(b[1] + b[3], o[1] + o[3]) - max(b[1], o[1]))
            if iw * ih >= share * b[2] * b[3]:
                inside = True
                break
        if not inside:
            keep.append(b)
    return keep


class BlazeFace:
    """The teacher: `find(rgb)` -> [(x, y, w, h, score)] face boxes in the picture's pixels."""

    def __init__(self, tflite_path, threshold: float = THRESHOLD, tiles: bool = True):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        path = Path(tflite_path)
        if not path.is_file():
            raise DataError(f"{path}: no such teacher model (BlazeFace front 128 .tflite)")
        self.interpreter = Interpreter(model_path=str(path), num_threads=1,
                                       experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        if tuple(inp["shape"][1:]) != (INPUT, INPUT, 3):
            raise DataError(f"{path}: input {tuple(inp['shape'])} is not BlazeFace front's 1 x 128 x 128 x 3")
        self.input_index = inp["index"]
        self.outputs = [d["index"] for d in self.interpreter.get_output_details()]
        self.anchors = anchors()
        self.threshold, self.tiles = threshold, tiles

    def _raw(self, square: np.ndarray, threshold: float) -> list:
        """Boxes [x, y, w, h, score] in 128 x 128 input pixels (mediapipe.py detection_post_process)."""
        x = cv2.resize(square, (INPUT, INPUT), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
        self.interpreter.set_tensor(self.input_index, x[None])
        self.interpreter.invoke()
        out = [self.interpreter.get_tensor(i)[0] for i in self.outputs]
        boxes, start = [], 0
        for s_idx, c_idx in zip(SCORES, CORDS):
            logits, cords = out[s_idx].reshape(-1), out[c_idx]
            anchors = self.anchors[start : start + len(logits)]
            start += len(logits)
            keep = np.flatnonzero(logits >= math.log(threshold / (1 - threshold)))
            for i in keep:
                cx = cords[i, 0] + anchors[i, 0] * INPUT
                cy = cords[i, 1] + anchors[i, 1] * INPUT
                w, h = cords[i, 2], cords[i, 3]
                x0, y0 = max(0.0, cx - w / 2), max(0.0, cy - h / 2)
                x1, y1 = min(INPUT, cx + w / 2), min(INPUT, cy + h / 2)
                if x1 - x0 >= 1 and y1 - y0 >= 1:
                    boxes.append([x0, y0, x1 - x0, y1 - y0, 1.0 / (1.0 + math.exp(-float(logits[i])))])
        return boxes

    def find(self, rgb: np.ndarray) -> list[tuple[int, int, int, int, float]]:
        h, w = rgb.shape[:2]
        side = max(h, w)
        square = np.zeros((side, side, 3), np.uint8)
        ox, oy = (side - w) // 2, (side - h) // 2
        square[oy : oy + h, ox : ox + w] = rgb
        views = [(0, 0, side)]
        if self.tiles:
            t = int(round(side * TILE))
            views += [(x, y, t) for y in (0, side - t) for x in (0, side - t)]
        found = []
        for vx, vy, vs in views:
            k = vs / INPUT
            for b in self._raw(square[vy : vy + vs, vx : vx + vs], self.threshold):
                if vs < side and not _whole_in_tile(b, vx, vy, vs, side):
                    continue
                found.append([b[0] * k + vx - ox, b[1] * k + vy - oy, b[2] * k, b[3] * k, b[4]])
        # OpenMV keeps boxes whose decayed score is above 0.1; a label needs the teacher's own threshold
        kept = _drop_contained([b for b in soft_nms(found) if b[4] >= self.threshold])
        out = []
        for x, y, bw, bh, score in kept:
            x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
            x1, y1 = min(w, int(round(x + bw))), min(h, int(round(y + bh)))
            if x1 - x0 >= 4 and y1 - y0 >= 4:
                out.append((x0, y0, x1 - x0, y1 - y0, round(float(score), 3)))
        return out
