"""Filter kernels built once per chain: t0 (asymmetric trapezoid), cusp, ZAC, moving slope.

These run once on constants, so they are plain numpy. Parameters arrive in the kernel's dtype
and are computed with in float64 (as the anchor does), so the kernels agree to the last bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cusp_filter", "moving_slope", "step", "t0_filter", "zac_filter"]


def t0_filter(rise: np.ndarray, fall: np.ndarray, kernel: np.ndarray) -> None:
    """A weighted-average ramp of `rise` samples, then ``-1/fall`` for `fall` samples."""
    for r in range(kernel.shape[0]):
        k, f = float(rise[r]), float(fall[r])
        if k < 0 or f < 0:
            raise ValueError("t0_filter rise and fall must not be negative")
        if kernel.shape[1] != k + f:
            raise ValueError("t0_filter kernel length must be rise + fall")
        i = np.arange(int(k))
        kernel[r, : int(k)] = 2 * (int(k) - i) / (k * (k + 1))
        kernel[r, int(k) :] = -1 / f


def _cusp_shape(length: int, sigma: float, flat: float) -> np.ndarray:
    """sinh rise, flat top, sinh fall."""
    lt = int((length - flat) / 2)
    shape = np.ones(length, dtype=np.float64)
    norm = np.sinh(lt / sigma)
    shape[:lt] = np.sinh(np.arange(lt) / sigma) / norm
    tail = np.arange(lt + int(flat) + 1, length)
    shape[lt + int(flat) + 1 :] = np.sinh((length - tail) / sigma) / norm
    return shape


def _deconvolve_decay(shape: np.ndarray, decay: float) -> np.ndarray:
    """``shape[i] - exp(-1/decay) * shape[i-1]``: what turns the kernel into a pole-zero one."""
    c = np.exp(-1 / decay)
    out = shape.copy()
    out[1:] = shape[1:] - c * shape[:-1]
    return np.asarray(out)


def _check(sigma: float, flat: float, decay: float) -> None:
    if sigma < 0 or flat < 0 or decay < 0:
        raise ValueError("sigma, flat and decay must not be negative")
    if np.floor(flat) != flat:
        raise ValueError("the flat top must be a whole number of samples")


def cusp_filter(sigma: np.ndarray, flat: np.ndarray, decay: np.ndarray, kernel: np.ndarray) -> None:
    """The cusp kernel (sinh-shaped trapezoid) for a preamplifier decay of `decay` samples."""
    for r in range(kernel.shape[0]):
        _check(sigma[r], flat[r], decay[r])
        shape = _cusp_shape(kernel.shape[1], float(sigma[r]), float(flat[r]))
        kernel[r] = _deconvolve_decay(shape.astype(kernel.dtype), float(decay[r]))


def zac_filter(sigma: np.ndarray, flat: np.ndarray, decay: np.ndarray, kernel: np.ndarray) -> None:
    """The zero-area cusp kernel: cusp plus parabolas that bring its area to zero."""
    length = kernel.shape[1]
    for r in range(kernel.shape[0]):
        _check(sigma[r], flat[r], decay[r])
        cusp = _cusp_shape(length, float(sigma[r]), float(flat[r]))
        lt = int((length - float(flat[r])) / 2)
        par = np.zeros(length)
        ind = np.arange(lt)
        par[:lt] = (ind - lt / 2) ** 2 - (lt / 2) ** 2
        tail = np.arange(lt + int(flat[r]) + 1, length)
        par[lt + int(flat[r]) + 1 :] = (length - tail - lt / 2) ** 2 - (lt / 2) ** 2
        area_par = np.cumsum(par)[-1]
        area_cusp = np.cumsum(cusp)[-1]
        zac = cusp + (-par / area_par * area_cusp)
        kernel[r] = _deconvolve_decay(zac, float(decay[r]))


def moving_slope(kernel: np.ndarray) -> None:
    """Kernel whose convolution is the least-squares slope over its length."""
    length = kernel.shape[-1]
    sum_x = length * (length + 1) / 2
    sum_x2 = length * (length + 1) * (2 * length + 1) / 6
    k = np.arange(1, length + 1) * length - sum_x
    kernel[...] = (k / (length * sum_x2 - sum_x * sum_x))[::-1]


def step(weight_pos: np.ndarray, kernel: np.ndarray) -> None:
    """A -1, +1, -1 step kernel (quarter, half, quarter of its length)."""
    n = kernel.shape[-1]
    x = np.arange(n)
    kernel[...] = np.where((x >= n / 4) & (x < 3 * n / 4), 1, -1)
