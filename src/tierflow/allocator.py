"""Freed memory kept for reuse: the tier builders ask glibc's malloc, once per process, to keep
up to 64 MiB of freed heap instead of handing it back to the system after every large array.

Why: a tier builder allocates and frees the same few megabytes of column buffers for every
chunk and every file. With glibc's starting thresholds, each buffer of 128 KiB or more is a
fresh ``mmap`` and each free above 128 KiB at the heap's top is given back, so the next call
touches new pages: on a 38,343-row hit file that was ~1,500 page faults and a quarter of the
run. glibc's own adaptive rule raises the thresholds after a large buffer is freed, up to a
32 MiB mmap threshold and twice that for trimming; this sets those values from the start.

Nothing is set when the process does not use glibc, when the user has set any ``MALLOC_*``
threshold in the environment (theirs wins), or when ``TIERFLOW_KEEP_FREED_MEMORY=0``.

Example
-------
>>> retain_freed_memory() in (True, False)
True
"""

from __future__ import annotations

import ctypes
import functools
import os

__all__ = ["MMAP_THRESHOLD", "OPT_OUT", "TRIM_THRESHOLD", "retain_freed_memory"]

MMAP_THRESHOLD = 32 * 1024 * 1024
"""Buffers at least this large are mapped (and unmapped when freed): glibc's
``DEFAULT_MMAP_THRESHOLD_MAX`` on 64-bit systems."""
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
"""Free memory at the heap's top beyond this is given back (glibc's adaptive rule: twice the
mmap threshold)."""
OPT_OUT = "TIERFLOW_KEEP_FREED_MEMORY"
"""Environment variable: ``0`` leaves malloc's settings alone."""

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_USER_SETTINGS = (
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
)


@functools.cache
def retain_freed_memory() -> bool:
    """Set glibc's trim and mmap thresholds (see the module's text) once per process; whether
    they are set (False: not glibc, set by the user, or opted out)."""
    if os.environ.get(OPT_OUT, "1") == "0" or any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # the mmap threshold first: setting either disables glibc's adaptive rule
    done = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return done and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
