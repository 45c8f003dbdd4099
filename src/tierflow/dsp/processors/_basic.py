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


@kernel
def linear_slope_fit(w, mean, stdev, slope, intercept):
    """Mean and standard deviation (Welford) and least-squares line of each row.

    The running mean and variance are kept in the output precision, the regression sums in
    float64, as the anchor does, so results agree to the last bit. The rows of the block are
    advanced together, sample by sample: each row's chain of divisions is serial, and running
    several independent chains at once keeps the divider busy (the same operations per row).
    """
    n, rows = w.shape[1], w.shape[0]
    ok = np.zeros(rows, np.bool_)
    sum_xy = np.zeros(rows)
    sum_y = np.zeros(rows)
    for r in range(rows):
        mean[r] = stdev[r] = slope[r] = intercept[r] = np.nan
        if not has_nan(w[r]):
            ok[r] = True
            mean[r] = stdev[r] = 0
    sum_x = sum_x2 = 0
    for i in range(n):
        sum_x += i
        sum_x2 += i * i
        for r in range(rows):
            if ok[r]:
                temp = w[r, i] - mean[r]
                mean[r] += temp / (i + 1)
                stdev[r] += temp * (w[r, i] - mean[r])
                sum_xy[r] += w[r, i] * i
                sum_y[r] += w[r, i]
    for r in range(rows):
        if ok[r]:
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
