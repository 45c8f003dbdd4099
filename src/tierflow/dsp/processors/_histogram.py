# mypy: allow-untyped-calls, allow-untyped-defs
"""Histograms of waveforms and the mode and width read off them (numba kernels)."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["histogram", "histogram_stats"]


@kernel
def _fill(w, weights, borders):
    """Equal bins from the minimum to the maximum; the maximum itself is left out."""
    weights[:] = 0
    borders[:] = np.nan
    if has_nan(w):
        return
    lo, hi = np.min(w), np.max(w)
    delta = (hi - lo) / weights.shape[0]
    borders[:] = np.linspace(lo, hi, borders.shape[0])
    if delta == 0:
        return
    for i in range(w.shape[0]):
        if w[i] != hi:
            weights[int(np.floor((w[i] - borders[0]) / delta))] += 1


@kernel
def histogram(w, weights, borders):
    """Histogram of each row in ``len(weights)`` bins between its minimum and maximum.

    The sample at the maximum is not counted (the anchor's convention); a NaN row gives
    empty weights and NaN borders.
    """
    if weights.shape[1] + 1 != borders.shape[1]:
        raise ValueError("histogram borders must be one longer than the weights")
    for r in range(w.shape[0]):
        _fill(w[r], weights[r], borders[r])


@kernel
def _mode_index(weights, edges, max_in):
    n = weights.shape[0]
    best = 0
    if np.isnan(max_in):
        for i in range(n):
            if weights[i] > weights[best]:
                best = i
    elif max_in > edges[n - 1]:
        best = n - 1
    else:
        for i in range(n):
            if abs(max_in - edges[i]) < abs(max_in - edges[best]):
                best = i
    return best


@kernel
def histogram_stats(weights, edges, mode_out, max_out, fwhm_out, max_in):
    """Index and left edge of the histogram's mode, and the larger half width at half maximum.

    With `max_in` not NaN, the mode is the bin edge closest to it. The width (``fwhm``, in
    fact a half width, as in the anchor) is taken from the mode outwards, ignoring empty bins.
    """
    if weights.shape[1] + 1 != edges.shape[1]:
        raise ValueError("histogram edges must be one longer than the weights")
    for r in range(weights.shape[0]):
        mode_out[r] = max_out[r] = fwhm_out[r] = np.nan
        if has_nan(weights[r]):
            continue
        best = _mode_index(weights[r], edges[r], max_in[r])
        top = weights[r, best]
        mode_out[r] = best
        max_out[r] = edges[r, best]
        for i in range(best, weights.shape[1]):
            if weights[r, i] <= 0.5 * top and weights[r, i] != 0:
                fwhm_out[r] = abs(max_out[r] - edges[r, i])
                break
        for i in range(best):
            if weights[r, i] >= 0.5 * top and weights[r, i] != 0:
                if fwhm_out[r] < abs(max_out[r] - edges[r, i]):
                    fwhm_out[r] = abs(max_out[r] - edges[r, i])
                break
