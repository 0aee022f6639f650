"""A .tflite's cost on the emulated Cortex-M7: instructions per Invoke() and per operator, with
the outputs checked bit for bit against the tflite-micro package on the PC (reference kernels).

One QEMU run does it all: the runner allocates the arena once, runs `count` inferences on the
plain interpreter (the figure) and the first one again op by op (the per-operator figures). The
inputs are the caller's, or seeded picture-like noise (smooth colour fields plus grain, so the
activations are neither flat nor saturated); the counts barely depend on them (CMSIS-NN has
almost no data-dependent branches) and the spread over the inputs is reported.
"""
from __future__ import annotations

import os
import resource
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from maskgate.errors import EmulatorError

from . import build, emulator, toolchain

MAGIC = 0x3137474D  # "MG71", harness/runner.cc
HEADER_BYTES = 256
CHECK_INPUTS = 50
MAX_JOBS = 8  # QEMU processes at once (each is one host thread)
METHOD = ("instructions executed, counted exactly on QEMU mps2-an500 (Cortex-M7) with -icount, "
          "TFLite Micro + CMSIS-NN from openmv/libtflm")


def _align(n: int, to: int = 16) -> int:
    return (n + to - 1) // to * to


def tensor_specs(tflite_bytes: bytes):
    """(inputs, outputs): lists of (shape, dtype) in the model's order."""
    from tflite_micro.python.tflite_micro import runtime

    from maskgate import budget

    schema = budget._schema()
    graph = schema.Model.GetRootAsModel(tflite_bytes, 0).Subgraphs(0)
    interpreter = runtime.Interpreter.from_bytes(tflite_bytes, arena_size=16 * 1024 * 1024)
    ins = [interpreter.get_input_details(i) for i in range(graph.InputsLength())]
    outs = [interpreter.get_output_details(i) for i in range(graph.OutputsLength())]
    return [(tuple(d["shape"]), np.dtype(d["dtype"])) for d in ins], [(tuple(d["shape"]), np.dtype(d["dtype"])) for d in outs]


def picture_like(shape: tuple, dtype: np.dtype, rng: np.random.Generator) -> np.ndarray:
    """Smooth random colour fields with grain, in the dtype's range (int8: pixel - 128)."""
    import cv2

    if len(shape) == 4 and shape[0] == 1:
        _, h, w, c = shape
        coarse = rng.uniform(0, 255, size=(4, 4, c)).astype(np.float32)
        field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, c)
        pixels = np.clip(field + rng.normal(0, 12, size=field.shape), 0, 255)[None]
    else:
        pixels = rng.uniform(0, 255, size=shape)
    if dtype == np.int8:
        return (pixels.astype(np.int16) - 128).astype(np.int8)
    if dtype == np.uint8:
        return pixels.astype(np.uint8)
    if dtype == np.float32:
        return pixels.astype(np.float32)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


def default_inputs(tflite_bytes: bytes, count: int, seed: int = 0) -> list[list[np.ndarray]]:
    specs, _ = tensor_specs(tflite_bytes)
    rng = np.random.default_rng(seed)
    return [[picture_like(shape, dtype, rng) for shape, dtype in specs] for _ in range(count)]


def blob(tflite_bytes: bytes, inputs: list[list[np.ndarray]], profile: int = 1) -> bytes:
    """What the runner finds at 0x60000000: header, model, inputs; the arena is the rest."""
    per = b"".join(np.ascontiguousarray(a).tobytes() for a in inputs[0]) if inputs else b""
    data = b"".join(np.ascontiguousarray(a).tobytes() for case in inputs for a in case)
    if any(sum(np.asarray(a).nbytes for a in case) != len(per) for case in inputs):
        raise EmulatorError("every inference must have inputs of the same size")
    model_offset = HEADER_BYTES
    input_offset = _align(model_offset + len(tflite_bytes))
    arena_offset = _align(input_offset + len(data))
    arena_size = emulator.BLOB_BYTES - arena_offset
    if arena_size < 64 * 1024:
        raise EmulatorError("model and inputs leave no room for the arena in the emulated 16 MB PSRAM")
    header = struct.pack("<9I", MAGIC, model_offset, len(tflite_bytes), input_offset, len(per), len(inputs),
                         profile, arena_offset, arena_size)
    out = bytearray(arena_offset)
    out[: len(header)] = header
    out[model_offset : model_offset + len(tflite_bytes)] = tflite_bytes
    out[input_offset : input_offset + len(data)] = data
    return bytes(out)


def unsupported(tflite_bytes: bytes) -> list[str]:
    """What in the model the TFLM of libtflm 73eb1aa (OpenMV v4.7.0 - v4.8.1) refuses to
    prepare: its release build strips the message, so the host names it."""
    from maskgate import budget

    schema = budget._schema()
    model = schema.Model.GetRootAsModel(tflite_bytes, 0)
    names = budget._opcode_names(schema)
    graph = model.Subgraphs(0)
    found = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        if names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode())) != "FULLY_CONNECTED":
            continue
        q = graph.Tensors(op.Inputs(1)).Quantization()
        if q is not None and q.ScaleLength() > 1:
            found.append(f"operator {i} (FULLY_CONNECTED) has per-channel quantized weights, which TFLM's "
                         "fully_connected kernel here does not support (export it with "
                         "converter._experimental_disable_per_channel_quantization_for_dense_layers = True)")
    return found


def run_counts(tflite_bytes: bytes, inputs: list[list[np.ndarray]], lib: toolchain.Libtflm, profile: int = 1,
               jobs: int | None = None) -> dict:
    """Counts and raw outputs: invoke (instructions per inference), ops (per operator, of each
    profiled inference), outputs (bytes per output tensor). The inferences are shared among
    `jobs` QEMU processes at once (default: one per CPU); each count is exact whichever runs it."""
    elf = build.runner_elf(lib)
    jobs = max(1, min(jobs or os.cpu_count() or 1, MAX_JOBS, len(inputs)))
    bounds = np.linspace(0, len(inputs), jobs + 1).astype(int)
    chunks = [inputs[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    with ThreadPoolExecutor(jobs) as pool:
        parts = list(pool.map(lambda ic: _run_chunk(elf, tflite_bytes, ic[1], profile if ic[0] == 0 else 0),
                              enumerate(chunks)))
    merged = {**parts[0], "invoke": [], "outputs": []}
    for part in parts:
        merged["invoke"] += part["invoke"]
        merged["outputs"] += part["outputs"]
    return merged


def _run_chunk(elf, tflite_bytes: bytes, inputs: list[list[np.ndarray]], profile: int) -> dict:
    try:
        lines = emulator.run(elf, blob(tflite_bytes, inputs, profile))
    except EmulatorError as e:
        reasons = unsupported(tflite_bytes) if "AllocateTensors failed" in str(e) else []
        if reasons:
            raise EmulatorError(f"{e}: {'; '.join(reasons)}") from None
        raise
    calib = next(int(w[1]) for w in lines if w[0] == "calib")
    result = {"invoke": [], "outputs": [], "ops": [[] for _ in range(min(profile, len(inputs)))], "arena_used": None}
    for w in lines:
        if w[0] == "invoke":
            result["invoke"].append(emulator.instructions(int(w[2]), calib))
            result["outputs"].append({})
        elif w[0] == "out":
            result["outputs"][int(w[1])][int(w[2])] = bytes.fromhex(w[3]) if len(w) > 3 else b""
        elif w[0] == "op":
            result["ops"][int(w[1])].append(emulator.instructions(int(w[3]), calib))
        elif w[0] == "arena_used":
            result["arena_used"] = int(w[1])
        elif w[0] == "operators":
            result["operators"] = int(w[1])
    result["outputs"] = [[case[j] for j in sorted(case)] for case in result["outputs"]]
    if len(result["invoke"]) != len(inputs):
        raise EmulatorError(f"the runner answered for {len(result['invoke'])} of {len(inputs)} inferences")
    return result


def reference_outputs(tflite_bytes: bytes, inputs: list[list[np.ndarray]]) -> list[list[bytes]]:
    """The same inferences in the tflite-micro package on the PC (reference kernels)."""
    from tflite_micro.python.tflite_micro import runtime

    _, out_specs = tensor_specs(tflite_bytes)
    interpreter = runtime.Interpreter.from_bytes(tflite_bytes, arena_size=16 * 1024 * 1024)
    results = []
    for case in inputs:
        for i, a in enumerate(case):
            interpreter.set_input(a, i)
        interpreter.invoke()
        results.append([np.ascontiguousarray(interpreter.get_output(j)).tobytes() for j in range(len(out_specs))])
    return results


def per_op_table(tflite_bytes: bytes, op_counts: list[int], invoke: int) -> list[dict]:
    from maskgate import budget

    costs = budget.layer_costs(tflite_bytes)
    if len(costs) != len(op_counts):
        raise EmulatorError(f"the runner counted {len(op_counts)} operators, the model has {len(costs)}")
    return [{"op": c["op"], "output": list(c["output"]), "macs": c["macs"], "instructions": n,
             "share": round(n / invoke, 4) if invoke else None} for c, n in zip(costs, op_counts)]


def measure(tflite_bytes: bytes, lib: toolchain.Libtflm, inputs=None, count: int = CHECK_INPUTS, seed: int = 0) -> dict:
    """Instructions per inference and per operator on the emulated M7, outputs checked against
    tflite-micro on the PC for every input. Raises EmulatorError when they differ."""
    from maskgate import budget

    started = time.perf_counter()
    inputs = default_inputs(tflite_bytes, count, seed) if inputs is None else inputs
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with ThreadPoolExecutor(1) as pool:  # the emulator runs while the PC computes the reference
        emulated = pool.submit(run_counts, tflite_bytes, inputs, lib, 1)
        reference = reference_outputs(tflite_bytes, inputs)
        counts = emulated.result()
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    emulated_seconds = time.perf_counter() - started
    # CPU time of the QEMU processes: what the measurement costs, whatever else the machine runs
    emulator_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    identical = sum(e == r for e, r in zip(counts["outputs"], reference))
    if identical != len(inputs):
        first = next(i for i, (e, r) in enumerate(zip(counts["outputs"], reference)) if e != r)
        raise EmulatorError(f"emulated M7 output differs from tflite-micro on the PC for {len(inputs) - identical} "
                            f"of {len(inputs)} inputs (first: input {first})")
    per_inference = counts["invoke"]
    worst = max(per_inference)
    ops = per_op_table(tflite_bytes, counts["ops"][0], per_inference[0])
    no_mac = sum(r["instructions"] for r in ops if r["macs"] == 0)
    macs = sum(r["macs"] for r in ops)
    return {
        "kind": "measured",
        "method": METHOD,
        "library": {"repository": "openmv/libtflm", "revision": lib.revision, "archive": lib.archive.name,
                    "sha256": lib.sha256},
        "instructions": worst,
        "instructions_min": min(per_inference),
        "instructions_mean": round(float(np.mean(per_inference)), 1),
        "instructions_by_input": per_inference,
        "inputs": len(inputs),
        "instructions_per_mac": round(worst / macs, 3) if macs else None,
        "interpreter_instructions": per_inference[0] - sum(r["instructions"] for r in ops),
        "no_mac_share": round(no_mac / per_inference[0], 4) if per_inference[0] else None,
        "layers": ops,
        "arena_used_bytes": counts["arena_used"],
        # distinct outputs: how much the bit-for-bit check says (50 equal saturated outputs say little)
        "check": {"inputs": len(inputs), "identical": identical, "distinct_outputs": len(set(map(tuple, reference))),
                  "reference": "tflite-micro on the PC (reference kernels)"},
        "latency": budget.latency_from_instructions(worst),
        "seconds": {"total": round(emulated_seconds, 2), "emulator_cpu": round(emulator_cpu, 2)},
    }
