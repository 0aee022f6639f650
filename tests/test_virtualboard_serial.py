"""The board's USB serial as a pseudo-terminal, opened with pyserial at 115200 exactly as a
host tool opens /dev/ttyACM0: HELLO answers, damaged frames get error replies, print() text in
between is skipped, and the door loop keeps running throughout."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from conftest import pictures
from maskgate.firmware import module
from maskgate.board.virtualboard import VirtualBoard

frame = module("frame")
BAUD = 115200  # never 921600: on a real camera that rate hands the port to the OpenMV IDE


class Host:
    def __init__(self, path):
        self.port = serial.Serial(path, BAUD, timeout=0.05)
        self.parser = frame.Parser(frame.LIMIT_PAYLOAD)

    def ask(self, data: bytes, seq: int, timeout: float = 10.0):
        self.port.write(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self.port.read(4096)
            if chunk:
                self.parser.feed(chunk)
            while (ev := self.parser.next()) is not None:
                if ev[0] == frame.FRAME and ev[2] == seq:
                    return ev[1], json.loads(ev[3])
        raise AssertionError(f"no reply to seq {seq} within {timeout} s")

    def close(self):
        self.port.close()


@pytest.fixture
def live_board(board_model):
    files = pictures("Test", "WithMask", 4) + pictures("Test", "WithoutMask", 4)
    board = VirtualBoard(files, clock="real", fps=30, pty=True, loop=True)
    board.install(board_model["path"], board_model["manifest"])
    board.start()
    yield board
    result = board.stop()
    board.close()
    assert result is not None and result.crash is None, result and result.crash


def test_hello_and_error_replies_over_the_pty(live_board):
    assert live_board.pty_path.startswith("/dev/pts/")
    host = Host(live_board.pty_path)
    try:
        kind, hello = host.ask(frame.encode(frame.HELLO, 1), 1)
        assert kind == frame.HELLO | frame.REPLY
        assert hello["fw"] and hello["api"] == "ml" and hello["error"] is None
        assert hello["model_sha256"] == live_board.config["model_sha256"] and hello["config"] == live_board.config
        assert hello["max_payload"] == frame.MAX_PAYLOAD and hello["heap_free"] > 0

        bad = bytearray(frame.encode(frame.HELLO, 2))
        bad[-1] ^= 0xFF
        kind, err = host.ask(bytes(bad), 2)
        assert (kind, err["error"], err["type"]) == (frame.ERROR, "bad_crc", frame.HELLO)

        oversize = frame.MAGIC + bytes([frame.PUT, 3]) + (frame.MAX_PAYLOAD + 1).to_bytes(2, "little")
        kind, err = host.ask(oversize, 3)
        assert (kind, err["error"]) == (frame.ERROR, "oversize")

        kind, err = host.ask(frame.encode(0x3F, 4), 4)  # a type no firmware knows
        assert (kind, err["error"]) == (frame.ERROR, "unknown_type")

        truncated = frame.encode(frame.HELLO, 5, b"abcdefgh")[:-4]
        kind, err = host.ask(truncated, 5)  # nothing more comes: dropped after the stale timeout
        assert (kind, err["error"]) == (frame.ERROR, "incomplete")

        kind, again = host.ask(frame.encode(frame.HELLO, 6), 6)
        assert kind == frame.HELLO | frame.REPLY
        assert again["frames"] > hello["frames"]  # the loop went on throughout
        assert host.parser.skipped > 0  # print() text arrived between the frames and was skipped
    finally:
        host.close()


def test_cli_simulate_pty_serves_until_stopped(board_model, tmp_path):
    # PYTHONFAULTHANDLER: should it ever hang, SIGABRT makes it print where every thread is
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
    frames = pictures("Test", "WithoutMask", 3)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, path in enumerate(frames):
        (folder / f"{i:03d}.jpg").write_bytes(path.read_bytes())
    maskgate = Path(sys.executable).parent / "maskgate"
    proc = subprocess.Popen([str(maskgate), "simulate", "--frames", str(folder),
                             "--model", str(board_model["path"]), "--pty", "--fps", "20", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/"), (path, proc.stderr.read() if proc.poll() is not None else "")
        host = Host(path)
        try:
            kind, hello = host.ask(frame.encode(frame.HELLO, 9), 9, timeout=20)
            assert kind == frame.HELLO | frame.REPLY and hello["error"] is None
            time.sleep(0.5)
            assert proc.poll() is None  # still serving although the 3 frames ran out long ago
        finally:
            host.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            # communicate, not wait: it drains the pipes, so a chatty exit cannot block on a
            # full pipe buffer while we wait for it (the deadlock the subprocess docs warn of)
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            try:
                _, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            raise AssertionError(f"simulate --pty still running 30 s after SIGINT; stderr:\n{err[-6000:]}")
    # Ctrl-C stops the board at its next frame: a clean exit with the run's summary
    assert proc.returncode == 0 and " frames (" in out, out
