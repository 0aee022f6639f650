"""The eye fallback: when the frontal-face cascade finds nothing (masks hide the nose and
mouth it relies on), the firmware places the face from an eye pair (firmware/face.py
face_from_eyes, the inverse of the host's box_eyes). It finds masked faces the frontal
cascade cannot (a face too close to the camera for the frontal window), and faces found
only through the eyes drive the door as usual."""
import cv2
import numpy as np
import pytest

from conftest import dataset_files
from maskgate.data import faces
from maskgate.firmware import module
from maskgate.board.virtualboard import VirtualBoard
from maskgate.board.virtualboard import image as vimage
from maskgate.board.virtualboard.frames import fit_frame

face = module("face")
CONFIG = module("config").DEFAULTS
RATE_PICTURES = 60


def eye_boxes(box, eye_side):
    """Square eye boxes centred where box_eyes puts the eyes of a face box."""
    return [(int(round(cx - eye_side / 2)), int(round(cy - eye_side / 2)), eye_side, eye_side)
            for cx, cy in faces.box_eyes(box)]


@pytest.mark.parametrize("box", [(40, 30, 100, 100), (10, 20, 50, 50), (200, 60, 80, 80)])
def test_face_from_eyes_inverts_box_eyes(box):
    got = face.face_from_eyes(eye_boxes(box, box[2] // 5), 320, 240)
    assert got is not None and all(abs(a - b) <= 1 for a, b in zip(got, box)), (got, box)


def test_face_from_eyes_is_clipped_to_the_image():
    x, y, w, h = face.face_from_eyes(eye_boxes((-20, -10, 100, 100), 20), 160, 120)
    assert (x, y) == (0, 0) and x + w <= 160 and y + h <= 120 and (w, h) == (80, 90)


def test_implausible_eye_pairs_give_no_face():
    assert face.face_from_eyes([], 320, 240) is None
    assert face.face_from_eyes([(50, 50, 20, 20)], 320, 240) is None
    assert face.face_from_eyes([(50, 50, 20, 20), (52, 100, 20, 20)], 320, 240) is None  # one above the other
    assert face.face_from_eyes([(50, 50, 20, 20), (90, 50, 50, 50)], 320, 240) is None  # sizes differ
    assert face.face_from_eyes([(50, 50, 20, 20), (60, 50, 20, 20)], 320, 240) is None  # overlapping
    assert face.face_from_eyes([(50, 50, 6, 6), (150, 50, 6, 6)], 320, 240) is None  # specks far apart


def test_the_widest_plausible_pair_wins():
    near = [(50, 50, 20, 20), (90, 52, 20, 20)]
    far = [(160, 40, 10, 10), (180, 41, 10, 10)]
    x, y, w, h = face.face_from_eyes(far + near, 320, 240)
    assert x < 60 < x + w and w > 90


CLOSE_UP = 2.0  # a face this much bigger than door framing: too big for the frontal window


def close_up(path, zoom=CLOSE_UP):
    """A QVGA frame of someone standing close to the camera: the picture fitted into a frame
    `zoom` times QVGA, its centre cut out. The face no longer fits the frontal cascade's
    pyramid; its eyes (about 20 px in the half-size grey copy at zoom 2) fit the eye window."""
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    big = fit_frame(rgb, int(320 * zoom), int(240 * zoom))
    y0, x0 = (big.shape[0] - 240) // 2, (big.shape[1] - 320) // 2
    return np.ascontiguousarray(big[y0:y0 + 240, x0:x0 + 320])


def board_find(frame, eyes):
    """The firmware's face.find on the virtual board's QVGA frame with the default config."""
    img = vimage.Image.from_rgb(frame)
    frontal = vimage.HaarCascade("frontalface", stages=CONFIG["haar_stages"])
    return face.find(img, frontal, CONFIG["detect_scale"], CONFIG["haar_threshold"], CONFIG["haar_scale_factor"],
                     vimage.HaarCascade("eye", stages=face.EYE_STAGES) if eyes else None)


def test_eyes_find_masked_faces_too_close_for_the_frontal_cascade():
    frames = [close_up(f) for f in dataset_files("Test", "WithMask", RATE_PICTURES)]
    frontal = sum(board_find(f, False) is not None for f in frames) / len(frames)
    both = sum(board_find(f, True) is not None for f in frames) / len(frames)
    print(f"\nmasked close-ups found on the board path: frontal {frontal:.0%}, frontal + eyes {both:.0%} "
          f"({len(frames)} pictures)")
    assert both > frontal


def eyes_only_faces(count):
    """Masked test close-ups the frontal cascade misses and the eye fallback finds."""
    picked = []
    for f in dataset_files("Test", "WithMask", 150):
        frame = close_up(f)
        if board_find(frame, False) is None and board_find(frame, True) is not None:
            picked.append(frame)
    if len(picked) < count:
        pytest.skip(f"only {len(picked)} masked pictures found through the eyes alone")
    return picked[:count]


def run_board(frames, board_model, tmp_path, **overrides):
    board = VirtualBoard(frames, tmp_path / "card", fps=10)
    board.install(board_model["path"], board_model["manifest"], **overrides)
    result = board.run()
    assert result.crash is None, result.crash
    return board


def test_faces_found_through_the_eyes_drive_the_door(board_model, tmp_path):
    files = eyes_only_faces(6)
    rows = run_board(files, board_model, tmp_path / "scan", **{"door.k": 100}).decisions()
    assert all(r["face"] and r["prob"] is not None for r in rows), rows
    masked = [files[r["frame"]] for r in rows if r["prob"] >= 0.85]
    if not masked:
        pytest.skip("the tiny model reads none of these eyes-only faces confidently as masked")
    frames = [masked[i % len(masked)] for i in range(3)]
    board = run_board(frames, board_model, tmp_path / "on", **{"door.k": 3, "door.hold_s": 5.0})
    assert [r["door"] for r in board.decisions()] == ["closed", "closed", "open"]
    board = run_board(frames, board_model, tmp_path / "off", eye_fallback=False, **{"door.k": 3})
    assert [(r["label"], r["door"]) for r in board.decisions()] == [("no_face", "closed")] * 3
