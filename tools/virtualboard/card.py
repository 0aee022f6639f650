"""The SD card of the virtual board: a folder on the PC, and the `os` module and `open` the
firmware sees. Relative paths are relative to the working directory, the card's root at boot;
nothing outside the folder can be reached. statvfs reports a card of `capacity` bytes so that
"free space low" can be tested.

Where the card is depends on the release (`root`):
- "/" up to 4.5.x: src/omv/ports/stm32/main.c mounts the SD card at "/" in place of the flash,
  so "/x" is the card's x (and "/sdcard/x" a folder "sdcard" on it);
- "/sdcard" from 4.6: scripts/libraries/_boot.py mounts the flash at /flash and the card at
  /sdcard and changes into /sdcard; "/" holds only the mount points, and from 4.7 the ROMFS is
  at /rom (read-only: `rom_files`). /flash is not emulated (ENOENT).
"""
from __future__ import annotations

import builtins
import errno
import os
import stat as stat_mod
from pathlib import Path

BLOCK = 4096


class Card:
    def __init__(self, folder, capacity: int = 4 * 1024**3, mount: str = "/sdcard", rom_files=()):
        self.root = Path(folder).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.capacity = int(capacity)
        self.mount = mount.rstrip("/") or "/"  # where the firmware sees the card
        self.rom_files = tuple(rom_files)
        self.cwd = ""  # relative to root

    # --- path mapping ---
    def on_card(self, path: str) -> str | None:
        """The card-relative part of an absolute path, or None when it is not on the card."""
        if self.mount == "/":
            return path.lstrip("/")
        if path == self.mount or path.startswith(self.mount + "/"):
            return path[len(self.mount):].lstrip("/")
        return None

    def real(self, path) -> Path:
        path = str(path)
        if path.startswith("/"):
            rel = self.on_card(path)
            if rel is None:
                raise OSError(errno.ENOENT, path)
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

    def _rom(self, path) -> str | None:
        path = str(path)
        if self._card.rom_files and (path == "/rom" or path.startswith("/rom/")):
            return path[5:]
        return None

    def listdir(self, path="."):
        rom = self._rom(path)
        if rom is not None:
            if rom:
                raise OSError(errno.ENOENT, str(path))
            return list(self._card.rom_files)
        if str(path) == "/" and self._card.mount != "/":
            return [m.strip("/") for m in ("/flash", self._card.mount) + (("/rom",) if self._card.rom_files else ())]
        return sorted(os.listdir(self._card.real(path)))

    def ilistdir(self, path="."):
        if self._rom(path) is not None or (str(path) == "/" and self._card.mount != "/"):
            for name in self.listdir(path):
                yield (name, 0x8000 if self._rom(path) else 0x4000, 0, 0)
            return
        for name in self.listdir(path):
            st = os.stat(self._card.real(path) / name)
            kind = 0x4000 if stat_mod.S_ISDIR(st.st_mode) else 0x8000
            yield (name, kind, 0, 0 if kind == 0x4000 else st.st_size)  # FatFS: folders have size 0

    def stat(self, path):
        rom = self._rom(path)
        if rom is not None:
            if rom and rom not in self._card.rom_files:
                raise OSError(errno.ENOENT, str(path))
            return (0x4000 if not rom else 0x8000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
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
        base = "" if self._card.mount == "/" else self._card.mount
        return (base + "/" + self._card.cwd) if self._card.cwd else (base or "/")

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
