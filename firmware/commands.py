# The board side of the serial protocol: read frames from the USB VCP, hand each request to
# the handler registered for its type, send exactly one reply. Framing lives in frame.py
# (shared with the PC); handlers live wherever their subject does and are registered in
# main.py:
#
#     usb.init(flow=pyb.USB_VCP.RTS)           # the host waits while the board's buffer is full
#     cmds = commands.Commands(usb)
#     cmds.on(frame.HELLO, commands.hello)
#     cmds.on(frame.LIST, files.list_dir)      # e.g. the board-tools commands
#     cmds.poll(ctx)                           # once per frame
#     cmds.say("fps 12.5 ...")                 # status text, instead of print() in the loop
#
# A handler is handler(ctx, payload) -> reply payload (bytes, or a dict sent as JSON).
# `ctx` is the dict main.py keeps up to date (config, status, the last snapshot, ...).
# To refuse a request, raise Refused(frame.E_..., "why"); any other exception becomes an
# E_FAILED error reply. Either way the main loop goes on.
#
# The H7's USB VCP (MicroPython ports/stm32/usb.c, usbd_cdc_interface.c) decides how this
# reads and writes:
# - any() is True/False, not a count: read(n) returns what is there (at most n), None if
#   nothing; the receive buffer holds 511 bytes, so a request frame (up to 4 KB) arrives in
#   pieces, and only with RTS flow control is nothing lost when the board is slow to read.
# - the transmit buffer holds 512 bytes, and print() waits up to 500 ms for every byte that
#   does not fit while a PC holds the port open without reading. So nothing here prints and
#   nothing waits: a reply goes out with usb.send(..., timeout=0) as the buffer takes it, the
#   rest on the next looks, and no new request is taken while one is still going out (the PC
#   waits; RTS holds it back). Status text goes only when nothing else is waiting.
# - poll() spends at most a fifth of the time the door loop itself takes (a transfer leaves
#   the door at 5/6 of its frame rate or better), returns at once when no PC is talking, and
#   waits a few milliseconds after a reply for the next request of a transfer.

import gc
import json
import time

import frame

STALE_MS = 500  # a frame that stops arriving mid-way is dropped after this long
MAX_EVENTS_PER_POLL = 64
SHARE = 5  # a poll may take 1/SHARE of the time between polls...
MIN_BUDGET_US = 4000  # ...but at least this (a 4 KB frame crosses USB full speed in ~3.5 ms)
MAX_BUDGET_US = 40000
LINGER_US = 6000  # after a reply, how long to wait for the host's next request (a transfer)
STEP_US = 100  # between two looks at the USB buffers while a frame comes in or a reply goes out
MAX_TEXT = 160  # a status line is cut to this
GONE_MS = 100  # send() returning means "in the USB buffer": this long more and the PC has it


class Refused(Exception):
    def __init__(self, code, detail=""):
        super().__init__(detail)  # MicroPython's Exception has no __init__ to call by name
        self.code = code
        self.detail = detail


def error_payload(code, mtype, detail=""):
    return json.dumps({
        "code": code,
        "error": frame.ERROR_NAMES.get(code, "error"),
        "detail": detail,
        "type": mtype,
    }).encode()


class Commands:
    def __init__(self, usb, max_payload=frame.MAX_PAYLOAD):
        self.usb = usb
        self.parser = frame.Parser(max_payload)
        self.handlers = {}
        self.last_rx = time.ticks_ms()
        self.requests = 0
        self.errors = 0
        self.out = None  # what is going out: a reply frame or a status line (memoryview)
        self.out_at = 0  # how much of it has gone
        self.lost = 0  # replies and lines dropped because no host had the port open
        self.quiet = 0  # status lines not sent because something else was going out
        self.last_end = None  # ticks_us when the previous poll ended

    def on(self, mtype, handler):
        self.handlers[mtype] = handler

    def flush(self):
        """Hand what is going out to the USB buffer, as much as it takes now (never waits).
        True when nothing is left."""
        if self.out is None:
            return True
        try:
            if not self.usb.isconnected():  # no PC has the port open: nobody would read it
                self.out = None
                self.lost += 1
                return True
            self.out_at += self.usb.send(self.out[self.out_at:], timeout=0)
        except Exception:
            self.out_at = len(self.out)  # the port is gone: the reply is lost, the door loop is not
        if self.out_at >= len(self.out):
            self.out = None
            self.out_at = 0
            return True
        return False

    def finish(self, wait_ms=200):
        """Before a reset or the end of main.py: let what is going out leave (waiting at most
        wait_ms for the USB buffer to take it), then give it GONE_MS to cross the cable and
        be read -- a reset drops the port, and what the PC has not read yet with it."""
        start = time.ticks_ms()
        while not self.flush() and time.ticks_diff(time.ticks_ms(), start) < wait_ms:
            time.sleep_ms(1)
        time.sleep_ms(GONE_MS)

    def say(self, text):
        """Status text for whoever watches the port, in place of print(): sent only when
        nothing else is going out, and only as far as the USB buffer takes it."""
        if self.out is not None:
            self.quiet += 1
            return False
        self.out = memoryview((text[:MAX_TEXT] + "\r\n").encode())
        self.out_at = 0
        self.flush()
        return True

    def send(self, mtype, seq, payload=b""):
        self.out = memoryview(frame.encode(mtype, seq, payload))
        self.out_at = 0
        self.flush()

    def _error(self, code, mtype, seq, detail=""):
        self.errors += 1
        self.send(frame.ERROR, seq, error_payload(code, mtype, detail))

    def _dispatch(self, ctx, mtype, seq, payload):
        self.requests += 1
        handler = self.handlers.get(mtype)
        if handler is None:
            name = frame.NAMES.get(mtype)
            detail = "%s is not implemented by this firmware" % name if name else "unknown type 0x%02x" % mtype
            self._error(frame.E_UNKNOWN_TYPE, mtype, seq, detail)
            return
        try:
            reply = handler(ctx, payload)
        except Refused as e:
            self._error(e.code, mtype, seq, e.detail)
            return
        except Exception as e:
            self._error(frame.E_FAILED, mtype, seq, "%s: %s" % (type(e).__name__, e))
            gc.collect()
            return
        if isinstance(reply, dict):
            reply = json.dumps(reply).encode()
        self.send(mtype | frame.REPLY, seq, reply or b"")

    def _next_event(self):
        # a frame already held, else read what has arrived (at most what the parser can take)
        event = self.parser.next()
        if event is not None:
            return event
        now = time.ticks_ms()
        data = self.usb.read(self.parser.space())
        if data:
            self.parser.feed(data)
            self.last_rx = now
            return self.parser.next()
        if self.parser.pending() and time.ticks_diff(now, self.last_rx) > STALE_MS:
            return self.parser.abandon()
        return None

    def budget_us(self, start):
        """How long this poll may take: a share of the door loop's own time since the last."""
        if self.last_end is None:
            return MIN_BUDGET_US
        work = time.ticks_diff(start, self.last_end)
        return min(MAX_BUDGET_US, max(MIN_BUDGET_US, work // SHARE))

    def poll(self, ctx):
        """Serve whatever the host has sent; returns the number of requests handled.

        A file transfer is one request per chunk: after a reply the loop lingers a few
        milliseconds for the next request instead of making it wait a whole frame, within
        the poll's budget, so the door loop slows down during a transfer but never stops."""
        start = time.ticks_us()
        budget = self.budget_us(start)
        handled = 0
        idle_since = None
        stuck = True  # what is going out did not move since the last look (the last poll's)
        while True:
            now = time.ticks_us()
            over = time.ticks_diff(now, start) >= budget
            before = self.out_at
            gone = self.flush()
            if not gone:
                self.last_rx = time.ticks_ms()  # not listening while a reply waits: nothing is stale
                if self.out_at == before and stuck:
                    break  # the PC is not reading: it gets the rest at a later poll, the door goes on
                stuck = self.out_at == before
            elif not over and handled < MAX_EVENTS_PER_POLL and not ctx.get("pending"):
                event = self._next_event()
                if event is not None:
                    idle_since = None
                    stuck = False  # a new reply: give it its chance to go out
                    if event[0] == frame.FRAME:
                        self._dispatch(ctx, event[1], event[2], event[3])
                    else:
                        self._error(event[1], event[2], event[3], frame.ERROR_NAMES.get(event[1], ""))
                    handled += 1
                    continue
            if over:
                break  # what has come in meanwhile waits in the parser and the USB buffer
            if gone:
                if ctx.get("pending") or handled >= MAX_EVENTS_PER_POLL:
                    break
                if not self.parser.pending():
                    if not handled:
                        break  # no PC talking: back to the door at once
                    if idle_since is None:
                        idle_since = now
                    elif time.ticks_diff(now, idle_since) >= LINGER_US:
                        break
            time.sleep_us(STEP_US)
        self.last_end = time.ticks_us()
        return handled


def _card_free():
    try:
        import os

        st = os.statvfs(".")
        return st[0] * st[4]
    except Exception:
        return None


def hello(ctx, payload):
    """Who is this board and what is it running (the first thing a host asks).

    Payload {"brief": true}: leave out the config; {"min": true}: only who and which boot
    (short replies get through a noisy link)."""
    status = ctx.get("status", {})
    brief = short = False
    try:
        req = json.loads(payload.decode()) if payload else {}
        brief = bool(req.get("brief"))
        short = bool(req.get("min"))
    except Exception:
        pass
    if short:
        return {"proto": frame.PROTOCOL, "fw": ctx.get("version"), "boot": ctx.get("boot"),
                "error": ctx.get("error"), "uptime_ms": time.ticks_ms()}
    fps = status.get("fps")
    return {
        "proto": frame.PROTOCOL,
        "fw": ctx.get("version"),
        "omv": ctx.get("omv"),
        "board": ctx.get("board"),
        "id": ctx.get("board_id"),
        "card": ctx.get("card_id"),
        "boot": ctx.get("boot"),
        "api": ctx.get("api"),
        "features": ctx.get("features"),
        "heap_free": gc.mem_free(),
        "model_heap": ctx.get("model_heap", 0),
        "card_free": _card_free(),
        "model": ctx.get("model_file"),
        "model_sha256": ctx.get("model_sha256"),
        "face_stage": ctx.get("face_stage"),
        "detector": ctx.get("detector_file"),
        "detector_sha256": ctx.get("detector_sha256"),
        "config": None if brief else ctx.get("config"),
        "error": ctx.get("error"),
        "max_payload": frame.MAX_PAYLOAD,
        "max_chunk": frame.MAX_CHUNK,
        "frames": status.get("frame"),
        # not round(fps, 2): MicroPython gives 2.68 for 2.675, CPython 2.67 (and the PC's
        # virtual board must report what the camera does)
        "fps": int(fps * 100 + 0.5) / 100 if fps else fps,
        "door": status.get("door"),
        "uptime_ms": time.ticks_ms(),
    }


def reset(ctx, payload):
    """RESET: reply, then the main loop closes the door and resets the board (a hard reset:
    main.py runs again, the USB port goes away and comes back)."""
    ctx["pending"] = "reset"
    return {"resetting": True}


def stop_for_repl(ctx, payload):
    """REPL: reply, then the main loop closes the door and ends main.py, which leaves the
    MicroPython REPL on the USB port (for mpremote). RESET cannot reach it any more: reset
    from the REPL (mpremote reset) or power-cycle to start the door loop again."""
    ctx["pending"] = "repl"
    return {"stopping": True}
