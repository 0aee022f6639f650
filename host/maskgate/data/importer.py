"""`maskgate data import`: dataset folders -> one manifest with leak-free splits.

Sources are read in the order given and their pictures in path order, so the same sources
and seed always give the same manifest. Files that cannot be used are listed in skipped.csv
and the report, never fatal.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from maskgate.digest import sha256_bytes
from maskgate.errors import DataError
from maskgate.progress import progress_bar

from . import dedupe, report
from .hashing import NEAR_DUPLICATE_DISTANCE, phash, phash_hex
from .images import ImageError, decode_rgb
from .layouts import Entry, Layout, detect_layout
from .manifest import write_manifest
from .split import assign_splits, check_fractions, inherit_from_duplicates, join_folder_groups

OUTPUTS = ("manifest.csv", "skipped.csv", "import-report.md")  # what an import writes into its folder
_NAMED_SOURCE = re.compile(r"^(?P<name>[\w.\-]+)=(?P<path>.+)$")


@dataclass
class ImportResult:
    """What an import found and did (the report and the CLI summary are made from it)."""
    manifest: Path
    sources: list[tuple[str, Layout]]
    rows: list[dict]
    skipped: list[tuple[str, str]]
    duplicates: list[tuple[dict, dict]]
    moved: Counter  # (from_split, to_split) -> pictures moved to keep groups whole
    settings: dict
    no_face: list[str] = field(default_factory=list)
    several_faces: list[str] = field(default_factory=list)


def import_sources(
    sources,
    out_dir,
    label_map: dict | None = None,
    holdout_source: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    crop_faces=False,
    progress: bool = True,
    near_distance: int = NEAR_DUPLICATE_DISTANCE,
) -> Path:
    """Import dataset folders (paths or "NAME=PATH") into OUT_DIR/manifest.csv, with
    OUT_DIR/skipped.csv and OUT_DIR/import-report.md beside it. Returns the manifest path.

    Exact duplicates (sha256) are dropped, near-duplicates (pHash within `near_distance`
    bits) share a group, and so do the pictures of one sub-folder of a class folder (one
    original page or person, as in face-mask-rwmfd's with_mask/NNNN/); publisher splits are kept, `holdout_source` goes to test whole, the
    rest is split by group with `seed`; no group straddles two splits. `crop_faces` stores the
    largest Haar face box of each picture in the `face` column: True for every source, or a
    collection of source names for those only (scenes need the face stage, tight crops do not).
    """
    return run_import(sources, out_dir, label_map, holdout_source, seed, val_fraction,
                      test_fraction, crop_faces, progress, near_distance).manifest


def run_import(sources, out_dir, label_map=None, holdout_source=None, seed=0, val_fraction=0.1,
               test_fraction=0.1, crop_faces=False, progress=True,
               near_distance=NEAR_DUPLICATE_DISTANCE) -> ImportResult:
    """import_sources, returning the whole ImportResult (for the CLI summary)."""
    out_dir = Path(out_dir)
    check_fractions(val_fraction, test_fraction)
    named = parse_sources(sources)
    if holdout_source is not None and holdout_source not in dict(named):
        raise DataError(
            f"holdout source {holdout_source!r} is not one of the sources: {', '.join(n for n, _ in named)}"
        )
    layouts = [(name, detect_layout(path, label_map)) for name, path in named]
    if not isinstance(crop_faces, bool):
        unknown = sorted(set(crop_faces) - {n for n, _ in named})
        if unknown:
            raise DataError(f"crop_faces names {', '.join(unknown)}, not among the sources {', '.join(n for n, _ in named)}")
        crop_faces = sorted(crop_faces) or False

    skipped = [(str(p.absolute()), why) for _, layout in layouts for p, why in layout.ignored]
    jobs = [(name, entry) for name, layout in layouts for entry in layout.entries]
    result = ImportResult(out_dir / "manifest.csv", layouts, [], skipped, [], Counter(), {
        "seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction,
        "holdout_source": holdout_source, "near_distance": near_distance, "crop_faces": crop_faces,
        "label_map": dict(label_map or {}),
    })

    for (name, entry), found in zip(jobs, _inspect_all(jobs, crop_faces, progress), strict=True):
        searched = crop_faces is True or (crop_faces and name in crop_faces)
        path = str(entry.path.absolute())
        if isinstance(found, str):
            skipped.append((path, found))
            continue
        faces = found.pop("faces")
        if searched and not faces:
            result.no_face.append(path)
        elif len(faces) > 1:
            result.several_faces.append(path)
        result.rows.append({
            "path": path, "source": name, "label": entry.label, **found,
            "group": "", "split": "", "face": faces[0] if faces else None,
            "publisher_split": entry.split,
            # one sub-folder of a class folder (a source page, person, session): one group
            "folder": f"{name}/{entry.folder}" if entry.folder else "",
        })

    result.rows, result.duplicates = dedupe.drop_exact_duplicates(result.rows)
    skipped += [(dup["path"], f"exact duplicate of {kept['path']}") for dup, kept in result.duplicates]
    report.write_skipped(out_dir / "skipped.csv", skipped)
    if not result.rows:
        raise DataError(f"no usable pictures in the sources (reasons in {out_dir / 'skipped.csv'})")
    dedupe.assign_groups(result.rows, near_distance)
    # a dropped copy still says which sub-folder (source page) it came from: that page joins
    # the group of the copy kept
    stand_ins = [{"group": kept["group"], "folder": dropped["folder"]}
                 for dropped, kept in result.duplicates if dropped["folder"]]
    join_folder_groups(result.rows + stand_ins)
    result.moved = inherit_from_duplicates(result.duplicates, holdout_source)
    result.moved += assign_splits(result.rows, seed, val_fraction, test_fraction, holdout_source)

    write_manifest(result.manifest, result.rows)
    report.write_import_report(out_dir / "import-report.md", result)
    return result


def parse_sources(sources) -> list[tuple[str, Path]]:
    """["NAME=PATH" or PATH, ...] -> [(name, path)]; a bare path is named after its folder."""
    named = []
    for src in sources:
        text = str(src)
        match = _NAMED_SOURCE.match(text)
        if match and not Path(text).exists():
            name, path = match["name"], Path(match["path"])
        else:
            path = Path(text)
            name = path.absolute().name or text
        named.append((name, path))
    names = [n for n, _ in named]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise DataError(f"two sources are named {', '.join(clashes)}; name them with NAME=PATH")
    if not named:
        raise DataError("no sources given")
    return named


def _inspect(entry: Entry, crop_faces: bool):
    """One picture -> its manifest facts, or the reason it cannot be used (a str)."""
    try:
        data = entry.path.read_bytes()
    except OSError as e:
        return f"unreadable ({e.strerror or e})"
    try:
        rgb = decode_rgb(data, str(entry.path))
    except ImageError as e:
        return e.reason
    faces = []
    if crop_faces:
        # what the firmware does: a frontal face, else the face its eye fallback places from an
        # eye pair (only needed, and only loaded, when asked for)
        from .faces import find_face_or_eyes

        faces = find_face_or_eyes(rgb)
    height, width = rgb.shape[:2]
    return {"width": width, "height": height, "sha256": sha256_bytes(data),
            "phash": phash_hex(phash(rgb)), "faces": faces}


def _inspect_all(jobs, crop_faces, progress: bool):
    """_inspect over all jobs, in order. Decoding, hashing and resizing release the GIL, so
    threads use every core; face detection runs on one thread because an OpenCV cascade
    classifier must not be shared between threads."""
    workers = 1 if crop_faces else min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(lambda job: _inspect(job[1], crop_faces is True or (bool(crop_faces) and job[0] in crop_faces)),
                           jobs, chunksize=1)
        if not progress:
            yield from results
            return
        with progress_bar() as bar:
            yield from bar.track(results, total=len(jobs), description="reading and hashing")
