# Serial protocol framing, shared byte for byte by the camera and the PC tools.
#
# The PC side imports this very file (maskgate.firmware.module("frame")), so the format
# is written once. MicroPython and CPython alike: no CPython-only syntax or modules.
#
# A frame on the wire (little-endian):
#
#   offset  size  field
#   0       2     magic 0xA5 0x4D   (0xA5 is not ASCII, so print() text never starts a frame)
#   2       1     type              (requests below; a reply is the request type | REPLY)
#   3       1     seq               (chosen by the host, echoed in the reply)
#   4       2     payload length    (0 .. the receiver's max_payload)
#   6       n     payload           (JSON for control messages; JSON, NUL, raw bytes where data
#                                    travels with it: with_data() / split_data())
#   6+n     4     CRC-32 of bytes 2 .. 6+n (type, seq, length, payload): binascii.crc32
#
# One request gets exactly one reply: the same seq, type | REPLY on success or ERROR with a
# JSON payload {"code": int, "error": name, "detail": str, "type": request type}.
# Large data moves in chunks the host asks for (offset, length), so neither side needs big
# buffers or multi-frame replies.

import json
import struct

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

try:
    from binascii import crc32
except ImportError:  # ports built without MICROPY_PY_BINASCII_CRC32
    crc32 = None

MAGIC = b"\xa5\x4d"
HEADER_SIZE = const(6)
CRC_SIZE = const(4)
OVERHEAD = const(10)
# The camera's receive buffer: host -> board payloads are at most this long (chunk size for PUT).
MAX_PAYLOAD = const(4096)
# Largest payload the 2-byte length field can carry (board -> host data chunks).
LIMIT_PAYLOAD = const(65535)
# Most data bytes one board -> host reply carries (GET, CAPTURE): replies are built whole in
# the camera's heap, so they stay small; the PC asks for the next chunk by offset.
MAX_CHUNK = const(4096)
# Protocol version, in HELLO as "proto". Bump it when a message changes meaning; the PC tools
# refuse to talk to a board whose version differs (firmware 0.1.0 had none: version 0).
PROTOCOL = const(1)

# Message types (host -> board requests). Reserved ones are answered with ERROR
# "unknown_type" until a handler is registered for them (see commands.py).
HELLO = const(0x01)
CAPTURE = const(0x02)
INFER = const(0x03)
BENCH = const(0x04)
LIST = const(0x10)
GET = const(0x11)
PUT = const(0x12)
DELETE = const(0x13)
RENAME = const(0x14)
STAT = const(0x15)
SET_CONFIG = const(0x20)
RESET = const(0x21)
REPL = const(0x22)
ERROR = const(0x7F)
REPLY = const(0x80)

NAMES = {
    HELLO: "HELLO", CAPTURE: "CAPTURE", INFER: "INFER", BENCH: "BENCH",
    LIST: "LIST", GET: "GET", PUT: "PUT", DELETE: "DELETE", RENAME: "RENAME", STAT: "STAT",
    SET_CONFIG: "SET_CONFIG", RESET: "RESET", REPL: "REPL", ERROR: "ERROR",
}

# Error codes carried in an ERROR payload.
E_BAD_CRC = const(1)
E_UNKNOWN_TYPE = const(2)
E_OVERSIZE = const(3)
E_BAD_PAYLOAD = const(4)
E_FAILED = const(5)
E_NOT_READY = const(6)
E_INCOMPLETE = const(7)
E_NOT_FOUND = const(8)
ERROR_NAMES = {
    E_BAD_CRC: "bad_crc", E_UNKNOWN_TYPE: "unknown_type", E_OVERSIZE: "oversize",
    E_BAD_PAYLOAD: "bad_payload", E_FAILED: "failed", E_NOT_READY: "not_ready",
    E_INCOMPLETE: "incomplete", E_NOT_FOUND: "not_found",
}

# Parser events: (FRAME, type, seq, payload) or (BAD, error code, type, seq).
FRAME = const(0)
BAD = const(1)


def _crc32_soft(data, crc=0):
    # Bitwise CRC-32 (IEEE 802.3), same values as binascii.crc32; only used where the
    # port lacks it, and frames are small.
    crc = ~crc & 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return ~crc & 0xFFFFFFFF


if crc32 is None:
    crc32 = _crc32_soft


def checksum(header_tail, payload):
    """CRC-32 of type, seq, length (header_tail) and payload."""
    return crc32(payload, crc32(header_tail)) & 0xFFFFFFFF


def encode(mtype, seq, payload=b""):
    """One frame as bytes."""
    n = len(payload)
    if n > LIMIT_PAYLOAD:
        raise ValueError("payload too long")
    head = struct.pack("<BBH", mtype & 0xFF, seq & 0xFF, n)
    return MAGIC + head + bytes(payload) + struct.pack("<I", checksum(head, payload))


def with_data(head, data):
    """A payload made of a JSON head and raw bytes (PUT, INFER, CAPTURE replies): the JSON
    text, one NUL byte (never part of JSON text), then the data."""
    return json.dumps(head).encode() + b"\x00" + bytes(data)


def split_data(payload):
    """(head, data) of a with_data() payload; a plain JSON payload gives (head, b"")."""
    i = payload.find(b"\x00")
    text = payload if i < 0 else payload[:i]
    try:
        head = json.loads(bytes(text).decode())
    except Exception:
        head = None
    return head, (b"" if i < 0 else bytes(payload[i + 1:]))


class Parser:
    """Streaming decoder: feed() whatever bytes arrived, then call next() until it returns
    None. Bytes before a magic (print() text, line noise) are skipped; after a bad CRC it
    rescans from the byte after the rejected magic, so one damaged frame costs one frame.
    The buffer is allocated once and holds one maximal frame."""

    def __init__(self, max_payload=MAX_PAYLOAD):
        self.max_payload = max_payload
        self.buf = bytearray(max_payload + OVERHEAD)
        self.start = 0  # first unread byte
        self.end = 0  # one past the last byte held
        self.skipped = 0  # bytes thrown away while hunting for a magic

    def space(self):
        """How many bytes feed() can take now."""
        return len(self.buf) - (self.end - self.start)

    def feed(self, data):
        """Append bytes; returns how many were taken (fewer than len(data) when full:
        call next() and feed the rest)."""
        n = min(len(data), self.space())
        if n == 0:
            return 0
        if self.end + n > len(self.buf):
            held = self.end - self.start
            self.buf[0:held] = self.buf[self.start:self.end]
            self.start, self.end = 0, held
        self.buf[self.end:self.end + n] = data[:n] if n < len(data) else data
        self.end += n
        return n

    def _drop(self, n):
        self.start += n
        if self.start >= self.end:
            self.start = self.end = 0

    def _hunt(self):
        # Move start to the next magic; True when one is at start.
        buf = self.buf
        i = self.start
        last = self.end - 1
        m0, m1 = MAGIC[0], MAGIC[1]
        while i < last:
            if buf[i] == m0 and buf[i + 1] == m1:
                break
            i += 1
        else:
            # Keep a trailing first magic byte: its partner may come with the next feed.
            if i == last and buf[last] == m0:
                self.skipped += last - self.start
                self._drop(last - self.start)
                return False
            self.skipped += self.end - self.start
            self.start = self.end = 0
            return False
        self.skipped += i - self.start
        self._drop(i - self.start)
        return True

    def next(self):
        """The next event, or None when more bytes are needed."""
        if self.end - self.start < 2 or not self._hunt():
            return None
        s = self.start
        if self.end - s < HEADER_SIZE:
            return None
        buf = self.buf
        mtype = buf[s + 2]
        seq = buf[s + 3]
        n = buf[s + 4] | (buf[s + 5] << 8)
        if n > self.max_payload:
            self._drop(2)  # rescan: the "length" may be text that happened to follow a magic
            return (BAD, E_OVERSIZE, mtype, seq)
        total = HEADER_SIZE + n + CRC_SIZE
        if self.end - s < total:
            return None
        mv = memoryview(buf)
        body = s + HEADER_SIZE
        got = buf[body + n] | (buf[body + n + 1] << 8) | (buf[body + n + 2] << 16) | (buf[body + n + 3] << 24)
        if checksum(mv[s + 2:body], mv[body:body + n]) != got:
            self._drop(2)
            return (BAD, E_BAD_CRC, mtype, seq)
        payload = bytes(mv[body:body + n])
        self._drop(total)
        return (FRAME, mtype, seq, payload)

    def pending(self):
        """Bytes held that do not yet make a frame."""
        return self.end - self.start

    def abandon(self):
        """Give up on a frame that stopped arriving (a truncated frame, or a length field
        damaged upwards): drop its magic and rescan. Returns a BAD event or None."""
        if self.end - self.start < 2 or not self._hunt():
            return None
        s = self.start
        mtype = self.buf[s + 2] if self.end - s > 2 else 0
        seq = self.buf[s + 3] if self.end - s > 3 else 0
        self._drop(2)
        return (BAD, E_INCOMPLETE, mtype, seq)

    def reset(self):
        self.start = self.end = 0
