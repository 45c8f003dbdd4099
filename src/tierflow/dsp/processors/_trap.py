# mypy: allow-untyped-calls, allow-untyped-defs
"""Trapezoidal filters: recursive running sums, in the anchor's order of operations."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["asym_trap_filter", "trap_filter", "trap_norm", "trap_pickoff"]


@kernel
def _check(n, rise, flat, fall):
    if rise < 0 or flat < 0 or fall < 0:
        raise ValueError("trapezoid rise, flat and fall must not be negative")
    if rise + flat + fall > n:
        raise ValueError("the trapezoid is wider than the waveform")


@kernel
def trap_filter(w, rise, flat, out):
    """Symmetric trapezoid: sum of `rise` samples minus the sum `rise + flat` samples earlier."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        k, m = rise[r], flat[r]
        _check(w.shape[1], k, m, k)
        out[r, 0] = w[r, 0]
        for i in range(1, k):
            out[r, i] = out[r, i - 1] + w[r, i]
        for i in range(k, k + m):
            out[r, i] = out[r, i - 1] + w[r, i] - w[r, i - k]
        for i in range(k + m, 2 * k + m):
            out[r, i] = out[r, i - 1] + w[r, i] - w[r, i - k] - w[r, i - k - m]
        for i in range(2 * k + m, w.shape[1]):
            out[r, i] = (
                out[r, i - 1] + w[r, i] - w[r, i - k] - w[r, i - k - m] + w[r, i - 2 * k - m]
            )


@kernel
def trap_norm(w, rise, flat, out):
    """Symmetric trapezoid divided by `rise`: a step of height A gives a flat top at A."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        k, m = rise[r], flat[r]
        _check(w.shape[1], k, m, k)
        out[r, 0] = w[r, 0] / k
        for i in range(1, k):
            out[r, i] = out[r, i - 1] + w[r, i] / k
        for i in range(k, k + m):
            out[r, i] = out[r, i - 1] + (w[r, i] - w[r, i - k]) / k
        for i in range(k + m, 2 * k + m):
            out[r, i] = out[r, i - 1] + (w[r, i] - w[r, i - k] - w[r, i - k - m]) / k
        for i in range(2 * k + m, w.shape[1]):
            step = w[r, i] - w[r, i - k] - w[r, i - k - m] + w[r, i - 2 * k - m]
            out[r, i] = out[r, i - 1] + step / k


@kernel
def asym_trap_filter(w, rise, flat, fall, out):
    """Asymmetric trapezoid: mean of `rise` samples minus the mean of `fall` samples earlier."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        k, m, f = rise[r], flat[r], fall[r]
        _check(w.shape[1], k, m, f)
        out[r, 0] = w[r, 0] / k
        for i in range(1, k):
            out[r, i] = out[r, i - 1] + w[r, i] / k
        for i in range(k, k + m):
            out[r, i] = out[r, i - 1] + (w[r, i] - w[r, i - k]) / k
        for i in range(k + m, k + m + f):
            out[r, i] = out[r, i - 1] + (w[r, i] - w[r, i - k]) / k - w[r, i - k - m] / f
        for i in range(k + m + f, w.shape[1]):
            out[r, i] = (
                out[r, i - 1]
                + (w[r, i] - w[r, i - k]) / k
                - (w[r, i - k - m] - w[r, i - k - m - f]) / f
            )


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
