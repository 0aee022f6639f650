"""Walk-up sequences through the firmware (`maskgate evaluate --door`): synthetic visits of
bare and masked people, and empty scenes, run through the unmodified firmware on the virtual
board. visits.py makes the frames, backgrounds.py the scenes, firmware_run.py runs them,
summary.py says what the door did."""
from __future__ import annotations

from pathlib import Path

from maskgate.atomic import write_json, write_text
from maskgate.errors import DataError

from . import backgrounds, firmware_run, summary, visits

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


def evaluate_door(model: Path, manifest: dict, pictures: dict, out_dir, visits_per_label: int = 1000,
                  empty_frames: int = 10000, seed: int = 0, workers: int = 1, datasets: Path | None = None,
                  overrides: dict | None = None, progress: bool = True) -> dict:
    """Plan, run and summarise the walk-ups; OUT/walkup/walkup.json (every visit) and walkup.md."""
    from maskgate.board import board_config
    from maskgate.board.virtualboard import VirtualBoard

    if not any(pictures.values()) and not empty_frames:
        raise DataError("no pictures for walk-up visitors and no empty frames asked for")
    out = Path(out_dir) / OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    names = backgrounds.names(datasets)
    plan = visits.plan(pictures, visits_per_label, empty_frames, seed, names)
    records, wall = firmware_run.run_all(Path(model), manifest, plan, seed, datasets, workers, overrides, progress)
    summary.example_sheet(plan, seed, datasets, out / "walkup-examples.png")
    config = board_config.make_config(manifest, **(overrides or {}))
    with VirtualBoard([], fps=visits.FPS) as board:  # the release every visit's board emulates
        emulated = f"VirtualBoard api {board.api}, firmware {board.firmware_version}, {visits.FPS} fps virtual clock"
    walk = {
        "setup": {
            "visits": visits_per_label, "empty_frames": empty_frames, "seed": seed, "workers": workers,
            "board": emulated,
            "config": {k: config[k] for k in ("threshold", "face_detection", "eye_fallback", "door", "haar_threshold",
                                              "haar_scale_factor", "detect_scale", "framesize")},
            "backgrounds": {"procedural": sum(n.startswith("procedural:") for n in names),
                            "scene": sum(n.startswith("scene:") for n in names), "datasets": str(datasets)},
        },
        "wall_s": round(wall, 1),
        "summary": summary.summarise(records),
        "examples_png": f"{OUT_DIR}/walkup-examples.png",
        "visits": records,
    }
    write_json(out / "walkup.json", walk)
    write_text(out / "walkup.md", "\n".join(summary.markdown({**walk, "examples_png": "walkup-examples.png"})) + "\n")
    return walk
