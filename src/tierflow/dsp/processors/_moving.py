# mypy: allow-untyped-calls, allow-untyped-defs
"""Moving-window averages and the average current (a derivative over a window)."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import GROUP, good_rows, group_end, has_nan, kernel

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
def _left_rows(src, rows, length, out):
    """`_window_left` on rows ``src[j]`` into ``out[rows[j]]``, the rows advanced together."""
    n, k = src.shape[1], int(length)
    for j in range(rows.shape[0]):
        out[rows[j], 0] = src[j, 0]
    for i in range(1, k):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + (src[j, i] - src[j, 0]) / length
    for i in range(k, n):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, i] = out[r, i - 1] + (src[j, i] - src[j, i - k]) / length


@kernel
def _right_rows(src, rows, length, out):
    """`_window_right` on rows ``src[j]`` into ``out[rows[j]]``, the rows advanced together."""
    n, k = src.shape[1], int(length)
    for j in range(rows.shape[0]):
        out[rows[j], n - 1] = src[j, n - 1]
    for i in range(1, k):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, n - 1 - i] = out[r, n - i] + (src[j, n - 1 - i] - out[r, n - 1]) / length
    for i in range(k, n):
        for j in range(rows.shape[0]):
            r = rows[j]
            out[r, n - 1 - i] = out[r, n - i] + (src[j, n - 1 - i] - src[j, n - 1 - i + k]) / length


@kernel
def _copy_rows(a, rows, b):
    """``b[j] = a[rows[j]]`` by loops (slice assignment compiles seconds of error formatting)."""
    for j in range(rows.shape[0]):
        for i in range(a.shape[1]):
            b[j, i] = a[rows[j], i]


@kernel
def moving_window_multi(w, length, num_mw, mw_type, out):
    """`num_mw` moving averages in a row: type 0 alternates left and right, 1 left, 2 right.

    Rows sharing their parameters run together (see ``_jit.group_end``), bit for bit as alone.
    """
    rows = good_rows(w, out)
    src = np.empty((GROUP, w.shape[1]), w.dtype)
    start = np.int64(0)  # not a literal: group_end compiles once
    while start < rows.shape[0]:
        end = group_end(rows, start, length, num_mw, mw_type)
        group = rows[start:end]
        size, count, kind = length[group[0]], num_mw[group[0]], mw_type[group[0]]
        if np.floor(size) != size or np.floor(count) != count:
            raise ValueError("moving_window_multi needs whole numbers of samples and windows")
        if int(size) < 0 or int(size) >= w.shape[1] or int(count) < 0:
            raise ValueError("moving_window_multi length or count out of range")
        _copy_rows(w, group, src)
        for i in range(int(count)):
            if (i % 2 == 1 and kind == 0) or kind == 2:
                _right_rows(src, group, size, out)
            else:
                _left_rows(src, group, size, out)
            _copy_rows(out, group, src)
        start = end


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
