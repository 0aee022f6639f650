"""Recognise how a dataset folder is laid out and list its pictures with canonical labels.

Layouts (checked in this order):
  maskgate-capture  the OpenMV IDE layout plus provenance.json at the root (our capture tool)
  openmv-ide        <name>.class/ folders (older IDEs: 00000.<name>.class/), labels.txt at the root
  kaggle-12k        Train|Validation|Test/ x <class>/ (the publisher's split is kept)
  class-folders     <class>/ folders, e.g. with_mask/ without_mask/ (any case)

Pictures may sit in sub-folders of a class folder (face-mask-rwmfd: with_mask/0001/, one per
original source page). Each entry records its first sub-folder, and the importer keeps all
pictures of one sub-folder in one split, since pictures of one page, person or session are more
alike than near-duplicate hashing can tell.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from maskgate import contract
from maskgate.errors import DataError, printable

from .images import IMAGE_EXTENSIONS, is_image_name

LAYOUTS = {
    "kaggle-12k": "Train|Validation|Test/ each holding class folders (WithMask/ WithoutMask/)",
    "class-folders": "one folder per class: with_mask/ without_mask/ (mask/ no_mask/, any case)",
    "openmv-ide": "<name>.class/ or 00000.<name>.class/ folders and labels.txt (OpenMV IDE)",
    "maskgate-capture": "the openmv-ide layout plus provenance.json (maskgate capture)",
}

# Folder names (normalised: lower case, spaces/hyphens -> "_") -> canonical contract label.
BUILTIN_LABELS = {
    "with_mask": "mask", "withmask": "mask", "mask": "mask", "masked": "mask", "mask_on": "mask",
    "without_mask": "no_mask", "withoutmask": "no_mask", "no_mask": "no_mask", "nomask": "no_mask",
    "unmasked": "no_mask", "mask_off": "no_mask",
    "mask_weared_incorrect": "incorrect", "incorrect_mask": "incorrect", "incorrect": "incorrect",
    "mask_worn_incorrectly": "incorrect", "incorrectly_worn_mask": "incorrect",
}

SPLIT_NAMES = {
    "train": "train", "training": "train",
    "validation": "val", "val": "val", "valid": "val",
    "test": "test", "testing": "test",
}

_CLASS_DIR = re.compile(r"^(?:\d+\.)?(?P<name>.+)\.class$", re.IGNORECASE)


class Entry(NamedTuple):
    path: Path
    label: str
    split: str | None  # the publisher's split, None when the source has none
    folder: str = ""  # the sub-folder of the class folder it sits in ("" when directly in it)


@dataclass
class Layout:
    name: str
    root: Path
    entries: list[Entry] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # non-picture files, with why
    notes: list[str] = field(default_factory=list)


def normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def parse_label_map(text: str | None) -> dict[str, str]:
    """"with_mask=mask,without_mask=no_mask" -> {"with_mask": "mask", ...} (validated)."""
    mapping = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        folder, sep, label = item.partition("=")
        if not sep or not folder.strip() or not label.strip():
            raise DataError(f"label map entry {item.strip()!r} is not FOLDER=LABEL")
        mapping[folder.strip()] = label.strip()
    return check_label_map(mapping)


def check_label_map(mapping: dict | None) -> dict[str, str]:
    out = {}
    for folder, label in (mapping or {}).items():
        if label not in contract.LABELS_THREE:
            raise DataError(
                f"label map: {folder!r} -> {label!r} is not a label; use one of {', '.join(contract.LABELS_THREE)}"
            )
        out[normalise(folder)] = label
    return out


def detect_layout(root, label_map: dict | None = None) -> Layout:
    """Find `root`'s layout and its pictures. `label_map` (folder name -> label) extends and
    overrides BUILTIN_LABELS. Raises DataError when no layout fits or no picture is found."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: is a file, not a dataset folder (unpack archives first)")
    labels = {**BUILTIN_LABELS, **check_label_map(label_map)}

    layout = _detect(root, labels)
    if layout is None:
        # A downloaded archive often wraps the dataset in one folder ("Face Mask Dataset/").
        subdirs, files = _listing(root)
        if len(subdirs) == 1 and not files:
            layout = _detect(subdirs[0], labels)
            if layout is not None:
                layout.notes.insert(0, f"looked inside the single folder {subdirs[0].name!r}")
    if layout is None:
        raise DataError(_unrecognised(root, labels))
    if not layout.entries:
        raise DataError(
            f"{root}: layout {layout.name} found but it holds no pictures "
            f"({' '.join(IMAGE_EXTENSIONS)})"
        )
    folders = {e.folder for e in layout.entries if e.folder}
    if folders:
        layout.notes.append(f"{len(folders)} sub-folders inside class folders: each one's pictures stay in one split")
    return layout


def _detect(root: Path, labels: dict) -> Layout | None:
    subdirs, files = _listing(root)
    class_dirs = [d for d in subdirs if _CLASS_DIR.match(d.name)]
    if class_dirs:
        return _openmv(root, class_dirs, labels)

    split_dirs = [d for d in subdirs if normalise(d.name) in SPLIT_NAMES]
    if any(_class_folders(d, labels)[0] for d in split_dirs):
        layout = Layout("kaggle-12k", root)
        for split_dir in split_dirs:
            mapped, unmapped = _class_folders(split_dir, labels)
            for folder, label in mapped:
                _collect(layout, folder, label, SPLIT_NAMES[normalise(split_dir.name)])
            _note_unmapped(layout, unmapped)
        _note_unmapped(layout, [d for d in subdirs if d not in split_dirs])
        return layout

    mapped, unmapped = _class_folders(root, labels)
    if mapped:
        layout = Layout("class-folders", root)
        for folder, label in mapped:
            _collect(layout, folder, label, None)
        _note_unmapped(layout, unmapped)
        layout.ignored += [(f, "picture outside any class folder") for f in files if is_image_name(f)]
        return layout
    return None


def _openmv(root: Path, class_dirs: list[Path], labels: dict) -> Layout:
    capture = (root / "provenance.json").is_file()
    layout = Layout("maskgate-capture" if capture else "openmv-ide", root)
    for folder in class_dirs:
        name = _CLASS_DIR.match(folder.name)["name"]
        label = labels.get(normalise(name))
        if label is None:
            raise DataError(
                f"{folder}: class {name!r} has no canonical label; "
                f"map it with --label-map {name}=mask (or no_mask, incorrect)"
            )
        _collect(layout, folder, label, None)
    if not (root / "labels.txt").is_file():
        layout.notes.append("no labels.txt at the root (the OpenMV IDE writes one)")
    if capture:
        layout.notes.append(_provenance_note(root / "provenance.json"))
    return layout


def _provenance_note(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"provenance.json could not be read ({e})"
    if not isinstance(info, dict):
        return "provenance.json holds no object"
    scalars = {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool))}
    return "provenance: " + ", ".join(f"{k}={v}" for k, v in list(scalars.items())[:8])


def _listing(folder: Path) -> tuple[list[Path], list[Path]]:
    """Visible sub-folders and files of `folder`, sorted by name."""
    subdirs, files = [], []
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.startswith("."):
            continue
        (subdirs if p.is_dir() else files).append(p)
    return subdirs, files


def _class_folders(folder: Path, labels: dict) -> tuple[list[tuple[Path, str]], list[Path]]:
    mapped, unmapped = [], []
    for d in _listing(folder)[0]:
        label = labels.get(normalise(d.name))
        if label is None:
            unmapped.append(d)
        else:
            mapped.append((d, label))
    return mapped, unmapped


def _note_unmapped(layout: Layout, folders: list[Path]) -> None:
    for d in folders:
        layout.notes.append(
            f"ignored folder {printable(d.relative_to(layout.root))}/ (not a known class; "
            f"map it with --label-map {printable(d.name)}=LABEL)"
        )


def _collect(layout: Layout, folder: Path, label: str, split: str | None) -> None:
    """Every picture under `folder` (sub-folders too) belongs to `label`."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        inside = Path(dirpath).relative_to(folder).parts
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if not _is_utf8(str(path)):
                layout.ignored.append((path, "file name is not valid UTF-8 (rename it; the manifest is UTF-8)"))
            elif is_image_name(path):
                layout.entries.append(Entry(path, label, split, inside[0] if inside else ""))
            else:
                layout.ignored.append((path, f"not a picture file name ({path.suffix or 'no extension'})"))


def _is_utf8(text: str) -> bool:
    """False for a name os.fsdecode made from bytes that are not UTF-8 (they become surrogates)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _unrecognised(root: Path, labels: dict) -> str:
    subdirs, files = _listing(root)
    seen = ", ".join(printable(d.name) + "/" for d in subdirs[:8]) or "no folders"
    if len(subdirs) > 8:
        seen += f", ... ({len(subdirs)} folders)"
    accepted = "\n".join(f"  {name}: {what}" for name, what in LAYOUTS.items())
    known = ", ".join(sorted(labels))
    return (
        f"{printable(root)}: no known dataset layout (saw {seen}; {len(files)} files).\n"
        f"Accepted layouts:\n{accepted}\n"
        f"Known class folder names: {known}. Map others with --label-map FOLDER=LABEL."
    )
