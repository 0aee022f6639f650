"""The camera's USB serial port (pyb.USB_VCP) on the virtual board.

PtyPort: a pseudo-terminal. The host opens its path (/dev/pts/N) with pyserial exactly as it
would open /dev/ttyACM0 on a real camera (any baud rate works on a pty; use 115200, never
921600, which the OpenMV IDE claims on a real board). MemoryPort: the same in memory, for
tests that want to feed bytes without a terminal.

Like the real VCP, writes never block the firmware for long: what the host does not read
piles up in the pty buffer and the overflow is dropped.

Both keep what arrived from the host in `rx` (shared by every USB_VCP instance and, after
main.py ends, by the REPL) and the interrupt character: as on the camera, a Ctrl-C byte
(0x03) arriving while a script runs raises KeyboardInterrupt in it -- unless the script called
`usb.setinterrupt(-1)`, as the maskgate firmware does (binary frames may hold 0x03). Then only
the firmware's REPL command (or a reset) ends it; see repl.py.

A PtyPort made with `link=PATH` keeps a symlink PATH -> /dev/pts/N, the stable name a real
board has (/dev/ttyACM0): `unplug(gap_s)` closes the terminal (the host's reads fail, as when
a cable is pulled or the board resets), removes PATH, and after gap_s a new terminal appears
under the same PATH, as a board coming back on USB does.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import threading
import time
import tty


class VcpInterrupt(KeyboardInterrupt):
    """Ctrl-C from the USB port while the script allows it (the firmware's KeyboardInterrupt)."""


class _Port:
    def __init__(self):
        self.rx = bytearray()  # received from the host, not read by the board yet
        self.interrupt_char = 3
        self.faults = None  # faults.Faults: damage what crosses the link

    # board side
    def receive(self, interruptible: bool = True) -> int:
        """Move what the host sent into rx; raise VcpInterrupt on the interrupt character
        (what follows it stays in rx, for the REPL). Returns len(rx)."""
        data = self.pump()
        if data and self.faults is not None:
            data = self.faults.inbound(data, self)
        if data:
            ch = self.interrupt_char
            if interruptible and 0 <= ch <= 255 and ch in data:
                cut = data.rindex(bytes([ch]))
                self.rx = bytearray(data[cut + 1 :])
                raise VcpInterrupt()
            self.rx += data
        return len(self.rx)

    def take(self, n: int | None = None) -> bytes:
        n = len(self.rx) if n is None else min(int(n), len(self.rx))
        out = bytes(self.rx[:n])
        del self.rx[:n]
        return out

    def send(self, data: bytes) -> int:
        if self.faults is not None:
            data = self.faults.outbound(bytes(data), self)
        return self.write(data)

    def boot(self) -> None:
        """A (soft or hard) reset: the interrupt character is Ctrl-C again."""
        self.interrupt_char = 3


class MemoryPort(_Port):
    def __init__(self):
        super().__init__()
        self._incoming = bytearray()
        self.outgoing = bytearray()
        self._lock = threading.Lock()
        self.path = None

    # host side
    def host_write(self, data: bytes) -> None:
        with self._lock:
            self._incoming += data

    def host_read(self) -> bytes:
        with self._lock:
            data, self.outgoing = bytes(self.outgoing), bytearray()
        return data

    # board side
    def pump(self) -> bytes:
        with self._lock:
            data, self._incoming = bytes(self._incoming), bytearray()
        return data

    def write(self, data: bytes) -> int:
        with self._lock:
            self.outgoing += data
        return len(data)

    def wait_readable(self, timeout: float) -> None:
        time.sleep(timeout)

    def unplug(self, gap_s: float = 0.5) -> None:
        pass

    def close(self):
        pass


class PtyPort(_Port):
    def __init__(self, link=None):
        super().__init__()
        self.link = str(link) if link else None
        self._lock = threading.RLock()
        self.master = self._slave = None
        self.pts = None
        self.dropped = 0
        self.unplugs = 0
        self._back_at = None  # while unplugged: when the port reappears (time.monotonic)
        self._open()

    @property
    def path(self) -> str:
        return self.link or self.pts

    def _open(self):
        self.master, self._slave = os.openpty()
        # Raw before anyone writes: no echo, no newline translation, no line buffering.
        tty.setraw(self._slave)
        self.pts = os.ttyname(self._slave)
        flags = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        if self.link:
            tmp = f"{self.link}.{os.getpid()}.tmp"
            if os.path.lexists(tmp):
                os.remove(tmp)
            os.symlink(self.pts, tmp)
            os.replace(tmp, self.link)

    def _close_fds(self):
        for fd in (self.master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self._slave = None

    def unplug(self, gap_s: float = 0.5) -> None:
        """The USB connection drops (cable pulled, board reset): the host's open port fails;
        a new one appears at the same link path after gap_s."""
        if not self.link:
            raise RuntimeError("unplug() needs a PtyPort made with link=PATH (the stable port name)")
        with self._lock:
            self._close_fds()
            try:
                os.remove(self.link)
            except OSError:
                pass
            self.rx = bytearray()
            self.unplugs += 1
            self._back_at = time.monotonic() + gap_s

    def _plugged(self) -> bool:
        if self._back_at is None:
            return True
        if time.monotonic() < self._back_at:
            return False
        self._back_at = None
        self._open()
        return True

    def pump(self) -> bytes:
        chunks = []
        with self._lock:
            if not self._plugged():
                return b""
            while True:
                try:
                    ready, _, _ = select.select([self.master], [], [], 0)
                    if not ready:
                        break
                    data = os.read(self.master, 65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as e:  # EIO: no reader/writer on the other side right now
                    if e.errno == errno.EIO:
                        break
                    raise
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks)

    def wait_readable(self, timeout: float) -> None:
        """Block up to `timeout` seconds for host bytes (the REPL's idle wait)."""
        master = self.master
        if master is None or self._back_at is not None:
            time.sleep(timeout)
            return
        try:
            select.select([master], [], [], timeout)
        except (OSError, ValueError):
            time.sleep(timeout)

    def write(self, data: bytes) -> int:
        sent = 0
        view = memoryview(data)
        with self._lock:
            if not self._plugged():
                self.dropped += len(data)
                return 0
            while sent < len(data):
                try:
                    sent += os.write(self.master, view[sent:])
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
        self.dropped += len(data) - sent
        return sent

    def close(self):
        with self._lock:
            self._close_fds()
            if self.link:
                try:
                    if os.path.islink(self.link):
                        os.remove(self.link)
                except OSError:
                    pass


class USB_VCP:  # noqa: N801 - pyb's name
    """pyb.USB_VCP(): every instance talks to the board's one port."""

    def __init__(self, port, id=0):  # noqa: A002 - pyb's signature
        self._port = port

    def setinterrupt(self, chr):  # noqa: A002
        self._port.interrupt_char = chr

    def isconnected(self) -> bool:
        return True

    def any(self) -> int:
        return self._port.receive()

    def read(self, nbytes=None):
        if not self._port.receive():
            return None
        return self._port.take(nbytes)

    def readinto(self, buf, nbytes=None):
        data = self.read(len(buf) if nbytes is None else nbytes)
        if not data:
            return None
        buf[: len(data)] = data
        return len(data)

    def readline(self):
        self._port.receive()
        end = self._port.rx.find(b"\n")
        if end < 0:
            return None
        return self._port.take(end + 1)

    def recv(self, data, timeout=5000):
        want = data if isinstance(data, int) else len(data)
        got = self.read(want) or b""
        if isinstance(data, int):
            return got
        data[: len(got)] = got
        return len(got)

    def send(self, data, timeout=5000):
        if isinstance(data, int):
            data = bytes([data & 0xFF])
        elif isinstance(data, str):
            data = data.encode()
        return self._port.send(bytes(data))

    def write(self, data):
        return self.send(data)

    def close(self):
        pass
