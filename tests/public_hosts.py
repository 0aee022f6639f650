"""Made-up copies of the catalogue's public sources, laid out as their real archives are, served
by a local HTTP server (tests/local_http.py) in place of GitHub: a catalogue like the shipped one
whose URLs point at 127.0.0.1 and whose file digests are those of the made-up files."""
import hashlib
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from local_http import make_zip
from synthetic import synthetic_face

from maskgate.data.catalogue import load_catalogue

LABEL_OF = {"with_mask": "mask", "without_mask": "no_mask"}


def jpeg(label: str, rng, size: int = 40) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(synthetic_face(label, rng, size), cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def chandrikadeb7_files(per_class: int, seed: int = 1) -> dict[str, bytes]:
    """dataset/with_mask/, dataset/without_mask/ (paths inside archive_root)."""
    rng = np.random.default_rng(seed)
    return {f"{folder}/{i:04d}.jpg": jpeg(LABEL_OF[folder], rng) for folder in ("with_mask", "without_mask")
            for i in range(per_class)}


def utkface_files(count: int, seed: int = 2) -> dict[str, bytes]:
    """crop_part1/AGE_GENDER_RACE_DATE.jpg.chip.jpg: bare faces only."""
    rng = np.random.default_rng(seed)
    return {f"{20 + i % 60}_{i % 2}_{i % 5}_2017010{i % 9}1{i:08d}.jpg.chip.jpg": jpeg("no_mask", rng)
            for i in range(count)}


def rwmfd_files(count: int, pages: int = 5, seed: int = 3) -> dict[str, bytes]:
    """RWMFD_part_1/NNNN/NNNN.jpg: masked people, one folder per source page."""
    rng = np.random.default_rng(seed)
    return {f"{i % pages:04d}/{i:04d}.jpg": jpeg("mask", rng) for i in range(count)}


def files_digest(files: dict[str, bytes]) -> str:
    """The catalogue's files_sha256, computed the way git would list the files (blob ids)."""
    lines = sorted(f"{hashlib.sha1(b'blob %d' % len(data) + bytes(1) + data).hexdigest()} {path}"
                   for path, data in files.items())
    return hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()


def counts(entry: dict, files: dict[str, bytes]) -> dict[str, int]:
    if entry["class_folder"]:
        return {LABEL_OF[entry["class_folder"]]: len(files)}
    return dict(Counter(LABEL_OF[path.split("/")[0]] for path in files))


def serve_sources(server, catalogue_path: Path, sources: dict[str, dict[str, bytes]]) -> Path:
    """Serve each made-up source as a GitHub archive (REPO-COMMIT/ARCHIVE_ROOT/...) of the shipped
    entry's repository and commit, and write a catalogue holding every shipped entry, those of
    `sources` pointing at the local server."""
    lines = []
    for name, entry in load_catalogue().items():
        entry = dict(entry)
        if name in sources:
            files = sources[name]
            top = f"{entry['repo'].split('/')[1]}-{entry['commit']}/{entry['archive_root']}"
            archive = {f"{top}/{path}": data for path, data in files.items()}
            archive[f"{entry['repo'].split('/')[1]}-{entry['commit']}/README.md"] = b"not part of the dataset\n"
            server.files[f"/{name}.zip"] = make_zip(archive)
            entry.update(url=f"{server.url}/{name}.zip", files_sha256=files_digest(files), expected=counts(entry, files))
        lines.append("[[source]]")
        for key, value in entry.items():
            if isinstance(value, dict):
                value = "{ " + ", ".join(f"{k} = {v}" for k, v in value.items()) + " }"
            else:
                value = json.dumps(value)  # a JSON string is a TOML basic string
            lines.append(f"{key} = {value}")
        lines.append("")
    catalogue_path.write_text("\n".join(lines), encoding="utf-8")
    return catalogue_path
