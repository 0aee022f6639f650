"""Read any picture file as H x W x 3 uint8 RGB, or say precisely why it cannot be read."""
from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np

from maskgate.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp")

# ANYDEPTH keeps 16-bit samples (scaled below instead of clipped); ANYCOLOR keeps grayscale as
# one channel and drops alpha. Unlike IMREAD_UNCHANGED it still applies EXIF orientation.
_DECODE_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR


class ImageError(DataError):
    """A file that is not a usable picture; `reason` says why."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.path, self.reason = name, reason


def is_image_name(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def read_rgb(path) -> np.ndarray:
    """The picture at `path` as H x W x 3 uint8 RGB. Raises ImageError for unreadable,
    empty, truncated or non-image files. Reads the bytes itself so unicode paths work."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ImageError(str(path), f"unreadable ({e.strerror or e})") from e
    return decode_rgb(data, name=str(path))


def decode_rgb(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Encoded picture bytes -> H x W x 3 uint8 RGB (see read_rgb)."""
    if not data:
        raise ImageError(name, "empty file")
    reason = _truncation(data)
    if reason:
        raise ImageError(name, f"truncated ({reason})")
    try:
        if data[:3] == b"\xff\xd8\xff":
            img = _decode_jpeg_strictly(data, name)
        else:
            img = cv2.imdecode(np.frombuffer(data, np.uint8), _DECODE_FLAGS)
    except cv2.error as e:
        raise ImageError(name, f"cannot be decoded ({e.err or e})") from e
    if img is None or img.size == 0:
        raise ImageError(name, "not a picture, or a damaged one (the decoder gave nothing)")
    return _to_rgb8(img, name)


# libjpeg's messages for data it had to guess: it still returns a picture (grey or smeared
# blocks) and only prints the first of them on stderr, without a file name
_LIBJPEG_DAMAGE = re.compile(r"^(Corrupt JPEG data|Premature end of JPEG|Invalid (SOS|JPEG)|Bogus |"
                             r"Inconsistent progression|Huffman table|Unsupported marker).*$", re.MULTILINE)
_STDERR_LOCK = threading.Lock()
_capture = None


def _decode_jpeg_strictly(data: bytes, name: str) -> np.ndarray | None:
    """cv2.imdecode, refusing a JPEG libjpeg had to patch up: a file damaged in the middle that
    still ends in FFD9 decodes "fine" with a warning on stderr. OpenCV gives no other way to
    see that warning, so the decode runs with file descriptor 2 caught (one decode at a time:
    the descriptor is the process's); anything else written there meanwhile is passed on."""
    global _capture
    with _STDERR_LOCK:
        if _capture is None:
            _capture = tempfile.TemporaryFile()
        _capture.seek(0)
        _capture.truncate()
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(_capture.fileno(), 2)
            img = cv2.imdecode(np.frombuffer(data, np.uint8), _DECODE_FLAGS)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        _capture.seek(0)
        said = _capture.read().decode("utf-8", "replace")
    damage = _LIBJPEG_DAMAGE.search(said)
    rest = _LIBJPEG_DAMAGE.sub("", said).strip()
    if rest:
        sys.stderr.write(rest + "\n")
    if damage:
        raise ImageError(name, f"damaged JPEG data ({damage.group(0).strip()})")
    return img


def _truncation(data: bytes) -> str:
    """Why the file looks cut short, or "" (checked from the format's own end marker/size,
    because decoders quietly fill a cut-off JPEG with grey)."""
    if data[:3] == b"\xff\xd8\xff":
        # FFD9 cannot occur inside entropy-coded data, so finding it near the end means the
        # file is complete; a little trailing padding after it is common and harmless.
        if data.rfind(b"\xff\xd9") < len(data) - 64:
            return "JPEG without its end marker FFD9"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-32:]:
            return "PNG without its IEND chunk"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if len(data) < 8 + int.from_bytes(data[4:8], "little"):
            return "WebP shorter than its RIFF size"
    elif data[:2] == b"BM" and len(data) >= 6:
        if len(data) < int.from_bytes(data[2:6], "little"):
            return "BMP shorter than its header size"
    return ""


def _to_rgb8(img: np.ndarray, name: str) -> np.ndarray:
    if img.dtype == np.uint16:
        img = ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ImageError(name, f"unsupported sample type {img.dtype}")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    channels = img.shape[2]
    if channels == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    raise ImageError(name, f"unsupported number of channels ({channels})")
