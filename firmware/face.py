# Where the model looks: the face box grown and made square, or the centre square when no
# detector runs; then that square resized to the model's input. The square math is the
# contract's (host/maskgate/contract.py face_square / centre_square); a test holds the two
# equal. The margin and input size come from config.json, never from here.
#
# round() is round-half-to-even on MicroPython and CPython alike.


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


def find(img, cascade, scale, threshold, scale_factor):
    """The largest frontal face in `img` as (x, y, w, h) in img's pixels, or None.

    Haar runs on a grayscale copy shrunk by `scale` (0.5 on QVGA: 19 KB of heap instead of
    150 KB, four times less work); boxes are mapped back to the full frame. No `hint`: some
    firmware versions do not take it on to_grayscale, and nearest-neighbour is fine for Haar."""
    gray = img.to_grayscale(x_scale=scale, y_scale=scale, copy=True)
    box = largest(gray.find_features(cascade, threshold=threshold, scale_factor=scale_factor))
    del gray
    if box is None:
        return None
    inv = 1.0 / scale
    x = int(box[0] * inv + 0.5)
    y = int(box[1] * inv + 0.5)
    w = min(int(box[2] * inv + 0.5), img.width() - x)
    h = min(int(box[3] * inv + 0.5), img.height() - y)
    return (x, y, w, h)


def to_input(img, roi, size, hint):
    """The square `roi` of `img` resized to size x size (a new image).

    OpenMV sizes the copy as floor(roi_w * x_scale), so (size + 0.5) / side lands on `size`
    despite float rounding; if a firmware version rounds otherwise, nudge the scale."""
    side = roi[2]
    for extra in (0.5, 0.25, 0.75, 0.0, 0.99):
        s = (size + extra) / side
        out = img.copy(roi=roi, x_scale=s, y_scale=s, hint=hint)
        if out.width() == size and out.height() == size:
            return out
        del out
    raise ValueError("cannot resize the crop to %dx%d" % (size, size))
