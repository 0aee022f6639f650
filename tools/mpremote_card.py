"""The camera's card through MicroPython's raw REPL, with the real `mpremote` (run as a
subprocess, as a user would): for a board whose REPL is reachable -- one without the
maskgate firmware running (a fresh camera, or main.py ended or stopped with the REPL
command). Few invocations, each doing several things, because every one enters the raw REPL
with a soft reset.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
from pathlib import Path

from maskgate.errors import BoardError

# Run on the board: sha256 of each named file, None when it is missing (MicroPython's hashlib
# has no hexdigest(), hence binascii).
HASH_SCRIPT = """
import binascii, hashlib
def _h(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    d = hashlib.sha256()
    b = bytearray(1024)
    while True:
        n = f.readinto(b)
        if not n:
            break
        d.update(b[:n])
    f.close()
    return binascii.hexlify(d.digest()).decode()
print(repr({n: _h(n) for n in NAMES}))
"""

# Run on the board: _mkdirs(path) makes the folders a file path needs (MicroPython has no
# os.makedirs).
MKDIRS_SCRIPT = """
import os
def _mkdirs(p):
    at = ''
    for part in p.split('/')[:-1]:
        at = at + '/' + part if at else part
        try:
            os.mkdir(at)
        except OSError:
            pass
"""

# Run on the board: renames, replacing the target (FatFS will not rename onto a file),
# creating folders on the way.
MOVE_SCRIPT = MKDIRS_SCRIPT + """
def _mv(a, b):
    _mkdirs(b)
    try:
        os.remove(b)
    except OSError:
        pass
    os.rename(a, b)
for a, b in MOVES:
    _mv(a, b)
print('moved', len(MOVES))
"""

# Run on the board: remove the files NAMES where they exist.
REMOVE_SCRIPT = """
import os
for n in NAMES:
    try:
        os.remove(n)
    except OSError:
        pass
"""


def run(port: str, *args: str, timeout: float = 300) -> str:
    """`mpremote connect PORT ARGS...`; its stdout. BoardError when it fails."""
    cmd = [sys.executable, "-m", "mpremote", "connect", port, *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BoardError(f"mpremote on {port} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        why = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise BoardError(f"mpremote on {port} failed: {why[-1] if why else 'exit code %d' % done.returncode}")
    return done.stdout


def reachable(port: str, timeout: float = 20) -> bool:
    """Does the board answer on the raw REPL (Ctrl-C, Ctrl-A)?"""
    try:
        return "maskgate-repl-ok" in run(port, "exec", "print('maskgate-repl-' + 'ok')", timeout=timeout)
    except BoardError:
        return False


class MpremoteCard:
    def __init__(self, port: str):
        self.port = port

    def hashes(self, names) -> dict:
        out = run(self.port, "exec", f"NAMES = {list(names)!r}\n" + HASH_SCRIPT)
        line = [ln for ln in out.splitlines() if ln.startswith("{")]
        if not line:
            raise BoardError(f"mpremote: unexpected reply to the hash script: {out[-200:]!r}")
        return ast.literal_eval(line[-1])

    def mem_free(self) -> int:
        out = run(self.port, "exec", "import gc\ngc.collect()\nprint('free', gc.mem_free())")
        return int(out.split("free", 1)[1].split()[0])

    def put(self, files: dict[str, bytes]) -> None:
        """Copy name -> bytes onto the card in one mpremote run (fs cp ... + fs cp ...)."""
        if not files:
            return
        with tempfile.TemporaryDirectory(prefix="maskgate-mpremote-") as tmp:
            args: list[str] = []
            nested = sorted(name for name in files if "/" in name)
            if nested:
                args += ["exec", MKDIRS_SCRIPT + f"for n in {nested!r}:\n    _mkdirs(n)\n", "+"]
            for i, (name, data) in enumerate(files.items()):
                local = Path(tmp) / f"{i:03d}.bin"
                local.write_bytes(data)
                args += ["fs", "cp", "-f", str(local), f":{name}", "+"]
            run(self.port, *args[:-1])

    def moves(self, pairs) -> None:
        if pairs:
            run(self.port, "exec", f"MOVES = {[list(p) for p in pairs]!r}\n" + MOVE_SCRIPT)

    def reset(self) -> None:
        """machine.reset(): main.py runs again (the port goes away for a moment)."""
        run(self.port, "reset", timeout=60)
