# mypy: allow-untyped-calls, allow-untyped-defs
"""Values and times picked off waveforms: fixed times, threshold crossings, time over threshold."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = [
    "fixed_time_pickoff",
    "interpolated_time_point_thresh",
    "time_over_threshold",
    "time_point_thresh",
]


@kernel
def _spline_value(w, i, t0, t1):
    """Natural cubic spline through `w`, evaluated between samples i and i+1."""
    n = w.shape[0]
    u = np.zeros(n)
    w2 = np.zeros(n)
    for j in range(1, n - 1):
        p = 0.5 * w2[j - 1] + 2
        w2[j] = -0.5 / p
        u[j] = w[j + 1] - 2 * w[j] + w[j - 1]
        u[j] = (3 * u[j] - 0.5 * u[j - 1]) / p
    for j in range(n - 2, i - 1, -1):
        w2[j] = w2[j] * w2[j + 1] + u[j]
    return t1 * w[i] + t0 * w[i + 1] + ((t1**3 - t1) * w2[i] + (t0**3 - t0) * w2[i + 1]) / 6.0


@kernel
def _hermite_value(w, i, t0, t1):
    """Cubic Hermite interpolation with finite-difference slopes between samples i and i+1."""
    n = w.shape[0]
    m0 = w[1] - w[0] if i == 0 else (w[i + 1] - w[i - 1]) / 2
    m1 = w[n - 1] - w[n - 2] if i == n - 2 else (w[i + 2] - w[i]) / 2
    return (
        (-2 * t1**3 + 3 * t1**2) * w[i]
        + (-2 * t0**3 + 3 * t0**2) * w[i + 1]
        - (t1**3 - t1**2) * m0
        + (t0**3 - t0**2) * m1
    )


@kernel
def _pick_simple(w, i, t0, t1, mode):
    if mode == 110:  # 'n'
        return w[i] if t0 < 0.5 else w[i + 1]
    if mode == 102:  # 'f'
        return w[i]
    if mode == 99:  # 'c'
        return w[i + 1]
    if mode == 108:  # 'l'
        return t1 * w[i] + t0 * w[i + 1]
    raise ValueError("unknown interpolation mode")


@kernel
def _pick_any(w, i, t0, t1, mode):
    if mode == 104:  # 'h'
        return _hermite_value(w, i, t0, t1)
    if mode == 115:  # 's'
        return _spline_value(w, i, t0, t1)
    return _pick_simple(w, i, t0, t1, mode)


@kernel
def _pickoff_simple(w, t_in, mode, out):
    for r in range(w.shape[0]):
        out[r] = np.nan
        t = t_in[r]
        if has_nan(w[r]) or np.isnan(t) or t < 0 or t > w.shape[1] - 1:
            continue
        i = int(t)
        if i == t:
            out[r] = w[r, i]
        elif mode[r] == 105:  # 'i'
            raise ValueError("fixed_time_pickoff needs an integer time in mode 'i'")
        else:
            out[r] = _pick_simple(w[r], i, t - i, 1 - (t - i), mode[r])


@kernel
def _pickoff_any(w, t_in, mode, out):
    """As `_pickoff_simple`, with the Hermite and spline modes (compiled only when used)."""
    for r in range(w.shape[0]):
        out[r] = np.nan
        t = t_in[r]
        if has_nan(w[r]) or np.isnan(t) or t < 0 or t > w.shape[1] - 1:
            continue
        i = int(t)
        if i == t:
            out[r] = w[r, i]
        elif mode[r] == 105:  # 'i'
            raise ValueError("fixed_time_pickoff needs an integer time in mode 'i'")
        else:
            out[r] = _pick_any(w[r], i, t - i, 1 - (t - i), mode[r])


_SIMPLE_MODES = np.zeros(256, dtype=bool)
_SIMPLE_MODES[[ord(c) for c in "infcl"]] = True
"""Mode characters (as bytes) `_pickoff_simple` handles: a lookup table (``np.isin`` would
sort on every call, 0.1 ms for a block)."""


def fixed_time_pickoff(w, t_in, mode, out):
    """The waveform's value at time `t_in` (a sample index), interpolated by `mode`.

    Modes: ``i`` integer only, ``n`` nearest, ``f`` floor, ``c`` ceiling, ``l`` linear,
    ``h`` cubic Hermite, ``s`` natural cubic spline. Outside the waveform: NaN.
    """
    simple = _SIMPLE_MODES[np.asarray(mode).astype(np.uint8)].all()
    (_pickoff_simple if simple else _pickoff_any)(w, t_in, mode, out)


@kernel
def time_point_thresh(w, threshold, t_start, walk_forward, out):
    """First index from `t_start` where the waveform crosses `threshold`.

    Forward (``walk_forward == 1``): the last sample before the crossing; backward: the first
    sample after it. NaN when there is no crossing.
    """
    n = w.shape[1]
    for r in range(w.shape[0]):
        out[r] = np.nan
        a, t, fwd = threshold[r], t_start[r], walk_forward[r]
        if has_nan(w[r]) or np.isnan(a) or np.isnan(t) or np.isnan(fwd):
            continue
        if np.floor(t) != t or np.floor(fwd) != fwd:
            raise ValueError("time_point_thresh needs an integer start and direction")
        if int(t) < 0 or int(t) >= n:
            raise ValueError("time_point_thresh start index out of range")
        if int(fwd) == 1:
            for i in range(int(t), n - 1):
                if w[r, i] <= a < w[r, i + 1] or w[r, i] >= a > w[r, i + 1]:
                    out[r] = i
                    break
        else:
            for i in range(int(t), 0, -1):
                if w[r, i - 1] < a <= w[r, i] or w[r, i - 1] > a >= w[r, i]:
                    out[r] = i
                    break


@kernel
def _crossing(w, a, t, forward):
    if forward > 0:
        for i in range(int(t), w.shape[0] - 1):
            if w[i] <= a < w[i + 1] or w[i] >= a > w[i + 1]:
                return i
    else:
        for i in range(int(t), 1, -1):
            if w[i - 1] < a <= w[i] or w[i - 1] > a >= w[i]:
                return i - 1
    return -1


@kernel
def interpolated_time_point_thresh(w, threshold, t_start, walk_forward, mode, out):
    """Threshold crossing time between samples, by `mode`.

    ``i``/``b``/``c`` the sample before, ``a``/``f`` the sample after, ``r`` the nearer one,
    ``n`` half-way, ``l`` linear interpolation.
    """
    for r in range(w.shape[0]):
        out[r] = np.nan
        a, t = threshold[r], t_start[r]
        if has_nan(w[r]) or np.isnan(a) or np.isnan(t) or t < 0 or t >= w.shape[1]:
            continue
        i = _crossing(w[r], a, t, walk_forward[r])
        if i < 0:
            continue
        m = mode[r]
        if m == 105 or m == 98 or m == 99:
            out[r] = i
        elif m == 97 or m == 102:
            out[r] = i + 1
        elif m == 114:
            nearer = abs(a - w[r, i]) < abs(a - w[r, i + 1])
            out[r] = i if nearer else i + 1
        elif m == 110:
            out[r] = i + 0.5
        elif m == 108:
            out[r] = i + (a - w[r, i]) / (w[r, i + 1] - w[r, i])
        else:
            raise ValueError("unknown interpolation mode")


@kernel
def time_over_threshold(w, threshold, out):
    """Number of samples above `threshold`."""
    for r in range(w.shape[0]):
        out[r] = np.nan
        a = threshold[r]
        if has_nan(w[r]) or np.isnan(a):
            continue
        count = 0
        for i in range(w.shape[1]):
            if w[r, i] > a:
                count += 1
        out[r] = count
