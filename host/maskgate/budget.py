"""What a .tflite costs on the OpenMV Cam H7: size, parameters, MACs, tflite-micro arena, the
memory it needs on each firmware release, and the *estimated* Cortex-M7 latency.

The arena is measured, not guessed: the model is loaded in the tflite-micro interpreter (the
PyPI package, reference kernels) with ever smaller arenas until allocation fails. The board then
needs a little more: CMSIS-NN scratch for the largest non-1x1 convolution ("used" below, what
tflite-micro's arena_used_bytes() says on the camera), allocated the way that release does.

Memory: where the model and the arena go on each firmware release, and whether they fit, is
maskgate.memory (one row per firmware layout, read from the OpenMV source); the gate here
requires every supported release to hold the model.

Latency: where the Arm toolchain, QEMU and a libtflm checkout are there (maskgate.m7), the
instructions one inference executes in OpenMV's TFLM + CMSIS-NN library are counted on an
emulated Cortex-M7, and milliseconds follow from a stated cycles-per-instruction range whose
lower end, 0.5, is the M7's dual-issue limit (no code runs faster). Without them latency is
MACs x cycles-per-MAC / 480 MHz (1.4-3.0, typical 2.0, from MLPerf Tiny results), the weaker
figure. Both are estimates of board time; only the instruction count is measured.
"""
from __future__ import annotations

import gzip

import numpy as np

from maskgate.digest import sha256_bytes
from maskgate.memory import EMULATED, NEWEST, for_release, plan

CLOCK_HZ = 480_000_000
CYCLES_PER_MAC = {"low": 1.4, "typical": 2.0, "high": 3.0}
MODEL_MAX_BYTES = 230 * 1024  # the paper: larger models do not load on the H7
HEAP_BYTES = 260 * 1024  # the build config's own cap on model + arena (quantize --heap-kb); MEMORY is the board
OPENMV_ARENA_OVERHEAD = 512  # TF_ARENA_EXTRA (lib/tflm/tflm_backend.cc, 4.6.0 and later)


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _opcode_names(schema) -> dict:
    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def _tensor_shape(tensor) -> tuple:
    return tuple(int(tensor.Shape(i)) for i in range(tensor.ShapeLength()))


def layer_costs(tflite_bytes: bytes) -> list[dict]:
    """One entry per operator: name, output shape, MACs (conv, depthwise, fully connected;
    pooling and element-wise ops are counted as 0 MACs, they are a small share here)."""
    schema = _schema()
    model = schema.Model.GetRootAsModel(tflite_bytes, 0)
    names = _opcode_names(schema)
    graph = model.Subgraphs(0)
    rows = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = names.get(builtin, str(builtin))
        out = _tensor_shape(graph.Tensors(op.Outputs(0)))
        inputs = [_tensor_shape(graph.Tensors(op.Inputs(j))) if op.Inputs(j) >= 0 else () for j in range(op.InputsLength())]
        macs, kernel = 0, None
        if name == "CONV_2D":
            cout, kh, kw, cin = inputs[1]
            macs = int(np.prod(out[:-1])) * cout * kh * kw * cin
            kernel = (kh, kw, cin)
        elif name == "DEPTHWISE_CONV_2D":
            _, kh, kw, cout = inputs[1]
            macs = int(np.prod(out[:-1])) * cout * kh * kw
        elif name == "FULLY_CONNECTED":
            units, features = inputs[1]
            macs = int(np.prod(out[:-1])) * units * features
        rows.append({"op": name, "output": out, "macs": macs, "conv_kernel": kernel})
    return rows


def parameter_count(tflite_bytes: bytes) -> int:
    """Elements of the constant tensors (weights and biases) of the model."""
    schema = _schema()
    model = schema.Model.GetRootAsModel(tflite_bytes, 0)
    graph = model.Subgraphs(0)
    total = 0
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        buffer = model.Buffers(tensor.Buffer())
        if buffer is not None and (buffer.DataLength() > 0 or buffer.Size() > 0):
            total += int(np.prod(_tensor_shape(tensor))) if tensor.ShapeLength() else 1
    return total


# tflite-micro (this PyPI build) can crash the whole process (SIGSEGV) on some arenas that are
# too small: a failed temp allocation leaves it in a bad state (seen with MobileNet V1 at 32 KB).
# So the probing runs in a child process, and a probe that kills the child counts as "too small".
_ARENA_PROBE = r"""
import sys
from tflite_micro.python.tflite_micro import runtime
model = open(sys.argv[1], "rb").read()
for line in sys.stdin:
    try:
        runtime.Interpreter.from_bytes(model, arena_size=int(line))
        print(1, flush=True)
    except RuntimeError:
        print(0, flush=True)
"""


class _ArenaProbe:
    def __init__(self, model_path: str):
        self.model_path, self.proc = model_path, None

    def fits(self, size: int) -> bool:
        import subprocess
        import sys

        if self.proc is None:
            self.proc = subprocess.Popen([sys.executable, "-c", _ARENA_PROBE, self.model_path], text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.proc.stdin.write(f"{size}\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:  # crashed: only failing allocations do that
            self.proc.wait()
            self.proc = None
            return False
        return answer.strip() == "1"

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()


def arena_bytes(tflite_bytes: bytes, high: int = 4 * 1024 * 1024) -> int:
    """Smallest tflite-micro arena that allocates, found by bisection (to 16 bytes)."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
        f.write(tflite_bytes)
        f.flush()
        probe = _ArenaProbe(f.name)
        try:
            if not probe.fits(high):
                raise ValueError(f"model does not allocate even with a {high} byte arena")
            low = 0
            while high - low > 16:
                mid = (low + high) // 2
                if probe.fits(mid):
                    high = mid
                else:
                    low = mid
        finally:
            probe.close()
    return high


def cmsis_scratch_bytes(costs: list[dict]) -> int:
    """CMSIS-NN scratch of the largest non-1x1 convolution: 4 * align4(kh*kw*cin)."""
    scratch = 0
    for row in costs:
        kernel = row["conv_kernel"]
        if kernel and (kernel[0], kernel[1]) != (1, 1):
            scratch = max(scratch, 4 * ((kernel[0] * kernel[1] * kernel[2] + 3) // 4 * 4))
    return scratch


def board_arena_used(host_arena: int, costs: list[dict]) -> int:
    """What tflite-micro's arena_used_bytes() gives on the camera: the host's arena plus the
    CMSIS-NN scratch (the board's kernels need it, the host's reference kernels do not)."""
    return host_arena + cmsis_scratch_bytes(costs)


def manifest_arena_used(manifest: dict, model_bytes: bytes, measure: bool = True) -> int | None:
    """board_arena_used for a model bundle: the manifest's own figure, or its host arena plus
    the scratch, or (measure) the model measured now; None when not measuring."""
    if manifest.get("arena_bytes_used_board"):
        return int(manifest["arena_bytes_used_board"])
    host = manifest.get("arena_bytes") or (arena_bytes(model_bytes) if measure else None)
    return board_arena_used(int(host), layer_costs(model_bytes)) if host else None


def board_arena_bytes(host_arena: int, costs: list[dict], release: str | None = None) -> int:
    """The arena as a release allocates it (default: the newest emulated release)."""
    return for_release(release).arena_allocation(board_arena_used(host_arena, costs))


def estimate(macs: int) -> dict:
    latency = {k: macs * c / CLOCK_HZ * 1000.0 for k, c in CYCLES_PER_MAC.items()}
    return {
        "kind": "estimate",
        "basis": "MACs x cycles/MAC / 480 MHz; cycles/MAC for TFLM + CMSIS-NN on Cortex-M7 from MLPerf Tiny",
        "clock_hz": CLOCK_HZ,
        "cycles_per_mac": dict(CYCLES_PER_MAC),
        "latency_ms": {k: round(v, 3) for k, v in latency.items()},
        # fastest latency gives the highest fps
        "fps": {k: round(1000.0 / v, 1) if v > 0 else None for k, v in latency.items()},
    }


# Cycles per instruction on the Cortex-M7 for TFLM + CMSIS-NN. The floor is physics: the M7
# issues at most two instructions a cycle. Typical and high are assumptions, not measurements:
# CMSIS-NN's inner loops pair loads with SMLAD/ALU work (about one instruction a cycle), and
# wait states, cache misses (weights and activations outside the TCMs) and load-use stalls
# push that up by half again.
CYCLES_PER_INSTRUCTION = {"floor": 0.5, "typical": 1.0, "high": 1.5}


def latency_from_instructions(instructions: int) -> dict:
    """Board latency from an instruction count: a band, labelled as an estimate."""
    latency = {k: instructions * c / CLOCK_HZ * 1000.0 for k, c in CYCLES_PER_INSTRUCTION.items()}
    return {
        "kind": "estimate",
        "basis": "instructions counted on the emulated Cortex-M7 x cycles/instruction / 480 MHz; the floor "
                 "(0.5 cycles/instruction) is the M7's dual issue, typical and high are assumed",
        "clock_hz": CLOCK_HZ,
        "cycles_per_instruction": dict(CYCLES_PER_INSTRUCTION),
        "latency_ms": {k: round(v, 3) for k, v in latency.items()},
        "fps": {k: round(1000.0 / v, 1) if v > 0 else None for k, v in latency.items()},
    }


def m7_figures(tflite_bytes: bytes, libtflm=None) -> dict:
    """Instructions per inference and per operator on the emulated M7 (maskgate.m7.measure),
    or why there are none: {"kind": "unavailable" | "failed", "reason": ...}, in which case the
    MACs estimate is the only latency figure."""
    from maskgate.errors import EmulatorError
    from maskgate.m7 import measure, toolchain

    reason = toolchain.unavailable_reason(libtflm)
    if reason:
        return {"kind": "unavailable", "reason": reason}
    try:
        return measure.measure(tflite_bytes, toolchain.find_libtflm(libtflm))
    except EmulatorError as e:
        return {"kind": "failed", "reason": str(e)}


def model_figures(tflite_bytes: bytes, model_max_bytes: int = MODEL_MAX_BYTES, heap_bytes: int | None = None,
                  releases=EMULATED, libtflm=None, emulate: bool = False) -> dict:
    """Everything `maskgate info` prints and manifest.json records about a .tflite: the memory
    plan on each release in `releases` (the gate: it must fit all of them), and heap_bytes, an
    optional cap of the build's own on model + arena. With `emulate` it adds "m7": the counted
    M7 instructions when the toolchain and a libtflm (`libtflm`, else $MASKGATE_LIBTFLM) are
    there (and "instructions" per layer), else why not."""
    costs = layer_costs(tflite_bytes)
    macs = sum(r["macs"] for r in costs)
    arena = arena_bytes(tflite_bytes)
    used = board_arena_used(arena, costs)
    board_arena = for_release(NEWEST).arena_allocation(used)
    total = len(tflite_bytes) + board_arena
    plans = {r: plan(r, len(tflite_bytes), used) for r in releases}
    ok = (len(tflite_bytes) <= model_max_bytes and all(p["ok"] for p in plans.values())
          and (heap_bytes is None or total <= heap_bytes))
    figures = {
        "sha256": sha256_bytes(tflite_bytes),
        "bytes": len(tflite_bytes),
        "gzip_bytes": len(gzip.compress(tflite_bytes, compresslevel=9, mtime=0)),
        "params": parameter_count(tflite_bytes),
        "macs": macs,
        "arena_bytes": arena,
        "arena_bytes_used_board": used,
        "arena_bytes_board": board_arena,
        "budget": {
            "model_max_bytes": model_max_bytes,
            "heap_bytes": heap_bytes,
            "model_plus_arena_bytes": total,
            "releases": {r: {k: p[k] for k in ("ok", "model_in", "arena_in", "arena_bytes", "largest_free_after",
                                               "problems")} for r, p in plans.items()},
            "ok": ok,
        },
        "estimate": estimate(macs),
        "layers": [{"op": r["op"], "output": list(r["output"]), "macs": r["macs"]} for r in costs],
    }
    if emulate:
        m7 = m7_figures(tflite_bytes, libtflm)
        if m7["kind"] == "measured":
            for row, counted in zip(figures["layers"], m7["layers"]):
                row["instructions"] = counted["instructions"]
        figures["m7"] = m7
    return figures


def budget_problems(figures: dict) -> list[str]:
    """Why a model cannot go on the board (empty when it fits)."""
    b = figures["budget"]
    problems = []
    if figures["bytes"] > b["model_max_bytes"]:
        problems.append(
            f"int8 model is {figures['bytes'] / 1024:.1f} KB, over the {b['model_max_bytes'] / 1024:.0f} KB limit"
        )
    for release, p in b.get("releases", {}).items():
        problems.extend(f"firmware {release}: {text}" for text in p["problems"])
    if b.get("heap_bytes") is not None and b["model_plus_arena_bytes"] > b["heap_bytes"]:
        problems.append(
            f"model + arena is {b['model_plus_arena_bytes'] / 1024:.1f} KB "
            f"(model {figures['bytes'] / 1024:.1f} KB + board arena {figures['arena_bytes_board'] / 1024:.1f} KB), "
            f"over the {b['heap_bytes'] / 1024:.0f} KB heap budget set for this build"
        )
    return problems
