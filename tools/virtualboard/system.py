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
    def __init__(self, firmware_version: str):
        self._version = firmware_version

    def version_string(self) -> str:
        return self._version

    def version_major(self) -> int:
        return int(self._version.split(".")[0])

    def version_minor(self) -> int:
        return int(self._version.split(".")[1])

    def version_patch(self) -> int:
        return int(self._version.split(".")[2])

    def arch(self) -> str:
        return "OMV4 H7 1024 (virtual)"

    def board_type(self) -> str:
        return "H7"

    def board_id(self) -> str:
        return "000000000000000000000000"

    def disable_fb(self, disable=None):
        return False


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
    """MicroPython's sys: print_exception and the usual names."""

    implementation = type("implementation", (), {"name": "micropython", "version": (1, 23, 0)})()
    platform = "OpenMV4-H7"
    byteorder = "little"
    maxsize = 2**31 - 1
    version = "3.4.0; MicroPython v1.23 (maskgate virtual board)"

    def __init__(self, print_fn):
        self._print = print_fn
        self.argv = []
        self.path = ["", "/sdcard", "/sdcard/lib"]
        self.modules = {}

    def print_exception(self, exc, file=None):
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._print(text, end="")

    def exit(self, code=0):
        raise SystemExit(code)

    @property
    def stdout(self):
        return _sys.stdout
