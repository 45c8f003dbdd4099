# mypy: allow-untyped-calls, allow-untyped-defs
"""Pole-zero cancellation: single and double exponential decays deconvolved into steps."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel

__all__ = ["double_pole_zero", "pole_zero"]


@kernel
def pole_zero(w, tau, out):
    """``out[i] = out[i-1] + w[i] - w[i-1]*exp(-1/tau)``, accumulated in float64."""
    for r in range(w.shape[0]):
        if has_nan(w[r]) or np.isnan(tau[r]):
            out[r, :] = np.nan
            continue
        const = np.exp(-1 / tau[r])
        acc = np.float64(w[r, 0])
        out[r, 0] = w[r, 0]
        for i in range(1, w.shape[1]):
            acc = acc + w[r, i] - w[r, i - 1] * const
            out[r, i] = acc
        if has_nan(out[r]):
            raise ValueError("pole_zero produced NaNs")


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
