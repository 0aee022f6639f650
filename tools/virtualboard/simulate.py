"""`maskgate simulate`: the firmware on the virtual board, fed from a folder, a video or a
webcam; one JSON object per frame, and/or a pty the host tools can talk to."""
from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from maskgate import package_data
from maskgate.errors import DataError

from .board import LogTail, VirtualBoard

DEFAULT_MODEL = package_data.shipped_model()


def default_model() -> Path:
    if not DEFAULT_MODEL.is_file():
        raise DataError(f"no model given and the shipped one ({DEFAULT_MODEL}) does not exist yet: "
                        f"pass --model PATH.tflite (e.g. RUN/maskgate_int8.tflite from `maskgate quantize`)")
    return DEFAULT_MODEL


def frame_record(frame: int, row: dict | None, door: str) -> dict:
    """The per-frame JSON object: the firmware's decision row, or (no row: the firmware was
    not running the door, e.g. no model) an error record with the relay's state."""
    if row is None:
        return {"frame": frame, "face": None, "prob": None, "label": "error", "door": door}
    face = list(row["face"]) if row["face"] else None
    prob = None if row["prob"] is None else round(row["prob"], 4)
    return {"frame": frame, "face": face, "prob": prob, "label": row["label"], "door": row["door"]}


class FrameReporter:
    """on_frame hook: after each frame, the rows the firmware logged for it become records."""

    def __init__(self, emit):
        self._emit = emit
        self._tail = None
        self._pending: dict[int, dict] = {}
        self.next_frame = 0
        self.records: list[dict] = []

    def __call__(self, board: VirtualBoard, frame: int) -> None:
        if self._tail is None:
            self._tail = LogTail(board.card, board.log_dir())
        for row in self._tail.read_new():
            self._pending[board.boot_frame + row["frame"]] = row
        while self.next_frame <= frame:
            record = frame_record(self.next_frame, self._pending.pop(self.next_frame, None), board.door())
            self.records.append(record)
            self._emit(record)
            self.next_frame += 1


def _stop_on_first_ctrl_c(board):
    """Ctrl-C (SIGINT) stops the board at its next frame, as stop() does, instead of raising
    KeyboardInterrupt wherever the interpreter happens to be (inside a firmware module being
    imported, a LiteRT call, a half-written card file). A second Ctrl-C interrupts at once.
    Returns the handler it replaced (None off the main thread, where signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def first(signum, frame):
        board.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    return signal.signal(signal.SIGINT, first)


def simulate(frames, model=None, *, pty: bool = False, json_lines: bool = False, fps: float = 10.0,
             realtime: bool | None = None, loop: bool | None = None, card=None, firmware: str | None = None,
             max_frames: int | None = None, overrides: dict | None = None, out=None,
             echo=None) -> dict:
    """Run the firmware on the virtual board; returns a summary.

    With pty the board serves a pseudo-terminal (its path is the first line written to
    `out`) and, unless told otherwise, runs in real time and loops the frames until stopped
    (Ctrl-C). Without it the run is as fast as the host, on a virtual clock at `fps`."""
    out = out or sys.stdout
    model = Path(model) if model else default_model()
    realtime = pty if realtime is None else realtime
    loop = pty if loop is None else loop

    def emit(record):
        if json_lines:
            out.write(json.dumps(record) + "\n")
            out.flush()

    reporter = FrameReporter(emit)
    board = VirtualBoard(frames, card, clock="real" if realtime else "virtual", fps=fps, pty=pty, firmware=firmware,
                         loop=loop, max_frames=max_frames, on_frame=reporter, echo=echo)
    try:
        board.install(model, **(overrides or {}))
        if pty:
            out.write(board.pty_path + "\n")
            out.flush()
        previous = _stop_on_first_ctrl_c(board)
        try:
            result = board.run()
            while pty and result.ended == "reset" and not board.stop_flag():  # machine.reset(): boot again
                result = board.run()
        except KeyboardInterrupt:
            result = board.result
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        events = board.door_events()
        rows = board.decisions()
        console = list(board.console)
    finally:
        if card is None:
            board.close()
        else:
            board.port.close()
    records = reporter.records
    opens = sum(1 for (_, a), (_, b) in zip([(0, "closed")] + events, events) if a == "closed" and b == "open")
    stage = {k: sum((r["ms"][k] or 0) for r in rows) for k in ("capture", "detect", "resize", "infer", "log")}
    return {
        "frames": len(records),
        "ended": result.ended if result else "interrupted",
        "crash": result.crash if result else None,
        "door_openings": opens,
        "labels": {label: sum(1 for r in records if r["label"] == label) for label in sorted({r["label"] for r in records})},
        "stage_ms_total": stage,
        "card": str(card) if card else None,
        "firmware": board.release.version,
        "error": next((line for line in console if "ERROR" in line), None),
    }
