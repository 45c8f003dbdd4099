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
    "counting_sort",
    "first_hit_of_key",
    "first_or_last_where",
    "gather_pairs",
    "group_by_code",
    "kernel",
    "key_codes",
    "mark_new_events",
    "merge_runs",
    "owns_any",
    "put_chosen",
    "put_owned",
    "segment_add",
    "segment_add_where",
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
def merge_runs(values: Any, bounds: Any, block: int = 8192) -> Any:
    """The stable order that sorts `values`, made of sorted runs ``values[bounds[i]:bounds[i+1]]``,
    and the sorted values (ties keep the earlier run first).

    Cache-blocked: splitter values from a sorted sample cut every run into value ranges of
    about `block` hits in all; each range is gathered into a small buffer (in cache), sorted
    there by buckets (:func:`_bucket_sort`) or, for skewed values, by merging its pieces
    pairwise, then written out, so the big arrays are read and written once.
    """
    n = values.shape[0]
    n_runs = bounds.shape[0] - 1
    order = np.empty(n, dtype=np.int64)
    out = np.empty_like(values)
    if n == 0 or n_runs < 1:
        return order, out
    cuts = _cut_runs(values, bounds, _splitters(values, block))
    largest = 0
    for j in range(cuts.shape[1] - 1):
        largest = max(largest, np.sum(cuts[:, j + 1] - cuts[:, j]))
    vals, idx = np.empty(largest, dtype=values.dtype), np.empty(largest, dtype=np.int64)
    other_vals, other_idx = np.empty_like(vals), np.empty_like(idx)
    runs = np.empty(n_runs + 1, dtype=np.int64)
    buckets, counts = np.empty(largest, dtype=np.int64), np.empty(largest + 1, dtype=np.int64)
    done = 0
    for j in range(cuts.shape[1] - 1):
        m, n_pieces = 0, 0
        for r in range(n_runs):
            if cuts[r, j + 1] > cuts[r, j]:
                runs[n_pieces] = m
                n_pieces += 1
                for t in range(cuts[r, j], cuts[r, j + 1]):
                    vals[m] = values[t]
                    idx[m] = t
                    m += 1
        runs[n_pieces] = m
        if _bucket_sort(vals, idx, m, other_vals, other_idx, buckets, counts) or _merge_pieces(
            vals, idx, other_vals, other_idx, runs, n_pieces
        ):
            out[done : done + m] = other_vals[:m]
            order[done : done + m] = other_idx[:m]
        else:
            out[done : done + m] = vals[:m]
            order[done : done + m] = idx[:m]
        done += m
    return order, out


@kernel
def _bucket_sort(
    vals: Any, idx: Any, m: int, out_vals: Any, out_idx: Any, buckets: Any, counts: Any
) -> bool:
    """Stable sort of ``vals[:m]`` (with `idx`) into the `out` buffers by a counting sort
    on ``m`` equal-width value buckets, then insertion sort inside the buckets; False
    (nothing done) for NaN or when a bucket holds more than 64 values (a skewed block:
    merging is then cheaper)."""
    lo, hi = vals[0], vals[0]
    for i in range(m):
        v = vals[i]
        if v != v:
            return False
        lo = min(lo, v)
        hi = max(hi, v)
    if lo == hi:
        out_vals[:m] = vals[:m]
        out_idx[:m] = idx[:m]
        return True
    scale = (m - 1) / (np.float64(hi) - np.float64(lo))
    if not np.isfinite(scale):  # a range too narrow for float64: merge instead
        return False
    counts[: m + 1] = 0
    for i in range(m):
        b = min(np.int64((np.float64(vals[i]) - np.float64(lo)) * scale), m - 1)
        buckets[i] = b
        counts[b + 1] += 1
    for b in range(m):
        if counts[b + 1] > 64:
            return False
        counts[b + 1] += counts[b]
    for i in range(m):
        at = counts[buckets[i]]
        counts[buckets[i]] = at + 1
        out_vals[at] = vals[i]
        out_idx[at] = idx[i]
    for i in range(1, m):  # values never cross a bucket boundary: this stays local
        v, k = out_vals[i], out_idx[i]
        j = i - 1
        while j >= 0 and out_vals[j] > v:
            out_vals[j + 1] = out_vals[j]
            out_idx[j + 1] = out_idx[j]
            j -= 1
        out_vals[j + 1] = v
        out_idx[j + 1] = k
    return True


@kernel
def _splitters(values: Any, block: int) -> Any:
    """Distinct values about `block` apart in sorted order, from a sorted sample."""
    stride = max(1, block // 16)
    picks = np.sort(values[::stride])[16::16]
    out = np.empty(picks.shape[0], dtype=values.dtype)
    n = 0
    for value in picks:
        if n == 0 or value != out[n - 1]:
            out[n] = value
            n += 1
    return out[:n]


@kernel
def _cut_runs(values: Any, bounds: Any, splitters: Any) -> Any:
    """``cuts[r, j]``: where run ``r`` reaches value range ``j`` (values >= splitter j-1)."""
    n_runs, n_split = bounds.shape[0] - 1, splitters.shape[0]
    cuts = np.empty((n_runs, n_split + 2), dtype=np.int64)
    for r in range(n_runs):
        cuts[r, 0] = bounds[r]
        cuts[r, n_split + 1] = bounds[r + 1]
        cuts[r, 1 : n_split + 1] = bounds[r] + np.searchsorted(
            values[bounds[r] : bounds[r + 1]], splitters
        )
    return cuts


@kernel
def _merge_pieces(
    vals: Any, idx: Any, other_vals: Any, other_idx: Any, runs: Any, n_runs: int
) -> bool:
    """Merge the sorted pieces ``[runs[i], runs[i+1])`` of `vals` (and `idx`) pairwise,
    bottom up, ping-ponging with the `other` buffers; True if the result ends there."""
    swapped = False
    while n_runs > 1:
        n_out = 0
        for r in range(0, n_runs, 2):
            lo, mid = runs[r], runs[r + 1]
            hi = runs[r + 2] if r + 2 <= n_runs else mid
            i, j, k = lo, mid, lo
            while i < mid and j < hi:  # branchless: the compiler selects instead of jumping
                right = vals[j] < vals[i]
                other_vals[k] = vals[j] if right else vals[i]
                other_idx[k] = idx[j] if right else idx[i]
                j += right
                i += 1 - right
                k += 1
            other_vals[k : k + mid - i] = vals[i:mid]
            other_idx[k : k + mid - i] = idx[i:mid]
            k += mid - i
            other_vals[k : k + hi - j] = vals[j:hi]
            other_idx[k : k + hi - j] = idx[j:hi]
            runs[n_out] = lo
            n_out += 1
        runs[n_out] = runs[n_runs]
        n_runs = n_out
        vals, other_vals = other_vals, vals
        idx, other_idx = other_idx, idx
        swapped = not swapped
    return swapped


@kernel
def gather_pairs(order: Any, a: Any, b: Any, out_a: Any, out_b: Any) -> None:
    """``out_a[:] = a[order]`` and ``out_b[:] = b[order]`` in one pass."""
    for i in range(order.shape[0]):
        j = order[i]
        out_a[i] = a[j]
        out_b[i] = b[j]


@kernel
def segment_add(values: Any, segment: Any, out: Any) -> None:
    """``out[segment[i]] += values[i]``, in order (``np.add.at``)."""
    for i in range(values.shape[0]):
        out[segment[i]] += values[i]


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
def key_codes(keys: Any, codes: Any) -> Any:
    """Number the distinct values of `keys` by first appearance (``codes[i]``) and return
    them in that order (few distinct values: a sorted table searched by bisection)."""
    table = np.empty(16, dtype=np.int64)  # distinct keys, ascending
    ids = np.empty(16, dtype=np.int64)  # their codes
    found = np.empty(16, dtype=np.int64)  # keys by code
    n = 0
    for i in range(keys.shape[0]):
        k = keys[i]
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            if table[mid] < k:
                lo = mid + 1
            else:
                hi = mid
        if lo < n and table[lo] == k:
            codes[i] = ids[lo]
            continue
        if n == table.shape[0]:
            table = np.concatenate((table, np.empty(n, dtype=np.int64)))
            ids = np.concatenate((ids, np.empty(n, dtype=np.int64)))
            found = np.concatenate((found, np.empty(n, dtype=np.int64)))
        for j in range(n, lo, -1):
            table[j] = table[j - 1]
            ids[j] = ids[j - 1]
        table[lo] = k
        ids[lo] = n
        found[n] = k
        codes[i] = n
        n += 1
    return found[:n]


@kernel
def group_by_code(codes: Any, rank_of_code: Any, order: Any, rank: Any) -> Any:
    """A stable counting sort of positions by ``rank_of_code[codes[i]]``: fills `order`
    (positions group after group) and `rank` (each position's index in its group);
    returns the group bounds in `order`."""
    n_groups = rank_of_code.shape[0]
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(codes.shape[0]):
        bounds[rank_of_code[codes[i]] + 1] += 1
    for g in range(n_groups):
        bounds[g + 1] += bounds[g]
    fill = bounds[:-1].copy()
    for i in range(codes.shape[0]):
        g = rank_of_code[codes[i]]
        j = fill[g]
        order[j] = i
        rank[i] = j - bounds[g]
        fill[g] = j + 1
    return bounds


@kernel
def first_hit_of_key(table_key: Any, event_of_hit: Any, wanted: Any, out: Any) -> None:
    """``out[e]``: the first position ``i`` (in map order) with ``event_of_hit[i] == e`` and
    ``table_key[i] == wanted[e]``; `out` starts at -1."""
    for i in range(table_key.shape[0]):
        e = event_of_hit[i]
        if out[e] < 0 and table_key[i] == wanted[e]:
            out[e] = i


@kernel
def owns_any(targets: Any, table_key: Any, key: int) -> bool:
    """Whether a target hit (a position; -1: none) has table key `key`."""
    for e in range(targets.shape[0]):
        t = targets[e]
        if t >= 0 and table_key[t] == key:
            return True
    return False


@kernel
def put_owned(targets: Any, table_key: Any, rank: Any, key: int, values: Any, out: Any) -> None:
    """``out[e] = values[rank[t]]`` for each target ``t = targets[e]`` of table key `key`."""
    for e in range(targets.shape[0]):
        t = targets[e]
        if t >= 0 and table_key[t] == key:
            out[e] = values[rank[t]]


@kernel
def counting_sort(
    values: Any, segment: Any, keep: Any, n_segments: int, out: Any, ends: Any
) -> int:
    """``out``: the `values` where `keep`, grouped by `segment` (``0 <= segment <
    n_segments``), in order within each (a stable sort by segment); ``ends``: the end of
    each segment in `out`. Returns how many values are kept."""
    ends[:] = 0
    for i in range(segment.shape[0]):
        if keep[i]:
            ends[segment[i]] += 1
    total = 0
    for s in range(n_segments):
        total += ends[s]
        ends[s] = total
    fill = np.empty(n_segments, dtype=np.int64)
    fill[0] = 0
    fill[1:] = ends[:-1]
    for i in range(segment.shape[0]):
        if keep[i]:
            s = segment[i]
            out[fill[s]] = values[i]
            fill[s] += 1
    return total


@kernel
def segment_add_where(values: Any, segment: Any, mask: Any, out: Any) -> None:
    """``out[segment[i]] += values[i]`` where ``mask[i]``, in order."""
    for i in range(values.shape[0]):
        if mask[i]:
            out[segment[i]] += values[i]


@kernel
def first_or_last_where(
    sort_values: Any, events: Any, valid: Any, best: Any, chosen: Any, offset: int,
    is_first: bool,
) -> None:  # fmt: skip
    """For each hit ``i`` with ``valid[i]``: if its sorter value beats ``best[events[i]]``
    (strictly smaller when `is_first`, strictly larger otherwise) it becomes the chosen hit;
    the hits are one part of all of them, starting at position `offset` (``chosen`` holds
    positions in all the hits)."""
    for i in range(sort_values.shape[0]):
        if not valid[i]:
            continue
        e = events[i]
        v = sort_values[i]
        if (v < best[e]) if is_first else (v > best[e]):
            best[e] = v
            chosen[e] = i + offset


@kernel
def put_chosen(chosen: Any, values: Any, out: Any) -> None:
    """``out[e] = values[chosen[e]]`` where ``chosen[e] >= 0``."""
    for e in range(chosen.shape[0]):
        c = chosen[e]
        if c >= 0:
            out[e] = values[c]
