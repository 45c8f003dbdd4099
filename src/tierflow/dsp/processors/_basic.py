# mypy: allow-untyped-calls, allow-untyped-defs
"""Extrema, baseline subtraction and straight-line fits (numba kernels over blocks of rows).

Every kernel takes its arguments with the row as the first axis: a waveform is ``(rows, n)``,
a scalar per row is ``(rows,)``; outputs come last and are written in place.
"""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["bl_subtract", "linear_slope_fit", "mean_below_threshold", "min_max"]


def min_max(w, t_min, t_max, a_min, a_max):
    """Index and value of the first minimum and maximum (NaN for rows holding a NaN).

    numpy's SIMD ``argmin``/``argmax`` (first occurrence, as the anchor's strict comparisons)
    return a row's first NaN when it holds one, so a NaN value marks those rows.
    """
    rows = np.arange(w.shape[0])
    i_min = np.argmin(w, axis=-1)
    i_max = np.argmax(w, axis=-1)
    a_min[...] = w[rows, i_min]
    a_max[...] = w[rows, i_max]
    t_min[...] = i_min
    t_max[...] = i_max
    bad = np.isnan(a_max)
    if bad.any():
        t_min[bad] = t_max[bad] = a_min[bad] = a_max[bad] = np.nan


@kernel
def bl_subtract(w, baseline, out):
    """The waveform minus a constant baseline."""
    for r in range(w.shape[0]):
        if has_nan(w[r]) or np.isnan(baseline[r]):
            out[r, :] = np.nan
            continue
        for i in range(w.shape[1]):
            out[r, i] = w[r, i] - baseline[r]


_T = 256
"""Samples of a block transposed at a time by `linear_slope_fit` (rows then lie side by side)."""


@kernel
def _welford_rows(w, mean, stdev, sum_xy, sum_y):
    """Advance the running sums of every row over all samples, the rows side by side.

    A block of `_T` samples is transposed first so that one sample of all rows is contiguous:
    the loop over rows then has no branch and LLVM vectorises it (several divisions per
    instruction), each row keeping its own operations. Rows holding a NaN are computed too
    and set to NaN by the caller.
    """
    rows, n = w.shape
    wt = np.empty((_T, rows), w.dtype)
    for i0 in range(0, n, _T):
        i1 = min(i0 + _T, n)
        for r in range(rows):
            for i in range(i0, i1):
                wt[i - i0, r] = w[r, i]
        for i in range(i0, i1):
            x, d, fi = wt[i - i0], np.float64(i + 1), np.float64(i)
            for r in range(rows):
                temp = x[r] - mean[r]
                mean[r] += temp / d
                stdev[r] += temp * (x[r] - mean[r])
                sum_xy[r] += x[r] * fi
                sum_y[r] += x[r]


@kernel
def linear_slope_fit(w, mean, stdev, slope, intercept):
    """Mean and standard deviation (Welford) and least-squares line of each row.

    The running mean and variance are kept in the output precision, the regression sums in
    float64, as the anchor does, so results agree to the last bit. The rows of the block are
    advanced together, sample by sample (see `_welford_rows`): each row's chain of divisions
    is serial, and running the rows side by side vectorises the divisions.
    """
    n, rows = w.shape[1], w.shape[0]
    m = np.zeros(rows, mean.dtype)
    sd = np.zeros(rows, stdev.dtype)
    sum_xy = np.zeros(rows)
    sum_y = np.zeros(rows)
    _welford_rows(w, m, sd, sum_xy, sum_y)
    sum_x = sum_x2 = 0
    for i in range(n):
        sum_x += i
        sum_x2 += i * i
    for r in range(rows):
        mean[r] = stdev[r] = slope[r] = intercept[r] = np.nan
        if has_nan(w[r]):
            continue
        mean[r] = m[r]
        stdev[r] = sd[r]
        stdev[r] /= n - 1
        stdev[r] = np.sqrt(stdev[r])
        slope[r] = (n * sum_xy[r] - sum_x * sum_y[r]) / (n * sum_x2 - sum_x * sum_x)
        intercept[r] = (sum_y[r] - sum_x * slope[r]) / n


@kernel
def mean_below_threshold(w, threshold, mean):
    """Mean of the samples below `threshold`."""
    for r in range(w.shape[0]):
        mean[r] = np.nan
        if has_nan(w[r]) or np.isnan(threshold[r]):
            continue
        total = 0.0
        count = 0
        for i in range(w.shape[1]):
            if w[r, i] < threshold[r]:
                total += w[r, i]
                count += 1
        if count > 0:
            mean[r] = total / count
