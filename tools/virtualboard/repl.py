"""MicroPython's REPL on the virtual board's USB port, so `mpremote connect <pty> fs ls/cp`
works against it as against a camera.

When is it there? As on the OpenMV Cam: main.py runs once after power-up or a hard reset;
when it ends (it returns, raises, or is interrupted) the board soft-resets and serves the
REPL, and a soft reset from the REPL (Ctrl-D) gives the REPL again, not main.py
(openmv/openmv src/omv/ports/stm32/main.c: main.py only on the first soft reset).
`machine.reset()` starts main.py again.

How does mpremote get in while the door loop runs? On a camera it sends Ctrl-C, which
interrupts a script -- but the maskgate firmware calls `usb.setinterrupt(-1)` (its binary
frames may hold 0x03), so the Ctrl-C is just a byte to skip (the reference notes this as
unconfirmed on hardware; the virtual board does what MicroPython's code says: no interrupt
character, no KeyboardInterrupt). The firmware therefore has a protocol command, REPL, that
closes the door and ends main.py; `maskgate deploy --via mpremote` sends it first. A script
that did not disable the interrupt character is interrupted by Ctrl-C here as on the camera.

The protocol is MicroPython's (shared/runtime/pyexec.c): friendly REPL (">>> ") with
Ctrl-A -> raw REPL ("raw REPL; CTRL-B to exit\\r\\n>"), code ended by Ctrl-D answered
"OK" + output + 0x04 + error + 0x04 + ">", Ctrl-D on an empty line -> soft reset
("MPY: soft reboot"), Ctrl-B -> friendly REPL, and raw-paste mode (Ctrl-E "A" Ctrl-A ->
"R\\x01" + window size, flow control with 0x01). Code runs in the board's namespace: the
stand-in modules, the card's files, the card as the working directory.
"""
from __future__ import annotations

import errno
import traceback

from .frames import EndOfFrames
from .pyb import BoardReset

CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E = 1, 2, 3, 4, 5
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 128  # MICROPY_REPL_STDIN_BUFFER_MAX (256) / 2, as pyexec.c advertises it
IDLE_WAIT_S = 0.02


class Repl:
    def __init__(self, board):
        self.board = board
        self.port = board.port
        self.raw = False
        self.line = bytearray()
        self.port.repl = True  # MicroPython's REPL serves a person or mpremote in real time
        self._soft_reset(announce=False)

    # --- output ---
    def out(self, data) -> None:
        # the REPL's print(): usbd_cdc_tx_always, waiting for the host in real time (vcp.py)
        self.port.console_write(data.encode() if isinstance(data, str) else bytes(data), interruptible=False)

    def banner(self) -> None:
        b = self.board
        self.out(f"MicroPython v1.23.0 OpenMV {b.firmware_version}; OpenMV Cam H7 (maskgate virtual board)\r\n"
                 'Type "help()" for more information.\r\n>>> ')

    def _soft_reset(self, announce: bool = True) -> None:
        # Fresh interpreter state: new module objects, empty namespace, interrupt char back.
        self.board.soft_reset()
        self.globals = {"__name__": "__main__", "__builtins__": self.board.sandbox_builtins()}
        if announce:
            self.out("MPY: soft reboot\r\n")

    # --- input ---
    def _next_byte(self) -> int | None:
        """The next byte from the host, None while none came (after a short wait)."""
        port = self.port
        if not port.rx:
            port.receive(interruptible=False)
        if not port.rx:
            port.wait_readable(IDLE_WAIT_S)
            port.receive(interruptible=False)
        if not port.rx:
            return None
        c = port.rx[0]
        del port.rx[0]
        return c

    def serve(self) -> str:
        """Serve until stop() ("stopped") or machine.reset() ("reset")."""
        self.out("MPY: soft reboot\r\n")
        if self.raw:
            self.out(RAW_BANNER + b">")
        else:
            self.banner()
        while not self.board.stop_flag():
            c = self._next_byte()
            if c is None:
                continue
            try:
                if self.raw:
                    self._raw_char(c)
                else:
                    self._friendly_char(c)
            except BoardReset:
                return "reset"
        return "stopped"

    # --- friendly REPL ---
    def _friendly_char(self, c: int) -> None:
        if c == CTRL_A:
            self.raw = True
            self.line.clear()
            self.out(b"\r\n" + RAW_BANNER + b">")
        elif c == CTRL_B:
            self.line.clear()
            self.out("\r\n")
            self.banner()
        elif c == CTRL_C:
            self.line.clear()
            self.out("\r\n>>> ")
        elif c == CTRL_D:
            self.line.clear()
            self.out("\r\n")
            self._soft_reset()
            self.banner()
        elif c in (8, 127):
            if self.line:
                self.line.pop()
                self.out("\b \b")
        elif c == 13:
            source = self.line.decode("utf-8", "replace")
            self.line.clear()
            self.out("\r\n")
            if source.strip():
                out, err = self._execute(source, "single")
                self.out(out + err)
            self.out(">>> ")
        elif c >= 32 or c == 9:
            self.line.append(c)
            self.out(bytes([c]))

    # --- raw REPL ---
    def _raw_char(self, c: int) -> None:
        line = self.line
        if c == CTRL_A:
            if len(line) == 2 and line[0] == CTRL_E:
                mode = line[1]
                line.clear()
                self._raw_paste(mode)
                return
            line.clear()
            self.out(RAW_BANNER + b">")
        elif c == CTRL_B:
            line.clear()
            self.raw = False
            self.out("\r\n")
            self.banner()
        elif c == CTRL_C:
            line.clear()
        elif c == CTRL_D:
            self.out("OK")
            if not line:
                self.out("\r\n")
                self._soft_reset()
                self.out(RAW_BANNER + b">")
                return
            source = line.decode("utf-8", "replace")
            line.clear()
            out, err = self._execute(source, "exec")
            self.out(out + b"\x04" + err + b"\x04>")
        else:
            line.append(c)

    def _raw_paste(self, mode: int) -> None:
        if mode != ord("A"):
            self.out(b"R\x00")
            self.out(b">")
            return
        self.out(b"R\x01" + PASTE_WINDOW.to_bytes(2, "little") + b"\x01")
        source = bytearray()
        remain = PASTE_WINDOW
        while not self.board.stop_flag():
            c = self._next_byte()
            if c is None:
                continue
            if c in (CTRL_C, CTRL_D):
                self.out(b"\x04")  # end acknowledged
                if c == CTRL_C:
                    self.out(b"\x04Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n\x04>")
                    return
                break
            source.append(c)
            remain -= 1
            if remain == 0:
                self.out(b"\x01")  # another window may come
                remain = PASTE_WINDOW
        else:
            return
        out, err = self._execute(source.decode("utf-8", "replace"), "exec")
        self.out(out + b"\x04" + err + b"\x04>")

    # --- running code ---
    def _execute(self, source: str, mode: str) -> tuple[bytes, bytes]:
        """Run `source` in the board's namespace; (stdout written so far is already on the
        port) returns (b"", error text) -- print() goes straight to the port, in order."""
        try:
            if mode == "single":
                # an expression's value is echoed, like MicroPython's REPL (not via the PC's
                # sys.displayhook, which would print on the PC)
                try:
                    code = compile(source, "<stdin>", "eval")
                except SyntaxError:
                    code = None
                if code is not None:
                    value = eval(code, self.globals)
                    if value is not None:
                        self.board.console_print(repr(value))
                    return b"", b""
            exec(compile(source, "<stdin>", "exec"), self.globals)
            return b"", b""
        except (BoardReset, EndOfFrames):
            raise
        except SystemExit:
            self._soft_reset()
            return b"", b""
        except BaseException as e:  # noqa: BLE001 - a REPL reports whatever the code raised
            return b"", micropython_traceback(e).encode()


def micropython_traceback(exc: BaseException) -> str:
    """The error as MicroPython prints it (OSError as "[Errno 2] ENOENT", no host paths)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<stdin>"]
    lines = ["Traceback (most recent call last):"]
    for f in frames[-3:]:
        lines.append(f'  File "<stdin>", line {f.lineno}, in {f.name}')
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        lines.append(f"OSError: [Errno {exc.errno}] {name}")
    else:
        kind = "KeyboardInterrupt" if isinstance(exc, KeyboardInterrupt) else type(exc).__name__
        lines.append(f"{kind}: {exc}")
    return "\r\n".join(lines) + "\r\n"
