"""`pyb` and `machine` on the virtual board: GPIO pins modelled as the STM32 has them, LEDs,
the USB VCP, and resets that end the run. Every change of a pin's electrical state and of an
LED is recorded with the board time (ms since boot).

A pin (ports/stm32/pin.c, MicroPython 1.22-1.25) has an output data register and a mode. Pin(id)
alone configures nothing; Pin(id, mode, pull, *, value=) writes `value` to the output register
*before* switching the mode ("to prevent glitches", pin_obj_init_helper), so a pin created
OUT_PP without value= drives whatever the register held (0 after reset) until told otherwise.
What the outside world sees (Recorder.pins) is the level driven -- 0 or 1 -- or None where
nothing drives it: an input without pull, an open-drain output at 1, a pin after reset (the
STM32 starts every GPIO in analog mode, high impedance). A relay module on such a pin reads its
own pull resistor.
"""
from __future__ import annotations

from .vcp import USB_VCP


class BoardReset(BaseException):
    """machine.reset() / pyb.hard_reset(): the run ends (the runner may start it again)."""


class Recorder:
    """Pin and LED histories: name -> [(time_ms, level), ...], one entry per change; a pin's
    level is 0, 1 or None (not driven)."""

    def __init__(self, clock):
        self._clock = clock
        self.pins: dict[str, list] = {}
        self.leds: dict[int, list] = {1: [], 2: [], 3: [], 4: []}
        self.gpio: dict[str, dict] = {}  # pin name -> {"mode", "pull", "odr"}: the hardware registers

    def _note(self, history: list, value):
        if not history or history[-1][1] != value:
            history.append((self._clock.ms(), value))

    def pin(self, name: str, value):
        if value is None and not self.pins.get(name):
            return  # undriven since reset: nothing to record
        self._note(self.pins.setdefault(name, []), value)

    def led(self, n: int, value: int):
        self._note(self.leds.setdefault(n, []), value)

    def level(self, name: str):
        history = self.pins.get(name)
        return history[-1][1] if history else None

    def reset_pins(self):
        """A reset: every GPIO back to analog mode (high impedance), output registers 0."""
        for name in list(self.gpio):
            self.gpio[name] = {"mode": Pin.ANALOG, "pull": Pin.PULL_NONE, "odr": 0}
            if name in self.pins:
                self.pin(name, None)


def driven_level(gpio: dict):
    """The level a pin drives, or None (high impedance; an internal pull counts as driving)."""
    mode, pull, odr = gpio["mode"], gpio["pull"], gpio["odr"]
    if mode == Pin.OUT_PP:
        return odr
    if mode == Pin.OUT_OD and odr == 0:
        return 0
    if mode in (Pin.IN, Pin.OUT_OD):
        return {Pin.PULL_UP: 1, Pin.PULL_DOWN: 0}.get(pull)
    return None


class Pin:
    # ports/stm32/pin.c pin_locals_dict: GPIO_MODE_* and GPIO_NOPULL/PULLUP/PULLDOWN values
    IN, OUT_PP, OUT_OD, AF_PP, AF_OD, ANALOG = 0, 1, 0x11, 2, 0x12, 3
    OUT, OPEN_DRAIN = OUT_PP, OUT_OD
    PULL_NONE, PULL_UP, PULL_DOWN = 0, 1, 2
    IRQ_RISING, IRQ_FALLING = 0x10110000, 0x10210000
    VALID = tuple(f"P{i}" for i in range(10))
    MODES = (IN, OUT_PP, OUT_OD, AF_PP, AF_OD, ANALOG)

    def __init__(self, id, *args, _recorder=None, **kwargs):  # noqa: A002
        name = id if isinstance(id, str) else f"P{id}"
        if name not in Pin.VALID:
            raise ValueError(f"Pin({id!r}) doesn't exist")
        self._name = name
        self._recorder = _recorder
        _recorder.gpio.setdefault(name, {"mode": Pin.ANALOG, "pull": Pin.PULL_NONE, "odr": 0})
        if args or kwargs:  # mp_pin_make_new: a mode given configures the GPIO
            self.init(*args, **kwargs)

    @property
    def _gpio(self) -> dict:
        return self._recorder.gpio[self._name]

    def _changed(self):
        self._recorder.pin(self._name, driven_level(self._gpio))

    def init(self, mode, pull=None, af=-1, *, value=None, alt=-1):
        # pin_obj_init_helper: check mode and pull, write value= first, then the mode
        if mode not in Pin.MODES:
            raise ValueError(f"invalid pin mode: {mode}")
        pull = Pin.PULL_NONE if pull is None else int(pull)
        if pull not in (Pin.PULL_NONE, Pin.PULL_UP, Pin.PULL_DOWN):
            raise ValueError(f"invalid pin pull: {pull}")
        gpio = self._gpio
        if value is not None:
            gpio["odr"] = 1 if value else 0
        gpio["mode"], gpio["pull"] = mode, pull
        self._changed()

    def value(self, v=None):
        gpio = self._gpio
        if v is None:  # the input register: what the pin is at (an undriven pin reads 0 here)
            level = driven_level(gpio)
            return 0 if level is None else level
        gpio["odr"] = 1 if v else 0  # the output register, whatever the mode
        self._changed()
        return None

    __call__ = value

    def high(self):
        self.value(1)

    def low(self):
        self.value(0)

    on, off = high, low

    def mode(self):
        return self._gpio["mode"]

    def pull(self):
        return self._gpio["pull"]

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
    def __init__(self, recorder: Recorder, port, time_module, unique_id: bytes = b"virtualboard"):
        # pyb.unique_id() is machine.unique_id(): the MCU's 12-byte device id as bytes (MicroPython
        # ports/stm32/modpyb.c:146 -> modmachine.c:280, openmv-1.25.0); b"virtualboard" is 12 bytes too
        self._unique_id = unique_id
        self._recorder = recorder
        self._port = port
        self._time = time_module
        rec = recorder

        class _Pin(Pin):
            def __init__(self, id, *args, **kw):  # noqa: A002
                super().__init__(id, *args, _recorder=rec, **kw)

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
        return self._unique_id


class MachineModule:
    def __init__(self, pyb: PybModule):
        self.Pin = pyb.Pin
        self.unique_id = pyb.unique_id

    def reset(self):
        raise BoardReset("machine.reset()")

    def soft_reset(self):
        raise BoardReset("machine.soft_reset()")

    def freq(self):
        return 480000000

    def idle(self):
        pass
