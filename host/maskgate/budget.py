"""What a .tflite costs on the OpenMV Cam H7: size, parameters, MACs, tflite-micro arena, the
memory it needs on each firmware release, and the *estimated* Cortex-M7 latency.

The arena is measured, not guessed: the model is loaded in the tflite-micro interpreter (the
PyPI package, reference kernels) with ever smaller arenas until allocation fails. The board then
needs a little more: CMSIS-NN scratch for the largest non-1x1 convolution ("used" below, what
tflite-micro's arena_used_bytes() says on the camera), allocated the way that release does.

Memory (MEMORY, one row per firmware layout): where the model and the arena go and how each
release rounds them, read from the OpenMV source. quantize, info, deploy and the virtual board
all plan with `plan()` on these rows, so they give the same answer for the same model.

Latency: where the Arm toolchain, QEMU and a libtflm checkout are there (maskgate.m7), the
instructions one inference executes in OpenMV's TFLM + CMSIS-NN library are counted on an
emulated Cortex-M7, and milliseconds follow from a stated cycles-per-instruction range whose
lower end, 0.5, is the M7's dual-issue limit (no code runs faster). Without them latency is
MACs x cycles-per-MAC / 480 MHz (1.4-3.0, typical 2.0, from MLPerf Tiny results), the weaker
figure. Both are estimates of board time; only the instruction count is measured.
"""
from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

import numpy as np

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
    return memory(release).arena_allocation(board_arena_used(host_arena, costs))


# --- Memory of the OpenMV Cam H7 (STM32H743, no SDRAM), per firmware release -----------------

K = 1024
GC_BLOCK = 16  # MICROPY_BYTES_PER_GC_BLOCK: every allocation is a whole number of 16-byte blocks
FIRMWARE_HEAP = 48 * K  # ESTIMATE (not measured on a board): the firmware's modules and buffers
DOOR_LOOP_HEAP = 160 * 120 + 2 * K  # per frame: the half-size grayscale copy for Haar + the crop
QVGA_RGB565 = 320 * 240 * 2  # the frame the firmware captures (frame buffer)


def gc_pool_bytes(area_bytes: int) -> int:
    """Usable bytes of a GC heap area: MicroPython (py/gc.c gc_setup_area, finaliser on) keeps
    an allocation table of 1 byte per 4 blocks, a finaliser table of 1 bit per block and a gap
    byte in the area itself."""
    table = (area_bytes - 1) * 8 // (8 + 8 * 4 // 8 + 8 * 4 * GC_BLOCK)
    return table * 4 * GC_BLOCK


def _version(text) -> tuple:
    try:
        return tuple(int(p) for p in str(text).split("-")[0].split(".")[:3])
    except ValueError:
        raise ValueError(f"not an OpenMV firmware version: {text!r}") from None


@dataclass(frozen=True)
class FirmwareMemory:
    """How one range of firmware releases lays out the H7's memory for a model."""

    first: str  # first release with this layout (the next row's `first` ends it)
    label: str  # the releases it covers, for messages
    emulated: str | None  # the release the virtual board emulates for this layout
    heap_areas: tuple  # GC heap areas as configured, in allocation order (one allocation fits in one)
    arena_in: str  # "heap": one block of the GC heap; "framebuffer": fb_alloc at every classify
    arena_align: int  # arena rounded up to this ...
    arena_extra: int  # ... plus this
    arena_slack: int  # bytes allocated beyond the arena for aligning it by hand
    model_align: int  # 0: the model takes exactly its size; else align(size) + align - 1
    model_spill: str  # where a model goes that the heap cannot hold: "framebuffer" (load_to_fb) or "uma"
    spill_bytes: int  # size of that memory (frame buffer: FB_SIZE + FB_ALLOC_SIZE; UMA pool)
    source: str  # the OpenMV files the figures come from

    def arena_allocation(self, used: int) -> int:
        """Bytes this release allocates for an arena tflite-micro uses `used` bytes of."""
        a = self.arena_align
        return (used + a - 1) // a * a + self.arena_extra + self.arena_slack

    def arena_reported(self, used: int) -> int:
        """`model.ram` on this release (the arena without the alignment slack)."""
        return self.arena_allocation(used) - self.arena_slack

    def model_allocation(self, size: int) -> int:
        a = self.model_align
        return size if not a else (size + a - 1) // a * a + a - 1

    def pools(self) -> list[int]:
        return [gc_pool_bytes(b) for b in self.heap_areas]


# Read from github.com/openmv/openmv at the release tags (4.x under src/omv/, 5.0 at the top).
MEMORY = (
    FirmwareMemory("0.0.0", "<= 4.5.5", "4.5.5", (228 * K,), "framebuffer", 16, 0, 0, 0, "framebuffer",
                   400 * K + 100 * K,
                   "src/omv/boards/OPENMV4/omv_boardconfig.h:116,125-128 (one 228K heap; FB 400K + fb_alloc 100K); "
                   "src/omv/modules/py_tf.c:181 (model xalloc or fb_alloc), :195,:454 (arena fb_alloc'd at "
                   "load and at every classify); libtf.a is prebuilt: its arena size is taken as align16(used)"),
    FirmwareMemory("4.5.6", "4.5.6 - 4.5.8", None, (26 * K, 267 * K), "heap", 1, 1024, 15, 0, "framebuffer",
                   400 * K + 80 * K,
                   "src/omv/boards/OPENMV4/omv_boardconfig.h:129-132 (GC blocks 26K + 267K); "
                   "src/lib/tflm/tflm_backend.cc:268,276 (memory_size = used + 1024, m_new(size + 15))"),
    FirmwareMemory("4.5.9", "4.5.9", "4.5.9", (26 * K, 267 * K), "heap", 16, 0, 0, 0, "framebuffer",
                   400 * K + 80 * K,
                   "src/omv/boards/OPENMV4/omv_boardconfig.h:132-135 (GC blocks 26K + 267K); "
                   "src/lib/tflm/tflm_backend.cc:209-222 (temp arena = largest free block; "
                   "TF_ARENA_ROUND(used), no extra); src/omv/modules/py_ml.c:341 (model xalloc or fb_alloc)"),
    FirmwareMemory("4.6.0", "4.6.0 - 4.7.x", None, (26 * K, 267 * K), "heap", 16, 512, 0, 32, "framebuffer",
                   400 * K + 80 * K,
                   "omv_boardconfig.h:144-147 (26K + 267K); tflm_backend.cc:54-56,239 (TF_ARENA_ROUND(used) + "
                   "TF_ARENA_EXTRA 512; 4.7.0 the same at :241); py_ml.c:383-384 (model align32 + 31)"),
    FirmwareMemory("4.8.0", "4.8.x", "4.8.1", (64 * K, 267 * K), "heap", 16, 512, 0, 32, "framebuffer",
                   400 * K + 80 * K,
                   "boards/OPENMV4/omv_boardconfig.h:137-140 (GC blocks 64K + 267K); "
                   "lib/tflm/tflm_backend.cc:57-58,243 (OMV_ALIGN_TO(used, 16) + 512); "
                   "modules/py_ml.c:379-380 (m_malloc(align32(size) + 31))"),
    FirmwareMemory("5.0.0", ">= 5.0.0", "5.0.0", (64 * K, 264 * K), "heap", 16, 512, 0, 32, "uma", 480 * K,
                   "boards/OPENMV4/board_config.h:137-142 (GC blocks 64K + 264K, UMA pool 480K); "
                   "lib/tflm/tflm_backend.cc:67,246-259 (temp arena = largest free block; align16(used) + 512); "
                   "modules/py_ml.c:369-379 (model in the GC heap if it fits, else UMA; load_to_fb removed)"),
)
EMULATED = tuple(m.emulated for m in MEMORY if m.emulated)  # the releases the virtual board emulates
NEWEST = EMULATED[-1]


def memory(release: str | None = None) -> FirmwareMemory:
    """The MEMORY row for a firmware version ("4.8.1", "4.6.20"; None: the newest emulated)."""
    want = _version(release or NEWEST)
    row = MEMORY[0]
    for m in MEMORY:
        if _version(m.first) <= want:
            row = m
    return row


class Heap:
    """The MicroPython GC heap as areas of usable bytes with first-fit allocation, the way
    py/gc.c with MICROPY_GC_SPLIT_HEAP hands out memory: an allocation is a run of 16-byte
    blocks inside one area, tried from the first area on. Fragmentation inside an area is not
    modelled (each area is one free run after its allocations)."""

    def __init__(self, areas, firmware_bytes: int = FIRMWARE_HEAP):
        self.sizes = [int(a) for a in areas]
        self.firmware_bytes = int(firmware_bytes)
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        """Empty again (a soft reset), then the firmware's own objects: many small
        allocations, so they fill the areas in order."""
        self.generation += 1  # what was allocated before is gone; give() of it is ignored
        self.used = [0] * len(self.sizes)
        left = self.firmware_bytes
        for i, size in enumerate(self.sizes):
            take = min(left, size)
            self.used[i] += take
            left -= take

    @property
    def total(self) -> int:
        return sum(self.sizes)

    def free(self) -> int:
        """gc.mem_free(): every free byte of every area."""
        return sum(s - u for s, u in zip(self.sizes, self.used))

    def max_free(self) -> int:
        """gc_info().max_free in bytes: the longest free run (within one area)."""
        return max((s - u for s, u in zip(self.sizes, self.used)), default=0)

    def take(self, n: int, what: str) -> int:
        """Allocate n bytes (rounded to GC blocks) in the first area that holds them; the
        area's index. MemoryError with MicroPython's message when none does."""
        n = (int(n) + GC_BLOCK - 1) // GC_BLOCK * GC_BLOCK
        for i, (size, used) in enumerate(zip(self.sizes, self.used)):
            if size - used >= n:
                self.used[i] += n
                return i
        raise MemoryError(f"memory allocation failed, allocating {n} bytes for {what}")

    def give(self, area: int, n: int, generation: int | None = None) -> None:
        """Free n bytes taken from `area` (by take(); a block of an earlier boot is ignored)."""
        if generation is not None and generation != self.generation:
            return
        n = (int(n) + GC_BLOCK - 1) // GC_BLOCK * GC_BLOCK
        self.used[area] = max(0, self.used[area] - n)


DETECTOR_COPY = 96 * 72 * 2  # per frame with the face detector: its 96 x 72 RGB565 input copy


def plan(release: str | None, model_bytes: int, arena_used: int, *, firmware_bytes: int = FIRMWARE_HEAP,
         frame_bytes: int = QVGA_RGB565, then=()) -> dict:
    """Where the model and its arena go on `release` and whether the door loop still has its
    per-frame memory: the answer quantize, info and deploy give, and what the virtual board
    does when it loads the model (same rows, same Heap).

    then: more models loaded after this one, in order, as (what, model_bytes, arena_used), e.g.
    the face detector after the classifier (main.py loads them one after the other; each model
    is allocated, then its arena). The plan's top-level figures are the first model's;
    "models" has one entry per model."""
    mem = memory(release)
    heap = Heap(mem.pools(), firmware_bytes)
    out = {"release": mem.label, "source": mem.source, "heap_areas": list(mem.heap_areas),
           "heap_free_before": heap.free(), "arena_in": mem.arena_in, "problems": [], "models": []}
    spill_room = mem.spill_bytes - (frame_bytes if mem.model_spill == "framebuffer" else 0)
    arenas_in_fb = []
    for what, size, used in [("the model", model_bytes, arena_used)] + [tuple(t) for t in then]:
        entry = {"what": what, "bytes": size, "model_in": None, "arena_bytes": mem.arena_allocation(used)}
        out["models"].append(entry)
        problems = []
        need = mem.model_allocation(size)
        if mem.model_spill == "framebuffer" and size > heap.free() - 64 * K:
            entry["model_in"] = "framebuffer"  # firmware/infer.py load_to_fb: the heap would be crowded
            spill_room -= size
        else:
            try:
                heap.take(need, what)
                entry["model_in"] = "heap"
            except MemoryError:
                if mem.model_spill == "uma" and need <= spill_room:
                    entry["model_in"] = "uma"
                    spill_room -= need
                else:
                    problems.append(f"{what} ({size / K:.1f} KB) fits in no heap block "
                                    f"(largest free {heap.max_free() / K:.1f} KB)")
        if mem.arena_in == "framebuffer":
            arenas_in_fb.append(entry["arena_bytes"])  # fb_alloc'd at every call, one model at a time
        elif not problems:
            if used > heap.max_free():
                problems.append(f"tflite-micro cannot plan the arena of {what} ({used / K:.1f} KB) in the largest "
                                f"free block ({heap.max_free() / K:.1f} KB)")
            else:
                try:
                    heap.take(entry["arena_bytes"], f"the tensor arena of {what}")
                except MemoryError:
                    problems.append(f"the arena of {what} ({entry['arena_bytes'] / K:.1f} KB) fits in no heap "
                                    f"block (largest free {heap.max_free() / K:.1f} KB)")
        out["problems"] += problems
        if problems:
            break
    if arenas_in_fb and max(arenas_in_fb) > spill_room:
        out["problems"].append(f"the arena ({max(arenas_in_fb) / K:.1f} KB) does not fit the frame buffer's "
                               f"{max(spill_room, 0) / K:.1f} KB")
    per_frame = DOOR_LOOP_HEAP if not then else max(DOOR_LOOP_HEAP, DETECTOR_COPY + 2 * K)
    if not out["problems"] and heap.max_free() < per_frame:
        out["problems"].append(f"only {heap.max_free() / K:.1f} KB left in one block for the door loop's "
                               f"{per_frame / K:.1f} KB per frame")
    out["model_in"] = out["models"][0]["model_in"]
    out["arena_bytes"] = out["models"][0]["arena_bytes"]
    out["heap_free_after"] = heap.free()
    out["largest_free_after"] = heap.max_free()
    # firmware/face.py to_input copies the judged square first (side^2 x 2 bytes); a bigger
    # square than this is cropped in place instead (firmware/judge.py crop_square)
    out["largest_square_copy"] = int((max(0, heap.max_free()) // 2) ** 0.5)
    out["ok"] = not out["problems"]
    return out


def room(release: str | None = None, *, firmware_bytes: int = FIRMWARE_HEAP) -> dict:
    """What a release leaves for a model and its arena: the largest heap block once the
    firmware is loaded, less the door loop's per-frame memory (model + arena must share it
    unless one of them fits elsewhere), and where the arena lives."""
    mem = memory(release)
    heap = Heap(mem.pools(), firmware_bytes)
    return {"release": mem.label, "heap_pools": mem.pools(), "heap_free": heap.free(),
            "model_plus_arena": heap.max_free() - DOOR_LOOP_HEAP, "arena_in": mem.arena_in,
            "framebuffer_for_arena": mem.spill_bytes - QVGA_RGB565 if mem.arena_in == "framebuffer" else None,
            "spill": mem.model_spill, "spill_bytes": mem.spill_bytes}


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
    board_arena = memory(NEWEST).arena_allocation(used)
    total = len(tflite_bytes) + board_arena
    plans = {r: plan(r, len(tflite_bytes), used) for r in releases}
    ok = (len(tflite_bytes) <= model_max_bytes and all(p["ok"] for p in plans.values())
          and (heap_bytes is None or total <= heap_bytes))
    figures = {
        "sha256": hashlib.sha256(tflite_bytes).hexdigest(),
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
