"""The firmware's serial link (firmware/commands.py) on the virtual board's H7 VCP
(tools/virtualboard/vcp.py), virtual clock: whatever the PC sends -- frames whole or in
pieces, print() text, noise, damaged and cut frames -- every valid request gets exactly one
reply, nothing raises, and a poll never spends more than its share of the door loop."""
import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskgate.board.virtualboard import VirtualBoard
from maskgate.firmware import module

frame = module("frame")
FRAME_US = 100_000  # the door loop's own time between polls (10 fps)
UNKNOWN = 0x3F  # a type no firmware implements: answered with ERROR unknown_type
TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(lambda t: (t + "\r\n").encode())


class Rig:
    """The firmware's Commands on a fresh virtual board's USB VCP (RTS on, as main.py sets it)."""

    def __init__(self, host_buffer=None, echo=False):
        self.board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)])
        self.board.install()  # the firmware files only
        self.board.soft_reset()
        load = self.board.sandbox_builtins()["__import__"]
        commands = load("commands")
        self.time = load("time")
        self.port = self.board.port
        self.port.host_buffer = host_buffer
        usb = load("pyb").USB_VCP()
        usb.setinterrupt(-1)
        usb.init(flow=usb.RTS)
        self.link = commands.Commands(usb)
        answer = (lambda ctx, payload: payload) if echo else (lambda ctx, payload: {"len": len(payload)})
        self.link.on(frame.HELLO, answer)
        self.ctx = {}

    def frame(self):
        """One turn of the door loop: its own work, then the poll; the poll's length (us)."""
        self.board.clock.sleep_us(FRAME_US)
        t0 = self.board.clock.us()
        self.link.poll(self.ctx)
        return self.board.clock.us() - t0

    def close(self):
        self.board.close()


def replies(data):
    parser = frame.Parser(frame.LIMIT_PAYLOAD)
    out = []
    while data:
        taken = parser.feed(data)
        data = data[taken:]
        while (ev := parser.next()) is not None:
            out.append(ev)
    return [ev for ev in out if ev[0] == frame.FRAME]


@st.composite
def traffic(draw):
    """What a PC (and the line) might send: (bytes, [(seq, type) of the valid requests])."""
    parts, valid = [], []
    seqs = iter(draw(st.permutations(range(256))))
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["request", "request", "text", "noise", "corrupt", "truncated"]))
        if kind == "text":
            parts.append(draw(TEXT))
            continue
        if kind == "noise":
            parts.append(draw(st.binary(max_size=100)))
            continue
        seq = next(seqs)
        mtype = draw(st.sampled_from([frame.HELLO, UNKNOWN]))
        size = draw(st.sampled_from([0, 1, 500, 511, 512, 2000, frame.MAX_PAYLOAD]) | st.integers(0, frame.MAX_PAYLOAD))
        data = bytearray(frame.encode(mtype, seq, draw(st.binary(min_size=size, max_size=size))))
        if kind == "request":
            valid.append((seq, mtype))
        elif kind == "corrupt":
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        else:
            data = data[: draw(st.integers(1, len(data) - 1))]
        parts.append(bytes(data))
    return b"".join(parts), valid


@settings(derandomize=True, deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(traffic())
def test_every_valid_request_gets_exactly_one_reply(case):
    stream, valid = case
    rig = Rig()
    try:
        rig.port.host_write(stream)
        longest = 0
        for _ in range(60):  # 6 s of door loop: long enough for a cut frame to go stale
            longest = max(longest, rig.frame())
        assert rig.port.host_pending() == 0 and rig.link.out is None  # all read, all answered
        got = replies(rig.port.host_read())
    finally:
        rig.close()
    answered = {}
    for _, rtype, seq, payload in got:
        if rtype == frame.HELLO | frame.REPLY:
            answered.setdefault(seq, []).append(frame.HELLO)
        elif rtype == frame.ERROR and json.loads(payload)["error"] == "unknown_type":
            answered.setdefault(seq, []).append(json.loads(payload)["type"])
        else:
            assert rtype == frame.ERROR and json.loads(payload)["error"] in ("bad_crc", "oversize", "incomplete")
    assert answered == {seq: [mtype] for seq, mtype in valid}
    assert longest <= FRAME_US // 5 + 1000  # a poll takes a fifth of the loop's own time (and one look)


def test_status_text_never_waits_for_a_pc_that_does_not_read():
    rig = Rig(host_buffer=0, echo=True)  # the PC holds the port open and reads nothing
    try:
        rig.port.host_write(frame.encode(frame.HELLO, 1, b"x" * 2000))
        for _ in range(3):
            rig.frame()  # the reply fills the 512-byte ring and stops there
        assert rig.port.tx_used() == 512 and rig.link.out is not None
        t0 = rig.board.clock.us()
        for i in range(100):
            rig.link.say("fps 10.0 door closed no_face %d" % i)
        assert rig.board.clock.us() == t0  # print() would have waited 500 ms a byte
        assert rig.link.quiet == 100
        rig.port.host_write(frame.encode(frame.HELLO, 2))
        assert max(rig.frame() for _ in range(10)) == 0  # a stalled PC costs the loop nothing
        assert rig.link.requests == 1  # and the next request waits (RTS) until the reply is out
        rig.port.host_buffer = None  # the PC reads again: the reply, then the next one
        for _ in range(3):
            rig.frame()
        assert [(ev[1], ev[2]) for ev in replies(rig.port.host_read())] == [
            (frame.HELLO | frame.REPLY, 1), (frame.HELLO | frame.REPLY, 2)]
    finally:
        rig.close()


def test_a_reply_for_a_pc_that_closed_the_port_is_dropped():
    rig = Rig(host_buffer=0, echo=True)
    try:
        rig.port.host_write(frame.encode(frame.HELLO, 1, b"x" * 2000))
        rig.frame()
        assert rig.link.out is not None
        rig.port.host_close()  # nobody will read it: the next request is not kept waiting
        rig.frame()
        assert rig.link.out is None and rig.link.lost == 1
    finally:
        rig.close()
