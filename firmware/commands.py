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
MAX_EVENTS_PER_POLL = 64  # bound the time one poll can take from the frame loop...
POLL_BUDGET_MS = 40  # ...and the milliseconds it may spend serving one request after another
LINGER_MS = 4  # after a reply, how long to wait for the host's next request (a transfer)


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
        """Serve whatever the host has sent; returns the number of requests handled.

        A file transfer is one request per chunk: after a reply the loop lingers a few
        milliseconds for the next request instead of making it wait a whole frame, within
        POLL_BUDGET_MS, so the door loop slows down during a transfer but never stops."""
        handled = 0
        start = time.ticks_ms()
        idle_since = None
        while handled < MAX_EVENTS_PER_POLL:
            now = time.ticks_ms()
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
                if not handled or ctx.get("pending") or time.ticks_diff(now, start) >= POLL_BUDGET_MS:
                    break
                if idle_since is None:
                    idle_since = now
                elif time.ticks_diff(now, idle_since) >= LINGER_MS:
                    break
                time.sleep_ms(1)
                continue
            idle_since = None
            if event[0] == frame.FRAME:
                self._dispatch(ctx, event[1], event[2], event[3])
            else:
                self._error(event[1], event[2], event[3], frame.ERROR_NAMES.get(event[1], ""))
            handled += 1
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
        "boot": ctx.get("boot"),
        "api": ctx.get("api"),
        "features": ctx.get("features"),
        "heap_free": gc.mem_free(),
        "model_heap": ctx.get("model_heap", 0),
        "card_free": _card_free(),
        "model": ctx.get("model_file"),
        "model_sha256": ctx.get("model_sha256"),
        "config": None if brief else ctx.get("config"),
        "error": ctx.get("error"),
        "max_payload": frame.MAX_PAYLOAD,
        "max_chunk": frame.MAX_CHUNK,
        "frames": status.get("frame"),
        "fps": round(fps, 2) if fps else fps,
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
