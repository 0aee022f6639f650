"""The camera's USB serial port (pyb.USB_VCP) on the virtual board, as the OpenMV Cam H7 has it.

The specification is MicroPython's stm32 port in OpenMV's fork (branch openmv-1.25.0 for
firmware 4.6 and later, openmv-1.23 for 4.5.x: the same code; line numbers below are
1.25.0's, 1.23's in brackets):

- Receive buffer: 512 bytes (MICROPY_HW_USB_CDC_RX_DATA_SIZE, ports/stm32/boards/OPENMV4/
  mpconfigboard.h:85 [:93]), a ring that holds 511. The host's bytes come in 64-byte packets;
  without flow control what does not fit is thrown away ("overflow, we just discard the rest
  of the chars", ports/stm32/usbd_cdc_interface.c:423-427 [426-430]). With
  `usb.init(flow=pyb.USB_VCP.RTS)` the board stops taking packets while fewer than 65 bytes
  are free (usbd_cdc_rx_buffer_full :320-324, checked at :436 [439]) and the host waits.
- `any()` is True or False, not a count (ports/stm32/usb.c:747-754 [753-760]). `read(n)` returns
  what is there, at most n bytes, None when nothing is (a stream read with timeout 0:
  usb.c:887-895, py/stream.c:46-83 and :208-230); `read(True)` is `read(1)` (stream.c:116).
  `recv(n, timeout=5000)` waits up to timeout ms for each byte (usbd_cdc_rx :543-574).
- Transmit buffer: 512 bytes (mpconfigboard.h:86 [:94]). `send(data, timeout=5000)` waits up
  to timeout ms for room for each byte and returns how many went (usbd_cdc_tx :466-492):
  with timeout=0 it takes what fits and never waits; while no host holds the port open
  nothing fits. `print()` (via dupterm, usb.c:650, extmod/os_dupterm.c:176-213) and `write()`
  go through usbd_cdc_tx_flow (:453-462): unless flow has CTS that is usbd_cdc_tx_always
  (:497-525), which waits up to 500 ms for every byte that does not fit while a host holds
  the port open, then overwrites the oldest byte; with no host it overwrites at once. So a
  program that opened the port and stopped reading stalls print() half a second a byte.
- "A host holds the port open" is the CDC line state (DTR, usbd_cdc_control :171-194), which
  a program sets when it opens the port. On a pty: whether anyone has the terminal open.
- flow (RTS) survives soft resets; CTS is cleared whenever USB is set up again and at every
  soft reset (usbd_cdc_init :88-109, usb_vcp_attach_to_repl usb.c:680-688). Firmware 5.0
  also empties the receive buffer and clears CTS whenever a host opens or closes the port
  (openmv protocol/omv_protocol_channel_stmusb.c:100-121); its OpenMV-protocol wrappers of
  stdout and receive (protocol/omv_protocol_channel_stdio.c:186) pass through unless the IDE
  took the port.
- The interrupt character is not stored: it raises KeyboardInterrupt in the running script
  (usbd_cdc_receive :420-421) unless the script called `usb.setinterrupt(-1)`.

The bus between the rings and the host is USB full speed: at most 19 bulk packets of 64
bytes per 1 ms frame (USB 2.0 specification 5.8.4, full-speed bulk transaction limits),
1.216 MB/s for both directions together. Bytes cross it only as board time passes
(tools/virtualboard/clock.py): on the virtual clock when the firmware sleeps, waits in
recv()/send()/print(), or the camera delivers a frame; a ring's worth may have crossed while
nobody looked, more takes bus time -- as on the camera, where the rings fill and empty while
the script runs. Without RTS the host sends at bus speed whether or not there is room. On
the virtual clock the host is what it has done by that instant: bytes it wrote arrive at bus
speed, room it made is used, and a wait it cannot end passes at once, so a stalled host
costs no wall-clock time in tests (the REPL alone waits for its host in real time). On the
real clock waits are real.

PtyPort: a pseudo-terminal. The host opens its path (/dev/pts/N) with pyserial exactly as it
would open /dev/ttyACM0 on a real camera (any baud rate works on a pty; use 115200, never
921600, which the OpenMV IDE claims on a real board). The board moves bytes between the pty
and its rings only as the rings have room, so a board with RTS flow control holds the host's
writes back in the pty, and a host that does not read leaves the board's bytes in it (16 KB
on Linux) and then in the 512-byte ring. MemoryPort: the same in memory (the host side is
host_write / host_read; host_buffer=N makes it a host that stops taking bytes after N unread;
`agent` a host in the same process that acts at every instant the board looks, in board
time -- bench/bench_link.py's PC that answers at once).

A PtyPort made with `link=PATH` keeps a symlink PATH -> /dev/pts/N, the stable name a real
board has (/dev/ttyACM0): `unplug(gap_s)` closes the terminal (the host's reads fail, as when
a cable is pulled or the board resets), removes PATH, and after gap_s a new terminal appears
under the same PATH, as a board coming back on USB does.
"""
from __future__ import annotations

import collections
import errno
import fcntl
import os
import select
import threading
import time
import tty

from .clock import Clock

RX_SIZE = 512  # MICROPY_HW_USB_CDC_RX_DATA_SIZE: the ring holds RX_SIZE - 1
TX_SIZE = 512  # MICROPY_HW_USB_CDC_TX_DATA_SIZE
PACKET = 64  # full-speed bulk packet (CDC_DATA_MAX_PACKET_SIZE)
RTS_ROOM = PACKET + 1  # usbd_cdc_rx_buffer_full: with RTS, no packet while less is free
BUS_BYTES_PER_US = 19 * 64 / 1000  # USB 2.0 spec 5.8.4: 19 bulk packets of 64 bytes a 1 ms frame
PACKET_US = PACKET / BUS_BYTES_PER_US  # about 53 us
BUS_BURST = TX_SIZE  # bytes the bus may have moved while nobody looked (a ring's worth)
PRINT_WAIT_US = 501_000  # usbd_cdc_tx_always: `HAL_GetTick() - start <= 500` ends after 501 ms
FLOW_RTS, FLOW_CTS = 1, 2  # USBD_CDC_FLOWCONTROL_RTS / _CTS (usbd_cdc_interface.h:43-44)
IRQ_RX = 1  # USBD_CDC_IRQ_RX
REAL_STEP_US = 500  # on the real clock, how long one wait for the bus sleeps at most


class VcpInterrupt(KeyboardInterrupt):
    """Ctrl-C from the USB port while the script allows it (the firmware's KeyboardInterrupt)."""


def _release(version) -> tuple:
    try:
        return tuple(int(p) for p in str(version).split(".")[:2])
    except ValueError:
        return (0, 0)


class _Port:
    """The CDC interface of usbd_cdc_interface.c: rings, flow control, line state, the bus.
    Subclasses provide the host side (_from_host, _to_host, _host_connected, ...)."""

    def __init__(self, clock: Clock | None = None, firmware: str | None = None):
        self.clock = clock or Clock("real")
        self.release = _release(firmware or "4.5.9")
        self.rx = bytearray()  # rx_user_buf: from the host, not read by the board yet
        self.tx = bytearray()  # tx_buf: for the host, not on the bus yet
        self._wire = b""  # a packet on the bus that the host has not taken yet (still in tx_buf)
        self.flow = 0
        self.interrupt_char = 3
        self.faults = None  # faults.Faults: damage what crosses the link
        self.connected = False
        self.repl = False  # the REPL serves the port: its waits for the host are in real time
        self.agent = None  # agent(port): an in-process host that acts whenever the board looks
        self.counts = collections.Counter()  # rx_dropped, tx_overwritten, print_waits, ...
        self._bus_us = self.clock.us() - BUS_BURST / BUS_BYTES_PER_US  # idle before: a full burst
        self._look_us = self.clock.us()  # when the board last looked at the port

    # --- state a reset leaves ---
    def power_on(self) -> None:
        """A hard reset: all of the CDC state starts from zero (it lives in .bss)."""
        self.rx = bytearray()
        self.tx = bytearray()
        self._wire = b""
        self.flow = 0
        self.repl = False
        self.boot()

    def boot(self) -> None:
        """A soft reset (and every boot): the REPL owns the port again -- interrupt character
        Ctrl-C, CTS cleared (usb_vcp_attach_to_repl); RTS and the rings stay."""
        self.interrupt_char = 3
        self.flow &= ~FLOW_CTS

    def _usb_setup(self) -> None:
        # usbd_cdc_init: a new USB connection empties the receive ring and clears CTS
        self.rx = bytearray()
        self._wire = b""
        self.flow &= ~FLOW_CTS

    def _line_state(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        self.counts["opens" if connected else "closes"] += 1
        if not connected:
            self._drop_host_input()  # the host's driver kills its pending writes on close
        if self.release >= (5, 0):  # omv_protocol_channel_stmusb.c:104-112
            self.rx = bytearray()
            self.flow &= ~FLOW_CTS

    # --- the bus ---
    def _credit(self) -> int:
        now = self.clock.us()
        floor = now - BUS_BURST / BUS_BYTES_PER_US
        if self._bus_us < floor:
            self._bus_us = floor
        return int((now - self._bus_us) * BUS_BYTES_PER_US)

    def _spend(self, n: int) -> None:
        self._bus_us += n / BUS_BYTES_PER_US

    def tx_used(self) -> int:
        return len(self.tx) + len(self._wire)

    def service(self, interruptible: bool = True) -> None:
        """What the USB interrupt does between two looks: packets to the host from the
        transmit ring, packets from the host into the receive ring."""
        if self.agent is not None:
            self.agent(self)
        self._line_state(self._host_connected())
        self._drain()
        self._fill(interruptible)

    def _drain(self) -> None:
        while self.connected:
            if not self._wire:
                n = min(PACKET, len(self.tx), self._credit())
                if n <= 0:
                    return
                packet = bytes(self.tx[:n])
                del self.tx[:n]
                self._spend(n)
                unplug = False
                if self.faults is not None:
                    packet, unplug = self.faults.outbound(packet)
                if unplug:
                    self._to_host(packet)  # what left before the cable went
                    self.unplug(self.faults.unplug_gap_s)
                    return
                self._wire = packet
                if not packet:
                    continue
            taken = self._to_host(self._wire)
            self._wire = self._wire[taken:]
            if self._wire:
                return  # the host is not taking more now

    def _rx_room(self) -> bool:
        if self.flow & FLOW_RTS:
            return RX_SIZE - len(self.rx) >= RTS_ROOM  # usbd_cdc_receive :436
        return True  # without flow control the host is never held back

    def _fill(self, interruptible: bool) -> None:
        # Without flow control the host sends at bus speed whether the ring has room or not:
        # all that could have crossed since the last look has arrived, and what did not fit
        # is gone. With RTS the host only sends into room the board made.
        now = self.clock.us()
        flood = 0 if self.flow & FLOW_RTS else int((now - self._look_us) * BUS_BYTES_PER_US)
        self._look_us = now
        while self.connected and self._rx_room():
            credit = self._credit()
            n = min(PACKET, max(credit, flood))
            if n <= 0:
                return
            data = self._from_host(n)
            if not data:
                return
            self._spend(min(len(data), credit))
            flood -= len(data)
            unplug = False
            if self.faults is not None:
                data, unplug = self.faults.inbound(data)
            self._store(data, interruptible)
            if unplug:
                self.unplug(self.faults.unplug_gap_s)
                return

    def _store(self, data: bytes, interruptible: bool) -> None:
        # usbd_cdc_receive :419-431: the interrupt character is not stored; a byte that does
        # not fit ends the packet
        ch = self.interrupt_char if interruptible else -1
        hit = False
        for i, b in enumerate(data):
            if b == ch:
                hit = True
                continue
            if len(self.rx) >= RX_SIZE - 1:
                self.counts["rx_dropped"] += len(data) - i
                break
            self.rx.append(b)
        if hit:
            raise VcpInterrupt()

    def _bus_can_move(self) -> bool:
        if not self.connected:
            return False
        if self.tx_used() and self._host_has_room():
            return True
        return self._rx_room() and self._host_has_input()

    def wait(self, limit_us: float, wall: bool = False) -> float:
        """The board waits for the USB interrupt (WFI in usbd_cdc_tx / _rx / _tx_always), at
        most limit_us of board time; returns the microseconds that passed.

        Virtual clock: when the bus can move bytes (the host wrote some, or made room) the
        wait lasts one packet; otherwise nothing will change in board time and the whole wait
        passes at once -- unless `wall` (the REPL, which serves a person or mpremote in real
        time): then it waits for the host in wall-clock time, and board time passes alike."""
        if limit_us <= 0:
            return 0
        if self.clock.mode == "virtual" and not wall:
            step = min(limit_us, PACKET_US) if self._bus_can_move() else limit_us
            self.clock.sleep_us(int(step) or 1)
            return step
        start = time.monotonic()
        if self._bus_can_move():
            time.sleep(min(limit_us, PACKET_US) / 1e6)
        else:
            self._host_wait(min(limit_us, REAL_STEP_US if not wall else limit_us) / 1e6)
        waited = (time.monotonic() - start) * 1e6
        if self.clock.mode == "virtual":
            self.clock.sleep_us(int(waited) or 1)
        return max(waited, 1)

    # --- what the board's code calls ---
    def receive(self, interruptible: bool = True) -> int:
        """Let the bus move bytes; raise VcpInterrupt on the interrupt character (what else
        arrived stays in rx, for the REPL). Returns len(rx)."""
        self.service(interruptible)
        return len(self.rx)

    def take(self, n: int | None = None) -> bytes:
        n = len(self.rx) if n is None else min(int(n), len(self.rx))
        out = bytes(self.rx[:n])
        del self.rx[:n]
        return out

    def wait_readable(self, timeout: float) -> None:
        """The REPL waits for a key: up to `timeout` wall-clock seconds (board time passes too)."""
        self.wait(timeout * 1e6, wall=True)

    def transmit(self, data: bytes, timeout_ms: int, interruptible: bool = True) -> int:
        """usbd_cdc_tx (send()): each byte waits up to timeout_ms for room; bytes sent."""
        view = memoryview(bytes(data))
        sent = 0
        waited = 0.0
        limit = max(0, int(timeout_ms)) * 1000
        while sent < len(view):
            self.service(interruptible)
            room = TX_SIZE - self.tx_used() if self.connected else 0
            if room > 0:
                n = min(room, len(view) - sent)
                self.tx += view[sent:sent + n]
                sent += n
                waited = 0.0
                continue
            if waited >= limit:
                break
            waited += self.wait(limit - waited)
        self.service(interruptible)  # usbd_cdc_try_tx
        return sent

    def console_write(self, data: bytes, interruptible: bool = True) -> int:
        """print() and write(): usbd_cdc_tx_flow. With CTS, what fits goes and the rest is
        lost; otherwise usbd_cdc_tx_always. While the REPL serves, the waits are in real
        time (see wait())."""
        wall = self.repl
        if self.flow & FLOW_CTS:
            return self.transmit(data, 0, interruptible)
        data = bytes(data)
        i = 0
        while i < len(data):
            self.service(interruptible)
            room = TX_SIZE - self.tx_used()
            if room > 0:
                self.tx += data[i:i + room]
                i += room
                continue
            if not self.connected:
                # nobody to wait for: the ring keeps the newest bytes (usbd_cdc_tx_buffer_put
                # with check_overflow drops the oldest byte not yet on the bus)
                self.tx += data[i:]
                excess = self.tx_used() - TX_SIZE
                del self.tx[:excess]
                self.counts["tx_overwritten"] += excess
                break
            # a host holds the port: wait up to 500 ms for it to take something
            self.counts["print_waits"] += 1
            waited = 0.0
            while waited < PRINT_WAIT_US and self.connected and TX_SIZE - self.tx_used() <= 0:
                waited += self.wait(PRINT_WAIT_US - waited, wall=wall)
                self.service(interruptible)
            self.counts["print_wait_us"] += int(waited)
            if TX_SIZE - self.tx_used() > 0 or not self.connected:
                continue
            if self.tx:
                del self.tx[0]
                self.counts["tx_overwritten"] += 1
            self.tx.append(data[i])
            i += 1
        self.service(interruptible)
        return len(data)

    # --- the host side (subclasses) ---
    def _host_connected(self) -> bool:
        raise NotImplementedError

    def _from_host(self, n: int) -> bytes:
        raise NotImplementedError

    def _to_host(self, data: bytes) -> int:
        raise NotImplementedError

    def _host_has_input(self) -> bool:
        raise NotImplementedError

    def _host_has_room(self) -> bool:
        raise NotImplementedError

    def _host_wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def _drop_host_input(self) -> None:
        pass

    def unplug(self, gap_s: float = 0.5) -> None:
        pass

    def close(self) -> None:
        pass


class MemoryPort(_Port):
    """The port in memory. host_write() is what the host program sent (held back here while
    the board's RTS says wait), host_read() what reached it. host_buffer: how many unread
    bytes the host side holds before it stops taking more (None: it always reads)."""

    def __init__(self, clock: Clock | None = None, firmware: str | None = None, *, host_buffer: int | None = None,
                 host_open: bool = True):
        super().__init__(clock, firmware)
        self._incoming = bytearray()
        self.outgoing = bytearray()
        self.host_buffer = host_buffer
        self._lock = threading.Lock()
        self._open = host_open
        self.path = None

    # host side
    def host_write(self, data: bytes) -> None:
        with self._lock:
            self._incoming += data

    def host_read(self) -> bytes:
        with self._lock:
            data, self.outgoing = bytes(self.outgoing), bytearray()
        return data

    def host_open(self) -> None:
        self._open = True

    def host_close(self) -> None:
        self._open = False

    def host_pending(self) -> int:
        """Bytes the host wrote that the board has not taken yet."""
        with self._lock:
            return len(self._incoming)

    # the board's view of it
    def _host_connected(self) -> bool:
        return self._open

    def _from_host(self, n: int) -> bytes:
        with self._lock:
            data = bytes(self._incoming[:n])
            del self._incoming[:n]
        return data

    def _to_host(self, data: bytes) -> int:
        with self._lock:
            room = len(data) if self.host_buffer is None else max(0, self.host_buffer - len(self.outgoing))
            n = min(room, len(data))
            self.outgoing += data[:n]
        return n

    def _host_has_input(self) -> bool:
        return bool(self._incoming)

    def _host_has_room(self) -> bool:
        return self.host_buffer is None or len(self.outgoing) < self.host_buffer

    def _host_wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def _drop_host_input(self) -> None:
        with self._lock:
            self._incoming = bytearray()


class PtyPort(_Port):
    def __init__(self, link=None, clock: Clock | None = None, firmware: str | None = None):
        super().__init__(clock, firmware)
        self.link = str(link) if link else None
        self._lock = threading.RLock()
        self.master = None
        self.pts = None
        self.unplugs = 0
        self._back_at = None  # while unplugged: when the port reappears (time.monotonic)
        self._poll = None
        self._open()

    @property
    def path(self) -> str:
        return self.link or self.pts

    def _open(self):
        master, slave = os.openpty()
        # Raw before anyone writes: no echo, no newline translation, no line buffering.
        tty.setraw(slave)
        self.pts = os.ttyname(slave)
        # The board keeps only the master: with no one else holding the terminal, poll()
        # says POLLHUP, which is how "no host has the port open" shows.
        os.close(slave)
        flags = fcntl.fcntl(master, fcntl.F_GETFL)
        fcntl.fcntl(master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.master = master
        self._poll = select.poll()
        self._poll.register(master, select.POLLIN | select.POLLOUT)
        if self.link:
            tmp = f"{self.link}.{os.getpid()}.tmp"
            if os.path.lexists(tmp):
                os.remove(tmp)
            os.symlink(self.pts, tmp)
            os.replace(tmp, self.link)

    def _close_fd(self):
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass
        self.master = None
        self._poll = None

    def unplug(self, gap_s: float = 0.5) -> None:
        """The USB connection drops (cable pulled, board reset): the host's open port fails;
        a new one appears at the same link path after gap_s."""
        if not self.link:
            raise RuntimeError("unplug() needs a PtyPort made with link=PATH (the stable port name)")
        with self._lock:
            self._close_fd()
            try:
                os.remove(self.link)
            except OSError:
                pass
            self.connected = False
            self._usb_setup()  # the board enumerates again when it comes back
            self.unplugs += 1
            self._back_at = time.monotonic() + gap_s

    def _plugged(self) -> bool:
        if self._back_at is None:
            return self.master is not None
        if time.monotonic() < self._back_at:
            return False
        self._back_at = None
        self._open()
        return True

    def _events(self) -> int:
        try:
            return self._poll.poll(0)[0][1] if self._poll is not None else 0
        except (IndexError, OSError, ValueError):
            return 0

    def _host_connected(self) -> bool:
        with self._lock:
            if not self._plugged():
                return False
            ev = self._events()
        return not ev & select.POLLHUP

    def _from_host(self, n: int) -> bytes:
        with self._lock:
            if self.master is None:
                return b""
            try:
                return os.read(self.master, n)
            except (BlockingIOError, InterruptedError):
                return b""
            except OSError as e:  # EIO: nobody on the other side right now
                if e.errno == errno.EIO:
                    return b""
                raise

    def _to_host(self, data: bytes) -> int:
        with self._lock:
            if self.master is None or not data:
                return 0
            try:
                return os.write(self.master, data)
            except (BlockingIOError, InterruptedError):
                return 0
            except OSError:
                return 0

    def _host_has_input(self) -> bool:
        with self._lock:
            return bool(self._events() & select.POLLIN)

    def _host_has_room(self) -> bool:
        with self._lock:
            return bool(self._events() & select.POLLOUT)

    def _host_wait(self, seconds: float) -> None:
        master = self.master
        if master is None or self._back_at is not None:
            time.sleep(seconds)
            return
        try:
            writers = [master] if self.tx_used() else []
            select.select([master], writers, [], seconds)
        except (OSError, ValueError):
            time.sleep(seconds)

    def _drop_host_input(self) -> None:
        while self._from_host(65536):
            pass

    def close(self):
        with self._lock:
            self._close_fd()
            if self.link:
                try:
                    if os.path.islink(self.link):
                        os.remove(self.link)
                except OSError:
                    pass


def _buffer(data) -> bytes:
    # pyb_buf_get_for_send: an int is one byte, anything else a buffer
    if isinstance(data, int):
        return bytes([data & 0xFF])
    if isinstance(data, str):
        return data.encode()
    return bytes(data)


class USB_VCP:  # noqa: N801 - pyb's name
    """pyb.USB_VCP(): every instance talks to the board's one port (usb.c:620-944)."""

    RTS = FLOW_RTS
    CTS = FLOW_CTS
    IRQ_RX = IRQ_RX

    def __init__(self, port, id=0):  # noqa: A002 - pyb's signature
        if id != 0:
            raise ValueError()
        self._port = port

    def init(self, *, flow=-1):
        if flow != -1:
            self._port.flow = int(flow)

    def setinterrupt(self, chr):  # noqa: A002
        self._port.interrupt_char = chr

    def isconnected(self) -> bool:
        self._port.service()
        return self._port.connected

    def any(self) -> bool:
        return self._port.receive() > 0

    def _read_now(self, n: int) -> bytes:
        # usbd_cdc_rx with timeout 0 under mp_stream_rw: what is in the ring, up to n (the C
        # loop empties the ring far faster than the bus fills it, so it ends with the ring)
        port = self._port
        port.receive()
        return port.take(n)

    def read(self, nbytes=None):
        if nbytes is None or nbytes == -1:
            nbytes = 1 << 30  # stream_readall: until nothing more is there
        data = self._read_now(int(nbytes))
        if not data and int(nbytes) > 0:
            return None  # EAGAIN: "no bytes are available"
        return data

    def readinto(self, buf, nbytes=None):
        n = len(buf) if nbytes is None else min(int(nbytes), len(buf))
        data = self._read_now(n)
        if not data and n > 0:
            return None
        buf[: len(data)] = data
        return len(data)

    def readline(self):
        port = self._port
        out = bytearray()
        while True:
            port.receive()
            if not port.rx:
                return bytes(out) if out else None
            c = port.take(1)
            out += c
            if c == b"\n":
                return bytes(out)

    def recv(self, data, timeout=5000):
        want = data if isinstance(data, int) else len(data)
        port = self._port
        got = bytearray()
        waited = 0.0
        limit = max(0, int(timeout)) * 1000
        while len(got) < want:
            port.receive()
            if port.rx:
                got += port.take(want - len(got))
                waited = 0.0
                continue
            if waited >= limit:
                break
            waited += port.wait(limit - waited)
        if isinstance(data, int):
            return bytes(got)
        data[: len(got)] = got
        return len(got)

    def send(self, data, *, timeout=5000):
        return self._port.transmit(_buffer(data), timeout)

    def write(self, data):
        data = _buffer(data)
        n = self._port.console_write(data)
        return n if n or not data else None  # EAGAIN (CTS and no room): None

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass
