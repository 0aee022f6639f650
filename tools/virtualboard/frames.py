"""Where the virtual camera's pictures come from: a folder of images, a video file, a webcam
(OpenCV), or pictures handed over in Python. Every picture is fitted to the configured frame
size the way a camera would frame it (scaled to fit, centred, black bars), then goes through
RGB565 in the sensor, as the real sensor delivers it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from maskgate.data.framing import fit_frame  # noqa: F401  (the host's face stage frames pictures the same way)
from maskgate.data.images import ImageError, is_image_name, read_rgb
from maskgate.errors import DataError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mjpeg", ".mjpg")


class EndOfFrames(BaseException):
    """The frame source ran dry (or the board was told to stop): the run ends here.

    A BaseException, like KeyboardInterrupt, so the firmware's `except Exception` around a
    frame does not swallow it."""


def _video(capture: cv2.VideoCapture, name: str) -> Iterator[np.ndarray]:
    if not capture.isOpened():
        raise DataError(f"cannot open {name} with OpenCV")
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def _pictures(items: Iterable, problems: list) -> Iterator[np.ndarray]:
    for item in items:
        if isinstance(item, np.ndarray):
            yield item if item.ndim == 3 else cv2.cvtColor(item, cv2.COLOR_GRAY2RGB)
        else:
            try:
                yield read_rgb(item)
            except ImageError as e:
                problems.append(str(e))
                # stderr: stdout is the frame records' (simulate --json)
                print(f"virtual camera: skipping {e}", file=sys.stderr)


def image_files(folder) -> list[Path]:
    folder = Path(folder)
    found = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_name(p))
    if not found:
        raise DataError(f"{folder} holds no pictures ({', '.join(('.jpg', '.png', '...'))})")
    return found


def open_source(spec, loop: bool = False, problems: list | None = None) -> Iterator[np.ndarray]:
    """RGB pictures from `spec`: a folder, an image file, a video file, "webcam" /
    "webcam:N", or an iterable of paths / arrays. `loop` repeats a finite source forever
    (folders, files and lists; not webcams). Pictures that cannot be read are skipped, each
    noted in `problems`; a video or webcam that cannot be opened raises DataError at the
    first frame."""
    problems = [] if problems is None else problems
    if isinstance(spec, str) and (spec == "webcam" or spec.startswith("webcam:")):
        number = spec.partition(":")[2] or "0"
        if not number.isdigit():
            raise DataError(f"frames: {spec!r}: a webcam is webcam or webcam:N (N its number)")
        index = int(number)
        return _video(cv2.VideoCapture(index), f"webcam {index}")
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if path.is_dir():
            items = image_files(path)
        elif path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
            if not loop:
                return _video(cv2.VideoCapture(str(path)), str(path))
            return _repeat(lambda: _video(cv2.VideoCapture(str(path)), str(path)))
        elif path.is_file():
            items = [path]
        else:
            raise DataError(f"frames: {path} is neither a folder, a picture, a video nor 'webcam[:N]'")
    else:
        items = list(spec)
        if not items:
            raise DataError("frames: the list of pictures is empty")
    if loop:
        return _repeat(lambda: _pictures(items, problems))
    return _pictures(items, problems)


def _repeat(make) -> Iterator[np.ndarray]:
    while True:
        got = False
        for picture in make():
            got = True
            yield picture
        if not got:
            return
