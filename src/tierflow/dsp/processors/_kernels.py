"""Filter kernels built once per chain: t0 (asymmetric trapezoid), cusp, ZAC, Gaussian, slope.

These run once on constants, so they are plain numpy. Parameters arrive in the kernel's dtype
and are computed with in float64 (as the anchor does), so the kernels agree to the last bit.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "cusp_filter",
    "dplms",
    "gaussian_filter1d",
    "moving_slope",
    "step",
    "t0_filter",
    "zac_filter",
]


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


def gaussian_filter1d(sigma: np.ndarray, truncate: np.ndarray, kernel: np.ndarray) -> None:
    """Normalised Gaussian weights of `sigma` samples, ``2*int(truncate*sigma + 0.5) + 1`` long."""
    for r in range(kernel.shape[0]):
        sd = float(sigma[r])
        half = int(float(truncate[r]) * sd + 0.5)
        if not sd > 0:
            raise ValueError("gaussian_filter1d needs a positive sigma")
        if kernel.shape[1] != 2 * half + 1:
            raise ValueError(
                f"gaussian_filter1d kernel length must be {2 * half + 1}, not {kernel.shape[1]}"
            )
        x = np.arange(-half, half + 1)
        phi = np.exp(-0.5 / (sigma[r] * sigma[r]) * x**2)
        kernel[r] = phi / phi.sum()


def dplms(
    noise: np.ndarray,
    reference: np.ndarray,
    a1: np.ndarray,
    a2: np.ndarray,
    a3: np.ndarray,
    ff: np.ndarray,
    kernel: np.ndarray,
) -> None:
    """The DPLMS optimum filter (D'Andrea et al., EPJC 83, 149) from a noise matrix and a
    reference pulse, with penalties `a1` (noise), `a2` (reference), `a3` (zero area); `ff` 0 or
    1 averages the reference over 1 or 3 positions. Normalised to a unit maximum response."""
    for r in range(kernel.shape[0]):
        length = kernel.shape[1]
        if noise.shape[1] != length:
            raise ValueError("the filter length must match the noise matrix")
        if min(a1[r], a2[r], a3[r]) <= 0 or ff[r] not in (0, 1):
            raise ValueError("dplms penalties must be positive and ff 0 or 1")
        ref = np.asarray(reference[r], dtype=np.float64)
        lo = int(len(ref) / 2 - length / 2)
        hi = int(len(ref) / 2 + length / 2)
        shifts = [0] if ff[r] == 0 else [-1, 0, 1]
        ref_mat = sum(np.outer(ref[lo + i : hi + i], ref[lo + i : hi + i]) for i in shifts)
        ref_sig = sum(ref[lo + i : hi + i] for i in shifts)
        matrix = (
            a1[r] * noise[r] + a2[r] * ref_mat / len(shifts) + a3[r] * np.ones((length, length))
        )
        filt = np.flip(np.linalg.solve(matrix, ref_sig))
        kernel[r] = filt / np.amax(np.convolve(ref, filt, mode="valid"))
