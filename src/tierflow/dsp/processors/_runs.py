# mypy: allow-untyped-calls, allow-untyped-defs
"""Convolution with kernels made of long runs of equal values, by sliding sums: O(n) per run.

Filter kernels built from ramps and flat parts (``t0_filter``: an 8-sample ramp then 125 equal
samples; ``step``; moving averages) are mostly runs of one value. A run ``kern[a:b] == c``
contributes ``c * (w[k-b+1] + ... + w[k-a])`` to output ``k``: a window sum that slides by one
sample per output (one addition and one subtraction) instead of ``b - a`` products. The other
taps are summed directly. Everything is float64 with the kernel's exact values; window sums
are recomputed from scratch every ``REFRESH / 4`` outputs, so their rounding never drifts (the
result is the float64 convolution to ~1e-15 of its scale: different order, same value in the
float32 outputs almost always, as the FFT path it replaces).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["MIN_RUN", "REFRESH", "RunPlan", "cached_run_plan", "convolve_runs", "make_run_plan"]

MIN_RUN = 6
"""Equal neighbouring kernel values summed as a sliding window when at least this many."""

REFRESH = 512
"""Outputs computed together (a chunk held in the L1 cache); every quarter of a chunk starts
from a fresh (not slid) window sum."""


@dataclass(frozen=True)
class RunPlan:
    """A kernel split into single taps and runs of equal values.

    Parameters
    ----------
    taps, values
        Kernel indices summed directly and their values (zeros left out).
    starts, stops, consts
        Runs ``kern[starts[u]:stops[u]] == consts[u]``.
    length
        The kernel's length.
    """

    taps: np.ndarray
    values: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    consts: np.ndarray
    length: int

    def cost(self, n_out: int) -> int:
        """Operations per row, comparable to ``n_out * m`` for direct sums."""
        return n_out * (len(self.taps) + 4 * len(self.starts))


def make_run_plan(kernel: np.ndarray, min_run: int = MIN_RUN) -> RunPlan:
    """The taps and runs of a 1-d `kernel` (runs of zeros are dropped).

    Example
    -------
    >>> plan = make_run_plan(np.array([3, 2, 1, 5, 5, 5, 5, 5, 5, 0, 0], "float32"))
    >>> plan.taps.tolist(), plan.starts.tolist(), plan.stops.tolist(), plan.consts.tolist()
    ([0, 1, 2], [3], [9], [5.0])
    """
    kern = np.asarray(kernel, dtype=np.float64).ravel()
    edges = np.flatnonzero(kern[1:] != kern[:-1]) + 1
    bounds = np.r_[0, edges, kern.size]
    taps: list[int] = []
    runs: list[tuple[int, int, float]] = []
    for a, b in itertools.pairwise(bounds):
        value = float(kern[a])
        if value == 0:
            continue
        if b - a >= min_run:
            runs.append((int(a), int(b), value))
        else:
            taps.extend(range(int(a), int(b)))
    return RunPlan(
        np.array(taps, dtype=np.int64),
        kern[taps].copy(),
        np.array([r[0] for r in runs], dtype=np.int64),
        np.array([r[1] for r in runs], dtype=np.int64),
        np.array([r[2] for r in runs], dtype=np.float64),
        int(kern.size),
    )


@functools.lru_cache(maxsize=32)
def cached_run_plan(kernel_bytes: bytes, dtype: str) -> RunPlan:
    """:func:`make_run_plan` of a kernel given by its bytes (a chain's constant kernel)."""
    return make_run_plan(np.frombuffer(kernel_bytes, dtype=dtype))


def convolve_runs(w: np.ndarray, plan: RunPlan, start: int, out: np.ndarray) -> None:
    """``out[r, k] = full[r, k + start]`` of each row of `w` convolved with the plan's kernel.

    Rows holding a NaN give NaN rows.

    Example
    -------
    >>> kern = np.r_[np.arange(4.0, 0, -1), np.full(20, -0.5)]
    >>> w = np.random.default_rng(1).normal(size=(2, 100))
    >>> out = np.empty((2, 100))
    >>> convolve_runs(w, make_run_plan(kern), (kern.size - 1) // 2, out)
    >>> bool(np.allclose(out[1], np.convolve(w[1], kern, "same")))
    True
    """
    _runs(w, plan.taps, plan.values, plan.starts, plan.stops, plan.consts, plan.length, start, out)


@kernel
def _slide(x, size, c, acc, sums):
    """``acc[k] += c * sum(x[k : k + size])`` for every k of `acc`, by sliding sums.

    Three passes over a chunk that stays in the L1 cache: the differences
    ``x[k - 1 + size] - x[k - 1]`` (vectorised), their running sums in four lanes that each
    start from a fresh sum (four independent chains of additions), then ``acc += c * sums``
    (vectorised). `sums` is scratch space as long as `acc`. (Slices keep every index
    non-negative, which spares numba's wrap-around checks.)
    """
    n = acc.shape[0]
    lane = n // 4
    if lane < 2:
        for k in range(n):
            total = 0.0
            for q in range(k, k + size):
                total += x[q]
            acc[k] += c * total
        return
    inc, add, drop = sums[1:n], x[size : size + n - 1], x[: n - 1]
    for k in range(n - 1):
        inc[k] = add[k] - drop[k]
    l0, l1 = sums[:lane], sums[lane : 2 * lane]
    l2, l3 = sums[2 * lane : 3 * lane], sums[3 * lane :]
    x1, x2, x3 = x[lane:], x[2 * lane :], x[3 * lane :]
    s0 = s1 = s2 = s3 = 0.0
    for q in range(size):  # the four lanes' first sums, side by side
        s0 += x[q]
        s1 += x1[q]
        s2 += x2[q]
        s3 += x3[q]
    l0[0], l1[0], l2[0], l3[0] = s0, s1, s2, s3
    for k in range(1, lane):
        s0 += l0[k]
        l0[k] = s0
        s1 += l1[k]
        l1[k] = s1
        s2 += l2[k]
        l2[k] = s2
        s3 += l3[k]
        l3[k] = s3
    for k in range(lane, l3.shape[0]):  # the rest of an uneven chunk, slid on in lane 3
        s3 += l3[k]
        l3[k] = s3
    for k in range(n):
        acc[k] += c * sums[k]


@kernel
def _runs(w, taps, values, starts, stops, consts, m, start, out):
    n, n_out = w.shape[1], out.shape[1]
    padded = np.zeros(n + 2 * m)
    body = padded[m - 1 : m - 1 + n]
    acc = np.empty(REFRESH)
    sums = np.empty(REFRESH)
    base = start + m - 1  # padded index of w[start + k] is base + k
    for r in range(w.shape[0]):
        if has_nan(w[r]):
            out[r, :] = np.nan
            continue
        row = w[r]
        for i in range(n):
            body[i] = row[i]
        for k0 in range(0, n_out, REFRESH):  # chunks that stay in the L1 cache
            size = min(REFRESH, n_out - k0)
            part = acc[:size]
            part[:] = 0.0
            for t in range(0, taps.shape[0] - 1, 2):  # taps in pairs: half the passes
                p, q = padded[base + k0 - taps[t] :], padded[base + k0 - taps[t + 1] :]
                u, v = values[t], values[t + 1]
                for k in range(size):
                    part[k] += u * p[k] + v * q[k]
            if taps.shape[0] % 2:
                p, u = padded[base + k0 - taps[-1] :], values[-1]
                for k in range(size):
                    part[k] += u * p[k]
            for u in range(starts.shape[0]):
                lo, length = base + k0 - stops[u] + 1, stops[u] - starts[u]
                _slide(padded[lo : lo + size + length - 1], length, consts[u], part, sums[:size])
            dest = out[r, k0:]
            for k in range(size):
                dest[k] = part[k]
