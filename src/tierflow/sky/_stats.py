"""Kernels, FFT convolution and the Cash / WStat (Li & Ma) significances."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["convolve", "make_ring_kernel", "make_tophat_kernel", "sqrt_ts_cash", "sqrt_ts_wstat"]


def make_ring_kernel(r_in: float, width: float) -> NDArray[np.float64]:
    """Ring of ones between `r_in` and `r_in + width` pixels (inclusive), peak-normalised.

    Examples
    --------
    >>> k = make_ring_kernel(1.0, 1.0)
    >>> k.shape, int(k.sum())
    ((5, 5), 12)
    """
    r_out = r_in + width
    n = int(np.ceil(2 * r_out))
    half = (n + 1 if n % 2 == 0 else n) // 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    rr = x**2 + y**2
    return np.asarray((rr >= r_in**2) & (rr <= r_out**2), dtype=np.float64)


def make_tophat_kernel(radius: float) -> NDArray[np.float64]:
    """Disc of ones of `radius` pixels (inclusive), peak-normalised."""
    n = int(np.ceil(2 * radius))
    half = (n + 1 if n % 2 == 0 else n) // 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    return np.asarray(x**2 + y**2 <= radius**2, dtype=np.float64)


def _next_fast_len(n: int) -> int:
    """Smallest 5-smooth integer (2^a 3^b 5^c) >= `n`: a fast real FFT length."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p2 = 1 << (-(-n // p35) - 1).bit_length()
            best = min(best, p2 * p35)
            p35 *= 3
        p5 *= 5
    return best


def convolve(image: NDArray[np.floating], kernel: NDArray[np.floating]) -> NDArray[np.float64]:
    """FFT convolution of an image (or each image of a cube) with a 2-D kernel, same shape.

    Same result as ``scipy.signal.fftconvolve(image, kernel, mode="same")`` (zero padding to
    fast FFT lengths), with every image of a cube transformed in one batch and without
    importing ``scipy.signal``.

    Examples
    --------
    >>> out = convolve(np.eye(3), np.ones((1, 1)))
    >>> bool(np.allclose(out, np.eye(3)))
    True
    """
    data = np.asarray(image, dtype=np.float64)
    kern = np.asarray(kernel, dtype=np.float64)
    shape = data.shape[-2:]
    full = tuple(a + b - 1 for a, b in zip(shape, kern.shape, strict=True))
    fshape = tuple(_next_fast_len(n) for n in full)
    spectrum = np.fft.rfft2(data, fshape) * np.fft.rfft2(kern, fshape)
    out = np.fft.irfft2(spectrum, fshape)
    start = [(f - s) // 2 for f, s in zip(full, shape, strict=True)]
    return np.ascontiguousarray(
        out[..., start[0] : start[0] + shape[0], start[1] : start[1] + shape[1]]
    )


def sqrt_ts_cash(n_on: NDArray[np.floating], mu_bkg: NDArray[np.floating]) -> NDArray[np.float64]:
    """Signed √TS of `n_on` counts over a known background `mu_bkg` (Cash statistic).

    Examples
    --------
    >>> round(float(sqrt_ts_cash(np.array(10.0), np.array(2.0))), 4)
    4.0235
    """
    n, mu = np.asarray(n_on, np.float64), np.asarray(mu_bkg, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n > 0, n * np.log(n / mu), 0.0)
        ts = 2 * (term - n + mu)
    return np.sign(n - mu) * np.sqrt(np.clip(ts, 0, None))


def sqrt_ts_wstat(
    n_on: NDArray[np.floating], n_off: NDArray[np.floating], alpha: NDArray[np.floating]
) -> NDArray[np.float64]:
    """Signed √TS of ON/OFF counts with exposure ratio `alpha` (Li & Ma 1983, eq. 17).

    Examples
    --------
    >>> round(float(sqrt_ts_wstat(np.array(20.0), np.array(50.0), np.array(0.2))), 4)
    2.4789
    """
    n, m, a = (np.asarray(v, np.float64) for v in (n_on, n_off, alpha))
    total = n + m
    with np.errstate(divide="ignore", invalid="ignore"):
        t_on = np.where(n > 0, n * np.log((1 + a) / a * n / total), 0.0)
        t_off = np.where(m > 0, m * np.log((1 + a) * m / total), 0.0)
        ts = 2 * (t_on + t_off)
        return np.sign(n - a * m) * np.sqrt(np.clip(ts, 0, None))  # type: ignore[no-any-return]
