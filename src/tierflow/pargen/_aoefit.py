"""Fit of an A/E distribution: single-site Gaussian on a low-side multi-site tail.

Stages (the anchor's recipe, so results agree with it):

1. a Gaussian on the peak top (half a width below to three above the tallest bin);
2. the exponentially modified Gaussian background alone, below five widths under the peak,
   its position and width held at 0.9 x the Gaussian's;
3. the full ``aoe_peak`` from 15 widths below to 5 above, with MIGRAD and with
   SIMPLEX + MIGRAD; the valid fit with the clearly lower chi-square wins, else the one with
   the smaller relative errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.math import (
    AreaSum,
    FitResult,
    aoe_peak,
    bin_centers,
    exgauss_area,
    gauss_area,
    gauss_mode_width_max,
    gaussian_guess,
    get_hist,
    minimize,
)
from tierflow.math._cost import extended_nll
from tierflow.math._fit import Limits

__all__ = ["AoEPeakGuess", "aoe_peak_guess", "fit_aoe_peak", "pearson_chi2"]

Array = NDArray[np.float64]
FIXED = ("x_lo", "x_hi")


class AoEPeakGuess:
    """Position, width and single-site count guessed from a histogram of A/E.

    The tallest bin's region is fitted with a Gaussian (5 bins); the fit is kept when it is
    inside the histogram, its height within 0.5-2 x the tallest bin and its width within
    0.5-2 x the half-maximum estimate.
    """

    def __init__(self, hist: Array, edges: Array, var: Array) -> None:
        centres = bin_centers(edges)
        mu = float(centres[np.argmax(hist)])
        _, fallback, _ = gaussian_guess(hist, edges)
        try:
            (fit_mu, fit_sigma, height), _ = gauss_mode_width_max(
                hist, edges, var, mode_guess=mu, n_bins=5
            )
        except ValueError:
            fit_mu = fit_sigma = height = math.nan
        top = float(np.nanmax(hist))
        good = (
            edges[0] <= fit_mu <= edges[-1]
            and 0.5 * top <= height <= 2 * top
            and 0.5 * fallback <= fit_sigma <= 2 * fallback
        )
        self.mu: float = float(fit_mu) if good else mu
        self.sigma: float = float(fit_sigma) if good else float(fallback)
        above = (centres > self.mu) & (centres < self.mu + 2.5 * self.sigma)
        self.n_sig = 2 * float(np.sum(hist[above]))
        self.total = float(np.sum(hist))
        self.edges = edges


def aoe_peak_guess(
    model: AreaSum, guess: AoEPeakGuess, overrides: Mapping[str, float] | None = None
) -> list[float]:
    """Starting values of `model` (``aoe_peak``, ``gauss_area`` or ``exgauss_area``)."""
    base = {
        "x_lo": float(guess.edges[0]),
        "x_hi": float(guess.edges[-1]),
        "mu": guess.mu,
        "sigma": guess.sigma,
        "n_sig": guess.n_sig,
        "n_bkg": guess.total - guess.n_sig,
        "tau": 0.1,
        "area": guess.n_sig if model is gauss_area else guess.total - guess.n_sig,
    }
    base = {k: (0.0 if math.isnan(v) else v) for k, v in base.items()}
    base.update(overrides or {})
    return [float(base[n]) for n in model.names]


def _limits(model: AreaSum, values: list[float]) -> dict[str, Limits]:
    g = dict(zip(model.names, values, strict=False))
    span = g["x_hi"] - g["x_lo"]
    if model is aoe_peak:
        return {
            "n_sig": (0.0, None),
            "n_bkg": (0.0, None),
            "mu": ((g["x_lo"] + g["x_hi"]) / 2, g["x_hi"]),
            "sigma": (span / 50, span / 4),
            "tau": (0.0, 1.0),
        }
    limits: dict[str, Limits] = {
        "area": (0.0, None),
        "mu": (g["x_lo"], g["x_hi"]),
        "sigma": (0.0, span / 4),
    }
    if "tau" in g:
        limits["tau"] = (0.0, 1.0)
    return limits


def pearson_chi2(counts: Array, edges: Array, model: AreaSum, values: ArrayLike) -> float:
    """Pearson chi-square of a histogram against the model's expected counts per bin."""
    expected = model.density(bin_centers(edges), *np.asarray(values)) * np.diff(edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum((counts - expected) ** 2 / expected))


def _fit(
    model: AreaSum, x: Array, guess: list[float], steps: tuple[str, ...], fixed: tuple[str, ...]
) -> tuple[FitResult, Any]:
    c = extended_nll(model, x)
    return minimize(
        c, guess, model=model.name, limits=_limits(model, guess), fixed=fixed, steps=steps
    )


def _rel_errors(fit: FitResult) -> float:
    v, e = fit.value_array, np.asarray(fit.errors)
    free = ~np.asarray(fit.fixed, bool) & (v > 0)
    return float(np.sum(np.abs(e[free] / v[free])))


def _usable(fit: FitResult) -> bool:
    errors = np.asarray(fit.errors)[~np.asarray(fit.fixed, bool)] if fit.fixed else np.array([])
    return bool(fit.valid and errors.size and not np.isnan(errors).any() and np.any(errors != 0))


def _choose(first: FitResult, second: FitResult) -> FitResult:
    if not _usable(second):
        return first
    if not _usable(first):
        return second
    if first.chi2 * 1.05 < second.chi2:
        return first
    if second.chi2 * 1.05 < first.chi2:
        return second
    return first if _rel_errors(first) <= _rel_errors(second) else second


def _stage_signal(aoe: Array, guess: AoEPeakGuess) -> FitResult:
    start = aoe_peak_guess(gauss_area, guess)
    lo, hi = guess.mu - 0.5 * guess.sigma, guess.mu + 3 * guess.sigma
    start[0], start[1] = lo, hi
    fit, _ = _fit(gauss_area, aoe[(aoe < hi) & (aoe > lo)], start, ("migrad",), FIXED)
    return fit


def _stage_background(aoe: Array, guess: AoEPeakGuess, sig: FitResult, n_bkg: float) -> FitResult:
    f_lo = max(sig["mu"] - 15 * sig["sigma"], float(np.nanmin(aoe)))
    f_hi = sig["mu"] - 5 * sig["sigma"]
    over = {"area": n_bkg, "mu": sig["mu"], "sigma": 0.9 * sig["sigma"], "x_lo": f_lo}
    start = aoe_peak_guess(exgauss_area, guess, {**over, "x_hi": f_hi})
    fit, _ = _fit(
        exgauss_area,
        aoe[(aoe < f_hi) & (aoe > f_lo)],
        start,
        ("simplex", "migrad"),
        (*FIXED, "mu", "sigma"),
    )
    return fit


def fit_aoe_peak(aoe: ArrayLike) -> FitResult:
    """Fit ``aoe_peak`` to A/E values (see the module notes).

    The result's ``chi2`` is the Pearson chi-square on 100 bins of the fit range.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> aoe = np.concatenate([rng.normal(1, 0.01, 4000), 1 - rng.exponential(0.05, 2000)])
    >>> r = fit_aoe_peak(aoe)
    >>> r.valid, abs(r["mu"] - 1) < 0.002
    (True, True)
    """
    a = np.asarray(aoe, dtype=np.float64)
    a = a[~np.isnan(a)]
    core = a[(a < np.nanpercentile(a, 99)) & (a > np.nanpercentile(a, 10))]
    guess = AoEPeakGuess(*get_hist(core, bins=500))
    sig = _stage_signal(a, guess)
    mu, sigma = sig["mu"], sig["sigma"]
    f_lo, f_hi = max(mu - 15 * sigma, float(np.nanmin(a))), mu + 5 * sigma
    inside = a[(a < f_hi) & (a > f_lo)]
    bkg = _stage_background(a, guess, sig, len(inside) - sig["area"])
    below = exgauss_area.cumulative(
        np.array([mu - 2 * sigma, f_hi]), f_lo, f_hi, bkg["area"], mu, sigma, bkg["tau"]
    )
    n_sig = max(sig["area"] - float(below[1] - below[0]), 0.0)
    over = {"n_sig": n_sig, "mu": mu, "sigma": sigma, "n_bkg": bkg["area"], "tau": bkg["tau"]}
    start = aoe_peak_guess(aoe_peak, guess, {**over, "x_lo": f_lo, "x_hi": f_hi})
    counts, edges, _ = get_hist(inside, bins=100, range=(f_lo, f_hi))
    fits = []
    for steps in (("migrad",), ("simplex", "migrad")):
        fit, _m = _fit(aoe_peak, inside, start, steps, FIXED)
        n_free = sum(not f for f in fit.fixed)
        chi2 = pearson_chi2(counts, edges, aoe_peak, fit.values)
        fits.append(fit.with_gof(chi2, len(counts) - n_free))
    return _choose(*fits)
