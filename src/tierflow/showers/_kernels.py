"""numba kernels of the shower processing; imported only when a kernel is first needed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

__all__ = ["cluster_kernel"]

BITS = 20
SPAN = 1 << BITS


@numba.njit(cache=True, nogil=True)
def _cluster_one(
    flat: Any,
    lo: int,
    hi: int,
    ecal_split: float,
    cells: Any,
    shifts: Any,
    out: Any,
) -> int:
    """Cluster the hits ``lo..hi`` into cells; write the cells at ``out[lo:]``; their count."""
    n = hi - lo
    n_features = flat.shape[1]
    keys = np.empty(n, dtype=np.int64)
    which = np.empty(n, dtype=np.int64)
    cell_idx = np.empty((n, 3), dtype=np.int64)
    m = 0
    for k in range(lo, hi):
        e = flat[k, 3]
        if not e > 0:
            continue
        part = 0 if flat[k, 2] < ecal_split else 1
        size = cells[part]
        x = np.float32(np.float32(flat[k, 0] + shifts[part, 0]) / size)
        y = np.float32(np.float32(flat[k, 1] + shifts[part, 1]) / size)
        cell_idx[m, 0] = np.int64(np.int32(np.floor(x)))
        cell_idx[m, 1] = np.int64(np.int32(np.floor(y)))
        cell_idx[m, 2] = np.int64(np.int32(np.floor(flat[k, 2])))
        keys[m] = part
        which[m] = k
        m += 1
    if m == 0:
        return 0
    base = np.empty(3, dtype=np.int64)
    for d in range(3):
        base[d] = cell_idx[:m, d].min()
        if cell_idx[:m, d].max() - base[d] >= SPAN:
            raise ValueError("a shower spans too many cells to cluster")
    for i in range(m):  # order: part, z, x, y (as np.unique over (z, x, y) per part)
        keys[i] = (
            (((keys[i] << BITS) | (cell_idx[i, 2] - base[2])) << BITS | (cell_idx[i, 0] - base[0]))
            << BITS
        ) | (cell_idx[i, 1] - base[1])
    order = np.argsort(keys[:m], kind="mergesort")
    n_out = -1
    last = np.int64(-1)
    for j in range(m):
        i = order[j]
        k = which[i]
        if n_out < 0 or keys[i] != last:
            n_out += 1
            last = keys[i]
            part = 0 if flat[k, 2] < ecal_split else 1
            size = cells[part]
            row = lo + n_out
            for d in range(2):
                centre = np.float32(np.float32(np.float32(cell_idx[i, d]) + np.float32(0.5)) * size)
                out[row, d] = np.float32(centre - shifts[part, d])
            out[row, 2] = np.float32(cell_idx[i, 2])
            out[row, 3] = flat[k, 3]
            if n_features > 4:
                out[row, 4] = flat[k, 4]
        else:
            row = lo + n_out
            out[row, 3] = np.float32(out[row, 3] + flat[k, 3])
            if n_features > 4:
                out[row, 4] = min(out[row, 4], flat[k, 4])
    return n_out + 1


@numba.njit(cache=True, nogil=True)
def _cluster_serial(flat: Any, offsets: Any, ecal_split: float, cells: Any, shifts: Any) -> Any:
    out = np.zeros_like(flat)
    counts = np.zeros(len(offsets) - 1, dtype=np.int64)
    for i in range(len(offsets) - 1):
        counts[i] = _cluster_one(
            flat, offsets[i], offsets[i + 1], ecal_split, cells, shifts[i], out
        )
    return out, counts


@numba.njit(cache=True, nogil=True, parallel=True)
def _cluster_parallel(flat: Any, offsets: Any, ecal_split: float, cells: Any, shifts: Any) -> Any:
    out = np.zeros_like(flat)
    counts = np.zeros(len(offsets) - 1, dtype=np.int64)
    for i in numba.prange(len(offsets) - 1):
        counts[i] = _cluster_one(
            flat, offsets[i], offsets[i + 1], ecal_split, cells, shifts[i], out
        )
    return out, counts


def cluster_kernel(parallel: bool = False) -> Callable[..., Any]:
    """``(flat, offsets, ecal_split, cells, shifts) -> (out, counts)``; compiled on first use.

    Shower ``i``'s cells are written at ``out[offsets[i]:offsets[i] + counts[i]]``; with
    `parallel`, showers are spread over the cores (``numba.set_num_threads`` limits them).
    """
    return _cluster_parallel if parallel else _cluster_serial
