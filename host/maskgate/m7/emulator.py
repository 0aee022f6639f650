"""One run of a harness program in QEMU's mps2-an500 (Cortex-M7) with instruction counting.

`-icount shift=7`: QEMU's virtual clock advances exactly 2**7 = 128 ns per guest instruction.
The harness reads CMSDK APB timer 0, which QEMU clocks at the board's 25 MHz (40 ns a tick),
so an interval of n instructions is 3.2 n ticks, give or take less than one tick for where the
two reads fall within a tick; n = round(ticks / 3.2) is then exact (the error is under 1/3.2 of
an instruction). `instructions()` does that rounding and subtracts what the two reads cost
themselves (the runner prints it as `calib`), leaving the instructions executed between them.
Each Thumb instruction counts once (an IT-block instruction whose condition fails too: it still
takes its issue slot on the M7). The calibration program (harness/calib.c) checks the decoding
against runs of known length; the same .elf gives the same counts on every run.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from maskgate.errors import EmulatorError

from . import toolchain

ICOUNT_SHIFT = 7
TIMER_HZ = 25_000_000  # QEMU mps2: SYSCLK_FRQ, the CMSDK timers' clock
NS_PER_TICK = 1_000_000_000 // TIMER_HZ  # 40
BLOB_ADDRESS = 0x60000000  # PSRAM, 16 MB (see harness/mps2_an500.ld)
BLOB_BYTES = 16 * 1024 * 1024
MACHINE = ("-M", "mps2-an500", "-cpu", "cortex-m7", "-nographic", "-monitor", "none", "-serial", "none",
           "-icount", f"shift={ICOUNT_SHIFT},align=off,sleep=off")


def ticks_to_instructions(ticks: int) -> int:
    """round(ticks * 40 ns / 128 ns), in integers."""
    den = 1 << ICOUNT_SHIFT
    return (ticks * NS_PER_TICK + den // 2) // den


def instructions(ticks: int, calib_ticks: int) -> int:
    """Instructions executed between two counter reads (the reads' own cost taken off)."""
    return ticks_to_instructions(ticks) - ticks_to_instructions(calib_ticks)


def run(elf: Path, blob: bytes | None = None, timeout: float = 600) -> list[list[str]]:
    """Run `elf` (with `blob` loaded at 0x60000000) and return its output lines, split in
    words. A fault, an `error ...` line or a non-zero exit raises EmulatorError."""
    if toolchain.missing_tools():
        raise EmulatorError("; ".join(toolchain.missing_tools()))
    if blob is not None and len(blob) > BLOB_BYTES:
        raise EmulatorError(f"model and inputs take {len(blob):,} B, more than the emulated 16 MB PSRAM")
    with tempfile.TemporaryDirectory(prefix="maskgate-m7-") as tmp:
        # the guest's semihosting output goes to a file of its own, apart from QEMU's messages
        output = Path(tmp) / "output.txt"
        cmd = [toolchain.QEMU, *MACHINE, "-chardev", f"file,id=guest,path={output}",
               "-semihosting-config", "enable=on,target=native,chardev=guest", "-kernel", str(elf)]
        if blob is not None:
            path = Path(tmp) / "blob.bin"
            path.write_bytes(blob)
            cmd += ["-device", f"loader,file={path},addr={BLOB_ADDRESS:#x},force-raw=on"]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EmulatorError(f"the emulated M7 did not finish in {timeout:.0f} s") from None
        text = output.read_text() if output.exists() else ""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    errors = [" ".join(w) for w in lines if w[0] in ("error", "fault")]
    if out.returncode != 0 or errors:
        # TFLM's own messages first (a _with_logs library prints them), then the runner's
        detail = "; ".join([" ".join(w[1:]) for w in lines if w[0] == "log"][-5:] + errors) \
            or out.stderr.strip()[-500:] or f"exit status {out.returncode}"
        raise EmulatorError(f"the emulated M7 stopped: {detail}")
    if not lines or lines[-1] != ["done"]:
        raise EmulatorError("the emulated M7 ended without finishing its output")
    return lines
