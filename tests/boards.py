"""A virtual board serving its USB port on a pty, in a background thread, for the board-tool
tests (tests/test_board_*.py): the host side is the real pyserial and the real mpremote."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import conftest
from conftest import pictures
from maskgate import firmware
from maskgate.digest import sha256_bytes as sha256
from maskgate.board.virtualboard import VirtualBoard


FIRMWARE_VERSION = firmware.module("version").VERSION  # what HELLO's "fw" must report


def faces(count: int = 6) -> list[Path]:
    half = count // 2
    return pictures("Test", "WithMask", half) + pictures("Test", "WithoutMask", count - half)


@contextlib.contextmanager
def running_board(board_model, tmp=None, *, fps: float = 30, install: bool = True, frames=None, **overrides):
    """A booted virtual board on a pty with a stable port name (tmp/ttyACM0), looping
    `frames` (default: a few pictures, real faces where ../shared/datasets is there) in real time, emulating the OpenMV release given with
    pytest --firmware (default the newest). Yields the board; stops it after."""
    with contextlib.ExitStack() as stack:
        if tmp is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="maskgate-board-")))
        tmp = Path(tmp)
        board = VirtualBoard(frames or faces(), tmp / "card", clock="real", fps=fps, pty=True, loop=True,
                             port_link=tmp / "ttyACM0", firmware=conftest.BOARD_FIRMWARE)
        if install:
            board.install(board_model["path"], board_model["manifest"], **overrides)
        board.start()
        try:
            yield board
        finally:
            board.port.faults = None
            result = board.stop()
            board.port.close()
            assert result is None or result.crash is None, result.crash


