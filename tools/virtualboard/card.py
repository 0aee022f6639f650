"""The SD card of the virtual board: a folder on the PC, and the `os` module and `open` the
firmware sees. Paths are relative to the card (the camera's working directory, /sdcard on
firmware 4.6+); "/sdcard/x" and "/x" mean the same file; nothing outside the folder can be
reached. statvfs reports a card of `capacity` bytes so that "free space low" can be tested.
"""
from __future__ import annotations

import builtins
import errno
import os
import stat as stat_mod
from pathlib import Path

BLOCK = 4096


class Card:
    def __init__(self, folder, capacity: int = 4 * 1024**3):
        self.root = Path(folder).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.capacity = int(capacity)
        self.cwd = ""  # relative to root

    # --- path mapping ---
    def real(self, path) -> Path:
        path = str(path)
        if path.startswith("/sdcard"):
            path = path[len("/sdcard"):]
        if path.startswith("/"):
            rel = path.lstrip("/")
        else:
            rel = os.path.join(self.cwd, path)
        full = (self.root / rel).resolve()
        if full != self.root and self.root not in full.parents:
            raise OSError(errno.EACCES, f"{path}: outside the card")
        return full

    def used_bytes(self) -> int:
        total = 0
        for dirpath, _dirs, names in os.walk(self.root):
            for name in names:
                try:
                    total += -(-os.path.getsize(os.path.join(dirpath, name)) // BLOCK) * BLOCK
                except OSError:
                    pass
        return total

    def open(self, path, mode="r", *args, **kwargs):
        return builtins.open(self.real(path), mode, *args, **kwargs)

    def read_bytes(self, path) -> bytes:
        return self.real(path).read_bytes()

    def write_bytes(self, name: str, data: bytes) -> None:
        target = self.real(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def exists(self, path) -> bool:
        try:
            return self.real(path).exists()
        except OSError:
            return False


class OsModule:
    """The firmware's `os` on the virtual board (MicroPython's subset, tuples for stat)."""

    sep = "/"

    def __init__(self, card: Card):
        self._card = card

    def listdir(self, path="."):
        return sorted(os.listdir(self._card.real(path)))

    def ilistdir(self, path="."):
        for name in self.listdir(path):
            st = os.stat(self._card.real(path) / name)
            kind = 0x4000 if stat_mod.S_ISDIR(st.st_mode) else 0x8000
            yield (name, kind, 0, 0 if kind == 0x4000 else st.st_size)  # FatFS: folders have size 0

    def stat(self, path):
        st = os.stat(self._card.real(path))
        return (st.st_mode, 0, 0, 0, 0, 0, st.st_size, int(st.st_atime), int(st.st_mtime), int(st.st_ctime))

    def statvfs(self, path="."):
        self._card.real(path)
        blocks = self._card.capacity // BLOCK
        free = max(0, (self._card.capacity - self._card.used_bytes()) // BLOCK)
        return (BLOCK, BLOCK, blocks, free, free, 0, 0, 0, 0, 255)

    def mkdir(self, path):
        os.mkdir(self._card.real(path))

    def rmdir(self, path):
        os.rmdir(self._card.real(path))

    def remove(self, path):
        target = self._card.real(path)
        if target.is_dir():
            raise OSError(errno.EISDIR, str(path))
        os.remove(target)

    unlink = remove

    def rename(self, old, new):
        os.rename(self._card.real(old), self._card.real(new))

    def getcwd(self):
        return "/sdcard" + ("/" + self._card.cwd if self._card.cwd else "")

    def chdir(self, path):
        target = self._card.real(path)
        if not target.is_dir():
            raise OSError(errno.ENOENT, str(path))
        rel = str(target.relative_to(self._card.root))
        self._card.cwd = "" if rel == "." else rel

    def sync(self):
        pass

    def urandom(self, n):
        return os.urandom(n)

    def uname(self):
        return ("OpenMV-virtual", "OpenMV-virtual", "virtual", "maskgate virtual board", "OPENMV4-STM32H743")
