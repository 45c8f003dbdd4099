"""Fused extended negative log-likelihoods: one numba loop per peak model.

Each kernel returns ``2 * (expected events in [x_lo, x_hi] - sum(log(density(x_i))))``, what
iminuit's ``ExtendedUnbinnedNLL`` computes, without building per-term arrays in Python.
Importing this module imports numba; kernels compile on first use and are cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from tierflow.math._jit import kernel
from tierflow.math._kernels import _exgauss_one, _step_integral

__all__ = [
    "nll_aoe_peak",
    "nll_exgauss_area",
    "nll_gauss_area",
    "nll_gauss_on_step",
    "nll_hpge_peak",
]

Array = NDArray[np.float64]
SQRT2 = math.sqrt(2.0)
SQRT2PI = math.sqrt(2.0 * math.pi)
TINY = 2.2250738585072014e-308


@kernel
def _gcdf(x: float, mu: float, sigma: float) -> float:
    return 0.5 * math.erfc(-(x - mu) / (SQRT2 * sigma))


@kernel
def _gpdf(x: float, mu: float, sigma: float) -> float:
    z = (x - mu) / sigma
    return math.exp(-0.5 * z * z) / (SQRT2PI * sigma)


@kernel
def _excdf(x: float, mu: float, sigma: float, tau: float) -> float:
    return _gcdf(x, mu, sigma) + tau * _exgauss_one(x, mu, sigma, tau)


@kernel
def _sum_log(d: Array) -> float:
    # compensated (Kahan) sum: as accurate as iminuit's sorted sum, without the sort
    total = 0.0
    carry = 0.0
    for v in d:
        y = math.log(v + TINY) - carry
        t = total + y
        carry = (t - total) - y
        total = t
    return total


@kernel
def nll_gauss_area(
    x: Array, x_lo: float, x_hi: float, area: float, mu: float, sigma: float
) -> float:
    expected = area * (_gcdf(x_hi, mu, sigma) - _gcdf(x_lo, mu, sigma))
    d = np.empty_like(x)
    for i in range(x.shape[0]):
        d[i] = area * _gpdf(x[i], mu, sigma)
    return 2.0 * (expected - _sum_log(d))


@kernel
def nll_exgauss_area(
    x: Array, x_lo: float, x_hi: float, area: float, mu: float, sigma: float, tau: float
) -> float:
    expected = area * (_excdf(x_hi, mu, sigma, tau) - _excdf(x_lo, mu, sigma, tau))
    d = np.empty_like(x)
    for i in range(x.shape[0]):
        d[i] = area * _exgauss_one(x[i], mu, sigma, tau)
    return 2.0 * (expected - _sum_log(d))


@kernel
def nll_aoe_peak(
    x: Array,
    x_lo: float,
    x_hi: float,
    n_sig: float,
    mu: float,
    sigma: float,
    n_bkg: float,
    tau: float,
) -> float:
    expected = n_sig * (_gcdf(x_hi, mu, sigma) - _gcdf(x_lo, mu, sigma))
    expected += n_bkg * (_excdf(x_hi, mu, sigma, tau) - _excdf(x_lo, mu, sigma, tau))
    d = np.empty_like(x)
    for i in range(x.shape[0]):
        d[i] = n_sig * _gpdf(x[i], mu, sigma) + n_bkg * _exgauss_one(x[i], mu, sigma, tau)
    return 2.0 * (expected - _sum_log(d))


@kernel
def _step_density(
    x: float, x_lo: float, x_hi: float, mu: float, sigma: float, hstep: float, norm: float
) -> float:
    if x < x_lo or x > x_hi:
        return 0.0
    return (1.0 + hstep * math.erf((x - mu) / (SQRT2 * sigma))) / norm


@kernel
def nll_gauss_on_step(
    x: Array,
    x_lo: float,
    x_hi: float,
    n_sig: float,
    mu: float,
    sigma: float,
    n_bkg: float,
    hstep: float,
) -> float:
    norm = _step_integral(x_hi, mu, sigma, hstep) - _step_integral(x_lo, mu, sigma, hstep)
    expected = n_sig * (_gcdf(x_hi, mu, sigma) - _gcdf(x_lo, mu, sigma)) + n_bkg
    d = np.empty_like(x)
    for i in range(x.shape[0]):
        d[i] = n_sig * _gpdf(x[i], mu, sigma)
        d[i] += n_bkg * _step_density(x[i], x_lo, x_hi, mu, sigma, hstep, norm)
    return 2.0 * (expected - _sum_log(d))


@kernel
def nll_hpge_peak(
    x: Array,
    x_lo: float,
    x_hi: float,
    n_sig: float,
    mu: float,
    sigma: float,
    htail: float,
    tau: float,
    n_bkg: float,
    hstep: float,
) -> float:
    norm = _step_integral(x_hi, mu, sigma, hstep) - _step_integral(x_lo, mu, sigma, hstep)
    g = _gcdf(x_hi, mu, sigma) - _gcdf(x_lo, mu, sigma)
    t = _excdf(x_hi, mu, sigma, tau) - _excdf(x_lo, mu, sigma, tau)
    expected = n_sig * (htail * t + (1.0 - htail) * g) + n_bkg
    d = np.empty_like(x)
    for i in range(x.shape[0]):
        sig = htail * _exgauss_one(x[i], mu, sigma, tau) + (1.0 - htail) * _gpdf(x[i], mu, sigma)
        d[i] = n_sig * sig + n_bkg * _step_density(x[i], x_lo, x_hi, mu, sigma, hstep, norm)
    return 2.0 * (expected - _sum_log(d))
