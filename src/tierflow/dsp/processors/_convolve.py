# mypy: allow-untyped-calls, allow-untyped-defs
"""Convolutions of waveforms with kernels: direct (numba) and by FFT (scipy.fft).

``fft_convolve_wf`` computes as the anchor (``scipy.signal.fftconvolve``): in the inputs'
precision, at ``next_fast_len(n + m - 1)``, so float32 results agree with it to the bit; the
Fourier transform of a kernel shared by all rows (a cusp or ZAC kernel built once per chain)
is computed once, and the waveforms' transforms are shared by successive calls on the same
block. ``convolve_wf`` sums in float64: by sliding sums over the runs of equal values of
kernels made of them (``_runs``), directly for short kernels, or for other long kernels by a
float64 FFT of the smallest length that gives the requested part without wrap-around.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from tierflow.dsp.processors._fft import Workspace, irfft_into, rfft_into
from tierflow.dsp.processors._jit import has_nan
from tierflow.dsp.processors._runs import RunPlan, cached_run_plan, convolve_runs

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

    Sums are formed in float64: by sliding window sums over a kernel's runs of equal values
    (the 133-sample t0 filter is an 8-sample ramp and a 125-sample run), directly for short
    kernels, by FFT (float64, a relative error near 1e-16 of the largest term) where that is
    cheaper (the anchor sums in float32 either way).
    """
    name = _mode(mode)
    _check(w, kern, name, out.shape[-1])
    m = kern.shape[-1]
    plan = _run_plan(kern)
    if plan is not None and plan.cost(out.shape[-1]) < _fft_cost(w.shape[-1], m, name):
        convolve_runs(w, plan, _start(name, 0, m), out)
        return
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
        # bit for bit, as integers of the same width (no copy of a strided block); a new
        # block differs in its first row already, which is compared first
        as_int = np.dtype(f"i{w.dtype.itemsize}")
        old, new = saved.view(as_int), w.view(as_int)
        if not (np.array_equal(old[0], new[0]) and np.array_equal(old, new)):
            return None
        return self.result

    def store(self, w: np.ndarray, plan: _Plan, bad: np.ndarray, spectra: np.ndarray) -> None:
        saved = _WORK.get("saved", w.shape, w.dtype)
        np.copyto(saved, w)
        self.plan, self.saved, self.result = plan, saved, (bad, spectra)


_SPECTRA = _SpectraCache()
_WORK = Workspace()


def _waveform_spectra(w: np.ndarray, plan: _Plan, cache: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rows holding a NaN, and the spectra of the rows (NaN rows as zeros).

    The rows are copied (cast to the plan's precision) into a zero-padded buffer kept for
    the next block, and transformed into another (see ``_fft``); the cached spectra have
    their own buffer, which only the next cached transform overwrites.
    """
    found = _SPECTRA.lookup(w, plan) if cache else None
    if found is not None:
        return found
    rows, n = w.shape
    padded = _WORK.get(f"padded-{n}", (rows, plan.size), plan.dtype)  # zeros after n stay
    bad = np.isnan(w).any(axis=-1)
    np.copyto(padded[:, :n], w, casting="unsafe")
    if bad.any():
        padded[bad] = 0
    complex_type = np.result_type(plan.dtype, np.complex64)
    name = "spectra-cached" if cache else "spectra"
    spectra = rfft_into(padded, _WORK.get(name, (rows, plan.size // 2 + 1), complex_type))
    if cache:
        _SPECTRA.store(w, plan, bad, spectra)
    return bad, spectra


def _fft_cost(n: int, m: int, mode: str) -> float:
    """Operations per row of the FFT path (two transforms of the fast length)."""
    size = _fast_length(n if mode == "valid" else n + m - 1)
    return float(2 * size * np.log2(size))


def _by_fft(n: int, m: int, mode: str, n_out: int) -> bool:
    """Whether an FFT beats the direct sums."""
    return m > 64 and n_out * m > _fft_cost(n, m, mode)


def _run_plan(kern: np.ndarray) -> RunPlan | None:
    """The runs of a kernel shared by all rows, if it has any (else None)."""
    rows = kern.reshape(-1, kern.shape[-1])
    if rows.shape[0] > 1 and rows.strides[0] != 0 and not (rows == rows[0]).all():
        return None
    row = np.ascontiguousarray(rows[0])
    if np.isnan(row).any():
        return None
    plan = cached_run_plan(row.tobytes(), row.dtype.str)
    return plan if len(plan.starts) else None


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
    product = np.multiply(spectra, spectrum, out=_WORK.get("product", spectra.shape, spectra.dtype))
    full = irfft_into(product, plan.size, _WORK.get("full", (len(w), plan.size), plan.dtype))
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
