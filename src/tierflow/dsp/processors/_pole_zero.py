# mypy: allow-untyped-calls, allow-untyped-defs
"""Pole-zero cancellation: single and double exponential decays deconvolved into steps."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import good_rows, group_end, has_nan, kernel

__all__ = ["double_pole_zero", "pole_zero"]


@kernel
def _pz_row(w, r, const, out):
    acc = np.float64(w[r, 0])
    out[r, 0] = w[r, 0]
    for i in range(1, w.shape[1]):
        acc = acc + w[r, i] - w[r, i - 1] * const
        out[r, i] = acc


@kernel
def _pz_four(w, rows, const, out):
    """Four rows at once, their running sums in registers (four independent chains)."""
    r0, r1, r2, r3 = rows[0], rows[1], rows[2], rows[3]
    a0, a1 = np.float64(w[r0, 0]), np.float64(w[r1, 0])
    a2, a3 = np.float64(w[r2, 0]), np.float64(w[r3, 0])
    out[r0, 0], out[r1, 0], out[r2, 0], out[r3, 0] = w[r0, 0], w[r1, 0], w[r2, 0], w[r3, 0]
    for i in range(1, w.shape[1]):
        a0 = a0 + w[r0, i] - w[r0, i - 1] * const
        a1 = a1 + w[r1, i] - w[r1, i - 1] * const
        a2 = a2 + w[r2, i] - w[r2, i - 1] * const
        a3 = a3 + w[r3, i] - w[r3, i - 1] * const
        out[r0, i], out[r1, i], out[r2, i], out[r3, i] = a0, a1, a2, a3


@kernel
def pole_zero(w, tau, out):
    """``out[i] = out[i-1] + w[i] - w[i-1]*exp(-1/tau)``, accumulated in float64.

    Rows sharing `tau` run together (see ``_jit.group_end``), each with its own operations.
    """
    rows = good_rows(w, out)
    start = np.int64(0)  # not a literal: group_end compiles once
    while start < rows.shape[0]:
        end = group_end(rows, start, tau, tau, tau)
        t = tau[rows[start]]
        group = rows[start:end]
        if np.isnan(t):
            for r in group:
                out[r, :] = np.nan
        else:
            const = np.exp(-1 / t)
            if group.shape[0] == 4:
                _pz_four(w, group, const, out)
            else:
                for r in group:
                    _pz_row(w, r, const, out)
            for r in group:
                if has_nan(out[r]):
                    raise ValueError("pole_zero produced NaNs")
        start = end


@kernel
def double_pole_zero(w, tau1, tau2, frac, out):
    """Deconvolve ``f*exp(-t/tau2) + (1-f)*exp(-t/tau1)`` into a step (an IIR filter)."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]) or np.isnan(tau1[r]) or np.isnan(tau2[r]) or np.isnan(frac[r]):
            continue
        if w.shape[1] <= 3:
            raise ValueError("double_pole_zero needs waveforms longer than 3 samples")
        a = np.exp(-1 / tau1[r])
        b = np.exp(-1 / tau2[r])
        f = frac[r]
        den1 = f * b - f * a - b - 1
        den2 = -1 * (f * b - f * a - b)
        num1 = -1 * (a + b)
        num2 = a * b
        y0 = np.float64(w[r, 0])
        y1 = np.float64(w[r, 1])
        out[r, 0] = w[r, 0]
        out[r, 1] = w[r, 1]
        for i in range(2, w.shape[1]):
            y2 = w[r, i] + num1 * w[r, i - 1] + num2 * w[r, i - 2] - den1 * y1 - den2 * y0
            out[r, i] = y2
            y0 = y1
            y1 = y2
