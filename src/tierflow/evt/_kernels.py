"""numba kernels of the event tier: event starts in the merged hit stream of the
time-coincidence map and the per-event reductions of the aggregators.

This module imports numba: the evt functions import it on first use only, so importing
:mod:`tierflow.evt` compiles nothing. Kernels are compiled lazily and cached on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

__all__ = [
    "first_or_last_at",
    "kernel",
    "mark_new_events",
    "merge_runs",
    "segment_reduce_all",
    "segment_reduce_any",
]

F = TypeVar("F", bound=Callable[..., Any])


def kernel(func: F) -> F:
    """``numba.njit(cache=True, nogil=True)(func)``, typed as `func`."""
    return cast(F, numba.njit(cache=True, nogil=True)(func))


@kernel
def mark_new_events(
    keys: Any, windows: Any, from_first: Any, state: Any, first: Any, last: Any, new: Any
) -> None:
    """Flag (``new[i]``) the hits of a merged stream that start an event.

    ``keys[c, i]`` is coincidence column ``c`` of hit ``i``. A hit starts an event when no
    event is open (``state[0] == 0``) or when, in any column, it is more than ``windows[c]``
    past the first hit of the open event (``from_first[c]``) or its last hit. ``first`` and
    ``last`` carry those values between calls.
    """
    n_cols = keys.shape[0]
    for i in range(keys.shape[1]):
        starts = state[0] == 0
        for c in range(n_cols):
            ref = first[c] if from_first[c] else last[c]
            if keys[c, i] - ref > windows[c]:
                starts = True
        if starts:
            state[0] = 1
            for c in range(n_cols):
                first[c] = keys[c, i]
        for c in range(n_cols):
            last[c] = keys[c, i]
        new[i] = starts


@kernel
def merge_runs(values: Any, bounds: Any) -> Any:
    """The stable order that sorts `values`, made of sorted runs ``values[bounds[i]:bounds[i+1]]``,
    and the sorted values: runs are merged pairwise, bottom up (ties keep the earlier run
    first)."""
    n = values.shape[0]
    order = np.arange(n)
    if bounds.shape[0] <= 2:
        return order, values
    vals = values.copy()
    other_vals = np.empty_like(vals)
    other_order = np.empty_like(order)
    runs = bounds.copy()
    while runs.shape[0] > 2:
        n_runs = runs.shape[0] - 1
        merged = np.empty((n_runs + 1) // 2 + 1, dtype=runs.dtype)
        for r in range(0, n_runs, 2):
            lo, mid = runs[r], runs[r + 1]
            hi = runs[r + 2] if r + 2 <= n_runs else mid
            i, j, k = lo, mid, lo
            while i < mid and j < hi:  # branchless: the compiler selects instead of jumping
                right = vals[j] < vals[i]
                other_vals[k] = vals[j] if right else vals[i]
                other_order[k] = order[j] if right else order[i]
                j += right
                i += 1 - right
                k += 1
            while i < mid:
                other_vals[k] = vals[i]
                other_order[k] = order[i]
                i += 1
                k += 1
            while j < hi:
                other_vals[k] = vals[j]
                other_order[k] = order[j]
                j += 1
                k += 1
            merged[r // 2] = lo
        merged[-1] = n
        runs = merged
        vals, other_vals = other_vals, vals
        order, other_order = other_order, order
    return order, vals


@kernel
def segment_reduce_any(values: Any, segment: Any, out: Any) -> None:
    """``out[segment[i]] |= values[i]``."""
    for i in range(values.shape[0]):
        if values[i]:
            out[segment[i]] = True


@kernel
def segment_reduce_all(values: Any, segment: Any, out: Any) -> None:
    """``out[segment[i]] &= values[i]``."""
    for i in range(values.shape[0]):
        if not values[i]:
            out[segment[i]] = False


@kernel
def first_or_last_at(
    sort_values: Any, events: Any, valid: Any, best: Any, chosen: Any, is_first: bool
) -> None:
    """For each hit ``i`` with ``valid[i]``: if its sorter value beats ``best[events[i]]``
    (strictly smaller when `is_first`, strictly larger otherwise) it becomes the chosen hit."""
    for i in range(sort_values.shape[0]):
        if not valid[i]:
            continue
        e = events[i]
        v = sort_values[i]
        if (v < best[e]) if is_first else (v > best[e]):
            best[e] = v
            chosen[e] = i
