"""MicroPython's raw REPL on the virtual board's pty, driven by the real mpremote (a
subprocess, as a user runs it): reachable once main.py ends -- after the firmware's REPL
command, since the firmware disables Ctrl-C (setinterrupt(-1)) -- and at once on a board
whose script leaves Ctrl-C alone."""
import hashlib
import os
import subprocess
import sys
import time

import numpy as np
import serial

from boards import running_board
from maskgate.board.link import Link, frame
from maskgate.board.virtualboard import VirtualBoard

MPREMOTE = [sys.executable, "-m", "mpremote"]  # as mpremote_card runs it (no console script needed)


def mpremote(port, *args, timeout=60):
    done = subprocess.run([*MPREMOTE, "connect", port, *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_mpremote_fs_ls_and_cp_after_the_firmware_stops_for_the_repl(board_model, tmp_path):
    with running_board(board_model, tmp_path) as board:
        with Link(board.pty_path) as link:
            link.connect()
            # Ctrl-C, Ctrl-A as mpremote sends them: the firmware skips them (setinterrupt(-1))
            link.serial.write(b"\r\x03\r\x01")
            time.sleep(0.5)
            assert link.connect()["error"] is None  # still the door loop, not a REPL
            assert b"raw REPL" not in bytes(link.recent)
            assert link.call(frame.REPL) == {"stopping": True}
        time.sleep(0.3)
        pts = board.port.pts  # the real /dev/pts/N, as a user would pass it
        assert pts.startswith("/dev/pts/")
        listing = mpremote(pts, "fs", "ls", ":")
        for name in ("main.py", "config.json", "frame.py", "log/"):
            assert name in listing
        assert board.door() == "closed"

        mpremote(pts, "fs", "cp", ":main.py", str(tmp_path / "main_copy.py"))
        assert (tmp_path / "main_copy.py").read_bytes() == (board.card.root / "main.py").read_bytes()
        blob = os.urandom(3000)
        (tmp_path / "blob.bin").write_bytes(blob)
        mpremote(pts, "fs", "mkdir", ":up")
        mpremote(pts, "fs", "cp", str(tmp_path / "blob.bin"), ":up/blob.bin")
        assert (board.card.root / "up" / "blob.bin").read_bytes() == blob
        digest = mpremote(pts, "fs", "sha256sum", ":up/blob.bin").split()[-1]
        assert digest == hashlib.sha256(blob).hexdigest()
        err = subprocess.run([*MPREMOTE, "connect", pts, "fs", "cat", ":nope.txt"], capture_output=True, text=True,
                             timeout=60)
        assert err.returncode != 0 and "No such file" in err.stdout + err.stderr
        assert "/tmp" not in err.stdout + err.stderr  # MicroPython's errors, not the PC's paths

        mpremote(pts, "reset")  # machine.reset(): main.py runs again, the port comes back
        link = Link(board.pty_path)  # not opened yet: the port may be gone while the board boots
        try:
            hello = link.reconnect()
            assert hello["error"] is None and board.boots == 2
        finally:
            link.close()


def test_the_raw_repl_protocol_by_hand(board_model, tmp_path):
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)], tmp_path / "card", pty=True)
    board.card.write_bytes("hello.txt", b"hi")  # no main.py: a fresh camera, just the REPL
    board.start()
    try:
        port = serial.Serial(board.pty_path, 115200, timeout=2)
        port.write(b"\r\x03\r\x01")
        assert port.read_until(b"raw REPL; CTRL-B to exit\r\n>").endswith(b"raw REPL; CTRL-B to exit\r\n>")
        port.write(b"import os\nprint(os.listdir(), 1 + 1)\x04")
        assert port.read_until(b"\x04>") == b"OK['hello.txt'] 2\r\n\x04\x04>"
        port.write(b"open('nope')\x04")
        out = port.read_until(b"\x04>")
        assert out.startswith(b"OK\x04Traceback") and b"OSError: [Errno 2] ENOENT" in out
        port.write(b"\x04")  # soft reset
        assert port.read_until(b"raw REPL; CTRL-B to exit\r\n>").endswith(b"soft reboot\r\nraw REPL; CTRL-B to exit\r\n>")
        port.write(b"\x02")
        assert b">>> " in port.read_until(b">>> ")
        port.close()
    finally:
        board.stop()
        board.close()


def test_a_script_that_keeps_ctrl_c_is_interrupted(tmp_path):
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)], tmp_path / "card", pty=True, loop=True)
    board.card.write_bytes("main.py", b"import sensor\nwhile True:\n    sensor.snapshot()\n")
    board.start()
    try:
        listing = mpremote(board.pty_path, "fs", "ls", ":")
        assert "main.py" in listing
    finally:
        board.stop()
        board.close()
    assert board.result.ended == "interrupted"
