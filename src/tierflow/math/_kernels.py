"""numba kernels of the distributions: ``pdf(x, *pars)`` and ``cdf(x, *pars)`` on float64 arrays.

Kernels take the data as a 1-d float64 array and the parameters as floats, and assume the
parameters are inside their domains (the :class:`~tierflow.math.Distribution` checks that).
Importing this module imports numba; compilation happens on the first call of each kernel and
is cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from tierflow.math._jit import kernel

__all__ = [
    "crystal_ball_cdf",
    "crystal_ball_pdf",
    "exgauss_cdf",
    "exgauss_pdf",
    "exponential_cdf",
    "exponential_pdf",
    "gauss_cdf",
    "gauss_pdf",
    "hpge_slope",
    "hpge_modes",
    "hpge_shape",
    "linear_cdf",
    "linear_pdf",
    "local_extrema",
    "moyal_cdf",
    "moyal_pdf",
    "poisson_cdf",
    "poisson_pdf",
    "poly",
    "step_cdf",
    "step_pdf",
    "uniform_cdf",
    "uniform_pdf",
]

Array = NDArray[np.float64]
SQRT2 = math.sqrt(2.0)
SQRT2PI = math.sqrt(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@kernel
def _erfcx(w: float) -> float:
    """exp(w**2) * erfc(w) for w >= 0, without overflow."""
    if w < 10.0:
        return math.exp(w * w) * math.erfc(w)
    # asymptotic series, relative error below 1e-11 for w >= 10
    inv = 1.0 / (2.0 * w * w)
    term = 1.0
    total = 1.0
    for n in range(1, 8):
        term *= -(2 * n - 1) * inv
        total += term
    return total / (w * math.sqrt(math.pi))


@kernel
def gauss_pdf(x: Array, mu: float, sigma: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        z = (x[i] - mu) / sigma
        out[i] = math.exp(-0.5 * z * z) / (SQRT2PI * sigma)
    return out


@kernel
def gauss_cdf(x: Array, mu: float, sigma: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = 0.5 * math.erfc(-(x[i] - mu) / (SQRT2 * sigma))
    return out


@kernel
def _exgauss_one(x: float, mu: float, sigma: float, tau: float) -> float:
    """Gaussian convolved with an exponential tail, low side for tau > 0, high side for tau < 0."""
    if tau < 0.0:  # tail on the high side: the mirror image
        x = 2.0 * mu - x
        tau = -tau
    z = (x - mu) / sigma
    r = sigma / tau
    w = (z + r) / SQRT2
    if w > 0.0:
        return math.exp(-0.5 * z * z) * _erfcx(w) / (2.0 * tau)
    return math.exp(z * r + 0.5 * r * r) * math.erfc(w) / (2.0 * tau)


@kernel
def exgauss_pdf(x: Array, mu: float, sigma: float, tau: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = _exgauss_one(x[i], mu, sigma, tau)
    return out


@kernel
def exgauss_cdf(x: Array, mu: float, sigma: float, tau: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        gauss = 0.5 * math.erfc(-(x[i] - mu) / (SQRT2 * sigma))
        out[i] = gauss + tau * _exgauss_one(x[i], mu, sigma, tau)
    return out


@kernel
def _step_integral(x: float, mu: float, sigma: float, hstep: float) -> float:
    z = (x - mu) / sigma
    return sigma * (z + hstep * (z * math.erf(z / SQRT2) + SQRT_2_OVER_PI * math.exp(-0.5 * z * z)))


@kernel
def step_pdf(x: Array, x_lo: float, x_hi: float, mu: float, sigma: float, hstep: float) -> Array:
    lo = _step_integral(x_lo, mu, sigma, hstep)
    norm = _step_integral(x_hi, mu, sigma, hstep) - lo
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        if x[i] < x_lo or x[i] > x_hi:
            out[i] = 0.0
        else:
            out[i] = (1.0 + hstep * math.erf((x[i] - mu) / (SQRT2 * sigma))) / norm
    return out


@kernel
def step_cdf(x: Array, x_lo: float, x_hi: float, mu: float, sigma: float, hstep: float) -> Array:
    lo = _step_integral(x_lo, mu, sigma, hstep)
    norm = _step_integral(x_hi, mu, sigma, hstep) - lo
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        xi = min(max(x[i], x_lo), x_hi)
        out[i] = (_step_integral(xi, mu, sigma, hstep) - lo) / norm
    return out


@kernel
def _crystal_ball_norm(beta: float, m: float) -> float:
    tail = m / beta / (m - 1.0) * math.exp(-0.5 * beta * beta)
    core = math.sqrt(math.pi / 2.0) * (1.0 + math.erf(beta / SQRT2))
    return 1.0 / (tail + core)


@kernel
def crystal_ball_pdf(x: Array, beta: float, m: float, mu: float, sigma: float) -> Array:
    norm = _crystal_ball_norm(beta, m) / sigma
    a = (m / beta) ** m * math.exp(-0.5 * beta * beta)
    b = m / beta - beta
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        z = (x[i] - mu) / sigma
        if z > -beta:
            out[i] = norm * math.exp(-0.5 * z * z)
        else:
            out[i] = norm * a * (b - z) ** (-m)
    return out


@kernel
def crystal_ball_cdf(x: Array, beta: float, m: float, mu: float, sigma: float) -> Array:
    norm = _crystal_ball_norm(beta, m)
    a = (m / beta) ** m * math.exp(-0.5 * beta * beta)
    b = m / beta - beta
    tail = m / beta / (m - 1.0) * math.exp(-0.5 * beta * beta)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        z = (x[i] - mu) / sigma
        if z > -beta:
            core = math.sqrt(math.pi / 2.0) * (math.erf(z / SQRT2) + math.erf(beta / SQRT2))
            out[i] = norm * (tail + core)
        else:
            out[i] = norm * a * (b - z) ** (1.0 - m) / (m - 1.0)
    return out


@kernel
def exponential_pdf(x: Array, mu: float, sigma: float, lamb: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        y = (x[i] - mu) / sigma
        out[i] = 0.0 if y < 0.0 else lamb * math.exp(-lamb * y) / sigma
    return out


@kernel
def exponential_cdf(x: Array, mu: float, sigma: float, lamb: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        y = (x[i] - mu) / sigma
        out[i] = 0.0 if y < 0.0 else -math.expm1(-lamb * y)
    return out


@kernel
def linear_pdf(x: Array, x_lo: float, x_hi: float, m: float, b: float) -> Array:
    norm = 0.5 * m * (x_hi * x_hi - x_lo * x_lo) + b * (x_hi - x_lo)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        inside = x_lo <= x[i] <= x_hi
        out[i] = (m * x[i] + b) / norm if inside else 0.0
    return out


@kernel
def linear_cdf(x: Array, x_lo: float, x_hi: float, m: float, b: float) -> Array:
    norm = 0.5 * m * (x_hi * x_hi - x_lo * x_lo) + b * (x_hi - x_lo)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        xi = min(max(x[i], x_lo), x_hi)
        out[i] = (0.5 * m * (xi * xi - x_lo * x_lo) + b * (xi - x_lo)) / norm
    return out


@kernel
def uniform_pdf(x: Array, x_lo: float, x_hi: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = 1.0 / (x_hi - x_lo) if x_lo <= x[i] <= x_hi else 0.0
    return out


@kernel
def uniform_cdf(x: Array, x_lo: float, x_hi: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = (min(max(x[i], x_lo), x_hi) - x_lo) / (x_hi - x_lo)
    return out


@kernel
def moyal_pdf(x: Array, mu: float, sigma: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        z = (x[i] - mu) / sigma
        out[i] = math.exp(-0.5 * (z + math.exp(-z))) / (SQRT2PI * sigma)
    return out


@kernel
def moyal_cdf(x: Array, mu: float, sigma: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        z = (x[i] - mu) / sigma
        out[i] = math.erfc(math.exp(-0.5 * z) / SQRT2)
    return out


@kernel
def poisson_pdf(x: Array, mu: float, lamb: float) -> Array:
    """Probability of the integer count floor(x - mu)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        k = math.floor(x[i] - mu)
        if k < 0:
            out[i] = 0.0
        else:
            out[i] = math.exp(k * math.log(lamb) - lamb - math.lgamma(k + 1.0))
    return out


@kernel
def poisson_cdf(x: Array, mu: float, lamb: float) -> Array:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        k = math.floor(x[i] - mu)
        total = 0.0
        term = math.exp(-lamb)
        for j in range(int(k) + 1):
            if j > 0:
                term *= lamb / j
            total += term
        out[i] = min(total, 1.0)
    return out


@kernel
def poly(x: Array, coeffs: Array) -> Array:
    """Polynomial with coefficients lowest order first (Horner scheme)."""
    out = np.empty_like(x)
    n = coeffs.shape[0]
    for i in range(x.shape[0]):
        acc = 0.0
        for j in range(n - 1, -1, -1):
            acc = acc * x[i] + coeffs[j]
        out[i] = acc
    return out


@kernel
def local_extrema(data: Array, delta: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices of the maxima and minima that stand out by more than `delta` from their valleys."""
    maxima = np.empty(data.shape[0], dtype=np.int64)
    minima = np.empty(data.shape[0], dtype=np.int64)
    n_max = 0
    n_min = 0
    imax = 0
    imin = 0
    find_max = True
    for i in range(data.shape[0]):
        if data[i] > data[imax]:
            imax = i
        if data[i] < data[imin]:
            imin = i
        if find_max:
            if data[i] < data[imax] - delta:
                maxima[n_max] = imax
                n_max += 1
                imin = i
                find_max = False
        elif data[i] > data[imin] + delta:
            minima[n_min] = imin
            n_min += 1
            imax = i
            find_max = True
    return maxima[:n_max], minima[:n_min]


@kernel
def hpge_shape(x: float, mu: float, sigma: float, htail: float, tau: float) -> float:
    """Background-free HPGe peak shape ``(1 - htail) gauss + htail exgauss`` at one point."""
    z = (x - mu) / sigma
    gauss = math.exp(-0.5 * z * z) / (SQRT2PI * sigma)
    return (1.0 - htail) * gauss + htail * _exgauss_one(x, mu, sigma, tau)


@kernel
def hpge_slope(x: float, mu: float, sigma: float, htail: float, tau: float) -> float:
    """Derivative in x of :func:`hpge_shape` (the tail's is (exgauss - gauss) / tau)."""
    z = (x - mu) / sigma
    gauss = math.exp(-0.5 * z * z) / (SQRT2PI * sigma)
    tail = _exgauss_one(x, mu, sigma, tau)
    return -(1.0 - htail) * z / sigma * gauss + htail * (tail - gauss) / tau


@kernel
def _bisect_slope(lo: float, hi: float, mu: float, sigma: float, h: float, tau: float) -> float:
    f_lo = hpge_slope(lo, mu, sigma, h, tau)
    f_hi = hpge_slope(hi, mu, sigma, h, tau)
    if f_lo == 0.0:
        return lo
    if f_hi == 0.0:
        return hi
    if (f_lo > 0.0) == (f_hi > 0.0):
        return np.nan
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        f_mid = hpge_slope(mid, mu, sigma, h, tau)
        if (f_mid > 0.0) == (f_lo > 0.0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
        if hi - lo <= 2e-12 + 4e-16 * abs(mid):
            break
    return 0.5 * (lo + hi)


@kernel
def hpge_modes(mu: Array, sigma: Array, htail: Array, tau: Array) -> Array:
    """Mode of the HPGe peak shape for each parameter set (NaN when htail is outside [0, 1])."""
    out = np.empty_like(mu)
    for i in range(mu.shape[0]):
        h, s, t = htail[i], abs(sigma[i]), tau[i]
        if h < 0.0 or h > 1.0 or s == 0.0 or t == 0.0:
            out[i] = np.nan
            continue
        width = 2.0 * s + h * t
        mode = _bisect_slope(mu[i] - width, mu[i] + width, mu[i], s, h, t)
        if np.isnan(mode):
            width = 4.0 * s + h * t
            mode = _bisect_slope(mu[i] - width, mu[i] + width, mu[i], s, h, t)
        out[i] = mode
    return out
