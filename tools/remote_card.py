"""The camera's SD card seen from the PC through the serial link (LIST, STAT, GET, PUT,
DELETE, RENAME): listing, reading and writing whole files in chunks, with sha256 checks.

Transfers resume: every chunk names its offset, so after the link reconnects (a reset, a
pulled cable) the next chunk simply follows the last good one; a write interrupted in an
earlier run continues from what the card already holds when its sha256 matches the start of
the data. Chunk sizes follow the link's (smaller on a noisy link).
"""
from __future__ import annotations

import json

from maskgate.digest import sha256_bytes as sha256
from maskgate.errors import BoardError

from .link import Link, NotFound, RemoteError, frame

HEAD_ROOM = 24  # a PUT/INFER head's JSON beside the path


class RemoteCard:
    def __init__(self, link: Link):
        self.link = link

    # --- facts ---
    def stat(self, path: str, hash: bool = False) -> dict | None:  # noqa: A002
        """{"size", "dir", "sha256"} or None when the path does not exist."""
        try:
            return self.link.call(frame.STAT, {"p": path, "hash": hash})
        except NotFound:
            return None

    def listdir(self, path: str = "") -> list[tuple[str, int, bool]]:
        """(name, size, is_dir) of a folder's entries, sorted by name (paged)."""
        out, after = [], ""
        while True:
            try:
                page = self.link.call(frame.LIST, {"p": path, "after": after, "n": self._list_page()})
            except NotFound:
                return []
            out += [(name, size, is_dir) for name, size, is_dir in page["entries"]]
            if not page.get("more") or not page["entries"]:
                return out
            after = page["entries"][-1][0]

    def _list_page(self) -> int:
        # about 40 bytes an entry: keep a page inside one data chunk (fewer on a noisy link)
        return max(1, min(64, self.link.chunk_in // 40))

    def walk(self, path: str) -> list[tuple[str, int]]:
        """(card path, size) of every file under a folder, depth first, sorted."""
        files = []
        for name, size, is_dir in self.listdir(path):
            full = f"{path}/{name}" if path else name
            if is_dir:
                files += self.walk(full)
            else:
                files.append((full, size))
        return files

    # --- reading ---
    def read(self, path: str, offset: int = 0, end: int | None = None, progress=None) -> bytes:
        """Bytes offset..end of a file (to its end when end is None)."""
        out = bytearray()
        at = offset
        asked = {}

        def ask():  # asked again on every try, with the link's chunk size of the moment
            asked["n"] = self.link.chunk_in if end is None else min(self.link.chunk_in, end - at)
            return _json({"p": path, "o": at, "n": asked["n"]})

        while end is None or at < end:
            data = self.link.request(frame.GET, ask)
            out += data
            at += len(data)
            if progress:
                progress(len(data))
            if len(data) < asked["n"]:
                break
        return bytes(out)

    def read_verified(self, path: str, progress=None) -> tuple[bytes, str]:
        """A whole file and its sha256, checked against the board's own hash (asked again
        when the file changed while it was read)."""
        for _ in range(3):
            st = self.stat(path, hash=True)
            if st is None:
                raise NotFound({"error": "not_found", "detail": f"{path}: no such file on the card"}, frame.STAT)
            data = self.read(path, 0, st["size"], progress)
            if len(data) == st["size"] and (st["sha256"] is None or sha256(data) == st["sha256"]):
                return data, st["sha256"] or sha256(data)
        raise BoardError(f"{path}: what was read never matched the board's sha256 (is it being rewritten?)")

    # --- writing ---
    def write(self, path: str, data: bytes, progress=None, resume: bool = True) -> None:
        """Write a whole file (PUT chunks). With resume, a file the card already holds a
        matching start of is continued, not started again."""
        at = 0
        if resume and data:
            st = self.stat(path, hash=True)
            if st and not st["dir"] and 0 < st["size"] <= len(data) and st["sha256"] == sha256(data[: st["size"]]):
                at = st["size"]
                if progress:
                    progress(at)
        if not data:
            self.link.call_data(frame.PUT, {"p": path, "o": 0}, b"")
            return
        sent = {}

        def piece():  # made again on every try, with the link's chunk size of the moment
            room = max(16, self.link.chunk_out - len(path) - HEAD_ROOM)
            sent["n"] = len(data[at : at + room])
            return frame.with_data({"p": path, "o": at}, data[at : at + room])

        while at < len(data):
            try:
                self.link.request(frame.PUT, piece)
            except RemoteError as e:
                if "past the end" not in (e.detail or ""):
                    raise
                st = self.stat(path)  # a reply was lost and the board restarted: go on from what it has
                at = min(st["size"], at) if st else 0
                continue
            at += sent["n"]
            if progress:
                progress(sent["n"])

    def write_verified(self, path: str, data: bytes, progress=None) -> None:
        """write(), then the board's sha256 of the file must be the data's."""
        want = sha256(data)
        for attempt in range(2):
            self.write(path, data, progress, resume=attempt == 0)
            st = self.stat(path, hash=True)
            if st and st["size"] == len(data) and st["sha256"] in (want, None):
                return
        raise BoardError(f"{path}: the card's copy does not match what was sent (sha256 read-back)")

    def rename(self, src: str, dst: str) -> None:
        self.link.call(frame.RENAME, {"from": src, "to": dst})

    def delete(self, path: str) -> bool:
        return bool(self.link.call(frame.DELETE, {"p": path}).get("deleted"))


def _json(obj) -> bytes:
    return json.dumps(obj).encode()
