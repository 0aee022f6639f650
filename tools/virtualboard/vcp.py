"""The camera's USB serial port (pyb.USB_VCP) on the virtual board.

PtyPort: a pseudo-terminal. The host opens its path (/dev/pts/N) with pyserial exactly as it
would open /dev/ttyACM0 on a real camera (any baud rate works on a pty; use 115200, never
921600, which the OpenMV IDE claims on a real board). MemoryPort: the same in memory, for
tests that want to feed bytes without a terminal.

Like the real VCP, writes never block the firmware for long: what the host does not read
piles up in the pty buffer and the overflow is dropped.
"""
from __future__ import annotations

import collections
import errno
import fcntl
import os
import select
import threading
import tty


class MemoryPort:
    def __init__(self):
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

    def close(self):
        pass


class PtyPort:
    def __init__(self):
        self.master, self._slave = os.openpty()
        # Raw before anyone writes: no echo, no newline translation, no line buffering.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        flags = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.dropped = 0

    def pump(self) -> bytes:
        chunks = []
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

    def write(self, data: bytes) -> int:
        sent = 0
        view = memoryview(data)
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
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class USB_VCP:  # noqa: N801 - pyb's name
    """pyb.USB_VCP(): every instance talks to the board's one port."""

    def __init__(self, port, id=0):  # noqa: A002 - pyb's signature
        self._port = port
        self._rx = collections.deque()
        self._rx_len = 0
        self.interrupt_char = 3

    def _fill(self):
        data = self._port.pump()
        if data:
            self._rx.append(data)
            self._rx_len += len(data)

    def _take(self, n: int) -> bytes:
        out = bytearray()
        while self._rx and len(out) < n:
            chunk = self._rx.popleft()
            need = n - len(out)
            out += chunk[:need]
            if len(chunk) > need:
                self._rx.appendleft(chunk[need:])
        self._rx_len -= len(out)
        return bytes(out)

    def setinterrupt(self, chr):  # noqa: A002
        self.interrupt_char = chr

    def isconnected(self) -> bool:
        return True

    def any(self) -> int:
        self._fill()
        return self._rx_len

    def read(self, nbytes=None):
        self._fill()
        if not self._rx_len:
            return None
        return self._take(self._rx_len if nbytes is None else int(nbytes))

    def readinto(self, buf, nbytes=None):
        data = self.read(len(buf) if nbytes is None else nbytes)
        if not data:
            return None
        buf[: len(data)] = data
        return len(data)

    def readline(self):
        self._fill()
        joined = b"".join(self._rx)
        end = joined.find(b"\n")
        if end < 0:
            return None
        return self._take(end + 1)

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
        return self._port.write(bytes(data))

    def write(self, data):
        return self.send(data)

    def close(self):
        pass
