"""Compile the harness for the Cortex-M7, once: the counter's calibration program (toolchain
only) and the model runner (linked with the user's libtflm). Each .elf is cached under a key of
everything that goes into it (harness sources, flags, compiler version, the library's archive
and headers), so a new library or harness builds anew and nothing stale is reused."""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from maskgate.errors import EmulatorError

from . import toolchain

# What libtflm-cortex-m7+fp-release.a was built with: its objects say Tag_CPU_name 7E-M,
# Tag_FP_arch FPv5/FP-D16, Tag_ABI_VFP_args VFP registers (hard float, double-precision FPU).
CPU_FLAGS = ("-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-mthumb")
C_FLAGS = CPU_FLAGS + ("-O2", "-ffunction-sections", "-fdata-sections", "-Wall")
# The defines OpenMV compiles its TFLM backend with (lib/tflm/tflm.mk), NDEBUG as the release
# library has it; they shape the headers' structs, so they must match the library.
CXX_FLAGS = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics", "-fno-use-cxa-atexit",
             "-DNDEBUG", "-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_STRIP_ERROR_STRINGS", "-DTF_LITE_DISABLE_X86_NEON",
             "-DKERNELS_OPTIMIZED_FOR_SPEED")
LINK_FLAGS = ("-nostartfiles", "-Wl,--gc-sections")
SYSTEM_LIBS = ("-lm", "-lstdc++", "-lc", "-lgcc")
LIBTFLM_INCLUDES = (".", "third_party", "third_party/flatbuffers/include", "third_party/gemmlowp")
LINKER_SCRIPT = "mps2_an500.ld"
BASE_SOURCES = ("startup.c", "semihost.c")


def harness_dir() -> Path:
    return Path(str(resources.files("maskgate.m7") / "harness"))


def cache_dir() -> Path:
    root = os.environ.get("MASKGATE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "maskgate"
    return Path(root) / "m7"


def _compiler_version() -> str:
    try:
        out = subprocess.run([toolchain.COMPILER, "--version"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise EmulatorError(f"{toolchain.COMPILER} not found (apt-get install {toolchain.APT_PACKAGES})") from None
    return out.stdout.splitlines()[0] if out.stdout else ""


def _key(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _harness_bytes(names) -> list[bytes]:
    d = harness_dir()
    return [name.encode() + b"\0" + (d / name).read_bytes() for name in sorted(set(names) | {"semihost.h", "counter.h", LINKER_SCRIPT})]


def _headers_digest(include: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(include.rglob("*.h")):
        h.update(str(p.relative_to(include)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _run(cmd: list[str], cwd: Path) -> None:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise EmulatorError(f"building the M7 harness failed: {' '.join(cmd[:1])} ...\n{out.stderr.strip()[-3000:]}")


def _link(target: Path, sources: tuple, includes=(), archives=()) -> Path:
    """Compile `sources` (harness file names) and link them with `archives` into `target`."""
    d = harness_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="maskgate-m7-") as tmp:
        tmp = Path(tmp)
        objects = []
        for name in sources:
            src = d / name
            cxx = src.suffix == ".cc"
            cmd = [toolchain.COMPILER if cxx else "arm-none-eabi-gcc", *C_FLAGS, *(CXX_FLAGS if cxx else ()),
                   f"-I{d}", *(f"-I{i}" for i in includes), "-c", str(src), "-o", str(tmp / f"{name}.o")]
            _run(cmd, tmp)
            objects.append(str(tmp / f"{name}.o"))
        elf = tmp / target.name
        _run([toolchain.COMPILER, *CPU_FLAGS, *LINK_FLAGS, f"-T{d / LINKER_SCRIPT}", *objects, *map(str, archives),
              *SYSTEM_LIBS, "-o", str(elf)], tmp)
        os.replace(elf, target)  # atomic: a reader never sees half an .elf
    return target


def calibration_elf() -> Path:
    """The counter's calibration program (calib.c): needs only the toolchain."""
    sources = (*BASE_SOURCES, "calib.c")
    key = _key(_compiler_version(), C_FLAGS, LINK_FLAGS, *_harness_bytes(sources))
    target = cache_dir() / f"calib-{key}.elf"
    return target if target.exists() else _link(target, sources)


def runner_elf(lib: toolchain.Libtflm) -> Path:
    """The model runner linked with `lib`, built on first use and then reused."""
    sources = (*BASE_SOURCES, "runner.cc")
    key = _key(_compiler_version(), C_FLAGS, CXX_FLAGS, LINK_FLAGS, SYSTEM_LIBS, lib.sha256,
               _headers_digest(lib.include), *_harness_bytes(sources))
    target = cache_dir() / f"runner-{key}.elf"
    if target.exists():
        return target
    includes = [lib.include / sub for sub in LIBTFLM_INCLUDES]
    return _link(target, sources, includes, [lib.archive])
