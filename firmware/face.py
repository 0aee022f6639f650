# Where the model looks: the face box grown and made square, or the centre square when no
# detector runs; then that square resized to the model's input. The host's contract
# (host/maskgate/contract.py) loads this file and uses these functions (face_square,
# centre_square, input_scales), so the square math is written once, here. The margin and
# input size come from config.json, never from here.
#
# round() is round-half-to-even on MicroPython and CPython alike.
#
# Eye fallback: frontal-face cascades rely on nose and mouth, so a mask hides most of what
# they look for. When no face is found, the eye cascade's boxes are paired and the face box
# is put where a frontal-face box would be around those eyes. The host
# (host/maskgate/data/faces.py) imports these constants and face_from_eyes from here.

# Where the eyes sit in a Haar frontal-face box, as fractions of its side (measured by the
# host on the CelebA faces of face-mask-12k). Inverse: side = eye distance / EYE_SPAN (2.5x).
EYE_Y = 0.38
EYE_X = (0.30, 0.70)
EYE_SPAN = EYE_X[1] - EYE_X[0]
EYE_MAX_TILT = 0.4  # |dy| / dx: level within about 22 degrees (as the host's eye_pair)
EYE_MAX_SIZE_RATIO = 1.8  # the bigger eye box at most this much wider than the smaller
EYE_SIZE_PER_DISTANCE = (0.25, 1.0)  # eye box width / eye distance: not overlapping, not specks
EYE_STAGES = 24  # stages of OpenMV's eye cascade that main.py runs (all of them)


def centre_square(width, height):
    side = min(width, height)
    return ((width - side) // 2, (height - side) // 2, side, side)


def face_square(box, width, height, margin):
    x, y, w, h = box
    cx = x + w / 2.0
    cy = y + h / 2.0
    side = int(round(max(w, h) * (1.0 + 2.0 * margin)))
    side = max(1, min(side, width, height))
    x0 = int(round(cx - side / 2.0))
    y0 = int(round(cy - side / 2.0))
    x0 = min(max(x0, 0), width - side)
    y0 = min(max(y0, 0), height - side)
    return (x0, y0, side, side)


def largest(boxes):
    """The biggest (x, y, w, h) box, or None."""
    best = None
    for b in boxes:
        if best is None or b[2] * b[3] > best[2] * best[3]:
            best = b
    return best


def eye_pair(eyes):
    """The (left, right) eye centres of the most plausible pair among eye boxes, or None.

    Plausible: side by side, level within EYE_MAX_TILT, similar sizes, eye size a sensible
    fraction of their distance. Of those, the widest pair (the nearest face, like largest)."""
    best = None
    best_dx = 0.0
    n = len(eyes)
    for i in range(n):
        for j in range(i + 1, n):
            a = eyes[i]
            b = eyes[j]
            if a[0] + a[2] / 2.0 > b[0] + b[2] / 2.0:
                a, b = b, a
            lx = a[0] + a[2] / 2.0
            ly = a[1] + a[3] / 2.0
            rx = b[0] + b[2] / 2.0
            ry = b[1] + b[3] / 2.0
            dx = rx - lx
            if dx <= 0 or abs(ry - ly) > EYE_MAX_TILT * dx:
                continue
            small = min(a[2], b[2])
            big = max(a[2], b[2])
            if big > EYE_MAX_SIZE_RATIO * small:
                continue
            size = (a[2] + b[2]) / 2.0
            if not (EYE_SIZE_PER_DISTANCE[0] * dx <= size <= EYE_SIZE_PER_DISTANCE[1] * dx):
                continue
            if dx > best_dx:
                best = ((lx, ly), (rx, ry))
                best_dx = dx
    return best


def face_from_eyes(eyes, width, height):
    """A face box (x, y, w, h) from eye boxes in a width x height image, or None.

    The inverse of the host's box_eyes: the square whose EYE_X / EYE_Y points are the eye
    centres (side = eye distance / EYE_SPAN, centred between the eyes, the eye line
    EYE_Y of the side from its top), clipped to the image."""
    pair = eye_pair(eyes)
    if pair is None:
        return None
    (lx, ly), (rx, ry) = pair
    dist = ((rx - lx) ** 2 + (ry - ly) ** 2) ** 0.5
    side = dist / EYE_SPAN
    x = (lx + rx) / 2.0 - (EYE_X[0] + EYE_X[1]) / 2.0 * side
    y = (ly + ry) / 2.0 - EYE_Y * side
    x0 = max(0, int(round(x)))
    y0 = max(0, int(round(y)))
    x1 = min(width, int(round(x + side)))
    y1 = min(height, int(round(y + side)))
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


# Where each release keeps the cascades: files in the ROMFS from firmware 4.7
# (boards/OPENMV4/romfs.json), built-in names before (imlib_config.h; the H7 lost the
# built-in eye cascade in 4.5.6). Tried in this order: the first that loads is used.
CASCADE_PLACES = ("/rom/haarcascade_%s.cascade", "%s")


def load_cascade(image, name, stages):
    """(cascade, where it came from) for the built-in cascade `name` ("frontalface", "eye"),
    wherever this firmware keeps it; raises the last error when it has none."""
    error = None
    for place in CASCADE_PLACES:
        where = place % name
        try:
            return image.HaarCascade(where, stages=stages), where
        except Exception as e:  # OSError (no such file / name), RuntimeError (not a cascade)
            error = e
    raise error


def frame_box(box, scale, width, height):
    """A box found on the grayscale copy shrunk by `scale`, in the width x height frame's
    pixels (what find returns; the host maps every face of a picture with it)."""
    inv = 1.0 / scale
    x = int(box[0] * inv + 0.5)
    y = int(box[1] * inv + 0.5)
    w = min(int(box[2] * inv + 0.5), width - x)
    h = min(int(box[3] * inv + 0.5), height - y)
    return (x, y, w, h)


def find(img, cascade, scale, threshold, scale_factor, eyes=None, scale_keyword="scale_factor"):
    """The largest frontal face in `img` as (x, y, w, h) in img's pixels, or None.

    Haar runs on a grayscale copy shrunk by `scale` (0.5 on QVGA: 19 KB of heap instead of
    150 KB, four times less work); boxes are mapped back to the full frame. No `hint`: some
    firmware versions do not take it on to_grayscale, and nearest-neighbour is fine for Haar.
    With an eye cascade `eyes`, a frame without a frontal face gets the face placed from an
    eye pair (face_from_eyes) on the same grayscale copy. `scale_keyword` is the name this
    firmware gives find_features' scale factor (features.haar_scale_keyword: "scale" on 5.0)."""
    kw = {"threshold": threshold}
    kw[scale_keyword] = scale_factor
    gray = img.to_grayscale(x_scale=scale, y_scale=scale, copy=True)
    box = largest(gray.find_features(cascade, **kw))
    if box is None and eyes is not None:
        found = gray.find_features(eyes, **kw)
        box = face_from_eyes(found, gray.width(), gray.height())
    del gray
    if box is None:
        return None
    return frame_box(box, scale, img.width(), img.height())


# to_input's scale candidates, tried in order. OpenMV sizes a copy as floor(w * scale) in
# float32 (py_image.c py_image_to), so size / side sometimes gives size - 1; size + 2**-10
# never does (checked for every side up to 1300). 2**-10 is exact in float32 and in double,
# so the camera (MicroPython, float32) and the virtual board (CPython) use the same scale.
SCALE_EXTRAS = (0.0, 0.0009765625)


def input_scales(side, size):
    """The scales to_input tries for a side x side square, in order (the host's contract
    takes the first one the camera's arithmetic sizes to size x size)."""
    return [(size + extra) / side for extra in SCALE_EXTRAS]


def to_input(img, roi, size, hint, in_place=False):
    """The square `roi` of `img` resized to size x size (a new image).

    Two steps, so the crop is exactly the square: copy it at scale 1, then scale the copy.
    Scaling straight from the frame would start the crop on the destination grid
    (floor(roi.x * scale) / scale), up to one output pixel up and left of the square. The
    copy takes side * side * 2 bytes of heap for a moment (115 KB for QVGA's centre square);
    in_place cuts img itself down to the square instead (no heap, same pixels; img then is
    the square)."""
    square = img.crop(roi=roi) if in_place else img.copy(roi=roi)
    side = roi[2]
    for s in input_scales(side, size):
        out = square.copy(x_scale=s, y_scale=s, hint=hint)
        if out.width() == size and out.height() == size:
            del square  # (in place: only the name; img holds the square)
            return out
        del out
    raise ValueError("cannot resize the crop to %dx%d" % (size, size))
