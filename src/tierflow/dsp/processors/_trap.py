# mypy: allow-untyped-calls, allow-untyped-defs
"""Trapezoidal filters: recursive running sums, in the anchor's order of operations.

Each row's running sum is a serial chain of additions; rows sharing their parameters are
advanced together, sample by sample (``_jit.group_end``), which keeps several chains in flight
and leaves every row's operations, and so its bits, unchanged.
"""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import good_rows, group_end, has_nan, kernel
from tierflow.dsp.processors._scan import CHUNK, four_rows, scan_add, scan_add_sub

__all__ = ["asym_trap_filter", "trap_filter", "trap_norm", "trap_pickoff"]


@kernel
def _check(n, rise, flat, fall):
    if rise < 0 or flat < 0 or fall < 0:
        raise ValueError("trapezoid rise, flat and fall must not be negative")
    if rise + flat + fall > n:
        raise ValueError("the trapezoid is wider than the waveform")


@kernel
def _trap_rows(w, rows, k, m, out):
    for j in range(rows.shape[0]):
        out[rows[j], 0] = w[rows[j], 0]
    for i in range(1, k):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + w[r, i]
    for i in range(k, k + m):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + w[r, i] - w[r, i - k]
    for i in range(k + m, 2 * k + m):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + w[r, i] - w[r, i - k] - w[r, i - k - m]
    for i in range(2 * k + m, w.shape[1]):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = (
                out[r, i - 1] + w[r, i] - w[r, i - k] - w[r, i - k - m] + w[r, i - 2 * k - m]
            )


@kernel
def trap_filter(w, rise, flat, out):
    """Symmetric trapezoid: sum of `rise` samples minus the sum `rise + flat` samples earlier."""
    rows = good_rows(w, out)
    start = np.int64(0)  # not a literal: group_end compiles once
    while start < rows.shape[0]:
        end = group_end(rows, start, rise, flat, flat)
        k, m = rise[rows[start]], flat[rows[start]]
        _check(w.shape[1], k, m, k)
        _trap_rows(w, rows[start:end], k, m, out)
        start = end


@kernel
def _norm_inc(x, k, m, i0, i1, inc):
    """Increments ``(x[i] - x[i-k] - x[i-k-m] + x[i-2k-m]) / k`` of the normalised trapezoid
    for i0 <= i < i1, the terms before the waveform's start left out (as in one pass)."""
    for i in range(i0, min(i1, 2 * k + m)):  # the first samples: some terms are missing
        step = x[i]
        if i >= k:
            step = step - x[i - k]
        if i >= k + m:
            step = step - x[i - k - m]
        inc[i - i0] = step / k
    lo, hi = max(i0, 2 * k + m), i1
    if hi > lo:
        a, b, c = x[lo:hi], x[lo - k : hi - k], x[lo - k - m : hi - k - m]
        d, dst = x[lo - 2 * k - m : hi - 2 * k - m], inc[lo - i0 : hi - i0]
        for t in range(hi - lo):
            dst[t] = (a[t] - b[t] - c[t] + d[t]) / k


@kernel
def trap_norm(w, rise, flat, out):
    """Symmetric trapezoid divided by `rise`: a step of height A gives a flat top at A.

    Rows sharing their widths go four at a time: the increments of a chunk of samples first
    (`_norm_inc`, vectorised), then their running sums (``_scan``).
    """
    rows = good_rows(w, out)
    inc = np.empty((4, CHUNK))
    start = np.int64(0)  # not a literal: group_end compiles once
    while start < rows.shape[0]:
        end = group_end(rows, start, rise, flat, flat)
        group = four_rows(rows[start:end])
        # int64: int32 widths would cost the increments' vectorisation (twice the time)
        k, m = np.int64(rise[group[0]]), np.int64(flat[group[0]])
        _check(w.shape[1], k, m, k)
        for i0 in range(0, w.shape[1], CHUNK):
            i1 = min(i0 + CHUNK, w.shape[1])
            for j in range(4):
                _norm_inc(w[group[j]], k, m, i0, i1, inc[j])
            scan_add(inc, group, i0, i1, out)
        start = end


@kernel
def _asym_inc(x, k, m, f, i0, i1, inc, dec):
    """Increments of the asymmetric trapezoid for i0 <= i < i1: ``(x[i] - x[i-k]) / k`` added
    and ``(x[i-k-m] - x[i-k-m-f]) / f`` subtracted, terms before the start left out."""
    for i in range(i0, min(i1, k + m + f)):  # the first samples: some terms are missing
        inc[i - i0] = (x[i] - x[i - k]) / k if i >= k else x[i] / k
        dec[i - i0] = 0.0
        if i >= k + m:
            dec[i - i0] = x[i - k - m] / f
    lo = max(i0, k + m + f)
    if i1 > lo:
        a, b, c, d = x[lo:i1], x[lo - k : i1 - k], x[lo - k - m : i1 - k - m], x[lo - k - m - f :]
        ai, di = inc[lo - i0 :], dec[lo - i0 :]
        for t in range(i1 - lo):
            ai[t] = (a[t] - b[t]) / k
            di[t] = (c[t] - d[t]) / f


@kernel
def asym_trap_filter(w, rise, flat, fall, out):
    """Asymmetric trapezoid: mean of `rise` samples minus the mean of `fall` samples earlier.

    Computed as `trap_norm`: increments (`_asym_inc`), then running sums, four rows at a time.
    """
    rows = good_rows(w, out)
    inc = np.empty((4, CHUNK))
    dec = np.empty((4, CHUNK))
    start = np.int64(0)  # not a literal: group_end compiles once
    while start < rows.shape[0]:
        end = group_end(rows, start, rise, flat, fall)
        group = four_rows(rows[start:end])
        r = group[0]
        k, m, f = np.int64(rise[r]), np.int64(flat[r]), np.int64(fall[r])
        _check(w.shape[1], k, m, f)
        for i0 in range(0, w.shape[1], CHUNK):
            i1 = min(i0 + CHUNK, w.shape[1])
            for j in range(4):
                _asym_inc(w[group[j]], k, m, f, i0, i1, inc[j], dec[j])
            scan_add_sub(inc, dec, group, i0, i1, out)
        start = end


@kernel
def trap_pickoff(w, rise, flat, t_pick, out):
    """The normalised trapezoid's value at `t_pick` (linear between samples), without the wave."""
    for r in range(w.shape[0]):
        out[r] = np.nan
        t = t_pick[r]
        if has_nan(w[r]) or np.isnan(t):
            continue
        k, m = rise[r], flat[r]
        _check(w.shape[1], k, m, k)
        if not (w.shape[1] > np.ceil(t) and np.floor(t) >= 2 * k + m):
            continue
        start = int(np.floor(t))
        frac = t - start
        s1 = 0.0
        s2 = 0.0
        for i in range(start, start - k, -1):
            s1 += w[r, i]
        for i in range(start - k - m, start - 2 * k - m, -1):
            s2 += w[r, i]
        if frac > 0:
            s1 += frac * (w[r, start + 1] - w[r, start - k + 1])
            s2 += frac * (w[r, start - k - m + 1] - w[r, start - 2 * k - m + 1])
        out[r] = (s1 - s2) / k
