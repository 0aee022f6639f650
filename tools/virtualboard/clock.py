"""Board time for the virtual board, and the `time` module the firmware imports.

Two modes:
- "virtual": time stands still while the firmware computes and moves only when the camera
  delivers a frame (by one frame interval) or the firmware sleeps. Runs are deterministic and
  "the door closes T seconds later" takes no wall-clock time to test. Stage timings read 0.
- "real": the host's monotonic clock; the camera is paced at the frame rate (0 = as fast as
  the host goes). Stage timings are host figures, not board figures.

Tick counts wrap like MicroPython's (2**30), so wrap-around bugs show up here too.
"""
from __future__ import annotations

import time as _time

TICKS_PERIOD = 1 << 30
TICKS_MASK = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2
EPOCH_2000 = 946684800  # MicroPython's time() counts seconds from 2000-01-01


class Clock:
    def __init__(self, mode: str = "virtual", fps: float = 10.0, start_ms: int = 0):
        if mode not in ("virtual", "real"):
            raise ValueError(f"clock mode must be 'virtual' or 'real', not {mode!r}")
        self.mode = mode
        self.frame_us = int(round(1e6 / fps)) if fps and fps > 0 else 0
        self._virtual_us = int(start_ms) * 1000
        self._origin_ns = _time.monotonic_ns() - int(start_ms) * 1_000_000
        self._next_frame_us = None

    def us(self) -> int:
        """Microseconds since boot (not wrapped)."""
        if self.mode == "virtual":
            return self._virtual_us
        return (_time.monotonic_ns() - self._origin_ns) // 1000

    def sleep_us(self, us: int) -> None:
        if us <= 0:
            return
        if self.mode == "virtual":
            self._virtual_us += int(us)
        else:
            _time.sleep(us / 1e6)

    def next_frame(self) -> None:
        """The camera delivers a frame: one interval passes (virtual) or we wait for it (real)."""
        if self.mode == "virtual":
            self._virtual_us += self.frame_us
            return
        if not self.frame_us:
            return
        now = self.us()
        if self._next_frame_us is None or now > self._next_frame_us + self.frame_us:
            self._next_frame_us = now
        wait = self._next_frame_us - now
        if wait > 0:
            _time.sleep(wait / 1e6)
        self._next_frame_us += self.frame_us

    def ms(self) -> int:
        return self.us() // 1000


def ticks_diff(a: int, b: int) -> int:
    return ((a - b + TICKS_HALF) & TICKS_MASK) - TICKS_HALF


class FpsClock:
    """time.clock(): OpenMV's frame-rate helper (tick() at the top of the loop, fps() after).
    Averages over up to 2 s of frames, then starts over, like the firmware."""

    def __init__(self, clock: Clock):
        self._clock = clock
        self._start = clock.us()
        self._frames = 0
        self._total_us = 0

    def tick(self):
        self._start = self._clock.us()

    def fps(self) -> float:
        self._frames += 1
        self._total_us += self._clock.us() - self._start
        fps = 1e6 * self._frames / self._total_us if self._total_us > 0 else 0.0
        if self._total_us >= 2_000_000:
            self._frames = 0
            self._total_us = 0
        return fps

    def avg(self) -> float:
        return (self._total_us / 1000 / self._frames) if self._frames else 0.0

    def reset(self):
        self._frames = self._total_us = 0


class TimeModule:
    """The firmware's `time`: ticks_*, sleep_*, time(), localtime(), clock()."""

    def __init__(self, clock: Clock):
        self._clock = clock

    def ticks_us(self) -> int:
        return self._clock.us() & TICKS_MASK

    def ticks_ms(self) -> int:
        return self._clock.ms() & TICKS_MASK

    def ticks_cpu(self) -> int:
        return self.ticks_us()

    ticks_diff = staticmethod(ticks_diff)

    @staticmethod
    def ticks_add(ticks: int, delta: int) -> int:
        return (ticks + delta) & TICKS_MASK

    def sleep_ms(self, ms) -> None:
        self._clock.sleep_us(int(ms) * 1000)

    def sleep_us(self, us) -> None:
        self._clock.sleep_us(int(us))

    def sleep(self, seconds) -> None:
        self._clock.sleep_us(int(float(seconds) * 1e6))

    def time(self) -> int:
        return int(self.time_ns() // 1_000_000_000)

    def time_ns(self) -> int:
        # The camera's RTC is not set by default: count from 2000-01-01 like a fresh board.
        return self._clock.us() * 1000

    def localtime(self, secs=None):
        secs = self.time() if secs is None else int(secs)
        t = _time.gmtime(secs + EPOCH_2000)
        return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, t.tm_wday, t.tm_yday)

    gmtime = localtime

    def mktime(self, tup) -> int:
        import calendar

        return int(calendar.timegm(tuple(tup[:6]) + (0, 0, 0))) - EPOCH_2000

    def clock(self) -> FpsClock:
        return FpsClock(self._clock)
