"""Is the instruction counter exact? harness/calib.c runs K NOPs and n-iteration SUBS/BNE
loops between two counter reads; decoded, K more NOPs must be exactly K more instructions and
every further loop iteration exactly 2, from 1 to 4,000,000 iterations (where a wrong tick
rate or a rounding error would show). Needs only the toolchain and QEMU, not libtflm."""
from __future__ import annotations

from . import build, emulator


def calibration_counts() -> dict:
    """{"nops": {K: instructions}, "loop": {n: instructions}} between the two reads, as decoded."""
    lines = emulator.run(build.calibration_elf())
    counts = {"nops": {}, "loop": {}}
    for w in lines:
        if w[0] in counts:
            counts[w[0]][int(w[1])] = emulator.ticks_to_instructions(int(w[2]))
    return counts


def deviations(counts: dict) -> list[str]:
    """Where the decoded counts break the known lengths (empty when the counter is exact)."""
    problems = []
    nops, loop = counts["nops"], counts["loop"]
    for k, n in nops.items():
        if n - nops[0] != k:
            problems.append(f"{k} NOPs counted as {n - nops[0]} instructions")
    first = min(loop)
    for iterations, n in loop.items():
        if n - loop[first] != 2 * (iterations - first):
            problems.append(f"{iterations} loop iterations counted as {n - loop[first]} instructions "
                            f"more than {first}, expected {2 * (iterations - first)}")
    return problems
