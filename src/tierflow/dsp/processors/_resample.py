# mypy: allow-untyped-calls, allow-untyped-defs
"""Resampling: windows cut from waveforms, presumming, upsampling."""

from __future__ import annotations

import math

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["interpolating_upsampler", "presum", "upsampler", "windower"]


@kernel
def windower(w, t0, out):
    """``out.shape[1]`` samples of the waveform from index `t0` (NaN where outside)."""
    n, m = w.shape[1], out.shape[1]
    if m >= n:
        raise ValueError("the window must be shorter than the waveform")
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]) or np.isnan(t0[r]):
            continue
        beg = min(int(t0[r]), n)
        # the samples beg..beg+m-1 that lie inside the waveform, copied by a loop (slice
        # assignment would compile numba's shape-mismatch error formatting: seconds)
        for i in range(max(0, -beg), min(m, n - beg)):
            out[r, i] = w[r, beg + i]


@kernel
def upsampler(w, factor, out):
    """Repeat every sample `factor` times, centred on it."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        up = factor[r]
        if not up > 0:
            raise ValueError("the upsampling factor must be positive")
        row, m = out[r], out.shape[1]
        for t_in in range(w.shape[1]):
            first = int(t_in * up - np.floor(up / 2))
            # the int(up) samples from `first` that fall inside the output (no test per sample)
            for t_out in range(max(first, 0), min(first + int(up), m)):
                row[t_out] = w[r, t_in]


@kernel
def _upsample_row(w, mode, out):
    n, m = w.shape[0], out.shape[0]
    up = m / n
    last = 0
    if mode == 105:  # 'i': samples then zeros
        if up != int(up):
            raise ValueError("mode 'i' needs an integer upsampling factor")
        out[:] = 0
        for i in range(n):
            out[int(up * i)] = w[i]
    elif mode == 110:  # 'n': nearest
        for i in range(n):
            nxt = math.ceil(up * (i + 0.5))
            out[last:nxt] = w[i]
            last = nxt
        out[last:] = w[n - 1]
    elif mode == 102:  # 'f': floor (previous sample)
        for i in range(n):
            nxt = math.ceil(up * (i + 1))
            out[last:nxt] = w[i]
            last = nxt
    elif mode == 99:  # 'c': ceiling (next sample)
        for i in range(n):
            nxt = math.floor(up * i) + 1
            out[last:nxt] = w[i]
            last = nxt
        out[last:] = w[n - 1]
    elif mode == 108:  # 'l': linear
        for i in range(n):
            nxt = math.ceil(up * (i + 1))
            a_next = w[i + 1] if i < n - 1 else w[n - 1]
            for j in range(last, min(nxt, m)):
                out[j] = w[i] + (j / up - i) * (a_next - w[i])
            last = nxt
    else:
        raise ValueError("unknown upsampling mode")


@kernel
def interpolating_upsampler(w, mode, out):
    """Upsample to ``out.shape[1]`` samples: ``i`` zeros, ``n`` nearest, ``f``, ``c``, ``l``."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        _upsample_row(w[r], mode[r], out[r])


@kernel
def presum(w, do_norm, ps_fact, out):
    """Sum (``do_norm == 0``) or average (1) groups of ``len(w) // len(out)`` samples."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        ps_fact[r] = np.nan
        if has_nan(w[r]):
            continue
        if do_norm[r] != 0 and do_norm[r] != 1:
            raise ValueError("presum do_norm must be 0 or 1")
        fact = w.shape[1] // out.shape[1]
        ps_fact[r] = fact
        for i in range(out.shape[1]):
            j0 = i * fact
            out[r, i] = w[r, j0] / ps_fact[r] if do_norm[r] == 1 else w[r, j0]
            for j in range(j0 + 1, j0 + fact):
                if do_norm[r] == 1:
                    out[r, i] += w[r, j] / ps_fact[r]
                else:
                    out[r, i] += w[r, j]
