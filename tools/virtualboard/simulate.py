"""`maskgate simulate`: the firmware on the virtual board, fed from a folder, a video or a
webcam; one JSON object per frame, and/or a pty the host tools can talk to.

What it runs: a model given with --model is checked first (maskgate.board.model_check, as
deploy checks it); an empty card (or the temporary default one) gets the firmware, that model
(or the shipped one) and config.json; a card that already holds them (an earlier run, a
`deploy --to-drive`) is run as it is -- never installed over -- and --model / --set are then
refused (OptionError) rather than applied to it.

A run in which nothing valid ran is an error, after the frame records are out: no frame could
be read (DataError, exit 3: unreadable pictures, a file that is not a video, no webcam), or
the firmware never ran the door (BoardError, exit 5: it refused the model or config.json and
says why). stdout carries only the frame records with --json; everything else goes to stderr.
"""
from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from maskgate import package_data
from maskgate.errors import BoardError, DataError, OptionError

from .. import board_config
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
        self.rows: list[dict] = []  # the decision rows of this run

    def skip_existing(self, board: VirtualBoard) -> None:
        """Rows an earlier run left on the card (--card) are not this run's."""
        self._tail = LogTail(board.card, board.log_dir())
        self._tail.read_new()

    def __call__(self, board: VirtualBoard, frame: int) -> None:
        if self._tail is None:
            self._tail = LogTail(board.card, board.log_dir())
        for row in self._tail.read_new():
            self.rows.append(row)
            self._pending[board.boot_frame + row["frame"]] = row
        while self.next_frame <= frame:
            record = frame_record(self.next_frame, self._pending.pop(self.next_frame, None), board.door())
            self.records.append(record)
            self._emit(record)
            self.next_frame += 1


def card_holds_a_deploy(folder) -> list[str]:
    """The files of a deploy (firmware, config.json) a card folder already holds."""
    from maskgate import firmware

    folder = Path(folder)
    names = [p.name for p in firmware.files()] + ["config.json"]
    return [n for n in names if (folder / n).is_file()]


def _open_board(frames, card, **kwargs) -> VirtualBoard:
    try:
        return VirtualBoard(frames, card, **kwargs)
    except OSError as e:
        raise DataError(f"--card {card}: cannot use it as the card ({e.strerror or e})") from None


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
             echo=None, log=None) -> dict:
    """Run the firmware on the virtual board; returns a summary.

    With pty the board serves a pseudo-terminal (its path is the first line written to
    `out`) and, unless told otherwise, runs in real time and loops the frames until stopped
    (Ctrl-C). Without it the run is as fast as the host, on a virtual clock at `fps`."""
    from .. import model_check

    out = out or sys.stdout
    log = log or (lambda text: sys.stderr.write(text + "\n"))
    deployed = card_holds_a_deploy(card) if card is not None and Path(card).is_dir() else []
    manifest = None
    if deployed:
        given = [name for name, v in (("--model", model), ("--set", overrides)) if v]
        if given:
            raise OptionError(f"--card {card} already holds a deploy ({', '.join(deployed[:3])}...): "
                              f"{' and '.join(given)} would replace it; change it with `maskgate deploy "
                              f"--to-drive {card}`, or give an empty --card")
        log(f"card {card} already holds the firmware and config.json: running what is on it")
    else:
        model = Path(model) if model else default_model()
        manifest, data = model_check.check(model)
        # the config it would write, checked before the card is touched
        model_check.check_config_sha(board_config.make_config(manifest, **(overrides or {})), data, model)
    realtime = pty if realtime is None else realtime
    loop = pty if loop is None else loop

    def emit(record):
        if json_lines:
            out.write(json.dumps(record) + "\n")
            out.flush()

    reporter = FrameReporter(emit)
    board = _open_board(frames, card, clock="real" if realtime else "virtual", fps=fps, pty=pty,
                        firmware=firmware, loop=loop, max_frames=max_frames, on_frame=reporter, echo=echo)
    try:
        if not deployed:
            board.install(model, manifest, **(overrides or {}))
        reporter.skip_existing(board)
        if pty:  # the first line: the port (a JSON object with --json, stdout stays JSON lines)
            out.write((json.dumps({"pty": board.pty_path}) if json_lines else board.pty_path) + "\n")
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
        rows = reporter.rows
        console = list(board.console)
    finally:
        if card is None:
            board.close()
        else:
            board.port.close()
    records = reporter.records
    error = next((line for line in console if "ERROR" in line), None)
    problem = None
    if not records and result is not None and result.crash is None:
        why = "; ".join(board.source_problems[:3]) or "the source gave none"
        problem = DataError(f"frames {frames}: no frame could be read ({why})")
    elif records and not rows and result is not None and result.crash is None and error:
        problem = BoardError(f"the firmware never ran the door on {len(records)} frame(s): {error.strip()}")
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
        "error": error,
        "problem": problem,  # nothing valid ran: the error to raise (the CLI does, after the summary)
    }
