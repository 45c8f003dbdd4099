"""Real FFTs of blocks of rows into buffers reused from block to block.

``scipy.fft.rfft``/``irfft`` allocate their zero-padded input and their output on every call:
for a block of 16 waveforms that is about 1 MB each time, which glibc serves from fresh
memory maps, so every page is faulted in and zeroed again on each block (measured: the cusp
and ZAC convolutions took 1.7 times as long as their transforms). Here the same pocketfft
transforms (``scipy.fft``'s own backend, with the same arguments, so the same bits) write into
buffers kept per thread. Without that backend (a future scipy), the public functions are used.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

__all__ = ["Workspace", "irfft_into", "rfft_into"]


@functools.cache
def _pocketfft() -> Any:
    """scipy.fft's pocketfft module (it takes an ``out`` array), or None."""
    try:
        from scipy.fft._pocketfft import pypocketfft
    except ImportError:  # pragma: no cover - depends on scipy's layout
        return None
    return pypocketfft if hasattr(pypocketfft, "r2c") and hasattr(pypocketfft, "c2r") else None


def rfft_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``scipy.fft.rfft(x, axis=-1)`` written into `out` (complex, ``n // 2 + 1`` long).

    Example
    -------
    >>> import scipy.fft
    >>> x = np.random.default_rng(0).normal(size=(3, 12)).astype("float32")
    >>> out = rfft_into(x, np.empty((3, 7), "complex64"))
    >>> bool(np.array_equal(out, scipy.fft.rfft(x, axis=-1)))
    True
    """
    pfft = _pocketfft()
    if pfft is None:  # pragma: no cover
        import scipy.fft

        out[...] = scipy.fft.rfft(x, axis=-1)
        return out
    return pfft.r2c(x, (x.ndim - 1,), True, 0, out, 1)  # type: ignore[no-any-return]


def irfft_into(spectra: np.ndarray, size: int, out: np.ndarray) -> np.ndarray:
    """``scipy.fft.irfft(spectra, size, axis=-1)`` written into `out` (real, `size` long)."""
    pfft = _pocketfft()
    if pfft is None:  # pragma: no cover
        import scipy.fft

        out[...] = scipy.fft.irfft(spectra, size, axis=-1)
        return out
    return pfft.c2r(spectra, (spectra.ndim - 1,), size, False, 2, out, 1)  # type: ignore[no-any-return]


class Workspace(threading.local):
    """Arrays reused from call to call, by purpose, shape and dtype (one set per thread).

    Example
    -------
    >>> ws = Workspace()
    >>> a = ws.get("padded", (2, 8), np.dtype("float32"))
    >>> a is ws.get("padded", (2, 8), np.dtype("float32"))
    True
    """

    LIMIT = 32
    """Arrays kept at most (all are dropped when more are asked for)."""

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, tuple[int, ...], str], np.ndarray] = {}

    def get(self, purpose: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
        """The array for `purpose` of this shape and dtype (zeros when new)."""
        key = (purpose, tuple(shape), np.dtype(dtype).str)
        array = self.arrays.get(key)
        if array is None:
            if len(self.arrays) >= self.LIMIT:
                self.arrays.clear()
            array = self.arrays[key] = np.zeros(shape, dtype)
        return array
