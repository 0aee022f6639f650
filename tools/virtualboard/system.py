"""Small stand-ins: gc (backed by the heap model), omv, micropython, sys."""
from __future__ import annotations

import sys as _sys
import traceback


class GcModule:
    def __init__(self, heap):
        self._heap = heap

    def collect(self):
        pass

    def mem_free(self) -> int:
        return self._heap.free()

    def mem_alloc(self) -> int:
        return self._heap.base + self._heap.allocated

    def enable(self):
        pass

    def disable(self):
        pass

    def isenabled(self):
        return True

    def threshold(self, amount=None):
        return -1


class OmvModule:
    """`omv` of the emulated release (py_omv.c): version_major/minor/patch are ints (MP_ROM_INT),
    version_string() a function; disable_fb() up to 4.6, debug_mode() from 4.7."""

    def __init__(self, release):
        self._release = release
        self.version_major, self.version_minor, self.version_patch = release.version_tuple()
        if "disable_fb" in release.omv_names:
            self.disable_fb = lambda disable=None: False
        if "debug_mode" in release.omv_names:
            self.debug_mode = lambda: False

    def version_string(self) -> str:
        return self._release.version

    def arch(self) -> str:
        return "OMV4 H7 1024 (virtual)"

    def board_type(self) -> str:
        return "H7"

    def board_id(self) -> str:
        return "000000000000000000000000"


class MicropythonModule:
    @staticmethod
    def const(x):
        return x

    @staticmethod
    def native(f):
        return f

    viper = native

    @staticmethod
    def opt_level(level=None):
        return 0

    @staticmethod
    def alloc_emergency_exception_buf(size):
        pass

    @staticmethod
    def mem_info(verbose=None):
        pass

    @staticmethod
    def schedule(func, arg):
        func(arg)

    @staticmethod
    def kbd_intr(chr):  # noqa: A002
        pass


class SysModule:
    """MicroPython's sys: print_exception and the usual names, of the release's MicroPython."""

    platform = "OpenMV4-H7"
    byteorder = "little"
    maxsize = 2**31 - 1

    def __init__(self, print_fn, release):
        self._print = print_fn
        mp = tuple(int(p) for p in release.micropython.split("."))
        self.implementation = type("implementation", (), {"name": "micropython", "version": mp})()
        self.version = f"3.4.0; MicroPython v{release.micropython} (maskgate virtual board)"
        self.argv = []
        root = release.card_root.rstrip("/")
        self.path = ["", root or "/", f"{root}/lib"]  # _boot.py (4.6+) / main.c (4.5: the card is /)
        self.modules = {}

    def print_exception(self, exc, file=None):
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._print(text, end="")

    def exit(self, code=0):
        raise SystemExit(code)

    @property
    def stdout(self):
        return _sys.stdout
