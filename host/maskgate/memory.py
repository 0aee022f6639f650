"""The OpenMV Cam H7's memory (STM32H743, no SDRAM) on each firmware release: where a model and
its tflite-micro arena go and how each release rounds them, read from the OpenMV source (each
row names its files), and the MicroPython GC heap they are allocated from.

quantize, info, deploy and the virtual board all plan with `plan()` on these rows, so they give
the same answer for the same model (maskgate.budget gates on it).
"""
from __future__ import annotations

from dataclasses import dataclass

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


def for_release(release: str | None = None) -> FirmwareMemory:
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
    mem = for_release(release)
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
    mem = for_release(release)
    heap = Heap(mem.pools(), firmware_bytes)
    return {"release": mem.label, "heap_pools": mem.pools(), "heap_free": heap.free(),
            "model_plus_arena": heap.max_free() - DOOR_LOOP_HEAP, "arena_in": mem.arena_in,
            "framebuffer_for_arena": mem.spill_bytes - QVGA_RGB565 if mem.arena_in == "framebuffer" else None,
            "spill": mem.model_spill, "spill_bytes": mem.spill_bytes}
