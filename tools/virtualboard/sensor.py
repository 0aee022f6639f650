"""`sensor` on the virtual board: snapshot() delivers the next picture of the frame source,
fitted to the frame size and passed through RGB565 (or grayscale) as the camera would."""
from __future__ import annotations

from . import image as image_mod
from maskgate.errors import DataError

from .frames import EndOfFrames, fit_frame

FRAMESIZES = {
    "QQQQVGA": (40, 30), "QQQVGA": (80, 60), "QQVGA": (160, 120), "QVGA": (320, 240),
    "VGA": (640, 480), "HQQQVGA": (60, 40), "HQQVGA": (120, 80), "HQVGA": (240, 160),
    "HVGA": (480, 320), "B64X32": (64, 32), "B64X64": (64, 64), "B128X64": (128, 64),
    "B128X128": (128, 128), "B160X160": (160, 160), "B320X320": (320, 320), "SVGA": (800, 600),
}


class SensorModule:
    RGB565 = image_mod.RGB565
    GRAYSCALE = image_mod.GRAYSCALE
    JPEG = image_mod.JPEG
    BAYER = image_mod.BAYER
    YUV422 = image_mod.YUV422
    OV7725, MT9M114, OV5640 = 0x77, 0x2481, 0x5640

    def __init__(self, board):
        self._board = board
        self._ids = {}
        for i, (name, size) in enumerate(FRAMESIZES.items()):
            setattr(self, name, i + 1)
            self._ids[i + 1] = size
        self._format = self.RGB565
        self._size = FRAMESIZES["QVGA"]
        self.settings = {}

    def reset(self):
        self._format = self.RGB565
        self._size = FRAMESIZES["QVGA"]

    def set_pixformat(self, fmt):
        if fmt not in (self.RGB565, self.GRAYSCALE):
            raise ValueError("virtual board: only RGB565 and GRAYSCALE frames are emulated")
        self._format = fmt

    def get_pixformat(self):
        return self._format

    def set_framesize(self, size):
        if size not in self._ids:
            raise ValueError(f"unknown frame size {size}")
        self._size = self._ids[size]

    def get_framesize(self):
        return next(k for k, v in self._ids.items() if v == self._size)

    def width(self):
        return self._size[0]

    def height(self):
        return self._size[1]

    def get_id(self):
        return self.OV7725

    def skip_frames(self, n=None, time=None):
        # Lets auto-exposure settle on a real camera; here it only lets time pass, so the
        # pictures meant for the test are not thrown away.
        if time:
            self._board.clock.sleep_us(int(time) * 1000)

    def snapshot(self):
        board = self._board
        if board.stop_requested():
            raise EndOfFrames("stopped")
        board.before_frame()
        try:
            rgb = next(board.source)
        except StopIteration:
            raise EndOfFrames("no more frames") from None
        except DataError as e:  # the video or webcam cannot be opened: the camera is gone
            board.source_problems.append(str(e))
            raise EndOfFrames(str(e)) from None
        board.clock.next_frame()
        frame = fit_frame(rgb, *self._size)
        board.after_frame(frame)
        return image_mod.Image.from_rgb(frame, self._format, board.card, in_fb=True)

    def __getattr__(self, name):
        # set_auto_gain, set_hmirror, set_vflip, set_contrast, ...: accepted and remembered.
        if name.startswith("set_") or name.startswith("get_"):
            def setting(*args, **kwargs):
                if name.startswith("set_"):
                    self.settings[name[4:]] = args or kwargs
                    return None
                return self.settings.get(name[4:])

            return setting
        raise AttributeError(name)
