# mypy: allow-untyped-calls, allow-untyped-defs
"""Trapezoidal filters: recursive running sums, in the anchor's order of operations.

Each row's running sum is a serial chain of additions; rows sharing their parameters are
advanced together, sample by sample (``_jit.group_end``), which keeps several chains in flight
and leaves every row's operations, and so its bits, unchanged.
"""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import good_rows, group_end, has_nan, kernel

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
def _norm_rows(w, rows, k, m, out):
    for j in range(rows.shape[0]):
        r = rows[j]
        out[r, 0] = w[r, 0] / k
    for i in range(1, k):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + w[r, i] / k
    for i in range(k, k + m):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + (w[r, i] - w[r, i - k]) / k
    for i in range(k + m, 2 * k + m):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + (w[r, i] - w[r, i - k] - w[r, i - k - m]) / k
    for i in range(2 * k + m, w.shape[1]):
        for j in range(rows.shape[0]):
            r = rows[j]
            step = w[r, i] - w[r, i - k] - w[r, i - k - m] + w[r, i - 2 * k - m]
            out[r, i] = out[r, i - 1] + step / k


@kernel
def trap_norm(w, rise, flat, out):
    """Symmetric trapezoid divided by `rise`: a step of height A gives a flat top at A."""
    rows = good_rows(w, out)
    start = np.int64(0)  # not a literal: group_end compiles once
    while start < rows.shape[0]:
        end = group_end(rows, start, rise, flat, flat)
        k, m = rise[rows[start]], flat[rows[start]]
        _check(w.shape[1], k, m, k)
        _norm_rows(w, rows[start:end], k, m, out)
        start = end


@kernel
def _asym_rows(w, rows, k, m, f, out):
    for j in range(rows.shape[0]):
        r = rows[j]
        out[r, 0] = w[r, 0] / k
    for i in range(1, k):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + w[r, i] / k
    for i in range(k, k + m):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + (w[r, i] - w[r, i - k]) / k
    for i in range(k + m, k + m + f):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + (w[r, i] - w[r, i - k]) / k - w[r, i - k - m] / f
    for i in range(k + m + f, w.shape[1]):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = (
                out[r, i - 1]
                + (w[r, i] - w[r, i - k]) / k
                - (w[r, i - k - m] - w[r, i - k - m - f]) / f
            )


@kernel
def asym_trap_filter(w, rise, flat, fall, out):
    """Asymmetric trapezoid: mean of `rise` samples minus the mean of `fall` samples earlier."""
    rows = good_rows(w, out)
    start = np.int64(0)  # not a literal: group_end compiles once
    while start < rows.shape[0]:
        end = group_end(rows, start, rise, flat, fall)
        k, m, f = rise[rows[start]], flat[rows[start]], fall[rows[start]]
        _check(w.shape[1], k, m, f)
        _asym_rows(w, rows[start:end], k, m, f, out)
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
