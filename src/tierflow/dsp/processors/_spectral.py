"""Fourier transforms of waveforms: real FFT, its inverse, and the power spectral density.

Whole blocks at once with numpy's FFT (vectorised over rows); rows holding a NaN give NaN.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fft", "ifft", "psd"]


def _check(n_wf: int, n_spec: int, what: str) -> None:
    if n_wf // 2 + 1 != n_spec:
        raise ValueError(f"the {what} of {n_wf} samples must have {n_wf // 2 + 1} entries")


def fft(w: np.ndarray, dft: np.ndarray) -> None:
    """``numpy.fft.rfft`` of each row (``len(dft) == len(w)//2 + 1``)."""
    _check(w.shape[-1], dft.shape[-1], "fft")
    bad = np.isnan(w).any(axis=-1)
    dft[...] = np.fft.rfft(np.where(bad[:, None], 0, w), axis=-1)
    dft[bad] = np.nan


def ifft(dft: np.ndarray, w: np.ndarray) -> None:
    """``numpy.fft.irfft`` of each row (``len(w) == 2*(len(dft) - 1)``)."""
    if 2 * (dft.shape[-1] - 1) != w.shape[-1]:
        raise ValueError(f"the waveform must have {2 * (dft.shape[-1] - 1)} samples")
    bad = np.isnan(dft).any(axis=-1)
    w[...] = np.fft.irfft(np.where(bad[:, None], 0, dft), w.shape[-1], axis=-1)
    w[bad] = np.nan


def psd(w: np.ndarray, out: np.ndarray) -> None:
    """Power spectral density ``|rfft(w)|**2 / len(w)`` of each row."""
    _check(w.shape[-1], out.shape[-1], "psd")
    bad = np.isnan(w).any(axis=-1)
    spectrum = np.fft.rfft(np.where(bad[:, None], 0, w), axis=-1)
    out[...] = (spectrum.real**2 + spectrum.imag**2) / w.shape[-1]
    out[bad] = np.nan
