"""sha256 of a file or of bytes, as lowercase hex: how models, card files, pictures and
downloads are identified everywhere (manifest.json, config.json, deploy's read-back, pull)."""
from __future__ import annotations

import hashlib


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path, chunk_size: int = 1 << 20) -> str:
    """Read in chunks: dataset archives are hundreds of MB."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            h.update(block)
    return h.hexdigest()
