# mypy: allow-untyped-calls, allow-untyped-defs
"""The one way processor kernels are compiled: lazily, cached on disk, releasing the GIL.

Only the kernel modules import this (and numba); they are imported the first time a chain
uses one of their processors, so ``import tierflow.dsp`` compiles nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

__all__ = ["GROUP", "good_rows", "group_end", "has_nan", "kernel"]

F = TypeVar("F", bound=Callable[..., Any])


def kernel(func: F) -> F:
    """``numba.njit`` with the disk cache, no GIL and numpy's division semantics (no raising)."""
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(func))


@kernel
def has_nan(w: np.ndarray) -> bool:
    """Whether the 1-d array `w` holds a NaN.

    Checked in blocks of 256 samples whose ``x != x`` tests are or-ed together without
    branching (a loop LLVM vectorises into wide compares), returning after the first block
    holding one: about ten times faster than testing sample by sample (and 2.4 times faster
    than counting the NaNs), on every waveform of every kernel.
    """
    n = w.shape[0]
    i = 0
    while i + 256 <= n:
        found = False
        for j in range(i, i + 256):
            found |= w[j] != w[j]
        if found:
            return True
        i += 256
    for j in range(i, n):  # noqa: SIM110  (numba compiles loops, not generators)
        if np.isnan(w[j]):
            return True
    return False


# Rows 2**k samples long lie a multiple of 4 KiB apart and so share L1 cache sets: groups of
# more than four rows (and their outputs) evict each other (measured: 8 rows can be 3x slower).
GROUP = 4
"""Rows the recursive kernels run together."""


@kernel
def good_rows(w: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Indices of the rows of `w` without NaN; the other rows of `out` (2-d) are set to NaN."""
    rows = np.empty(w.shape[0], np.int64)
    n = 0
    for r in range(w.shape[0]):
        if has_nan(w[r]):
            out[r, :] = np.nan
        else:
            rows[n] = r
            n += 1
    return rows[:n]


@kernel
def group_end(rows: np.ndarray, start: int, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> int:
    """End of the run of at most :data:`GROUP` rows from `start` sharing the values of a, b, c.

    Recursive filters (trapezoids, pole-zero, moving windows) are serial along a row; running
    the rows of such a group sample by sample together keeps several independent chains of
    additions in flight, with each row's operations (and so its bits) unchanged.
    """
    first = rows[start]
    end = start + 1
    while end < rows.shape[0] and end - start < GROUP:
        r = rows[end]
        if a[r] != a[first] or b[r] != b[first] or c[r] != c[first]:
            break
        end += 1
    return end
