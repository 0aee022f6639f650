"""The serial framing (firmware/frame.py, the very file the PC tools import): round trips,
resync after garbage and print() text, bad CRC, oversize and truncated frames."""
import binascii
import random
import struct

import pytest

from maskgate.firmware import module

frame = module("frame")


def events(parser, data, chunk=None):
    out = []
    chunks = [data] if chunk is None else [data[i:i + chunk] for i in range(0, len(data), chunk)]
    for piece in chunks:
        while piece:
            taken = parser.feed(piece)
            piece = piece[taken:]
            while True:
                ev = parser.next()
                if ev is None:
                    break
                out.append(ev)
    return out


def test_wire_format():
    data = frame.encode(frame.HELLO, 7, b"hi")
    assert data[:2] == b"\xa5\x4d"
    assert struct.unpack("<BBH", data[2:6]) == (frame.HELLO, 7, 2)
    assert data[6:8] == b"hi"
    assert struct.unpack("<I", data[8:]) == (binascii.crc32(data[2:8]),)
    assert len(data) == frame.OVERHEAD + 2


@pytest.mark.parametrize("chunk", [None, 1, 3, 64])
def test_round_trip_in_any_chunking(chunk):
    payloads = [b"", b"x", bytes(range(256)) * 4, b"\x03\xa5\x4d" * 50, bytes(frame.MAX_PAYLOAD)]
    stream = b"".join(frame.encode(0x10 + i, i, p) for i, p in enumerate(payloads))
    got = events(frame.Parser(), stream, chunk)
    assert got == [(frame.FRAME, 0x10 + i, i, p) for i, p in enumerate(payloads)]


def test_text_and_garbage_between_frames_are_skipped():
    stream = (b"maskgate 0.1.0 api ml heap free 171672\r\n" + frame.encode(frame.HELLO, 1, b"a")
              + b"fps 14.2 door closed no_face\r\n\x00\xff\xa5" + frame.encode(frame.HELLO, 2, b"b") + b"\xa5")
    parser = frame.Parser()
    got = events(parser, stream, 5)
    assert got == [(frame.FRAME, frame.HELLO, 1, b"a"), (frame.FRAME, frame.HELLO, 2, b"b")]
    assert parser.skipped > 60


def test_bad_crc_is_reported_and_the_next_frame_still_parses():
    bad = bytearray(frame.encode(frame.HELLO, 5, b"payload"))
    bad[8] ^= 0x01
    got = events(frame.Parser(), bytes(bad) + frame.encode(frame.HELLO, 6, b"ok"))
    assert got == [(frame.BAD, frame.E_BAD_CRC, frame.HELLO, 5), (frame.FRAME, frame.HELLO, 6, b"ok")]


def test_oversize_is_refused_without_waiting_for_it():
    big = frame.encode(frame.PUT, 9, bytes(100))
    parser = frame.Parser(max_payload=64)
    got = events(parser, big[:12])  # only the start has arrived
    assert got == [(frame.BAD, frame.E_OVERSIZE, frame.PUT, 9)]


def test_truncated_frame_is_abandoned_and_what_follows_parses():
    parser = frame.Parser()
    assert events(parser, frame.encode(frame.HELLO, 1, b"abcdef")[:9]) == []
    assert parser.pending() == 9
    assert parser.abandon() == (frame.BAD, frame.E_INCOMPLETE, frame.HELLO, 1)
    assert events(parser, frame.encode(frame.HELLO, 2)) == [(frame.FRAME, frame.HELLO, 2, b"")]


def test_random_noise_never_raises_and_real_frames_survive():
    rng = random.Random(0)
    parser = frame.Parser(max_payload=256)
    found = []
    for i in range(200):
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        found += events(parser, noise + frame.encode(frame.INFER, i & 0xFF, b"z" * (i % 50)), 7)
    good = [e for e in found if e[0] == frame.FRAME]
    assert len(good) >= 190  # noise can swallow a frame now and then (a fake header), never more


def test_software_crc_matches_binascii():
    for data in (b"", b"a", bytes(range(256)), b"123456789"):
        assert frame._crc32_soft(data) == binascii.crc32(data)
    assert frame._crc32_soft(b"6789", frame._crc32_soft(b"12345")) == binascii.crc32(b"123456789")


def test_type_names_and_reply_flag():
    assert frame.HELLO | frame.REPLY == 0x81
    for t in (frame.CAPTURE, frame.INFER, frame.BENCH, frame.LIST, frame.GET, frame.PUT, frame.DELETE,
              frame.RENAME, frame.SET_CONFIG, frame.RESET):
        assert t in frame.NAMES and t & frame.REPLY == 0


# --- properties: whatever arrives, the parser never raises and finds every frame once ---

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MAX_PAYLOAD = 300  # a small receiver, so random lengths often exceed it
TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(lambda t: (t + "\r\n").encode())
SETTINGS = settings(derandomize=True, deadline=None, max_examples=150,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def streams(draw):
    """(bytes, the valid frames in it): frames, print() text, noise, damaged and cut frames."""
    parts, valid = [], []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["frame", "frame", "text", "noise", "corrupt", "truncated"]))
        if kind == "text":
            parts.append(draw(TEXT))
        elif kind == "noise":
            parts.append(draw(st.binary(max_size=80)))
        else:
            mtype = draw(st.integers(0, 255))
            seq = draw(st.integers(0, 255))
            size = draw(st.sampled_from([0, 1, 64, MAX_PAYLOAD]) | st.integers(0, MAX_PAYLOAD))
            payload = draw(st.binary(min_size=size, max_size=size))
            data = bytearray(frame.encode(mtype, seq, payload))
            if kind == "frame":
                valid.append((frame.FRAME, mtype, seq, payload))
            elif kind == "corrupt":
                for _ in range(draw(st.integers(1, 3))):
                    i = draw(st.integers(0, len(data) - 1))
                    data[i] ^= draw(st.integers(1, 255))
            else:
                data = data[: draw(st.integers(1, len(data) - 1))]
            parts.append(bytes(data))
    return b"".join(parts), valid


def drain(parser, stream, cuts):
    """Feed the stream in pieces as the firmware does, then give up on whatever is left
    half-arrived (the firmware's stale timeout)."""
    got = []
    at = 0
    for cut in sorted(cuts) + [len(stream)]:
        piece = stream[at:cut]
        at = max(at, cut)
        while piece:
            taken = parser.feed(piece)
            piece = piece[taken:]
            while (ev := parser.next()) is not None:
                got.append(ev)
    while parser.pending():
        ev = parser.abandon()
        if ev is None:
            break  # only a trailing first magic byte is left
        got.append(ev)
        while (ev := parser.next()) is not None:
            got.append(ev)
    return got


@SETTINGS
@given(streams(), st.lists(st.integers(0, 4000), max_size=8))
def test_every_valid_frame_comes_out_once_in_order_and_nothing_raises(case, cuts):
    stream, valid = case
    got = drain(frame.Parser(MAX_PAYLOAD), stream, cuts)
    assert [ev for ev in got if ev[0] == frame.FRAME] == valid  # (a forged CRC would need 2**-32 luck)
    bad = [ev for ev in got if ev[0] == frame.BAD]
    assert all(ev[1] in (frame.E_BAD_CRC, frame.E_OVERSIZE, frame.E_INCOMPLETE) for ev in bad)
    assert all(0 <= ev[2] <= 255 and 0 <= ev[3] <= 255 for ev in bad)


@SETTINGS
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=6))
def test_random_bytes_never_raise_and_leave_the_parser_empty(noise, cuts):
    parser = frame.Parser(MAX_PAYLOAD)
    drain(parser, noise, cuts)
    assert parser.pending() <= 1  # at most a trailing magic byte waiting for its partner
    assert drain(parser, frame.encode(frame.HELLO, 9, b"ok"), []) == [(frame.FRAME, frame.HELLO, 9, b"ok")]
