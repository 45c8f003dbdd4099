# mypy: allow-untyped-calls, allow-untyped-defs
"""Many threshold crossings at once, bipolar zero crossings, and saturated samples."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["bi_level_zero_crossing_time_points", "multi_time_point_thresh", "saturation"]


@kernel
def _crossing_time(w, i, step, a, mode):
    """Time of the crossing of `a` between samples ``i`` and ``i + step``, by `mode`."""
    if mode == 105:  # 'i'
        return float(i)
    if mode == 97 or mode == 102:  # 'a', 'f': the sample after
        return float(i) if step < 0 else float(i + 1)
    if mode == 98 or mode == 99:  # 'b', 'c': the sample before
        return float(i) if step > 0 else float(i - 1)
    if mode == 114:  # 'r': the nearer sample
        return float(i) if a - w[i] < w[i + step] - a else float(i + step)
    if mode == 110:  # 'n': half-way
        return i + 0.5 * step
    if mode == 108:  # 'l': linear interpolation
        return i + (a - w[i]) / (w[i + step] - w[i])
    raise ValueError("unknown interpolation mode")


@kernel
def _sweep(w, thresholds, order, k, i_from, i_stop, i_step, dk, pol, mode, out):
    """Record crossings of ``thresholds[order[k]]``, ``order[k + dk]``... over samples
    ``range(i_from, i_stop, i_step)``; a crossing is ``w[i] <= a < w[i + pol]``."""
    for i in range(i_from, i_stop, i_step):
        if k < 0 or k >= order.shape[0]:
            return
        idx = order[k]
        while w[i] <= thresholds[idx] < w[i + pol]:
            out[idx] = _crossing_time(w, i, pol, thresholds[idx], mode)
            k += dk
            if k < 0 or k >= order.shape[0]:
                return
            idx = order[k]


@kernel
def multi_time_point_thresh(w, thresholds, t_start, polarity, mode, out):
    """Times at which the waveform first crosses each of `thresholds`, walking out from `t_start`.

    Thresholds above the value at `t_start` are searched forward (for ``polarity > 0``),
    those below backward; `mode` interpolates as in ``interpolated_time_point_thresh``.
    """
    n = w.shape[1]
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        t0 = t_start[r]
        if has_nan(w[r]) or has_nan(thresholds[r]) or np.isnan(t0) or t0 < 0 or t0 >= n:
            continue
        if polarity[r] == 0:
            raise ValueError("multi_time_point_thresh polarity cannot be 0")
        step = 1 if polarity[r] > 0 else -1
        order = np.argsort(thresholds[r])
        start = int(t0)
        first = order.shape[0]
        for i in range(order.shape[0]):
            if thresholds[r, order[i]] >= w[r, start]:
                first = i
                break
        n_up = n - 1 if step > 0 else -1
        n_down = n - 1 if step < 0 else -1
        _sweep(w[r], thresholds[r], order, first, start, n_up, step, 1, step, mode[r], out[r])
        _sweep(
            w[r],
            thresholds[r],
            order,
            first - 1,
            start - 1,
            n_down,
            -step,
            -1,
            step,
            mode[r],
            out[r],
        )


@kernel
def bi_level_zero_crossing_time_points(
    w, a_pos, a_neg, gate, t_start, n_crossings, polarity, times
):
    """Zero crossings between a crossing of `a_pos` and one of `a_neg` within `gate` samples.

    Records each such zero crossing (polarity 1 for a fall through zero after rising above
    `a_pos`, 0 for a rise after falling below `a_neg`); `n_crossings` counts them all, also
    those that did not fit into the outputs.
    """
    n = w.shape[1]
    if polarity.shape[1] != times.shape[1]:
        raise ValueError("the polarity and time outputs must have the same length")
    for r in range(w.shape[0]):
        times[r, :] = np.nan
        polarity[r, :] = np.nan
        n_crossings[r] = 0
        if has_nan(w[r]) or np.isnan(a_pos[r]) or np.isnan(a_neg[r]) or np.isnan(t_start[r]):
            continue
        if np.floor(t_start[r]) != t_start[r]:
            raise ValueError("the starting index must be an integer")
        if int(t_start[r]) < 0 or int(t_start[r]) >= n:
            raise ValueError("the starting index is out of range")
        _bi_level(
            w[r],
            a_pos[r],
            a_neg[r],
            int(gate[r]),
            int(t_start[r]),
            r,
            n_crossings,
            polarity[r],
            times[r],
        )


@kernel
def _bi_level(w, a_pos, a_neg, gate, start, r, count, polarity, times):
    above = 0  # sample where the rise through a_pos happened (0: none), as in the anchor
    below = 0
    crossed = False
    t_neg = t_pos = 0
    for i in range(start, w.shape[0] - 1):
        if below and w[i] <= 0 < w[i + 1]:
            crossed = True
            t_neg = i
        if w[i] <= a_pos < w[i + 1]:
            if crossed and below:
                if i - below < gate:
                    _record(count, r, polarity, times, t_neg, 0)
                else:
                    above = i
                below = 0
                crossed = False
            else:
                above = i
        if above and w[i] >= 0 > w[i + 1]:
            crossed = True
            t_pos = i
        if w[i] >= a_neg > w[i + 1]:
            if crossed and above:
                if i - above < gate:
                    _record(count, r, polarity, times, t_pos, 1)
                else:
                    below = i
                above = 0
                crossed = False
            else:
                below = i


@kernel
def _record(count, r, polarity, times, t, sign):
    k = count[r]
    if k < times.shape[0]:
        times[k] = t
        polarity[k] = sign
    count[r] = k + 1


@kernel
def saturation(w, bit_depth, n_lo, n_hi):
    """Samples at zero and at the anchor's top of the ADC range, ``2**bit_depth - bit_depth``."""
    for r in range(w.shape[0]):
        n_lo[r] = n_hi[r] = np.nan
        depth = bit_depth[r]
        if has_nan(w[r]) or np.isnan(depth):
            continue
        if np.floor(depth) != depth or depth <= 0:
            raise ValueError("the bit depth must be a positive integer")
        top = 2.0 ** int(depth) - int(depth)
        lo = hi = 0
        for i in range(w.shape[1]):
            if w[r, i] == 0:
                lo += 1
            elif w[r, i] == top:
                hi += 1
        n_lo[r] = lo
        n_hi[r] = hi
