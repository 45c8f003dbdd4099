# mypy: allow-untyped-calls, allow-untyped-defs
"""Many local extrema per waveform (peak finding) and what is read off them.

Outputs are fixed-length rows padded with NaN plus a count: the chain writes them as jagged
arrays (``vector_len``).
"""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["get_multi_local_extrema", "multi_a_filter", "peak_snr_threshold"]


@kernel
def _sweep(w, d_max, d_min, a_max, a_min, backward, vt_max, vt_min):
    """Billauer's peak detection in one direction; returns the counts found."""
    n = w.shape[0]
    n_max = n_min = 0
    find_max = True
    imax = imin = n - 1 if backward else 0
    for k in range(n):
        i = n - 1 - k if backward else k
        if w[i] > w[imax]:
            imax = i
        if w[i] < w[imin]:
            imin = i
        if find_max:
            if w[i] < w[imax] - d_max and n_max < vt_max.shape[0] and w[imax] > a_max:
                vt_max[n_max] = imax
                n_max += 1
                imin = i
                find_max = False
        elif w[i] > w[imin] + d_min and n_min < vt_min.shape[0] and w[imin] < a_min:
            vt_min[n_min] = imin
            n_min += 1
            imax = i
            find_max = True
    return n_max, n_min


@kernel
def _intersect(left, n_left, right, n_right, out):
    """Entries of `left` also in `right`, in the order of `left`; returns how many."""
    count = 0
    for i in range(n_left):
        for j in range(n_right):
            if left[i] == right[j]:
                out[count] = left[i]
                count += 1
                break
    return count


@kernel
def _union(left, n_left, right, n_right, out):
    """Sorted distinct entries of both (as many as fit); returns how many."""
    both = np.sort(np.concatenate((left[:n_left], right[:n_right])))
    count = 0
    for i in range(both.shape[0]):
        if count < out.shape[0] and (i == 0 or both[i] != both[i - 1]):
            out[count] = both[i]
            count += 1
    return count


@kernel
def _combine(left, n_left, right, n_right, direction, out):
    if direction == 0:
        out[:n_left] = left[:n_left]
        return n_left
    if direction == 1:
        out[:n_right] = right[:n_right]
        return n_right
    if direction == 2:
        return _intersect(left, n_left, right, n_right, out)
    return _union(left, n_left, right, n_right, out)


@kernel
def get_multi_local_extrema(w, d_max, d_min, direction, a_max, a_min, vt_max, vt_min, n_max, n_min):
    """Indices of local maxima and minima (Billauer's ``peakdet``), NaN-padded, and their counts.

    A maximum counts once the data fall `d_max` below it (and it is above `a_max`); a minimum
    once they rise `d_min` above it (and it is below `a_min`). `direction`: 0 forward, 1
    backward, 2 found both ways, 3 found either way (sorted).
    """
    m = vt_max.shape[1]
    left = np.empty((2, m))
    right = np.empty((2, m))
    for r in range(w.shape[0]):
        vt_max[r, :] = np.nan
        vt_min[r, :] = np.nan
        n_max[r] = n_min[r] = 0
        if has_nan(w[r]) or np.isnan(d_max[r]) or np.isnan(d_min[r]):
            continue
        if m >= w.shape[1] or vt_min.shape[1] >= w.shape[1]:
            raise ValueError("the extrema arrays must be shorter than the waveform")
        if not (d_max[r] >= 0 and d_min[r] >= 0):
            raise ValueError("get_multi_local_extrema deltas must not be negative")
        mode = int(direction[r])
        if mode < 0 or mode > 3:
            raise ValueError("get_multi_local_extrema direction must be 0, 1, 2 or 3")
        nl_max = nl_min = nr_max = nr_min = 0
        if mode != 1:
            nl_max, nl_min = _sweep(
                w[r], d_max[r], d_min[r], a_max[r], a_min[r], False, left[0], left[1]
            )
        if mode != 0:
            nr_max, nr_min = _sweep(
                w[r], d_max[r], d_min[r], a_max[r], a_min[r], True, right[0], right[1]
            )
        n_max[r] = _combine(left[0], nl_max, right[0], nr_max, mode, vt_max[r])
        n_min[r] = _combine(left[1], nl_min, right[1], nr_min, mode, vt_min[r])


@kernel
def peak_snr_threshold(w, idx_in, ratio, width, idx_out, n_out):
    """Candidates `idx_in` kept when the minimum within `width` samples of one, divided by the
    value at it, is below `ratio` in size; NaN-padded, with their count."""
    n = w.shape[1]
    for r in range(w.shape[0]):
        idx_out[r, :] = np.nan
        k = 0
        for i in range(idx_in.shape[1]):
            t = idx_in[r, i]
            if np.isnan(t):
                continue
            a = max(int(t) - int(width[r]), 0)
            b = min(int(t) + int(width[r]), n - 1)
            i_min = a
            for j in range(a, b):
                if w[r, j] < w[r, i_min]:
                    i_min = j
            if np.absolute(w[r, i_min] / w[r, int(t)]) < ratio[r]:
                idx_out[r, k] = t
                k += 1
        n_out[r] = k


@kernel
def multi_a_filter(w, vt_in, va_out):
    """The waveform's values at the (integer) times `vt_in`; NaN for NaN or outside times."""
    n = w.shape[1]
    if vt_in.shape[1] >= n:
        raise ValueError("the time arrays must be shorter than the waveform")
    for r in range(w.shape[0]):
        va_out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        for i in range(vt_in.shape[1]):
            t = vt_in[r, i]
            if np.isnan(t) or t < 0 or t > n - 1:
                continue
            if np.floor(t) != t:
                raise ValueError("multi_a_filter needs integer times")
            va_out[r, i] = w[r, int(t)]
