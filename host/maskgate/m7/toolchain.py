"""Where the emulated Cortex-M7's tools are: Debian's arm-none-eabi-g++ and qemu-system-arm on
PATH, and the user's checkout of openmv/libtflm (`--libtflm DIR` or MASKGATE_LIBTFLM).

Nothing of OpenMV's or TFLM's ships with maskgate: the library is always a path the user gives.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from maskgate.digest import sha256_file
from maskgate.errors import EmulatorError

LIBTFLM_ENV = "MASKGATE_LIBTFLM"
ARCHIVE = "lib/libtflm-cortex-m7+fp-release.a"
HEADER = "include/tensorflow/lite/micro/micro_interpreter.h"
# The revision OpenMV firmware v4.7.0 - v4.8.1 links (lib/tflm/libtflm), measured here.
KNOWN_REVISION = "73eb1aa07416cad0fd64a8405ca9eb5c4e878e87"
HOW_TO_GET = (f"git clone https://github.com/openmv/libtflm && git -C libtflm checkout {KNOWN_REVISION[:12]}, "
              f"then pass --libtflm libtflm or set {LIBTFLM_ENV}=$PWD/libtflm")
COMPILER = "arm-none-eabi-g++"
QEMU = "qemu-system-arm"
APT_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"


@dataclass(frozen=True)
class Libtflm:
    root: Path
    archive: Path
    include: Path
    revision: str | None  # git commit of the checkout, None when it is not a git checkout
    sha256: str  # of the archive: what the counts were measured with

    def describe(self) -> str:
        rev = self.revision[:12] if self.revision else "unknown revision (not a git checkout)"
        return f"openmv/libtflm {rev}, {self.archive.name} sha256 {self.sha256[:12]}"


def missing_tools() -> list[str]:
    """The programs that are not on PATH, each with what provides it."""
    return [f"{tool} not found (apt-get install {APT_PACKAGES})" for tool in (COMPILER, QEMU) if shutil.which(tool) is None]


def _revision(root: Path) -> str | None:
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def find_libtflm(path=None) -> Libtflm | None:
    """The library at `path`, else at $MASKGATE_LIBTFLM, else None. A path given that does not
    hold the library is an error (it names what is missing and how to get it)."""
    given = path or os.environ.get(LIBTFLM_ENV)
    if not given:
        return None
    root = Path(given).expanduser()
    for part in (ARCHIVE, HEADER):
        if not (root / part).is_file():
            raise EmulatorError(f"{root} is not a checkout of openmv/libtflm: {part} is missing ({HOW_TO_GET})")
    archive = root / ARCHIVE
    return Libtflm(root=root.resolve(), archive=archive.resolve(), include=(root / "include").resolve(),
                   revision=_revision(root), sha256=sha256_file(archive))


def unavailable_reason(path=None) -> str | None:
    """Why the emulated M7 cannot measure here (None when it can)."""
    problems = missing_tools()
    try:
        lib = find_libtflm(path)
    except EmulatorError as e:
        problems.append(str(e))
    else:
        if lib is None:
            problems.append(f"no libtflm given ({HOW_TO_GET})")
    return "; ".join(problems) or None
