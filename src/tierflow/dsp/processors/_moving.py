# mypy: allow-untyped-calls, allow-untyped-defs
"""Moving-window averages and the average current (a derivative over a window)."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["avg_current", "moving_window_left", "moving_window_multi", "moving_window_right"]


@kernel
def _window_left(w, length, out):
    n, k = w.shape[0], int(length)
    out[0] = w[0]
    for i in range(1, k):
        out[i] = out[i - 1] + (w[i] - w[0]) / length
    for i in range(k, n):
        out[i] = out[i - 1] + (w[i] - w[i - k]) / length


@kernel
def _window_right(w, length, out):
    n, k = w.shape[0], int(length)
    out[n - 1] = w[n - 1]
    for i in range(1, k):
        out[n - 1 - i] = out[n - i] + (w[n - 1 - i] - out[n - 1]) / length
    for i in range(k, n):
        out[n - 1 - i] = out[n - i] + (w[n - 1 - i] - w[n - 1 - i + k]) / length


@kernel
def _check_length(length, n):
    if not (length >= 0 and length < n):
        raise ValueError("the window length must be between 0 and the waveform length")


@kernel
def moving_window_left(w, length, out):
    """Moving average over the `length` samples up to each sample (the first sample before)."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        _check_length(length[r], w.shape[1])
        _window_left(w[r], length[r], out[r])


@kernel
def moving_window_right(w, length, out):
    """Moving average over the `length` samples from each sample on (the last sample after)."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        _check_length(length[r], w.shape[1])
        _window_right(w[r], length[r], out[r])


@kernel
def moving_window_multi(w, length, num_mw, mw_type, out):
    """`num_mw` moving averages in a row: type 0 alternates left and right, 1 left, 2 right."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        if np.floor(length[r]) != length[r] or np.floor(num_mw[r]) != num_mw[r]:
            raise ValueError("moving_window_multi needs whole numbers of samples and windows")
        if int(length[r]) < 0 or int(length[r]) >= w.shape[1] or int(num_mw[r]) < 0:
            raise ValueError("moving_window_multi length or count out of range")
        buf = w[r].copy()
        for i in range(int(num_mw[r])):
            if (i % 2 == 1 and mw_type[r] == 0) or mw_type[r] == 2:
                _window_right(buf, length[r], out[r])
            else:
                _window_left(buf, length[r], out[r])
            buf[:] = out[r]


@kernel
def avg_current(w, length, out):
    """``(w[i + length] - w[i]) / length``: the mean slope over `length` samples."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        _check_length(length[r], w.shape[1])
        k = int(length[r])
        for i in range(out.shape[1]):
            out[r, i] = w[r, i + k] - w[r, i]
        for i in range(out.shape[1]):
            out[r, i] /= length[r]
