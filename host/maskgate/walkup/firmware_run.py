"""Walk-up sequences through the unmodified firmware on the virtual board (maskgate.board.
virtualboard, public API only: VirtualBoard, install, run, decisions, door_events).

Each visit boots a fresh board (door closed, no streak) with the model and its config.json
made from the manifest as `maskgate deploy` makes it, on a virtual clock at the visit's frame
rate, and runs the visit's frames. What the firmware logs says whether the door opened, on
which frame, and what the face stage and the model saw. Visits are spread over worker
processes; each regenerates its frames from the seed, so nothing is stored.
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from maskgate.errors import DataError

from . import visits as visits_mod

CHUNK = 8  # visits per task handed to a worker


def run_visit(model: Path, manifest: dict, frames: list, overrides: dict | None = None) -> dict:
    """One sequence on a fresh virtual board -> what the door did."""
    from maskgate.board.virtualboard import VirtualBoard

    with VirtualBoard(frames, fps=visits_mod.FPS) as board:
        board.install(model, manifest, **(overrides or {}))
        result = board.run()
        rows = board.decisions()
        events = board.door_events()
    if result.crash:
        return {"error": result.crash.strip().splitlines()[-1], "frames": len(rows)}
    opened = [r["frame"] for r in rows if r["door"] == "open"]
    openings = sum(1 for (_, a), (_, b) in zip([(0, "closed")] + events, events) if a == "closed" and b == "open")
    first = rows[0]["time_ms"] if rows else 0
    open_row = next((r for r in rows if r["door"] == "open"), None)
    faces = [r["frame"] for r in rows if r["face"]]
    probs = [r["prob"] for r in rows if r["prob"] is not None]
    return {
        "frames": len(rows),
        "opened": bool(opened),
        "open_frame": opened[0] if opened else None,
        "open_s": round((open_row["time_ms"] - first) / 1000, 3) if open_row else None,
        "openings": openings,
        "frames_open": len(opened),
        "faces": len(faces),
        "first_face_frame": faces[0] if faces else None,
        "max_prob": round(max(probs), 4) if probs else None,
    }


def _run_chunk(task) -> list[dict]:
    model, manifest, seed, datasets, overrides, chunk = task
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out = []
    for visit in chunk:
        record = visit.as_dict()
        try:
            frames = visits_mod.frames_of(visit, seed, datasets)
        except Exception as e:  # an unreadable picture: reported, not fatal
            out.append({**record, "error": f"cannot make the frames: {e}"})
            continue
        out.append({**record, **run_visit(model, manifest, frames, overrides)})
    return out


def run_all(model: Path, manifest: dict, plan: list, seed: int, datasets: Path | None, workers: int = 1,
            overrides: dict | None = None, progress: bool = True) -> tuple[list[dict], float]:
    """Every visit of `plan` -> (records in plan order, wall seconds)."""
    if not plan:
        raise DataError("no walk-up visits to run")
    chunks = [plan[i:i + CHUNK] for i in range(0, len(plan), CHUNK)]
    tasks = [(Path(model), manifest, seed, datasets, overrides, c) for c in chunks]
    started = time.time()
    records: list[dict] = []
    report = _Progress(len(plan), progress)
    try:
        if workers <= 1:
            for chunk in map(_run_chunk, tasks):
                records += chunk
                report.advance(len(chunk))
        else:
            with ProcessPoolExecutor(workers) as pool:
                for chunk in pool.map(_run_chunk, tasks):
                    records += chunk
                    report.advance(len(chunk))
    finally:
        report.stop()
    return records, time.time() - started


class _Progress:
    """A progress bar on a terminal; a line every LINE_EVERY_S seconds otherwise (a log file)."""
    LINE_EVERY_S = 60

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled
        self.started = self.last_line = time.time()
        self.bar = None
        if enabled and sys.stderr.isatty():
            from maskgate.progress import progress_bar

            self.bar = progress_bar()
            self.bar.start()
            self.job = self.bar.add_task("walk-ups through the firmware", total=total)

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.advance(self.job, n)
        elif self.enabled and (time.time() - self.last_line >= self.LINE_EVERY_S or self.done == self.total):
            self.last_line = time.time()
            print(f"walk-ups through the firmware: {self.done}/{self.total} sequences, "
                  f"{self.last_line - self.started:.0f} s", file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
