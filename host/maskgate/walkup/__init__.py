"""Walk-up sequences through the firmware (`maskgate evaluate --door`): synthetic visits of
bare and masked people, and empty scenes, run through the unmodified firmware on the virtual
board. visits.py makes the frames, backgrounds.py the scenes, summary.py says what the door
did; the board side (maskgate.board.walkup) runs them, and the CLI hands its evaluate_door to
maskgate.evaluate (the host's stages never import the board side)."""
from __future__ import annotations

from pathlib import Path

from . import backgrounds, summary, visits  # noqa: F401  (the package's parts)

OUT_DIR = "walkup"


def pictures_from_rows(rows, exclude_sources=()) -> dict[str, list[tuple[str, str]]]:
    """label -> [(path, source)] of the evaluated pictures that can be a visitor's head: bare and
    masked faces as published (scenes, the face-stage sources, are left out)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        if r["label"] in ("mask", "no_mask") and r["source"] not in exclude_sources:
            out.setdefault(r["label"], []).append((r["path"], r["source"]))
    return out


def scenes_folder(candidates) -> Path | None:
    """The datasets folder holding the scene pictures (face-mask-rwmfd/) among `candidates`
    and their parents, or None (then the backgrounds are procedural only)."""
    for c in candidates:
        for folder in (Path(c), Path(c).parent):
            if (folder / "face-mask-rwmfd").is_dir():
                return folder
    return None
