# mypy: allow-untyped-calls, allow-untyped-defs
"""Convolutions of waveforms with kernels: direct (numba) and by FFT (scipy.fft).

``fft_convolve_wf`` computes as the anchor (``scipy.signal.fftconvolve``): in the inputs'
precision, at ``next_fast_len(n + m - 1)``, so float32 results agree with it to the bit; the
Fourier transform of a kernel shared by all rows (a cusp or ZAC kernel built once per chain)
is computed once, and the waveforms' transforms are shared by successive calls on the same
block. ``convolve_wf`` sums directly in float64, or for long kernels by a float64 FFT of the
smallest length that gives the requested part without wrap-around.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from tierflow.dsp.processors._jit import has_nan

__all__ = ["convolve_wf", "fft_convolve_wf", "reflected_convolve_wf"]

_MODES = {ord("f"): "full", ord("v"): "valid", ord("s"): "same"}


def _mode(code: npt.NDArray[np.integer] | int) -> str:
    value = int(np.asarray(code).ravel()[0])
    if value not in _MODES:
        raise ValueError(f"convolution mode must be 'f', 'v' or 's', not {chr(value)!r}")
    return _MODES[value]


def _start(mode: str, n: int, m: int) -> int:
    """Index in the full convolution of the first output sample."""
    return {"full": 0, "valid": m - 1, "same": (m - 1) // 2}[mode]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _direct(w, kern, start, out):
    """``out[k] = full[k + start]`` of the convolution, each sum in float64.

    The waveform is copied into a zero-padded float64 row so that every output is one
    contiguous dot product (which numba vectorises).
    """
    n, m, n_out = w.shape[1], kern.shape[1], out.shape[1]
    padded = np.zeros(n + 2 * m)
    rev = np.zeros(m)
    for r in range(w.shape[0]):
        if has_nan(w[r]) or has_nan(kern[r]):
            out[r, :] = np.nan
            continue
        for j in range(m):
            rev[j] = kern[r, m - 1 - j]
        for i in range(n):
            padded[m - 1 + i] = w[r, i]
        for k in range(n_out):
            segment = padded[k + start : k + start + m]
            acc = 0.0
            for j in range(m):
                acc += segment[j] * rev[j]
            out[r, k] = acc


def _check(w: np.ndarray, kern: np.ndarray, mode: str, n_out: int) -> None:
    n, m = w.shape[-1], kern.shape[-1]
    if m > n:
        raise ValueError("the kernel is longer than the waveform")
    expected = {"full": n + m - 1, "valid": n - m + 1, "same": n}[mode]
    if n_out != expected:
        raise ValueError(f"{mode} convolution output has length {n_out}; expected {expected}")


def convolve_wf(w: np.ndarray, kern: np.ndarray, mode: np.ndarray, out: np.ndarray) -> None:
    """Convolve each waveform with a kernel: mode ``f`` full, ``v`` valid, ``s`` same.

    Sums are formed in float64: directly for short kernels, by FFT (float64, a relative
    error near 1e-16 of the largest term) where that is cheaper, as for the 133-sample t0
    filter on 8192-sample waveforms (the anchor sums in float32 either way).
    """
    name = _mode(mode)
    _check(w, kern, name, out.shape[-1])
    m = kern.shape[-1]
    if not _by_fft(w.shape[-1], m, name, out.shape[-1]):
        _direct(w, np.broadcast_to(kern, (w.shape[0], m)), _start(name, 0, m), out)
        return
    _by_spectra(w, kern, name, out, _Plan.smallest(w.shape[-1], m, name), cache=False)


def _fast_length(n: int) -> int:
    """Smallest 2**a 3**b 5**c that is at least `n`."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


@dataclass(frozen=True)
class _Plan:
    """How a convolution is transformed: the FFT length and the working precision."""

    size: int
    dtype: np.dtype[Any]

    @classmethod
    def like_anchor(cls, w: np.ndarray, kern: np.ndarray) -> _Plan:
        """scipy.signal.fftconvolve's choice: ``next_fast_len(n + m - 1)``, inputs' precision."""
        import scipy.fft

        size = scipy.fft.next_fast_len(w.shape[-1] + kern.shape[-1] - 1, real=True)
        return cls(size, np.result_type(w.dtype, kern.dtype, np.float32))

    @classmethod
    def smallest(cls, n: int, m: int, mode: str) -> _Plan:
        """float64 at the smallest fast length without wrap-around in the part kept."""
        return cls(_fast_length(n if mode == "valid" else n + m - 1), np.dtype(np.float64))


@functools.lru_cache(maxsize=32)
def _kernel_spectrum(kernel_bytes: bytes, dtype: str, plan: _Plan) -> np.ndarray:
    import scipy.fft

    kernel = np.frombuffer(kernel_bytes, dtype=dtype).astype(plan.dtype)
    return scipy.fft.rfft(kernel, plan.size)  # type: ignore[no-any-return]


class _SpectraCache(threading.local):
    """The last waveforms transformed (per thread) and their spectra.

    cusp and ZAC filters convolve the same waveforms: the second call finds the block
    unchanged (compared bit for bit with a saved copy, so a reused buffer is never mistaken)
    and reuses the forward transform.
    """

    def __init__(self) -> None:
        self.plan: _Plan | None = None
        self.saved: np.ndarray | None = None
        self.result: tuple[np.ndarray, np.ndarray] | None = None

    def lookup(self, w: np.ndarray, plan: _Plan) -> tuple[np.ndarray, np.ndarray] | None:
        saved = self.saved
        if saved is None or plan != self.plan or saved.shape != w.shape or saved.dtype != w.dtype:
            return None
        if not np.array_equal(saved.view(np.uint8), np.ascontiguousarray(w).view(np.uint8)):
            return None
        return self.result

    def store(self, w: np.ndarray, plan: _Plan, bad: np.ndarray, spectra: np.ndarray) -> None:
        self.plan, self.saved, self.result = plan, np.array(w), (bad, spectra)


_SPECTRA = _SpectraCache()


def _waveform_spectra(w: np.ndarray, plan: _Plan, cache: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rows holding a NaN, and the spectra of the rows (NaN rows as zeros)."""
    import scipy.fft

    found = _SPECTRA.lookup(w, plan) if cache else None
    if found is not None:
        return found
    bad = np.isnan(w).any(axis=-1)
    data = np.where(bad[:, None], 0, w) if bad.any() else w
    spectra = scipy.fft.rfft(data.astype(plan.dtype, copy=False), plan.size, axis=-1)
    if cache:
        _SPECTRA.store(w, plan, bad, spectra)
    return bad, spectra


def _by_fft(n: int, m: int, mode: str, n_out: int) -> bool:
    """Whether an FFT (two transforms of the fast length) beats the direct sums."""
    size = _fast_length(n if mode == "valid" else n + m - 1)
    return m > 64 and n_out * m > 2 * size * np.log2(size)


def _by_spectra(
    w: np.ndarray, kern: np.ndarray, mode: str, out: np.ndarray, plan: _Plan, cache: bool
) -> None:
    """The convolution by FFT as `plan` says; rows holding a NaN give NaN.

    A kernel shared by all rows has its spectrum computed once per chain; with `cache`, the
    waveforms' spectra are kept for the next call on the same block (ZAC after cusp).
    """
    import scipy.fft

    n, m, n_out = w.shape[-1], kern.shape[-1], out.shape[-1]
    start = _start(mode, n, m)
    if kern.ndim == 1 or kern.strides[0] == 0 or kern.shape[0] == 1:
        row = np.ascontiguousarray(kern.reshape(-1, m)[0])
        if np.isnan(row).any():
            out[...] = np.nan
            return
        spectrum = _kernel_spectrum(row.tobytes(), row.dtype.str, plan)
    else:
        spectrum = scipy.fft.rfft(kern.astype(plan.dtype), plan.size, axis=-1)
    bad, spectra = _waveform_spectra(w, plan, cache)
    full = scipy.fft.irfft(spectra * spectrum, plan.size, axis=-1)
    out[...] = full[:, start : start + n_out]
    out[bad] = np.nan


def fft_convolve_wf(w: np.ndarray, kern: np.ndarray, mode: np.ndarray, out: np.ndarray) -> None:
    """Convolve each waveform with a kernel by FFT: ``f`` full, ``v`` valid, ``s`` same.

    Computed as the anchor does (its float32 results to the bit), with the kernel's spectrum
    computed once per chain and the waveforms' shared by successive calls on the same block;
    rows holding a NaN give NaN.
    """
    name = _mode(mode)
    _check(w, kern, name, out.shape[-1])
    _by_spectra(w, kern, name, out, _Plan.like_anchor(w, kern), cache=True)


def reflected_convolve_wf(w: np.ndarray, kern: np.ndarray, out: np.ndarray) -> None:
    """Convolve with reflection padding at both ends; output as long as the input."""
    m = kern.shape[-1]
    if m > w.shape[-1]:
        raise ValueError("the kernel is longer than the waveform")
    ext = m // 2 + 1
    kernels = np.broadcast_to(kern, (w.shape[0], m))
    for r in range(w.shape[0]):
        if np.isnan(w[r]).any() or np.isnan(kernels[r]).any():
            out[r] = np.nan
            continue
        padded = np.pad(w[r], ext, mode="reflect")
        out[r] = np.convolve(padded, kernels[r], mode="same")[ext:-ext]
