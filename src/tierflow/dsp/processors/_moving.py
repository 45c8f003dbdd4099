# mypy: allow-untyped-calls, allow-untyped-defs
"""Moving-window averages and the average current (a derivative over a window)."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import good_rows, group_end, has_nan, kernel
from tierflow.dsp.processors._scan import CHUNK, four_rows, scan_add

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
def _left_inc(x, length, i0, i1, inc):
    """Increments of `_window_left` for i0 <= i < i1 (at 0: the first sample itself)."""
    k = int(length)
    if i0 == 0:
        inc[0] = x[0]
    for i in range(max(i0, 1), min(i1, k)):
        inc[i - i0] = (x[i] - x[0]) / length
    lo = max(i0, k)
    if i1 > lo:
        a, b, dst = x[lo:i1], x[lo - k : i1 - k], inc[lo - i0 :]
        for t in range(i1 - lo):
            dst[t] = (a[t] - b[t]) / length


@kernel
def _pass_rows(src, srows, length, inc, out, orows):
    """A left moving average of rows ``src[srows[j]]`` into ``out[orows[j]]`` (four rows):
    the divisions first, chunk by chunk (vectorised), then the running sums (``_scan``)."""
    n = src.shape[1]
    for i0 in range(0, n, CHUNK):
        i1 = min(i0 + CHUNK, n)
        for j in range(4):
            _left_inc(src[srows[j]], length, i0, i1, inc[j])
        scan_add(inc, orows, i0, i1, out)


@kernel
def _check_multi(size, count, n):
    if np.floor(size) != size or np.floor(count) != count:
        raise ValueError("moving_window_multi needs whole numbers of samples and windows")
    if int(size) < 0 or int(size) >= n or int(count) < 0:
        raise ValueError("moving_window_multi length or count out of range")


@kernel
def moving_window_multi(w, length, num_mw, mw_type, out):
    """`num_mw` moving averages in a row: type 0 alternates left and right, 1 left, 2 right.

    Rows sharing their parameters run together, four at a time (see ``_jit.group_end``), bit
    for bit as alone: each pass divides first and adds up after (see ``_scan``), from the
    waveform or one of two scratch rows to the other (no copies), the last into the output.
    No window (or a zero-length one, whose averages divide 0 by 0) gives NaN, as the anchor.

    A right average is a left one of the reversed row, reversed: ``_window_right`` computes
    ``out[p] = out[p+1] + (w[p] - w[p+k]) / length`` from the end, the same operations as
    ``_window_left`` on ``w[::-1]``. So every pass is a left average of rows stored in the
    order it needs (time order for a left pass, reversed for a right one): each pass writes
    its result (through a reversed view when the next pass, or the output, needs the other
    order) where the next one reads it forwards, contiguously.
    """
    rows = good_rows(w, out)
    bufs = np.empty((2, 4, w.shape[1]), w.dtype)
    inc = np.empty((4, CHUNK), w.dtype)
    local = np.empty(4, np.int64)
    for j in range(4):
        local[j] = j
    start = np.int64(0)  # not a literal: group_end compiles once
    while start < rows.shape[0]:
        end = group_end(rows, start, length, num_mw, mw_type)
        group = four_rows(rows[start:end])
        size, count, kind = length[group[0]], num_mw[group[0]], mw_type[group[0]]
        _check_multi(size, count, w.shape[1])
        start = end
        if int(size) == 0 or int(count) == 0:
            for r in group:
                out[r, :] = np.nan
            continue
        src, srows = w, group
        if kind == 2:  # the first pass is a right one: the rows reversed into scratch
            for j in range(4):
                row, dest = w[group[j]], bufs[1, j]
                for t in range(row.shape[0]):
                    dest[row.shape[0] - 1 - t] = row[t]
            src, srows = bufs[1], local
        for i in range(int(count)):
            right = (i % 2 == 1 and kind == 0) or kind == 2
            last = i == int(count) - 1
            right_next = not last and (((i + 1) % 2 == 1 and kind == 0) or kind == 2)
            target, trows = (out, group) if last else (bufs[i % 2], local)
            if right != right_next:  # the next pass (or the output) needs the other order
                target = target[:, ::-1]
            _pass_rows(src, srows, size, inc, target, trows)
            src, srows = bufs[i % 2], local


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
