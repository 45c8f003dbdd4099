"""FWHM, FWFM and mode of the peak shapes, with their errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tierflow.math as tm

NAMES = tm.hpge_peak.names


def _values(
    mu: float = 100.0, sigma: float = 2.0, htail: float = 0.3, tau: float = 3.0
) -> np.ndarray:
    return np.array([0, 200, 1000, mu, sigma, htail, tau, 100, 0.1], dtype=float)


def _grid_fwhm(values: np.ndarray) -> tuple[float, float]:
    x = np.linspace(60, 140, 400_001)
    y = tm.gauss_on_exgauss.pdf(x, *values[3:7])
    above = x[y >= y.max() / 2]
    return above[-1] - above[0], x[np.argmax(y)]


@pytest.mark.parametrize(("htail", "tau"), [(0.0, 3.0), (0.3, 3.0), (0.49, 8.0), (0.05, 0.5)])
def test_tailed_fwhm_and_mode_match_a_dense_grid(htail: float, tau: float) -> None:
    values = _values(htail=htail, tau=tau)
    fwhm, _ = tm.hpge_peak.peak.fwhm(values)
    mode, _ = tm.hpge_peak.peak.mode(values)
    grid_fwhm, grid_mode = _grid_fwhm(values)
    assert fwhm == pytest.approx(grid_fwhm, abs=5e-4)  # grid step 2e-4 per side
    assert mode == pytest.approx(grid_mode, abs=2e-4)


def test_no_tail_is_gaussian() -> None:
    values = _values(htail=0.0)
    assert tm.hpge_peak.peak.fwhm(values)[0] == pytest.approx(2 * math.sqrt(2 * math.log(2)) * 2.0)
    assert tm.hpge_peak.peak.mode(values)[0] == pytest.approx(100.0, abs=1e-9)
    assert tm.gauss_on_step.peak.fwfm(np.array([0, 1, 1, 0, 2.0, 1, 0]), frac=0.1)[
        0
    ] == pytest.approx(2 * math.sqrt(2 * math.log(10)) * 2.0)


def test_errors_propagate_the_covariance() -> None:
    values = _values()
    cov = np.diag([0, 0, 30.0**2, 0.05**2, 0.04**2, 0.02**2, 0.2**2, 10.0**2, 0.01**2])
    _fwhm, err = tm.hpge_peak.peak.fwhm(values, cov)
    # a finite-difference check of the same propagation
    grad = []
    for k in (4, 5, 6):
        step = 1e-4
        up, down = values.copy(), values.copy()
        up[k] += step
        down[k] -= step
        grad.append((tm.hpge_peak.peak.fwhm(up)[0] - tm.hpge_peak.peak.fwhm(down)[0]) / (2 * step))
    expected = math.sqrt(sum((g * s) ** 2 for g, s in zip(grad, (0.04, 0.02, 0.2), strict=False)))
    assert err == pytest.approx(expected, rel=1e-3)
    _mode, boot = tm.hpge_peak.peak.mode(values, cov)
    linear = tm.TailedPeak(NAMES, tm.ModeError.LINEAR).mode(values, cov)[1]
    assert boot == pytest.approx(linear, rel=0.05)
    gaussian = tm.gauss_on_step.peak
    assert gaussian.mode(np.array([0, 1, 1, 5.0, 2.0, 1, 0]), np.eye(7) * 4)[1] == 2.0
