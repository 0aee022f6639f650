"""The virtual board: runs the unmodified firmware/main.py on the PC.

The firmware is executed from a folder acting as the SD card, with OpenMV stand-ins for the
modules it imports (sensor, image, ml, tf, pyb, machine, time, os, gc, omv, micropython,
sys). Nothing is installed into sys.modules: the firmware gets its own `__import__`, `open`
and `print`, so the PC's `time`, `os` and friends are untouched and several boards can live
in one process. Imports the camera does not have fail, as they would there.

    board = VirtualBoard("frames/", clock="virtual", fps=10, firmware="4.8.1")
    board.install("models/maskgate_int8.tflite", **{"door.hold_s": 1.0})
    result = board.run()                 # until the frames run out
    board.decisions()                    # the SD log rows, typed
    board.door_events()                  # [(time_ms, "open" | "closed"), ...] from the relay pin

`firmware` picks the OpenMV release emulated (releases.py; default the newest): its modules,
the names and arguments they accept, where the card is, and its memory (maskgate.memory).
The door relay is read from the modelled pin (pyb.py) and the way it is wired (`relay`:
which pin, which level opens the door; by default what the installed config.json says when
that is valid, else the firmware's defaults), never through the firmware's own reading of
config.json: a pin nobody drives leaves the relay module on its pull resistor, which the
wiring instructions put at the closed level.

With pty=True the board serves its USB port on a pseudo-terminal, and like a camera it gives
MicroPython's REPL there once main.py ends (repl.py: mpremote works against it);
port_link=PATH keeps a stable name for the port (a symlink, like /dev/ttyACM0) so that a
reset or an unplug (faults.py) can take the port away and bring it back where the host
tools look for it. start() runs the board in a thread and boots it again after every reset.
"""
from __future__ import annotations

import builtins
import collections
import csv
import io
import json
import tempfile
import threading
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from maskgate import budget, bundle, firmware, memory
from maskgate.digest import sha256_bytes
from maskgate.errors import BoardError

from .. import board_config
from ..sd_log import segment_files, typed_row
from . import image as image_mod
from .card import Card, OsModule
from .clock import Clock, TimeModule
from .frames import EndOfFrames, open_source
from .ml import MlModule, TfModule, UmlModule
from .pyb import BoardReset, MachineModule, Pin, PybModule, Recorder
from .releases import release as find_release
from .repl import Repl
from .sensor import SensorModule
from .system import GcModule, MicropythonModule, OmvModule, SysModule
from .vcp import MemoryPort, PtyPort, VcpInterrupt

# Standard modules the camera has too (MicroPython names them without the u since 1.20).
STDLIB = {"json", "struct", "binascii", "hashlib", "math", "errno", "io", "collections", "re",
          "random", "array", "select", "heapq", "cmath"}
ALIASES = {"u" + name: name for name in STDLIB | {"os", "time", "sys"}}
API_RELEASES = {"tf": "4.5.5", "ml": None}  # the older `api=` choice: the tf-only release, or the newest


@dataclass
class Inference:
    frame: int
    tensor: object  # the model's input tensor (numpy, e.g. 32x32x3 int8)
    outputs: list  # dequantized outputs, one array per output tensor


@dataclass
class RunResult:
    frames: int  # frames delivered by the camera
    ended: str  # "frames" (source ran dry or stop()), "reset", "exit", "crash", "interrupted" (Ctrl-C on the VCP)
    crash: str | None = None  # the traceback when the firmware died
    console: list = field(default_factory=list)


class LogTail:
    """Reads the decision rows the firmware appends to the card's log, a bit at a time."""

    def __init__(self, card: Card, folder: str):
        self._card = card
        self._folder = folder
        self._offsets: dict[str, int] = {}
        self._partial: dict[str, str] = {}
        self._header: dict[str, list] = {}

    def read_new(self) -> list[dict]:
        try:
            base = self._card.real(self._folder)
        except OSError:
            return []
        if not base.is_dir():
            return []
        rows = []
        for key, path in segment_files(base):
            offset = self._offsets.get(key, 0)
            with open(path, "r", newline="") as f:
                f.seek(offset)
                chunk = f.read()
                self._offsets[key] = f.tell()
            text = self._partial.pop(key, "") + chunk
            lines = text.split("\n")
            if lines and lines[-1] != "":
                self._partial[key] = lines[-1]
            for line in lines[:-1]:
                if not line:
                    continue
                cells = next(csv.reader([line]))
                if key not in self._header:
                    self._header[key] = cells
                    continue
                rows.append(typed_row(dict(zip(self._header[key], cells))))
        return rows


class VirtualBoard:
    def __init__(self, frames, card_dir=None, *, clock: str = "virtual", fps: float = 10.0,
                 start_ms: int = 0, pty: bool = False, firmware: str | None = None, api: str | None = None,
                 heap_bytes: int | None = None, card_bytes: int = 4 * 1024**3, arena_used: int | None = None,
                 relay: tuple | None = None, echo=None, keep_frames: bool = False, loop: bool = False,
                 max_frames: int | None = None, on_frame=None, repl: bool | None = None, port_link=None,
                 reset_gap_s: float = 0.3, unique_id: bytes = b"virtualboard"):
        if api not in (None, "ml", "tf"):
            raise ValueError("api must be 'ml' (firmware >= 4.5.6) or 'tf' (older)")
        self.release = find_release(firmware or (API_RELEASES[api] if api else None))
        self._own_card = card_dir is None
        self.card = Card(card_dir or tempfile.mkdtemp(prefix="maskgate-card-"), card_bytes,
                         self.release.card_root, self.release.rom_files)
        self.clock = Clock(clock, fps, start_ms)
        self.start_ms = start_ms
        self.time = TimeModule(self.clock)
        self.frames_spec = frames
        self.loop = loop
        self.api = self.release.inference
        self.firmware_version = self.release.version
        # heap_bytes: one heap area of that many usable bytes (a test's small heap); else the release's
        self.heap = memory.Heap([heap_bytes] if heap_bytes else self.release.memory.pools())
        self.card.heap = self.heap  # images the firmware copies take room on it (image.py)
        self.arena_used = arena_used  # tflite-micro's arena_used_bytes() on the camera, when known
        self.arena_known: dict[str, int] = {}  # the same per model file (sha256), from the manifests
        self.wiring = tuple(relay) if relay else None  # (pin, active_high) as the relay is wired
        self.port = (PtyPort(port_link, self.clock, self.firmware_version) if pty
                     else MemoryPort(self.clock, self.firmware_version))
        self.repl = pty if repl is None else repl  # serve the REPL once main.py ends
        self.reset_gap_s = reset_gap_s
        self.unique_id = bytes(unique_id)  # pyb.unique_id(): the board id HELLO reports
        self.boots = 0
        self.recorder = Recorder(self.clock)
        self.echo = echo
        self.console: collections.deque = collections.deque(maxlen=10000)
        self.inferences: collections.deque = collections.deque(maxlen=5000)
        self.keep_frames = keep_frames
        self.frames: list = []  # the fitted RGB888 frames shown to the camera (keep_frames)
        self.frame_index = -1  # frames the camera delivered, over all boots
        self.boot_frame = 0  # frame_index of the current boot's first frame
        self.max_frames = max_frames
        self.on_frame = on_frame
        self.config: dict | None = None
        self.source = None
        self.source_problems: list[str] = []  # pictures skipped, a video that would not open
        self._stop = threading.Event()
        self._thread = None
        self.result: RunResult | None = None

    # --- the card ---
    @property
    def pty_path(self) -> str | None:
        return self.port.path

    def install(self, model=None, /, manifest: dict | None = None, config: dict | None = None, **overrides) -> dict | None:
        """Put the firmware, the model and config.json on the card (what `deploy` does to a
        real card). config: a complete config dict to write as is; otherwise it is made from
        the manifest (beside the model, or a minimal one) plus overrides."""
        if model is None:
            for path in firmware.files():
                self.card.write_bytes(path.name, path.read_bytes())
            if config is not None:
                self.write_config(config)
            return self.config
        manifest = manifest if manifest is not None else bundle.describe(model)
        data = Path(model).read_bytes()
        if self.arena_used is None:  # without the manifest's figures ml.py measures the model itself
            self.arena_used = budget.manifest_arena_used(manifest, data, measure=False)
        if self.arena_used:
            self.arena_known[sha256_bytes(data)] = self.arena_used
        det = (manifest.get("face_stage") or {}).get("detector") or {}
        if det.get("sha256") and budget.manifest_arena_used(det, b"", measure=False):
            self.arena_known[det["sha256"]] = budget.manifest_arena_used(det, b"", measure=False)
        for name, data in board_config.card_files(model, manifest, **overrides).items():
            self.card.write_bytes(name, data)
        if config is not None:
            self.write_config(config)
        else:
            self.config = json.loads(self.card.read_bytes(board_config.CONFIG_FILE))
        return self.config

    def write_config(self, config: dict) -> None:
        self.card.write_bytes(board_config.CONFIG_FILE, (json.dumps(config, indent=2) + "\n").encode())
        self.config = config

    def relay_wiring(self) -> tuple[str, bool]:
        """(pin, level that opens the door) of the relay as wired: `relay=` when given, else
        what the config installed says where that is a valid setting, else the defaults."""
        if self.wiring:
            return self.wiring
        defaults = firmware.module("config").DEFAULTS["door"]
        door = (self.config or {}).get("door") if isinstance(self.config, dict) else None
        door = door if isinstance(door, dict) else {}
        pin = door.get("relay_pin") if door.get("relay_pin") in Pin.VALID else defaults["relay_pin"]
        high = door.get("active_high") if isinstance(door.get("active_high"), bool) else defaults["active_high"]
        return pin, high

    # --- the stand-ins and the sandbox ---
    def _print(self, *args, sep=" ", end="\n", file=None, flush=False):
        buf = io.StringIO()
        builtins.print(*args, sep=sep, end=end, file=buf)
        text = buf.getvalue()
        self.console.append(text.rstrip("\n"))
        self.port.console_write(text.replace("\n", "\r\n").encode())  # the VCP is the board's stdout
        if self.echo:
            self.echo(text)

    def console_print(self, *args, **kwargs):
        """print() as the firmware's code sees it (to the console and the USB port)."""
        self._print(*args, **kwargs)

    def soft_reset(self) -> None:
        """A fresh interpreter on the same card and port: new module objects and builtins."""
        self._modules = self._standins()
        self._builtins = dict(vars(builtins))
        self._builtins.update(__import__=self._import, open=self.card.open, print=self._print)
        self.heap.reset()  # the GC heap starts empty again (models loaded before are gone)
        self.card.cwd = ""  # the working directory is the card's root (main.c / _boot.py)
        self.fb_models = 0
        self.port.boot()

    def firmware_module(self, name: str):
        """A firmware module as loaded by the running boot (tests look inside or wrap it)."""
        return self._modules.get(name)

    def sandbox_builtins(self) -> dict:
        return self._builtins

    def stop_flag(self) -> bool:
        return self._stop.is_set()

    def _standins(self) -> dict:
        os_mod = OsModule(self.card)
        pyb = PybModule(self.recorder, self.port, self.time, self.unique_id)
        mods = {
            "sensor": SensorModule(self),
            "image": image_mod.ImageModule(self.card, self.release),
            "pyb": pyb,
            "machine": MachineModule(pyb),
            "time": self.time,
            "os": os_mod,
            "gc": GcModule(self.heap),
            "omv": OmvModule(self.release),
            "micropython": MicropythonModule(),
            "sys": SysModule(self._print, self.release),
        }
        if self.release.inference == "tf":
            mods["tf"] = TfModule(self)  # py_tf.c: the only inference module up to 4.5.5
        else:
            mods["ml"] = MlModule(self)  # the frozen ml package
            mods["uml"] = mods["tf"] = UmlModule(self)  # py_ml.c: uml, and tf as its alias
        return mods

    def arena_for(self, data: bytes) -> int | None:
        """arena_used_bytes() of a model file as the manifests told it (None: ml.py measures)."""
        known = self.arena_known.get(sha256_bytes(data))
        return known if known or self.arena_known else self.arena_used  # arena_used= alone: any model

    def framebuffer_free(self) -> int:
        """What fb_alloc can still hand out (omv_boardconfig.h: FB_SIZE + FB_ALLOC_SIZE less
        the frame), for the <= 4.5.5 arena and load_to_fb models."""
        sensor = self._modules.get("sensor")
        frame = sensor.width() * sensor.height() * 2 if sensor else memory.QVGA_RGB565
        return self.release.memory.spill_bytes - frame - self.fb_models

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            raise ImportError("relative imports do not exist on the camera")
        name = ALIASES.get(name, name)
        if name in self._modules:
            return self._modules[name]
        if "." not in name and self.card.exists(f"{name}.py"):
            return self._load_card_module(name)
        if name in STDLIB:
            return builtins.__import__(name, globals, locals, fromlist, level)
        raise ImportError(f"no module named '{name}' (not on the OpenMV Cam {self.firmware_version} "
                          f"as emulated by the virtual board)")

    def _load_card_module(self, name: str):
        path = self.card.real(f"{name}.py")
        mod = types.ModuleType(name)
        mod.__file__ = f"/sdcard/{name}.py"
        mod.__dict__["__builtins__"] = self._builtins
        self._modules[name] = mod  # before exec, for import cycles
        try:
            exec(compile(path.read_text(), str(path), "exec"), mod.__dict__)
        except BaseException:
            del self._modules[name]
            raise
        return mod

    # --- hooks called by the sensor stand-in ---
    def stop_requested(self) -> bool:
        if self.max_frames is not None and self.frame_index + 1 >= self.max_frames:
            return True
        return self._stop.is_set()

    def before_frame(self) -> None:
        # USB bytes arrive while the script runs: a Ctrl-C interrupts it unless it called
        # usb.setinterrupt(-1) (on the camera the USB interrupt does this at any moment)
        self.port.receive()
        if self.on_frame and self.frame_index >= 0:
            self.on_frame(self, self.frame_index)

    def after_frame(self, rgb) -> None:
        self.frame_index += 1
        if self.keep_frames:
            self.frames.append(rgb)

    def record_inference(self, tensor, outputs) -> None:
        self.inferences.append(Inference(self.frame_index, tensor, outputs))

    # --- running ---
    def run(self) -> RunResult:
        """Boot the card's main.py and run it until the frames run out, stop() is called,
        the firmware resets or exits -- or crashes (result.crash holds the traceback).
        Calling it again reboots: fresh modules, frames from the start, same card, clock,
        port and pin history (a RESET command lands here)."""
        main_py = self.card.real("main.py")
        if not main_py.is_file():
            if self.repl:
                return self._repl_only()
            raise BoardError(f"no main.py on the card {self.card.root}: install() the firmware first")
        self.source = open_source(self.frames_spec, loop=self.loop, problems=self.source_problems)
        self.boot_frame = self.frame_index + 1  # the firmware counts its frames from 0 again
        self.boots += 1
        self.recorder.reset_pins()  # a reset releases every pin until main.py sets it up again
        self.port.power_on()
        self.soft_reset()
        globs = {"__name__": "__main__", "__file__": "/sdcard/main.py", "__builtins__": self._builtins}
        ended, crash = "frames", None
        try:
            exec(compile(main_py.read_text(), str(main_py), "exec"), globs)
            ended = "exit"
        except EndOfFrames:
            ended = "frames"
        except BoardReset:
            ended = "reset"
        except SystemExit:
            ended = "exit"
        except VcpInterrupt:
            ended = "interrupted"
            self.port.console_write(b"Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n",
                                    interruptible=False)
        except Exception:
            ended, crash = "crash", traceback.format_exc()
            self.port.console_write(crash.replace("\n", "\r\n").encode(), interruptible=False)  # on the VCP
        if self.on_frame and self.frame_index >= 0:
            self.on_frame(self, self.frame_index)
        if ended in ("exit", "interrupted", "crash") and self.repl and not self._stop.is_set():
            # main.py is over: the camera soft-resets and serves the REPL until reset
            if Repl(self).serve() == "reset":
                ended = "reset"
        self.result = RunResult(self.frame_index + 1, ended, crash, list(self.console))
        return self.result

    def _repl_only(self) -> RunResult:
        # A camera without main.py: just the REPL (how a fresh board meets mpremote).
        self.boots += 1
        self.port.power_on()
        self.soft_reset()
        ended = "reset" if Repl(self).serve() == "reset" else "exit"
        self.result = RunResult(self.frame_index + 1, ended, None, list(self.console))
        return self.result

    def serve(self) -> RunResult:
        """run() again after every reset (a RESET command, machine.reset() from the REPL),
        as a camera boots again; until the frames run out, main.py ends or stop()."""
        while True:
            result = self.run()
            if result.ended != "reset" or self._stop.is_set():
                return result
            if getattr(self.port, "link", None):
                self.port.unplug(self.reset_gap_s)  # the USB port goes away while the board boots

    def start(self) -> "VirtualBoard":
        """serve() in a background thread (serve the pty while the test or host talks to it)."""
        self._thread = threading.Thread(target=self.serve, name="virtual-board", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """End the run at the next frame (or REPL poll); safe from a signal handler."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> RunResult | None:
        """End the run at the next frame and wait for it."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def close(self) -> None:
        self.stop()
        self.port.close()
        if self._own_card:
            import shutil

            shutil.rmtree(self.card.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- what happened ---
    def log_dir(self) -> str:
        try:
            return json.loads(self.card.read_bytes(board_config.CONFIG_FILE))["log"]["dir"]
        except Exception:
            return firmware.module("config").DEFAULTS["log"]["dir"]

    def decisions(self) -> list[dict]:
        """Every decision row in the card's log, oldest first, typed."""
        return LogTail(self.card, self.log_dir()).read_new()

    def relay(self) -> tuple[str, bool]:
        return self.relay_wiring()

    def door_events(self) -> list[tuple[int, str]]:
        """[(time_ms, "open" | "closed")] from the relay pin's electrical history: open only
        while the pin drives the level that opens the door; an undriven pin (None) leaves the
        relay on its pull resistor, at the closed level."""
        pin, active_high = self.relay_wiring()
        opens = 1 if active_high else 0
        events = [] if self.recorder.pins.get(pin) else [(self.start_ms, "closed")]  # never driven
        for t, level in self.recorder.pins.get(pin, []):
            state = "open" if level == opens else "closed"
            if not events or events[-1][1] != state or events[-1][0] != t:
                events.append((t, state))
        return events

    def relay_levels(self) -> list[tuple[int, object]]:
        """[(time_ms, 0 | 1 | None)]: what the relay pin did (None: not driven)."""
        return list(self.recorder.pins.get(self.relay_wiring()[0], []))

    def door(self) -> str:
        events = self.door_events()
        return events[-1][1] if events else "closed"

    def led_events(self) -> dict[str, list]:
        names = {1: "red", 2: "green", 3: "blue"}
        return {names[n]: list(h) for n, h in self.recorder.leds.items() if n in names}
