# The face detector's geometry and output decoding, written once: the board runs this, and
# the PC trains and evaluates with the same numbers and the same decode
# (host/maskgate/detector loads this file through maskgate.firmware.module("facedet")).
#
# The detector is a small int8 net on a 96x72 RGB copy of the frame (img.copy with area
# averaging; at QVGA that is x_scale = y_scale = 0.3). Its one output is a COLS x ROWS grid
# (stride 8 on its input) of CHANNELS values in [0, 1] (sigmoid), row-major, per cell:
#   0: objectness -- a face centre is in or near this cell;
#   1: face side  -- log-scaled between SIDE_MIN and SIDE_MAX (fractions of the frame height);
#   2, 3: where the centre is, x and y, in cell widths from the cell's corner, OFFSET_LO
#         plus OFFSET_SPAN times the value (so a neighbouring cell can point at it too).
# A face is a cell whose objectness reaches the threshold and is the largest of its 3x3
# neighbours; its box is square and is the crop the mask classifier was trained on (the face
# picture, forehead to chin), so the classifier takes it with no extra margin.
#
# On 4.5.5 the tf module's classify() only takes a 1x1xN output, so the grid leaves the model
# flattened (N = COLS * ROWS * CHANNELS); ml.Model.predict gives the same values.
#
# main.py loads it when config.json's face_stage is "facedet" or "haar+facedet"
# (face_stage.py): Detector(infer.Model(cfg["detector"]["model"]), cfg["detector"]["threshold"]),
# and judge.py crops its box with face.face_square(box, w, h, MARGIN).

import math

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

IN_W = const(96)
IN_H = const(72)
COLS = const(12)
ROWS = const(9)
CHANNELS = const(4)
SIDE_MIN = 0.08
SIDE_MAX = 1.2
OFFSET_LO = -0.5
OFFSET_SPAN = 2.0
MARGIN = 0.0  # the box already is the face picture the classifier knows: no growth
_LOG_MIN = math.log(SIDE_MIN)
_LOG_SPAN = math.log(SIDE_MAX) - math.log(SIDE_MIN)


def input_scales(width, height):
    """(x_scale, y_scale) that make img.copy of a width x height frame IN_W x IN_H.
    OpenMV sizes a copy as floor(w * x_scale) (lib/imlib/draw.c, py_image.c py_image_to), so
    the half pixel keeps float rounding from landing one short."""
    return (IN_W + 0.5) / width, (IN_H + 0.5) / height


def shrink(img, hint):
    """The detector's input: img scaled to IN_W x IN_H (a new image). Passing predict() an
    image of exactly the input's size makes OpenMV copy it 1:1 (draw.c: a scale of 1.0 turns
    interpolation off), so the model sees exactly these pixels."""
    xs, ys = input_scales(img.width(), img.height())
    small = img.copy(x_scale=xs, y_scale=ys, hint=hint)
    if small.width() != IN_W or small.height() != IN_H:
        raise ValueError("detector input is %dx%d, not %dx%d" % (small.width(), small.height(), IN_W, IN_H))
    return small


def side_of(v):
    """Face side as a fraction of the frame height, from the side channel's value."""
    return math.exp(_LOG_MIN + v * _LOG_SPAN)


def side_value(side):
    """The side channel's value for a face side (fraction of the frame height), clipped."""
    v = (math.log(max(side, 1e-6)) - _LOG_MIN) / _LOG_SPAN
    return min(1.0, max(0.0, v))


def cell_box(out, r, c, width, height):
    """The face box (x, y, side, side) in frame pixels that cell (r, c) of `out` points at."""
    i = (r * COLS + c) * CHANNELS
    cw = width / COLS
    ch = height / ROWS
    cx = (c + OFFSET_LO + OFFSET_SPAN * out[i + 2]) * cw
    cy = (r + OFFSET_LO + OFFSET_SPAN * out[i + 3]) * ch
    side = side_of(out[i + 1]) * height
    return (cx - side / 2.0, cy - side / 2.0, side, side)


def clip_box(box, width, height):
    """A box as ints, cut to the frame; None when nothing of it is inside."""
    x, y, w, h = box
    x0 = max(0, int(x + 0.5))
    y0 = max(0, int(y + 0.5))
    x1 = min(width, int(x + w + 0.5))
    y1 = min(height, int(y + h + 0.5))
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


def decode(out, width, height, threshold):
    """Faces in a flat detector output, as [(score, (x, y, w, h)), ...] in frame pixels of a
    width x height frame, best score first (equal scores in row-major order). A face is a cell
    at or above `threshold` that no 3x3 neighbour beats (ties go to the first cell in row-major
    order)."""
    found = []
    for r in range(ROWS):
        for c in range(COLS):
            p = out[(r * COLS + c) * CHANNELS]
            if p < threshold:
                continue
            peak = True
            for dr in (-1, 0, 1):
                rr = r + dr
                if rr < 0 or rr >= ROWS:
                    continue
                for dc in (-1, 0, 1):
                    cc = c + dc
                    if (dr == 0 and dc == 0) or cc < 0 or cc >= COLS:
                        continue
                    q = out[(rr * COLS + cc) * CHANNELS]
                    if q > p or (q == p and (rr * COLS + cc) < (r * COLS + c)):
                        peak = False
                        break
                if not peak:
                    break
            if not peak:
                continue
            box = clip_box(cell_box(out, r, c, width, height), width, height)
            if box is not None:
                # best score first, an equal score after the earlier cell: MicroPython's
                # list.sort is not stable, so the order is made here (a handful of faces)
                i = len(found)
                while i > 0 and found[i - 1][0] < p:
                    i -= 1
                found.insert(i, (p, box))
    return found


def nearest(found):
    """The biggest face of decode()'s list (the person nearest the door), or None."""
    best = None
    for f in found:
        if best is None or f[1][2] * f[1][3] > best[1][2] * best[1][3]:
            best = f
    return best


class Detector:
    """The detector on the board: `model` is an infer.Model of the detector's .tflite."""

    def __init__(self, model, threshold):
        if not 0.0 < threshold <= 1.0:
            raise ValueError("detector threshold must be in (0, 1]")
        self.model = model
        self.threshold = threshold

    def find(self, img, hint):
        """(score, (x, y, w, h)) of the most face-like face in `img` (the best score: at a door
        the visitor; a low threshold's stray peaks lose to it), or None."""
        small = shrink(img, hint)
        out = self.model.scores(small)
        del small
        if len(out) != ROWS * COLS * CHANNELS:
            raise ValueError("detector output has %d values, expected %d" % (len(out), ROWS * COLS * CHANNELS))
        found = decode(out, img.width(), img.height(), self.threshold)
        return found[0] if found else None
