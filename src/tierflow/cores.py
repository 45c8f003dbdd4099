"""How many cores a run may use: the ones this process may run on, and of those the ones
other work leaves idle.

Example
-------
>>> 1 <= idle_cores() <= available_cores()
True
"""

from __future__ import annotations

import math
import os

__all__ = ["available_cores", "idle_cores"]


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def idle_cores() -> int:
    """Cores not kept busy by other work: the cores less the 1-minute load average beyond
    one process (this one's own recent work), to the nearest whole core (a quiet machine's
    load is a little above this process's one), at least one. Extra processes or threads on
    busy cores only slow a run down (the more so where the scheduler shares the CPU between
    sessions rather than processes)."""
    cores = available_cores()
    if not hasattr(os, "getloadavg"):
        return cores
    return max(1, min(cores, math.floor(cores + 1.5 - os.getloadavg()[0])))
