"""numba kernels of the event tier: the k-way merge of the time-coincidence map and the
per-event reductions of the aggregators.

This module imports numba: the evt functions import it on first use only, so importing
:mod:`tierflow.evt` compiles nothing. Kernels are compiled lazily and cached on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

__all__ = [
    "NEED_OUTPUT",
    "NO_MORE_INPUT",
    "first_or_last_at",
    "kernel",
    "merge_tables",
    "segment_reduce_all",
    "segment_reduce_any",
]

F = TypeVar("F", bound=Callable[..., Any])

NEED_OUTPUT = -1
"""Returned by :func:`merge_tables` when the output buffers are full."""
NO_MORE_INPUT = -2
"""Returned by :func:`merge_tables` when every table is merged completely."""


def kernel(func: F) -> F:
    """``numba.njit(cache=True, nogil=True)(func)``, typed as `func`."""
    return cast(F, numba.njit(cache=True, nogil=True)(func))


@kernel
def _less(keys: Any, pos: Any, table_keys: Any, a: int, b: int) -> bool:
    """Whether the head of table `a` sorts before the head of table `b`: by the coincidence
    columns in order, then by table key, then by table index."""
    pa = pos[a]
    pb = pos[b]
    for c in range(keys.shape[1]):
        va = keys[a, c, pa]
        vb = keys[b, c, pb]
        if va < vb:
            return True
        if va > vb:
            return False
    if table_keys[a] != table_keys[b]:
        return bool(table_keys[a] < table_keys[b])
    return a < b


@kernel
def _sift_down(heap: Any, n: int, i: int, keys: Any, pos: Any, table_keys: Any) -> None:
    while True:
        smallest = i
        left = 2 * i + 1
        right = left + 1
        if left < n and _less(keys, pos, table_keys, heap[left], heap[smallest]):
            smallest = left
        if right < n and _less(keys, pos, table_keys, heap[right], heap[smallest]):
            smallest = right
        if smallest == i:
            return
        heap[i], heap[smallest] = heap[smallest], heap[i]
        i = smallest


@kernel
def _starts_event(
    keys: Any, t: int, p: int, windows: Any, from_first: Any, first: Any, last: Any
) -> bool:
    new = False
    for c in range(keys.shape[1]):
        ref = first[c] if from_first[c] else last[c]
        if keys[t, c, p] - ref > windows[c]:
            new = True
    return new


@kernel
def merge_tables(
    keys: Any,
    lengths: Any,
    pos: Any,
    done: Any,
    table_keys: Any,
    windows: Any,
    from_first: Any,
    state: Any,
    first: Any,
    last: Any,
    out_table: Any,
    out_pos: Any,
    out_new: Any,
    n_out: int,
) -> tuple[int, int]:
    """Merge the buffered heads of k sorted tables into one stream of hits.

    ``keys[t, c, i]`` is coincidence column ``c`` of the ``i``-th buffered hit of table ``t``
    (``lengths[t]`` of them, ``pos[t]`` already merged; ``done[t]`` when no more follow).
    Writes table indices, buffer positions and new-event flags from ``n_out`` on, and carries
    the clustering state (``state[0]``: an event is open; ``first``/``last``: coincidence values
    of its first and last hit) between calls. Returns the new ``n_out`` and why it stopped: a
    table index whose buffer needs refilling, :data:`NEED_OUTPUT` or :data:`NO_MORE_INPUT`.
    """
    k = keys.shape[0]
    heap = np.empty(k, dtype=np.int64)
    n = 0
    for t in range(k):
        if pos[t] < lengths[t]:
            heap[n] = t
            n += 1
    for i in range(n // 2 - 1, -1, -1):
        _sift_down(heap, n, i, keys, pos, table_keys)
    capacity = out_table.shape[0]
    n_cols = keys.shape[1]
    while n > 0:
        if n_out >= capacity:
            return n_out, NEED_OUTPUT
        t = heap[0]
        p = pos[t]
        new = state[0] == 0 or _starts_event(keys, t, p, windows, from_first, first, last)
        if new:
            state[0] = 1
            for c in range(n_cols):
                first[c] = keys[t, c, p]
        for c in range(n_cols):
            last[c] = keys[t, c, p]
        out_table[n_out] = t
        out_pos[n_out] = p
        out_new[n_out] = new
        n_out += 1
        pos[t] = p + 1
        if pos[t] >= lengths[t]:
            if not done[t]:
                return n_out, t
            n -= 1
            heap[0] = heap[n]
        _sift_down(heap, n, 0, keys, pos, table_keys)
    return n_out, NO_MORE_INPUT


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
