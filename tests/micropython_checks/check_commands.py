# The board side of the serial link (firmware/commands.py) with a USB VCP written here (the H7's
# as commands.py describes it: read(n) gives what is there or None, a 511-byte receive buffer
# refilled under RTS flow control, send() takes what fits in a 512-byte transmit buffer) and a
# scripted clock (time passes when the code sleeps and between door-loop frames), so both
# interpreters see the same times. Every request the host sends gets its reply, parsed here.
import json

import commands
import frame
from checks import hx, unhex

FRAME_US = 100000  # the door loop's own time between two polls


class Clock:
    def __init__(self):
        self.us = 0

    def ticks_us(self):
        return self.us & 0x3FFFFFFF

    def ticks_ms(self):
        return (self.us // 1000) & 0x3FFFFFFF

    def ticks_diff(self, a, b):
        return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000

    def sleep_us(self, n):
        self.us += n

    def sleep_ms(self, n):
        self.us += 1000 * n


class Vcp:
    RX = 511
    TX = 512

    def __init__(self):
        self.pending = b""  # what the host has written and the board's buffer has not taken yet
        self.rx = b""
        self.tx = b""
        self.connected = True
        self.received = b""  # what the host has read

    def _refill(self):
        room = self.RX - len(self.rx)
        if room > 0 and self.pending:
            self.rx += self.pending[:room]
            self.pending = self.pending[room:]

    def host_write(self, data):
        self.pending += data
        self._refill()

    def host_read(self):
        self.received += self.tx
        self.tx = b""

    def isconnected(self):
        return self.connected

    def read(self, n):
        if not self.rx:
            return None
        data = self.rx[:n]
        self.rx = self.rx[n:]
        self._refill()
        return data

    def send(self, data, timeout=0):
        n = min(len(data), self.TX - len(self.tx))
        self.tx += bytes(data[:n])
        return n


def echo(ctx, payload):
    return payload


def measure(ctx, payload):
    return {"len": len(payload), "first": hx(payload[:1])}


def refuse(ctx, payload):
    raise commands.Refused(frame.E_NOT_FOUND, "nope: %d bytes" % len(payload))


def fail(ctx, payload):
    raise ValueError("boom %d" % len(payload))


def nothing(ctx, payload):
    return None


def replies(data):
    parser = frame.Parser(frame.LIMIT_PAYLOAD)
    out = []
    while data:
        taken = parser.feed(data)
        data = data[taken:]
        ev = parser.next()
        while ev is not None:
            if ev[0] == frame.FRAME:
                try:
                    body = json.loads(ev[3])
                except ValueError:
                    body = hx(ev[3])
                out.append([ev[1], ev[2], body])
            else:
                out.append(list(ev))
            ev = parser.next()
    return [out, parser.skipped]


def run(inputs):
    clock = Clock()
    commands.time = clock
    out = {"sessions": []}
    for session in inputs["sessions"]:
        clock.us = session["start_us"]
        usb = Vcp()
        link = commands.Commands(usb)
        for mtype, handler in ((0x30, echo), (0x31, measure), (0x32, refuse), (0x33, fail), (0x34, nothing),
                               (frame.RESET, commands.reset), (frame.REPL, commands.stop_for_repl)):
            link.on(mtype, handler)
        link.on(frame.HELLO, commands.hello)
        ctx = {"version": "0.2.0", "boot": 7, "error": None, "status": {"fps": 12.3456, "frame": 9}}
        usb.host_write(unhex(session["traffic"]))
        polls = []
        for i in range(session["polls"]):
            clock.sleep_us(FRAME_US)
            if i in session["stale_at"]:
                clock.sleep_us(600000)
            usb.connected = i not in session["closed_at"]
            start = clock.us
            handled = link.poll(ctx)
            pending = ctx.get("pending")
            ctx["pending"] = None
            said = link.say("fps 10.0 door closed no_face %d" % i) if i in session["say_at"] else None
            if i not in session["stalled_at"]:
                usb.host_read()
            polls.append([handled, clock.us - start, link.out is None, pending, said])
        link.finish(50)
        usb.host_read()
        out["sessions"].append({"polls": polls, "replies": replies(usb.received),
                                "counts": [link.requests, link.errors, link.lost, link.quiet],
                                "left": [len(usb.pending), len(usb.rx), usb.tx == b""]})
    out["error_payload"] = [json.loads(commands.error_payload(c, t, d)) for c, t, d in inputs["errors"]]
    link = commands.Commands(Vcp())
    link.last_end = 0
    out["budget"] = [link.budget_us(t) for t in inputs["budget_at"]]
    hello = commands.hello({"status": {"fps": 12.345}, "version": "v"}, b"")
    out["hello_keys"] = sorted(hello)
    out["hello_fps"] = [commands.hello({"status": {"fps": fps}}, b"")["fps"] for fps in inputs["fps"]]
    out["hello_min"] = commands.hello({"version": "v", "boot": 3}, b'{"min": true}')
    out["hello_min"].pop("uptime_ms")
    return out
