# The board side of the serial protocol: read frames from the USB VCP, hand each request to
# the handler registered for its type, send exactly one reply. Framing lives in frame.py
# (shared with the PC); handlers live wherever their subject does and are registered in
# main.py:
#
#     cmds = commands.Commands(usb)
#     cmds.on(frame.HELLO, commands.hello)
#     cmds.on(frame.LIST, files.list_dir)      # e.g. the board-tools commands
#
# A handler is handler(ctx, payload) -> reply payload (bytes, or a dict sent as JSON).
# `ctx` is the dict main.py keeps up to date (config, status, the last snapshot, ...).
# To refuse a request, raise Refused(frame.E_..., "why"); any other exception becomes an
# E_FAILED error reply. Either way the main loop goes on.

import gc
import json
import time

import frame

TX_TIMEOUT_MS = 200  # a host that stops reading must not stall the door loop
STALE_MS = 500  # a frame that stops arriving mid-way is dropped after this long
MAX_EVENTS_PER_POLL = 8  # bound the time one poll can take from the frame loop


class Refused(Exception):
    def __init__(self, code, detail=""):
        Exception.__init__(self, detail)
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

    def on(self, mtype, handler):
        self.handlers[mtype] = handler

    def send(self, mtype, seq, payload=b""):
        data = frame.encode(mtype, seq, payload)
        try:
            self.usb.send(data, timeout=TX_TIMEOUT_MS)
        except Exception:
            pass  # no host listening: the reply is lost, the door loop is not

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

    def poll(self, ctx):
        """Serve whatever the host has sent; returns the number of requests handled."""
        handled = 0
        now = time.ticks_ms()
        while handled < MAX_EVENTS_PER_POLL:
            n = self.usb.any()
            if n:
                data = self.usb.read(min(n, self.parser.space()))
                if data:
                    self.parser.feed(data)
                    self.last_rx = now
            event = self.parser.next()
            if event is None:
                if self.parser.pending() and time.ticks_diff(now, self.last_rx) > STALE_MS:
                    event = self.parser.abandon()
                if event is None:
                    break
            if event[0] == frame.FRAME:
                self._dispatch(ctx, event[1], event[2], event[3])
            else:
                self._error(event[1], event[2], event[3], frame.ERROR_NAMES.get(event[1], ""))
            handled += 1
        return handled


def hello(ctx, payload):
    """Who is this board and what is it running (the first thing a host asks)."""
    status = ctx.get("status", {})
    return {
        "fw": ctx.get("version"),
        "omv": ctx.get("omv"),
        "board": ctx.get("board"),
        "api": ctx.get("api"),
        "heap_free": gc.mem_free(),
        "model": ctx.get("model_file"),
        "model_sha256": ctx.get("model_sha256"),
        "config": ctx.get("config"),
        "error": ctx.get("error"),
        "max_payload": frame.MAX_PAYLOAD,
        "frames": status.get("frame"),
        "fps": status.get("fps"),
        "door": status.get("door"),
        "uptime_ms": time.ticks_ms(),
    }
