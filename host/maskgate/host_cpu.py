"""The PC a report is made on: the CPU cores this process may use, which reports state (wall
times mean little without it) instead of assuming a number."""
from __future__ import annotations

import os


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # a container or taskset may allow fewer than the machine has
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
