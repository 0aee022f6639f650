"""The serial link to the camera: one module under every board command (deploy, capture,
pull, bench). Framing comes from the firmware's own frame.py; this adds what the PC side of a
USB cable needs:

- opening the port right: 115200 baud (921600 and 12000000 hand the port to the OpenMV IDE's
  debug protocol), exclusive, with a clear message for every way it fails: no such port,
  port busy (and who holds it: the OpenMV IDE, mpremote, a terminal), board not answering
  (and what it shows instead: the MicroPython REPL, text), protocol version mismatch;
- request/response with sequence numbers: every request is sent again (new seq) when its
  reply is damaged (CRC), the board says the request arrived damaged ("bad_crc",
  "incomplete", "oversize") or nothing comes back in time; retries go on while the overall
  deadline allows, so a noisy link is slow, not broken;
- adaptive sizes: the per-try timeout follows the measured round trip, and the data chunk
  sizes (`chunk_in` for GET/CAPTURE replies, `chunk_out` for PUT/INFER requests) halve when
  frames arrive damaged and grow back when they do not -- on a link that damages 1 % of the
  bytes only short frames get through;
- reconnect and resume: when the port goes away (a reset, a pulled cable) the link waits for
  it to come back under the same name, says HELLO again (noting whether the board rebooted),
  and sends the request again. Every board command is safe to repeat, so callers resume by
  simply carrying on.

    with Link("/dev/ttyACM0") as link:
        hello = link.connect()                    # HELLO, protocol version checked
        info = link.call(frame.STAT, {"p": "config.json", "hash": True})
"""
from __future__ import annotations

import collections
import json
import os
import random
import time

import serial

from maskgate.errors import BoardError

from maskgate.firmware import module

frame = module("frame")

BAUD = 115200
IDE_BAUDS = (921600, 12000000)
# Errors meaning "your request arrived damaged": send it again.
RESEND_ERRORS = ("bad_crc", "incomplete", "oversize")
MIN_CHUNK = 48
REPLY_SLACK = 4096  # room for a JSON head beside a data chunk, or a long control reply


class RemoteError(BoardError):
    """The board refused a request (an ERROR reply other than a damaged frame)."""

    def __init__(self, error: dict, mtype: int):
        self.code = error.get("code")
        self.error = error.get("error")
        self.detail = error.get("detail", "")
        name = frame.NAMES.get(mtype, f"0x{mtype:02x}")
        super().__init__(f"the board refused {name}: {self.error}: {self.detail}")


class NotFound(RemoteError):
    pass


def _holders(path: str) -> list[str]:
    """Command lines of the processes that have `path` open (Linux /proc; best effort)."""
    try:
        target = os.path.realpath(path)
    except OSError:
        return []
    found = []
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(f"{fd_dir}/{fd}") == target:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            found.append(f.read().replace(b"\0", b" ").decode(errors="replace").strip())
                        break
                except OSError:
                    continue
        except OSError:
            continue
    return found


def _candidate_ports() -> list[str]:
    try:
        from serial.tools import list_ports

        return [p.device for p in list_ports.comports() if "ACM" in p.device or "usbmodem" in p.device
                or (p.vid, p.pid) in ((0x37C5, 0x1204), (0x1209, 0xABD1))]
    except Exception:
        return []


def find_port(port: str | None = None) -> str:
    """The port to use: the one given, else $MASKGATE_PORT, else the only camera-like port."""
    if port:
        return str(port)
    if os.environ.get("MASKGATE_PORT"):
        return os.environ["MASKGATE_PORT"]
    found = _candidate_ports()
    if len(found) == 1:
        return found[0]
    if not found:
        raise BoardError("no --port given and no camera port found: plug the camera in, or pass --port "
                         "(/dev/ttyACM0 on Linux, /dev/cu.usbmodem* on macOS, COMn on Windows)")
    raise BoardError(f"no --port given and several ports look like a camera: {', '.join(found)}: pass --port")


def open_error(port: str, err: Exception) -> BoardError:
    """A BoardError that says what to do about a port that would not open."""
    text = str(err)
    code = getattr(err, "errno", None)
    if code == 2 or "No such file" in text or not os.path.exists(port):
        seen = _candidate_ports()
        hint = f" (ports that look like a camera: {', '.join(seen)})" if seen else \
            " (no camera port found: is it plugged in? on Linux it is /dev/ttyACM0, on macOS /dev/cu.usbmodem*)"
        return BoardError(f"no such port {port}{hint}")
    if code in (11, 16) or "lock" in text.lower() or "busy" in text.lower():
        holders = _holders(port)
        ide = [h for h in holders if "openmv" in h.lower()]
        if ide:
            return BoardError(f"the OpenMV IDE holds {port}: disconnect the camera in the IDE (or close the "
                              f"IDE) and try again; the IDE's debug protocol and the maskgate tools cannot share the port")
        who = f" by: {'; '.join(holders)}" if holders else " (by another program: the OpenMV IDE, mpremote, screen, minicom?)"
        return BoardError(f"port {port} is busy{who}: close it and try again")
    if code == 13 or "Permission denied" in text:
        return BoardError(f"no permission to open {port}: add yourself to the 'dialout' group (Linux) and log in again")
    return BoardError(f"cannot open {port}: {text}")


class Link:
    def __init__(self, port: str, *, baud: int = BAUD, timeout: float = 3.0, deadline: float = 30.0,
                 reconnect_s: float = 20.0, connect_s: float = 8.0, check_version: bool = True):
        if baud in IDE_BAUDS:
            raise BoardError(f"{baud} baud is how the OpenMV IDE takes the camera's port for its debug protocol "
                             f"(the running script would stop answering): use {BAUD}")
        self.port_name = str(port)
        self.baud = baud
        self.timeout = timeout  # the longest one try waits
        self.deadline = deadline  # the longest one request keeps trying
        self.reconnect_s = reconnect_s  # how long a port that went away may take to come back
        self.connect_s = connect_s  # how long the first HELLO may take (a board still booting)
        self.check_version = check_version
        self.serial = None
        self.parser = frame.Parser(frame.MAX_CHUNK + REPLY_SLACK)
        self.seq = random.randrange(256)
        self.hello: dict | None = None
        self.boot = None
        self.reboots = 0  # times the board was seen to restart (a new boot id after a reconnect)
        self.chunk_in = frame.MAX_CHUNK
        self.chunk_out = frame.MAX_PAYLOAD
        self._srtt = None
        self._rttvar = 0.0
        self.recent = collections.deque(maxlen=4096)  # raw bytes seen lately (text between frames)
        self._reset_sent = False  # closed by a RESET whose port went away: the next request reconnects
        self.stats = collections.Counter()

    # --- the port ---
    def open(self) -> "Link":
        if self.serial is not None:
            return self
        try:
            self.serial = serial.Serial(self.port_name, self.baud, timeout=0.02, write_timeout=5, exclusive=True)
        except (serial.SerialException, OSError) as e:
            raise open_error(self.port_name, e) from None
        self.parser.reset()
        return self

    def close(self) -> None:
        if self.serial is not None:
            try:
                self.serial.close()
            except Exception:
                pass
            self.serial = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def _reconnect(self, why: str) -> None:
        """The port went away: wait for it to come back, say HELLO, carry on."""
        self.close()
        self._reset_sent = False
        self.stats["reconnects"] += 1
        end = time.monotonic() + self.reconnect_s
        last = None
        while time.monotonic() < end:
            time.sleep(0.2)
            if not os.path.exists(self.port_name):
                continue
            try:
                self.open()
                break
            except BoardError as e:
                last = e
        else:
            raise BoardError(f"lost the board on {self.port_name} ({why}) and it did not come back within "
                             f"{self.reconnect_s:.0f} s{': ' + str(last) if last else ''}")
        self._hello(timeout_total=max(5.0, end - time.monotonic()), short=True)

    # --- frames ---
    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFF
        return self.seq

    def _try_timeout(self) -> float:
        if self._srtt is None:
            return min(self.timeout, 0.5)  # a booting board answers late: HELLO is simply sent again
        # the board answers between frames: never give up on a reply sooner than a frame or so
        fps = (self.hello or {}).get("fps") or 0
        floor = max(0.08, 1.5 / fps) if fps > 0 else 0.08
        return min(self.timeout, max(floor, 2 * self._srtt + 4 * self._rttvar + 0.03))

    def _note_rtt(self, rtt: float) -> None:
        if self._srtt is None:
            self._srtt, self._rttvar = rtt, rtt / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - rtt)
            self._srtt = 0.875 * self._srtt + 0.125 * rtt

    def _damaged(self, inbound: bool) -> None:
        if inbound:
            self.chunk_in = max(MIN_CHUNK, self.chunk_in // 2)
        else:
            self.chunk_out = max(MIN_CHUNK, self.chunk_out // 2)

    def _clean(self) -> None:
        self.chunk_in = min(frame.MAX_CHUNK, int(self.chunk_in * 1.25) + 1)
        self.chunk_out = min(frame.MAX_PAYLOAD, int(self.chunk_out * 1.25) + 1)

    def _attempt(self, mtype: int, payload: bytes, wait: float):
        """Send once; ("ok", payload) | ("error", dict) | ("damaged", inbound) | ("timeout", None)."""
        seq = self._next_seq()
        data = frame.encode(mtype, seq, payload)
        self.serial.write(data)
        self.stats["bytes_out"] += len(data)
        sent = time.monotonic()
        end = sent + wait
        while True:
            event = self.parser.next()
            if event is None:
                now = time.monotonic()
                if now >= end:
                    while self.parser.abandon() is not None:  # a reply cut short: rescan later bytes
                        pass
                    return "timeout", None
                want = max(1, min(self.serial.in_waiting, self.parser.space()))
                chunk = self.serial.read(want)
                if chunk:
                    self.stats["bytes_in"] += len(chunk)
                    self.recent.extend(chunk)
                    self.parser.feed(chunk)
                continue
            result = self._judge(event, mtype, seq, sent)
            if result is not None:
                return result

    def _judge(self, event, mtype, seq, sent):
        if event[0] == frame.BAD:
            # A damaged frame while one request is out is almost surely its reply (its seq
            # may be the damaged byte): try again now rather than wait for the timeout.
            self.stats["damaged_replies"] += 1
            return "damaged", True
        _, rtype, rseq, payload = event
        if rseq != seq:
            if rtype == frame.ERROR and self._resend_error(payload):
                return "error", json.loads(payload)  # our request, its seq damaged on the way
            return None  # a late reply to an earlier try
        if rtype == mtype | frame.REPLY:
            if self.boot is not None:  # the first HELLO may wait for a booting board: not a round trip
                self._note_rtt(min(1.0, time.monotonic() - sent))
            return "ok", payload
        if rtype == frame.ERROR:
            try:
                err = json.loads(payload)
            except ValueError:
                return "damaged", True
            if err.get("type") not in (mtype, None) and err.get("error") not in RESEND_ERRORS:
                return None
            return "error", err
        return None

    @staticmethod
    def _resend_error(payload: bytes) -> bool:
        try:
            return json.loads(payload).get("error") in RESEND_ERRORS
        except (ValueError, AttributeError):
            return False

    def request(self, mtype: int, payload=b"", *, deadline: float | None = None) -> bytes:
        """Send a request until its reply comes; the reply payload. Raises RemoteError when
        the board refuses it, BoardError when it cannot be had within the deadline.

        `payload` may be a function giving the payload: it is asked again for every try,
        so a data request can shrink to the chunk size the link has fallen back to."""
        if self.serial is None:
            if self._reset_sent:  # the port went away with a RESET: wait for it, HELLO, go on
                self._reconnect("the board was reset")
            else:
                self.open()
        limit = time.monotonic() + (self.deadline if deadline is None else deadline)
        tries = 0
        last = "no reply"
        while True:
            tries += 1
            self.stats["requests" if tries == 1 else "retries"] += 1
            try:
                data = payload() if callable(payload) else payload
                outcome, value = self._attempt(mtype, data, self._try_timeout())
            except (serial.SerialException, OSError) as e:
                if mtype == frame.RESET:
                    self.close()
                    self._reset_sent = True
                    return b'{"resetting": true}'  # it went away resetting: that was the point
                self._reconnect(str(e) or type(e).__name__)
                limit = max(limit, time.monotonic() + 5.0)
                continue
            if outcome == "ok":
                if tries == 1:
                    self._clean()
                return value
            if outcome == "error":
                if value.get("error") in RESEND_ERRORS:
                    self.stats["damaged_requests"] += 1
                    self._damaged(inbound=False)
                    last = f"the board kept receiving damaged frames ({value.get('error')})"
                elif value.get("error") == "not_found":
                    raise NotFound(value, mtype)
                else:
                    raise RemoteError(value, mtype)
            elif outcome == "damaged":
                self._damaged(inbound=True)
                last = "replies kept arriving damaged (CRC)"
            else:
                self.stats["timeouts"] += 1
                self._damaged(inbound=True)
                self._damaged(inbound=False)
                last = "no reply"
            if time.monotonic() >= limit:
                name = frame.NAMES.get(mtype, f"0x{mtype:02x}")
                raise BoardError(f"the board on {self.port_name} is not answering {name} ({last} after {tries} tries"
                                 f"{self._shows()})")

    def call(self, mtype: int, obj: dict | None = None, **kw) -> dict:
        """A JSON request and its JSON reply."""
        payload = self.request(mtype, json.dumps(obj).encode() if obj is not None else b"", **kw)
        return json.loads(payload) if payload else {}

    def call_data(self, mtype: int, head: dict, data: bytes = b"", **kw) -> tuple[dict, bytes]:
        """A request of a JSON head and data (frame.with_data); the reply split the same way."""
        payload = self.request(mtype, frame.with_data(head, data), **kw)
        head, data = frame.split_data(payload)
        return head or {}, data

    # --- HELLO ---
    def _shows(self) -> str:
        text = bytes(self.recent).decode("ascii", "replace")
        if "raw REPL" in text or ">>> " in text:
            return "; it shows the MicroPython REPL: main.py is not running -- deploy the firmware "\
                   "(maskgate deploy --via mpremote) or reset the board"
        lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n") if ln.strip().isprintable() and len(ln.strip()) > 3]
        return f"; it printed: {lines[-1][:120]!r}" if lines else ""

    def _hello(self, timeout_total: float | None = None, short: bool = False) -> dict:
        payload = json.dumps({"min": True} if short else {"brief": True}).encode()
        deadline = self.connect_s if timeout_total is None else timeout_total
        try:
            raw = self.request(frame.HELLO, payload, deadline=deadline)
        except BoardError as e:
            raise BoardError(f"the board on {self.port_name} does not answer the maskgate protocol: "
                             f"is the maskgate firmware running?{self._shows() or ' (no output seen)'}") from e
        hello = json.loads(raw)
        if self.boot is not None and hello.get("boot") != self.boot:
            self.reboots += 1
        self.boot = hello.get("boot")
        if not short:
            self.hello = hello
        return hello

    def reconnect(self, why: str = "the board was reset") -> dict:
        """Close the port, wait for it to come back (after a reset), HELLO again."""
        self._reconnect(why)
        return self.connect()

    def connect(self, deadline: float | None = None) -> dict:
        """Open the port, say HELLO; checks the protocol version. Returns the HELLO reply."""
        self.open()
        hello = self._hello(deadline)
        if self.check_version:
            check_protocol(hello, self.port_name)
        return hello


def check_protocol(hello: dict, port: str = "the board") -> None:
    proto = hello.get("proto", 0)
    if proto != frame.PROTOCOL:
        raise BoardError(f"protocol version mismatch: the board on {port} runs maskgate firmware "
                         f"{hello.get('fw') or '?'} (protocol {proto}), these tools speak protocol {frame.PROTOCOL}: "
                         f"update the firmware with `maskgate deploy --port {port} --via mpremote` "
                         f"(or --to-drive on the camera's USB drive)")
