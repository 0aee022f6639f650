r"""One digest for a folder's files that git can compute from a pinned commit without the files.

GitHub makes its archives on demand and does not promise the same bytes twice, so `fetch`
verifies what was unpacked, not the archive: the sha256 of the sorted lines
"<git blob id> <path>\n", one per file under the dataset folder (paths relative to it, "/"
separated). A git blob id is sha1("blob <size>\0" + content), the id git itself gives the file,
so the catalogue's value is computed from the repository without downloading a picture:

    git ls-tree -r -z COMMIT:FOLDER | tr '\0' '\n' | sed 's/^[0-7]* blob \([0-9a-f]*\)\t/\1 /' | LC_ALL=C sort | sha256sum

(the plain -z listing: given --format, git 2.39 quotes unusual names even with -z).

File modes are left out on purpose: a zip archive does not carry git's executable bit, and a
picture's bytes and name are what a model is trained on.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 1 << 20


def git_blob_id(path) -> str:
    """The id `git hash-object` gives the file (sha1 over "blob <size>\\0" and the bytes)."""
    path = Path(path)
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def blob_lines(root) -> list[str]:
    """"<blob id> <relative path>" for every file under `root` (hidden ones too: git keeps them)."""
    root = Path(root)
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            path = Path(dirpath) / name
            lines.append(f"{git_blob_id(path)} {path.relative_to(root).as_posix()}")
    return lines


def digest_lines(lines) -> str:
    """sha256 of the lines as bytes (a name that is not UTF-8 keeps its own bytes), sorted as
    `LC_ALL=C sort` sorts them, each ended by a newline."""
    encoded = sorted(line.encode("utf-8", "surrogateescape") for line in lines)
    return hashlib.sha256(b"".join(line + b"\n" for line in encoded)).hexdigest()


def folder_digest(root) -> str:
    return digest_lines(blob_lines(root))
