"""Where a command writes: refuse, before any work, an output folder that already holds what an
earlier run made (unless told --overwrite) or that cannot be written at all (under a regular
file, on a read-only disk). Nothing a user made is replaced silently."""
from __future__ import annotations

import os
from pathlib import Path

from maskgate.errors import DataError, printable


def check_new(folder, holds, option: str = "--out", overwrite: bool = False) -> list[Path]:
    """DataError when `folder` is not a folder one can write into, or (without `overwrite`)
    already holds any of the file names `holds`. Returns those it holds (to be replaced)."""
    folder = Path(folder)
    check_writable(folder, option)
    present = [folder / name for name in holds if (folder / name).exists()]
    if present and not overwrite:
        names = ", ".join(p.name for p in present[:4]) + (" ..." if len(present) > 4 else "")
        raise DataError(f"{option} {printable(folder)} already holds {names} from an earlier run: "
                        f"choose another {option}, or pass --overwrite to replace it")
    return present


def check_writable(folder, option: str = "--out") -> None:
    """The folder exists as a folder one may write, or can be made: its nearest existing
    ancestor is a writable folder."""
    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise DataError(f"{option} {printable(folder)}: {printable(probe)} is a file, not a folder")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise DataError(f"{option} {printable(folder)}: {printable(probe)} is not writable (read-only)")


def clear(paths) -> None:
    """Remove what an --overwrite replaces (files, or folders of an earlier run)."""
    import shutil

    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
