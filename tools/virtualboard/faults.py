"""Fault injection on the virtual board's USB link: bytes dropped, duplicated or corrupted at
a set rate, and the link closed in the middle of a transfer (a pulled cable, a board reset).

    board = VirtualBoard(frames, pty=True, port_link=tmp / "ttyACM0")
    board.port.faults = Faults(corrupt=0.01, seed=1)          # 1 % of bytes damaged, both ways
    board.port.faults = Faults(unplug_after=50_000)            # link drops after 50 kB to the PC
    board.port.faults = Faults(unplug_after=30_000, unplug_direction="to_board")  # ... from the PC

Rates are per byte and independent (the next damaged byte is drawn from a geometric
distribution, so a clean stretch costs nothing). Counters say what was done. The port
(vcp.py) applies them to each USB packet as it crosses the bus and pulls the cable when told.
"""
from __future__ import annotations

import math
import random
import threading

DIRECTIONS = ("both", "to_host", "to_board")


class Faults:
    def __init__(self, corrupt: float = 0.0, drop: float = 0.0, duplicate: float = 0.0, *,
                 direction: str = "both", unplug_after: int | None = None, unplug_gap_s: float = 0.5,
                 unplug_direction: str = "to_host", seed: int = 0):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")
        # Which bytes unplug_after counts. The host's own uploads (deploy) are a fixed number
        # of bytes, so "to_board" puts the pulled cable at the same point of a transfer however
        # fast the machine runs; "to_host" also counts the board's timing-dependent chatter.
        if unplug_direction not in ("to_host", "to_board"):
            raise ValueError("unplug_direction must be 'to_host' or 'to_board'")
        self.unplug_direction = unplug_direction
        for name, rate in (("corrupt", corrupt), ("drop", drop), ("duplicate", duplicate)):
            if not 0 <= rate < 1:
                raise ValueError(f"{name} rate must be in [0, 1)")
        self.corrupt, self.drop, self.duplicate = corrupt, drop, duplicate
        self.direction = direction
        self.unplug_after = unplug_after
        self.unplug_gap_s = unplug_gap_s
        self._rng = random.Random(seed)
        self._gap = {"in": None, "out": None}
        self._lock = threading.Lock()
        self.counts = {"to_board": 0, "to_host": 0, "corrupted": 0, "dropped": 0, "duplicated": 0, "unplugs": 0}

    @property
    def rate(self) -> float:
        return self.corrupt + self.drop + self.duplicate

    def _next_gap(self) -> int:
        # bytes until the next damaged one: geometric with p = rate
        return int(math.log(1.0 - self._rng.random()) / math.log(1.0 - self.rate))

    def _damage(self, data: bytes, way: str) -> bytes:
        if self.rate <= 0 or not data:
            return data
        out = bytearray()
        pos = 0
        while True:
            if self._gap[way] is None:
                self._gap[way] = self._next_gap()
            gap = self._gap[way]
            if pos + gap >= len(data):
                self._gap[way] = gap - (len(data) - pos)
                out += data[pos:]
                return bytes(out)
            i = pos + gap
            out += data[pos:i]
            kind = self._rng.random() * self.rate
            if kind < self.corrupt:
                out.append(data[i] ^ self._rng.randrange(1, 256))
                self.counts["corrupted"] += 1
            elif kind < self.corrupt + self.drop:
                self.counts["dropped"] += 1
            else:
                out += data[i : i + 1] * 2
                self.counts["duplicated"] += 1
            pos = i + 1
            self._gap[way] = None

    def inbound(self, data: bytes) -> tuple[bytes, bool]:
        """Host -> board bytes (one USB packet): (what arrives, whether the cable goes after
        it: unplug_after with unplug_direction "to_board")."""
        with self._lock:
            received = self.counts["to_board"]
            self.counts["to_board"] += len(data)
            if self.direction in ("both", "to_board"):
                data = self._damage(data, "in")
            cut = self._unplug_cut("to_board", received, data)
            if cut is not None:
                return data[:cut], True  # what arrived before the cable went; the rest is lost
            return data, False

    def _unplug_cut(self, direction: str, before: int, data: bytes) -> int | None:
        """Where in `data` the cable goes (once), or None when it stays in."""
        if self.unplug_direction != direction or self.unplug_after is None or before + len(data) < self.unplug_after:
            return None
        cut, self.unplug_after = max(0, self.unplug_after - before), None
        self.counts["unplugs"] += 1
        return cut

    def outbound(self, data: bytes) -> tuple[bytes, bool]:
        """Board -> host bytes (one USB packet): (what reaches the host, whether the cable
        goes after it: unplug_after)."""
        with self._lock:
            sent = self.counts["to_host"]
            self.counts["to_host"] += len(data)
            if self.direction in ("both", "to_host"):
                data = self._damage(data, "out")
            cut = self._unplug_cut("to_host", sent, data)
            if cut is not None:
                return data[:cut], True
            return data, False
