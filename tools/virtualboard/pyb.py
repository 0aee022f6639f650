"""`pyb` and `machine` on the virtual board: pins and LEDs that record every change with the
board time (ms since boot), the USB VCP, and resets that end the run."""
from __future__ import annotations

from .vcp import USB_VCP


class BoardReset(BaseException):
    """machine.reset() / pyb.hard_reset(): the run ends (the runner may start it again)."""


class Recorder:
    """Pin and LED histories: name -> [(time_ms, value), ...], one entry per change."""

    def __init__(self, clock):
        self._clock = clock
        self.pins: dict[str, list] = {}
        self.leds: dict[int, list] = {1: [], 2: [], 3: [], 4: []}

    def _note(self, history: list, value: int):
        if not history or history[-1][1] != value:
            history.append((self._clock.ms(), value))

    def pin(self, name: str, value: int):
        self._note(self.pins.setdefault(name, []), value)

    def led(self, n: int, value: int):
        self._note(self.leds.setdefault(n, []), value)

    def level(self, name: str):
        history = self.pins.get(name)
        return history[-1][1] if history else None


class Pin:
    IN, OUT_PP, OUT_OD, AF_PP, AF_OD, ANALOG = 0, 1, 17, 2, 18, 3
    OUT, OPEN_DRAIN = OUT_PP, OUT_OD
    PULL_NONE, PULL_UP, PULL_DOWN = 0, 1, 2
    IRQ_RISING, IRQ_FALLING = 1, 2
    VALID = tuple(f"P{i}" for i in range(10))

    def __init__(self, id, mode=IN, pull=PULL_NONE, *, value=None, _recorder=None):  # noqa: A002
        name = id if isinstance(id, str) else f"P{id}"
        if name not in Pin.VALID:
            raise ValueError(f"Pin({id!r}) doesn't exist")
        self._name = name
        self._mode = mode
        self._recorder = _recorder
        self._value = 0
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0
        if self._mode in (Pin.OUT_PP, Pin.OUT_OD):
            self._recorder.pin(self._name, self._value)
        return None

    __call__ = value

    def high(self):
        self.value(1)

    def low(self):
        self.value(0)

    on, off = high, low

    def init(self, mode=IN, pull=PULL_NONE, **_kw):
        self._mode = mode

    def name(self):
        return self._name


class LED:
    def __init__(self, n, _recorder=None):
        if n not in (1, 2, 3, 4):
            raise ValueError(f"LED({n}) doesn't exist")
        self._n = n
        self._recorder = _recorder
        self._on = 0

    def on(self):
        self._on = 1
        self._recorder.led(self._n, 1)

    def off(self):
        self._on = 0
        self._recorder.led(self._n, 0)

    def toggle(self):
        self.off() if self._on else self.on()

    def intensity(self, value=None):
        return 255 if self._on else 0


class PybModule:
    def __init__(self, recorder: Recorder, port, time_module):
        self._recorder = recorder
        self._port = port
        self._time = time_module
        rec = recorder

        class _Pin(Pin):
            def __init__(self, id, mode=Pin.IN, pull=Pin.PULL_NONE, **kw):  # noqa: A002
                super().__init__(id, mode, pull, _recorder=rec, **kw)

        class _LED(LED):
            def __init__(self, n):
                super().__init__(n, _recorder=rec)

        class _USB_VCP(USB_VCP):  # noqa: N801 - a class, as pyb.USB_VCP.RTS needs
            def __init__(self, id=0):  # noqa: A002
                super().__init__(port, id)

        self.Pin = _Pin
        self.LED = _LED
        self.USB_VCP = _USB_VCP

    def millis(self):
        return self._time.ticks_ms()

    def micros(self):
        return self._time.ticks_us()

    def elapsed_millis(self, start):
        return self._time.ticks_diff(self._time.ticks_ms(), start)

    def delay(self, ms):
        self._time.sleep_ms(ms)

    def udelay(self, us):
        self._time.sleep_us(us)

    def hard_reset(self):
        raise BoardReset("pyb.hard_reset()")

    def freq(self):
        return (480000000, 240000000, 120000000, 120000000)

    def unique_id(self):
        return b"virtualboard"


class MachineModule:
    def __init__(self, pyb: PybModule):
        self.Pin = pyb.Pin

    def reset(self):
        raise BoardReset("machine.reset()")

    def soft_reset(self):
        raise BoardReset("machine.soft_reset()")

    def unique_id(self):
        return b"virtualboard"

    def freq(self):
        return 480000000

    def idle(self):
        pass
