# The door decision: a small state machine fed one frame at a time. Pure logic, no
# hardware: main.py drives the relay and LEDs from `state` and `signal`, tests drive it
# directly.
#
#   CLOSED --(K frames in a row that read "mask")--> OPEN --(T seconds after opening)--> CLOSED
#
# A frame reads "mask" when P(mask) >= threshold, or when the previous frame read "mask" and
# P(mask) >= threshold - hysteresis (a Schmitt trigger: a streak that has started survives
# small dips, so a probability hovering at the threshold cannot flicker the decision).
# Set hysteresis to 0 for the strict rule "K frames at or above the threshold".
#
# Fail closed:
# - no face, a clear no-mask face, or a low-confidence face (below the threshold with no
#   streak running) breaks the streak: the door stays CLOSED;
# - while OPEN, a face that clearly has no mask (P(mask) < threshold - hysteresis) closes the
#   door at once (someone unmasked at an open door), and any error closes it at once (fail());
# - no-face frames while OPEN do not close it early: the person walking through leaves the
#   camera's view, and the door relocks when the T-second hold runs out.
# The hold runs from the moment the door opened and is not extended by more masked frames;
# someone still standing there is re-admitted after K more frames.

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

CLOSED = "closed"
OPEN = "open"

# What the LEDs show (main.py maps these): green, red, blue, nothing, red.
SIG_OPEN = "open"
SIG_DENIED = "denied"
SIG_NO_FACE = "no_face"
SIG_PENDING = "pending"
SIG_ERROR = "error"

# MicroPython's time.ticks_ms() wraps at 2**30; differences must be taken modulo that.
_PERIOD = const(0x40000000)
_HALF = const(0x20000000)


def ticks_diff(a, b):
    """a - b for MicroPython tick counts (same result as time.ticks_diff)."""
    return ((a - b + _HALF) & (_PERIOD - 1)) - _HALF


class Door:
    def __init__(self, k=3, hold_ms=5000, threshold=0.5, hysteresis=0.05):
        if k < 1:
            raise ValueError("k must be >= 1")
        if hold_ms < 0:
            raise ValueError("hold_ms must be >= 0")
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if not 0.0 <= hysteresis < threshold:
            raise ValueError("hysteresis must be in [0, threshold)")
        self.k = k
        self.hold_ms = hold_ms
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.state = CLOSED
        self.signal = SIG_NO_FACE
        self.streak = 0  # frames in a row reading "mask" while CLOSED
        self.masked = False  # the Schmitt trigger's output for the last frame
        self.opened_at = 0
        self.changed = False  # did the last update/fail change `state`?

    def _set(self, state, now_ms):
        if state != self.state:
            self.state = state
            self.changed = True
            if state == OPEN:
                self.opened_at = now_ms

    def reads_mask(self, prob):
        """The Schmitt trigger: does this probability read "mask" given the last frame?"""
        if prob >= self.threshold:
            return True
        return self.masked and prob >= self.threshold - self.hysteresis

    def update(self, now_ms, prob):
        """One frame's evidence: prob = P(mask) for the face, or None when there is no face.
        Returns the door state after this frame."""
        self.changed = False
        if self.state == OPEN and ticks_diff(now_ms, self.opened_at) >= self.hold_ms:
            self._set(CLOSED, now_ms)

        if prob is None:
            self.masked = False
            self.streak = 0
            self.signal = SIG_OPEN if self.state == OPEN else SIG_NO_FACE
            return self.state

        mask = self.reads_mask(prob)
        clear_no_mask = prob < self.threshold - self.hysteresis
        self.masked = mask

        if self.state == OPEN:
            if clear_no_mask:
                self._set(CLOSED, now_ms)
                self.signal = SIG_DENIED
            else:
                self.signal = SIG_OPEN
            return self.state

        if mask:
            self.streak += 1
            if self.streak >= self.k:
                self.streak = 0
                self._set(OPEN, now_ms)
                self.signal = SIG_OPEN
            else:
                self.signal = SIG_PENDING
        else:
            self.streak = 0
            self.signal = SIG_DENIED
        return self.state

    def fail(self, now_ms):
        """Something went wrong on this frame: close now and start over."""
        self.changed = False
        self._set(CLOSED, now_ms)
        self.streak = 0
        self.masked = False
        self.signal = SIG_ERROR
        return self.state

    def remaining_ms(self, now_ms):
        """Milliseconds of hold left while OPEN (0 when CLOSED)."""
        if self.state != OPEN:
            return 0
        return max(0, self.hold_ms - ticks_diff(now_ms, self.opened_at))
