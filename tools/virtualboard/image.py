"""The `image` module on the virtual board: Image (RGB565 / grayscale / JPEG), HaarCascade.

Pixels live in numpy arrays: RGB565 as H x W uint16, grayscale as H x W uint8.

The arithmetic is OpenMV's imlib, ported in maskgate.imlib (the host's contract calls the same
functions, so the PC and the virtual board agree bit for bit, and both with the camera):
copy / crop / scale / to_grayscale / to_rgb565 run imlib_draw_image (maskgate.imlib.draw:
nearest neighbour, image.AREA, image.BILINEAR; the result is RGB565 again, as on the camera),
RGB565 expands to RGB888 by bit replication and RGB888 truncates to RGB565
(maskgate.imlib.color), grayscale is Y = (38 R + 75 G + 15 B) >> 7 of that expansion, and
find_features is OpenMV's Haar detector (maskgate.imlib.haar) on OpenMV's cascades.

Which names and arguments each firmware release accepts (the API, not the algorithm) follows
that release's py_image.c and imlib (see `cascade_constructor` and `Image.find_features`):
built-in cascade names up to 4.6 ("eye" not on 4.5.6-4.6), /rom/haarcascade_*.cascade from 4.7,
find_features(scale_factor=) up to 4.8 and (scale=) on 5.0.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from maskgate import contract
from maskgate.imlib import color, draw, haar

# Pixel formats (shared with the sensor stand-in) and scaling hints (bit flags, as on OpenMV).
BINARY, GRAYSCALE, RGB565, BAYER, YUV422, JPEG, PNG = 1, 2, 3, 4, 5, 6, 7
AREA, BILINEAR, BICUBIC = 1 << 0, 1 << 1, 1 << 2
CENTER, HMIRROR, VFLIP, TRANSPOSE = 1 << 3, 1 << 4, 1 << 5, 1 << 6
EXTRACT_RGB_CHANNEL_FIRST, APPLY_COLOR_PALETTE_FIRST, SCALE_ASPECT_KEEP = 1 << 7, 1 << 8, 1 << 9
ROTATE_90, ROTATE_180, ROTATE_270 = VFLIP | TRANSPOSE, HMIRROR | VFLIP, HMIRROR | TRANSPOSE
PALETTE_RAINBOW, PALETTE_IRONBOW = 1, 2

HAAR_WINDOW = 24  # the frontal-face cascade's detection window (pixels)
# Each built-in cascade: OpenCV file and detection window. OpenMV's "eye" is OpenCV's
# haarcascade_eye (20 x 20 window, 24 stages), as "frontalface" is haarcascade_frontalface_default.
CASCADES = {"frontalface": (contract.HAAR_CASCADE, HAAR_WINDOW), "eye": ("haarcascade_eye.xml", 20)}


def luma(rgb: np.ndarray) -> np.ndarray:
    return color.rgb888_to_y(rgb)


class HaarCascade:
    """A cascade by its built-in name ("frontalface", "eye"). The firmware gets it through the
    module's release-specific constructor (cascade_constructor), which also sets `release`:
    whose find_features arguments apply (None: 4.x's, for code on the PC)."""

    release = None

    def __init__(self, path: str, stages: int | None = None):
        if path not in CASCADES:
            raise OSError(f"virtual board: only the built-in 'frontalface' and 'eye' cascades exist, not {path!r}")
        self.name = path
        self._file, _ = CASCADES[path]
        self.cascade = haar.from_opencv(self._file).with_stages(stages)
        self.stages = self.cascade.n_stages
        self.window = self.cascade.window[1]

    def detect(self, gray: np.ndarray, threshold: float, scale_factor: float, roi=None) -> list[tuple]:
        """OpenMV's find_features on grey levels (maskgate.imlib.haar.detect)."""
        return haar.detect(gray, self.cascade, threshold, scale_factor, roi)

    def __repr__(self):
        w, h = self.cascade.window
        return f"{{\"width\":{w}, \"height\":{h}, \"n_stages\":{self.stages}}}"


class Image:
    """An OpenMV-like image. Build from a card path via the module's Image(path), or wrap an
    array with Image.wrap(array, fmt)."""

    def __init__(self, pixels, fmt: int, card=None, in_fb: bool = False):
        self._px = pixels  # uint16 HxW (RGB565), uint8 HxW (grayscale) or bytes (JPEG)
        self._fmt = fmt
        self._card = card
        self._shape = None if fmt == JPEG else pixels.shape[:2]
        self.in_fb = in_fb
        # An image outside the frame buffer (a copy) lives on the GC heap: the board's heap model
        # (card.heap) gives it room or raises MemoryError, and takes it back when it is freed.
        self._held = None
        heap = getattr(card, "heap", None)
        if heap is not None and not in_fb:
            n = self.size()
            self._held = (heap, heap.take(n, "an image"), n, heap.generation)

    def __del__(self):
        held = getattr(self, "_held", None)
        if held:
            heap, area, n, generation = held
            heap.give(area, n, generation)

    # --- construction helpers (virtual board only) ---
    @classmethod
    def from_rgb(cls, rgb: np.ndarray, fmt: int = RGB565, card=None, in_fb: bool = False) -> "Image":
        """A sensor picture from RGB888: through RGB565 (or to grayscale) as the camera does."""
        if fmt == GRAYSCALE:
            return cls(luma(contract.rgb565_round_trip(rgb)), GRAYSCALE, card, in_fb)
        return cls(contract.rgb888_to_rgb565(rgb), RGB565, card, in_fb)

    def rgb888(self) -> np.ndarray:
        """H x W x 3 uint8: what the camera's ml module sees (RGB565 expanded to RGB888)."""
        px = self._decoded()
        if self._fmt == GRAYSCALE:
            return np.repeat(px[..., None], 3, axis=2)
        if px.dtype == np.uint16:
            return contract.rgb565_to_rgb888(px)
        return px

    def gray(self) -> np.ndarray:
        px = self._decoded()
        if self._fmt == GRAYSCALE:
            return px
        return color.rgb565_to_y(px) if px.dtype == np.uint16 else luma(px)

    def _decoded(self):
        if self._fmt == JPEG:
            bgr = cv2.imdecode(np.frombuffer(self._px, np.uint8), cv2.IMREAD_COLOR)
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return self._px

    # --- basic properties ---
    def width(self) -> int:
        return self._shape[1] if self._shape else cv2.imdecode(np.frombuffer(self._px, np.uint8), 0).shape[1]

    def height(self) -> int:
        return self._shape[0] if self._shape else cv2.imdecode(np.frombuffer(self._px, np.uint8), 0).shape[0]

    def format(self) -> int:
        return self._fmt

    def size(self) -> int:
        if self._fmt == JPEG:
            return len(self._px)
        h, w = self._shape
        return w * h * (1 if self._fmt == GRAYSCALE else 2)

    def bytearray(self) -> bytearray:
        if self._fmt == JPEG:
            return bytearray(self._px)
        if self._fmt == GRAYSCALE:
            return bytearray(self._px.tobytes())
        return bytearray(self._as_rgb565().astype("<u2").tobytes())

    def _as_rgb565(self) -> np.ndarray:
        px = self._decoded()
        return px if px.dtype == np.uint16 else contract.rgb888_to_rgb565(px)

    def get_pixel(self, x, y=None, rgbtuple=None):
        if y is None:
            x, y = x
        h, w = self._shape
        if not (0 <= x < w and 0 <= y < h):
            return None
        if self._fmt == GRAYSCALE:
            return int(self._px[y, x])
        return tuple(int(v) for v in self.rgb888()[y, x])

    # --- scaling / conversion family ---
    def _region(self, roi):
        h, w = self._shape
        return draw.clamp_roi(roi, w, h)

    def _transformed(self, roi, x_scale, y_scale, hint, to_gray=None):
        if self._fmt == JPEG:
            raise OSError("virtual board: decompress a JPEG image before scaling it")
        out = draw.copy(self._px, roi, x_scale, y_scale, hint, to_gray=to_gray)
        return np.ascontiguousarray(out), (GRAYSCALE if out.dtype == np.uint8 else RGB565)

    def copy(self, roi=None, x_scale=None, y_scale=None, hint=0, copy_to_fb=False, **_ignored):
        px, fmt = self._transformed(roi, x_scale, y_scale, hint)
        return Image(px, fmt, self._card, in_fb=bool(copy_to_fb))

    def crop(self, roi=None, x_scale=None, y_scale=None, hint=0, copy=False, copy_to_fb=False, **_ignored):
        px, fmt = self._transformed(roi, x_scale, y_scale, hint)
        if copy or copy_to_fb:
            return Image(px, fmt, self._card, in_fb=bool(copy_to_fb))
        self._px, self._fmt, self._shape = px, fmt, px.shape[:2]
        return self

    scale = crop

    def to_grayscale(self, x_scale=None, y_scale=None, roi=None, hint=0, copy=False, copy_to_fb=False, **_ignored):
        px, _ = self._transformed(roi, x_scale, y_scale, hint, to_gray=True)
        if copy or copy_to_fb:
            return Image(px, GRAYSCALE, self._card, in_fb=bool(copy_to_fb))
        self._px, self._fmt, self._shape = px, GRAYSCALE, px.shape[:2]
        return self

    def to_rgb565(self, x_scale=None, y_scale=None, roi=None, hint=0, copy=False, copy_to_fb=False, **_ignored):
        px, _ = self._transformed(roi, x_scale, y_scale, hint, to_gray=False)
        out = Image(px, RGB565, self._card, in_fb=bool(copy_to_fb))
        if copy or copy_to_fb:
            return out
        self._px, self._fmt, self._shape = out._px, RGB565, out._shape
        return self

    # --- detection ---
    def find_features(self, cascade, *args, **kwargs):
        threshold, scale_factor, roi = find_features_args(cascade.release, args, kwargs)
        return self._find_features(cascade, threshold, scale_factor, roi)

    def _find_features(self, cascade, threshold, scale_factor, roi):
        return cascade.detect(self.gray(), threshold, scale_factor, roi)

    # --- drawing (marks the pixels, like the camera's preview overlays) ---
    def _color_value(self, color):
        if color is None:
            color = (255, 255, 255)
        if isinstance(color, int):
            color = (color, color, color)
        rgb = np.array([[color]], np.uint8)
        if self._fmt == GRAYSCALE:
            return int(luma(rgb)[0, 0])
        if self._px.dtype == np.uint16:
            return int(contract.rgb888_to_rgb565(rgb)[0, 0])
        return tuple(int(v) for v in color)

    def draw_rectangle(self, x, y=None, w=None, h=None, color=None, thickness=1, fill=False):
        if y is None:
            x, y, w, h = x
        if self._fmt == JPEG:
            return self
        value = self._color_value(color)
        H, W = self._shape
        x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
        if x1 <= x0 or y1 <= y0:
            return self
        if fill:
            self._px[y0:y1, x0:x1] = value
            return self
        t = max(1, int(thickness))
        self._px[y0 : min(y1, y0 + t), x0:x1] = value
        self._px[max(y0, y1 - t) : y1, x0:x1] = value
        self._px[y0:y1, x0 : min(x1, x0 + t)] = value
        self._px[y0:y1, max(x0, x1 - t) : x1] = value
        return self

    def draw_string(self, x, y, text, color=None, scale=1.0, **_ignored):
        return self  # text overlays are not emulated

    def draw_cross(self, x, y=None, color=None, size=5, thickness=1):
        return self

    # --- files and compression ---
    def _encoded(self, ext: str, quality: int, roi=None) -> bytes:
        rgb = self.rgb888()
        if roi is not None:
            x, y, w, h = self._region(roi)
            rgb = rgb[y : y + h, x : x + w]
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext in (".jpg", ".jpeg") else []
        ok, buf = cv2.imencode(ext, cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise OSError(f"cannot encode {ext}")
        return buf.tobytes()

    def save(self, path, roi=None, quality=50):
        ext = os.path.splitext(str(path))[1].lower() or ".bmp"
        if ext not in (".jpg", ".jpeg", ".bmp", ".png", ".pgm", ".ppm"):
            raise OSError(f"unsupported image file extension {ext}")
        if self._fmt == JPEG and ext in (".jpg", ".jpeg") and roi is None:
            data = bytes(self._px)
        else:
            data = self._encoded(ext, quality, roi)
        with self._card.open(path, "wb") as f:
            f.write(data)
        return self

    def to_jpeg(self, quality=90, copy=False, copy_to_fb=False, **_ignored):
        data = self._px if self._fmt == JPEG else self._encoded(".jpg", quality)
        if copy or copy_to_fb:
            out = Image(data, JPEG, self._card)
            out._shape = self._shape
            return out
        self._px, self._fmt = data, JPEG
        return self

    def compress(self, quality=50):
        return self.to_jpeg(quality=quality)

    def compressed(self, quality=50):
        return self.to_jpeg(quality=quality, copy=True)

    def __repr__(self):
        names = {GRAYSCALE: "grayscale", RGB565: "rgb565", JPEG: "jpeg"}
        return f"{{\"w\":{self.width()}, \"h\":{self.height()}, \"type\"=\"{names.get(self._fmt)}\", \"size\":{self.size()}}}"


# The frontal-face and eye cascades as the releases name them: built in (imlib_config.h up to
# 4.6) or as files in the ROMFS (boards/OPENMV4/romfs.json from 4.7, converted to .cascade by
# tools/mkromfs.py).
ROM_CASCADES = {"haarcascade_frontalface.cascade": "frontalface", "haarcascade_eye.cascade": "eye"}
CASCADE_STAGES = {"frontalface": 25, "eye": 24}  # n_stages of the cascade data (haar.c / cascade.h)


def find_features_args(release, args, kwargs) -> tuple:
    """(threshold, scale_factor, roi) from find_features' arguments as `release` parses them.

    4.x (py_image.c py_image_find_features): py_helper_keyword_float/rectangle at positions
    2, 3, 4 or by keyword (threshold, scale_factor, roi); any other keyword is ignored.
    5.0 (modules/py_image.c:4183-4195): keyword-only threshold, scale, roi through
    mp_arg_parse_all, which raises TypeError on anything else (py/argcheck.c:129)."""
    if release is not None and release.haar_v5:
        if args:
            raise TypeError("extra positional arguments given")
        if set(kwargs) - {"threshold", "scale", "roi"}:
            raise TypeError("extra keyword arguments given")
        return kwargs.get("threshold", 0.5), kwargs.get("scale", 1.5), kwargs.get("roi")
    names = ("threshold", "scale_factor", "roi")
    values = [args[i] if i < len(args) else kwargs.get(name) for i, name in enumerate(names)]
    return (0.5 if values[0] is None else values[0], 1.5 if values[1] is None else values[1], values[2])


class OSError(OSError):  # noqa: A001
    """MicroPython's OSError: one type whatever the errno (CPython would turn OSError(ENOENT)
    into FileNotFoundError, a name the camera does not have)."""


def cascade_constructor(release, card):
    """image.HaarCascade(path, stages=) as `release` has it.

    The cascade is loaded first (py_image.c py_image_load_cascade): a built-in name up to 4.6
    (haar.c imlib_load_cascade), else a file -- on the card or, from 4.7, in /rom. A missing
    file raises OSError: "Could not find the file/path" (4.x file_utils.c, ffs_strerror) or
    ENOENT (4.7+, mp_vfs_open). Then `stages`: 4.x takes it by position or keyword and ignores
    other keywords (py_helper_keyword_int); 5.0 only as a keyword (mp_arg_parse_all)."""
    import errno

    def make(path, *args, **kwargs):
        path = str(path)
        name = None
        if path in release.builtin_cascades:
            name = path
        elif path.startswith("/rom/") and path[5:] in release.rom_files:
            name = ROM_CASCADES.get(path[5:])
            if name is None:
                raise RuntimeError("Failed to load Haar cascade")
        elif card is not None and not path.startswith("/rom/") and card.exists(path):
            raise OSError("virtual board: cascade files on the card are not emulated, only the firmware's own")
        elif release.version_tuple() < (4, 7, 0):
            raise OSError("Could not find the path" if path.startswith("/") else "Could not find the file")
        else:
            raise OSError(errno.ENOENT, "ENOENT")
        if release.haar_v5:
            if args:
                raise TypeError("extra positional arguments given")
            if set(kwargs) - {"stages"}:
                raise TypeError("extra keyword arguments given")
            stages = kwargs.get("stages", -1)
        else:
            stages = args[0] if args else kwargs.get("stages", CASCADE_STAGES[name])
        n = CASCADE_STAGES[name]
        cascade = HaarCascade(name, int(stages) if 0 < int(stages) < n else n)
        cascade.release = release
        return cascade

    return make


class ImageModule:
    """What `import image` gives the firmware on the virtual board (of `release`)."""

    def __init__(self, card, release=None):
        self._card = card
        for name, value in globals().items():
            if name.isupper() and isinstance(value, int):
                setattr(self, name, value)
        self.HaarCascade = cascade_constructor(release, card) if release is not None else HaarCascade

    def Image(self, arg, height=None, pixformat=None, buffer=None, copy_to_fb=False, **_ignored):  # noqa: N802
        if isinstance(arg, np.ndarray):
            return Image.from_rgb(arg, card=self._card)
        if isinstance(arg, int):
            # image.Image(width, height, pixformat, buffer=...) (firmware 4.5+): RGB565 pixels
            # 2 bytes each, little-endian; GRAYSCALE 1 byte each
            width, height = int(arg), int(height)
            fmt = RGB565 if pixformat is None else pixformat
            if fmt not in (RGB565, GRAYSCALE):
                raise ValueError("virtual board: Image(w, h, fmt, buffer=) takes RGB565 or GRAYSCALE")
            size = width * height * (2 if fmt == RGB565 else 1)
            data = bytes(buffer) if buffer is not None else bytes(size)
            if len(data) < size:
                raise ValueError("buffer is too small for the image")
            dtype = "<u2" if fmt == RGB565 else np.uint8
            px = np.frombuffer(data[:size], dtype=dtype).reshape(height, width).astype(
                np.uint16 if fmt == RGB565 else np.uint8)
            return Image(px, fmt, self._card)
        with self._card.open(arg, "rb") as f:
            data = f.read()
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"cannot decode image {arg}")
        return Image.from_rgb(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), card=self._card)
