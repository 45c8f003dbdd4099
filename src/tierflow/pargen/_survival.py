"""Survival fractions of a cut: fits of the passing and failing spectra of a gamma line.

A line is first fitted with the staged peak fit (:func:`~tierflow.pargen.fit_peak`), its
position pinned near the known energy and its width started from the resolution curve. The
survival fraction is then the signal efficiency of a joint extended fit of the events that pass
and those that fail, with the peak shape held fixed: only the signal and background
efficiencies float. With the shape fixed, each event's signal and background densities are
computed once, so every cut value costs a two-parameter fit over precomputed arrays.

In a Compton continuum (no line) the survival fraction is a simple count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.math import MODELS, AreaSum, FitResult, gaussian_guess, get_hist
from tierflow.math._fit import Limits
from tierflow.pargen._peakfit import GuessFunc, PeakFitOptions, fit_peak
from tierflow.pargen._peakguess import peak_guess, peak_limits

__all__ = [
    "CutMode",
    "SurvivalFraction",
    "compton_survival",
    "fit_line_for_survival",
    "line_bin_width",
    "survival_fraction",
    "survival_sweep",
]

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
FWHM_TO_SIGMA = 2.355


class CutMode(Enum):
    """Which side of the cut value events must be on to pass."""

    GREATER = "greater"
    LESS = "less"


@dataclass(frozen=True)
class SurvivalFraction:
    """A survival fraction in percent with its error, at a cut value."""

    cut: float
    sf: float
    sf_err: float

    def to_dict(self) -> dict[str, float]:
        """Plain-dict form."""
        return {"cut": self.cut, "sf": self.sf, "sf_err": self.sf_err}


def line_bin_width(energies: Array, fit_range: tuple[float, float]) -> float:
    """Bin width for a line fit: twice the peak's sigma (from a Freedman-Diaconis histogram)
    times ``n**(-1/3)`` (the anchor's rule when no width is given)."""
    n = len(energies)
    iqr = float(np.nanpercentile(energies, 75) - np.nanpercentile(energies, 25))
    dx = 2 * iqr * n ** (-1 / 3)
    sigma = math.nan
    for width in (dx, dx / 2):
        hist, edges, _ = get_hist(energies, dx=width, range=fit_range)
        if len(hist) and np.any(hist > 0):
            sigma = float(gaussian_guess(hist, edges)[1])
            break
    if not sigma > 0:
        sigma = float(np.nanstd(energies))
    return float(2 * sigma * n ** (-1 / 3))


def _pinned_guess(peak_kev: float, fwhm_kev: float) -> GuessFunc:
    """Starting values with the position at the known line and the width from the resolution."""

    def guess(
        energies: Array,
        model: AreaSum,
        fit_range: tuple[float, float],
        bin_width: float,
        mode_guess: float | None,
    ) -> list[float]:
        width = line_bin_width(energies, fit_range)
        values = peak_guess(energies, model, fit_range, width, None)
        values[model.index("mu")] = peak_kev
        values[model.index("sigma")] = fwhm_kev / FWHM_TO_SIGMA
        return values

    return guess


def _pinned_limits(model: AreaSum, guess: list[float]) -> dict[str, Limits]:
    """The usual peak limits, the position within 1 keV, the counts below twice the total."""
    limits = peak_limits(model, guess)
    g = dict(zip(model.names, guess, strict=False))
    total = 2 * (g["n_sig"] + g["n_bkg"])
    limits.update(mu=(g["mu"] - 1, g["mu"] + 1), n_sig=(0.0, total), n_bkg=(0.0, total))
    return limits


def fit_line_for_survival(
    energies: ArrayLike,
    peak_kev: float,
    fwhm_kev: float,
    fit_range: tuple[float, float],
    model: str = "hpge_peak",
) -> FitResult:
    """Staged fit of the line at `peak_kev` (calibrated energies) used by the survival fractions.

    Example
    -------
    >>> # fit = fit_line_for_survival(energy, 1592.5, 2.5, (1552.5, 1617.5))
    """
    e = np.ascontiguousarray(energies, dtype=np.float64)
    width = line_bin_width(e, fit_range)
    return fit_peak(
        e,
        MODELS[model],
        fit_range,
        width,
        None,
        PeakFitOptions(anchor_ndof=True),
        guess_func=_pinned_guess(peak_kev, fwhm_kev),
        limits_func=_pinned_limits,
    )


class _PassFailCost:
    """-2 log L of the passing and failing spectra for signal/background efficiencies."""

    errordef = 1.0

    def __init__(self, fit: FitResult, passing: Array, failing: Array) -> None:
        model = MODELS[fit.model]
        values = fit.value_array
        self.n_sig, self.n_bkg = fit["n_sig"], fit["n_bkg"]
        self.sig = [self._unit(model, values, "n_sig", x) for x in (passing, failing)]
        self.bkg = [self._unit(model, values, "n_bkg", x) for x in (passing, failing)]
        self.i_sig = self._integral(model, values, "n_sig")
        self.i_bkg = self._integral(model, values, "n_bkg")

    @staticmethod
    def _only(model: AreaSum, values: Array, area: str) -> Array:
        unit: Array = np.array(values, dtype=np.float64)
        unit[model.index("n_sig")] = unit[model.index("n_bkg")] = 0.0
        unit[model.index(area)] = 1.0
        return unit

    def _unit(self, model: AreaSum, values: Array, area: str, x: Array) -> Array:
        return np.asarray(model.density(x, *self._only(model, values, area)), dtype=np.float64)

    def _integral(self, model: AreaSum, values: Array, area: str) -> float:
        return model.integral(self._only(model, values, area))

    def __call__(self, eps_sig: float, eps_bkg: float) -> float:
        total = 0.0
        for k, (es, eb) in enumerate(((eps_sig, eps_bkg), (1 - eps_sig, 1 - eps_bkg))):
            s, b = self.n_sig * es, self.n_bkg * eb
            density = s * self.sig[k] + b * self.bkg[k]
            total += s * self.i_sig + b * self.i_bkg
            total -= float(np.sum(np.log(density + 1e-300)))
        return 2.0 * total


def _passing(
    cut_param: Array, cut: float, high_cut: float | None, mode: CutMode, mask: BoolArray
) -> BoolArray:
    if high_cut is not None:
        return (cut_param > cut) & (cut_param < high_cut) & mask
    if mode is CutMode.GREATER:
        return (cut_param > cut) & mask
    return (cut_param < cut) & mask


def _eps_guess(fit: FitResult, passing: Array, n_events: int) -> tuple[float, float]:
    """Efficiencies from counts: the peak region minus the two side bands, over the fit's."""
    mu, sigma = fit["mu"], fit["sigma"]
    x_lo, x_hi = fit["x_lo"], fit["x_hi"]
    n_sig = np.count_nonzero((passing > mu - 2 * sigma) & (passing < mu + 2 * sigma))
    n_sig -= np.count_nonzero((passing > x_lo) & (passing < x_lo + 2 * sigma))
    n_sig -= np.count_nonzero((passing > x_hi - 2 * sigma) & (passing < x_hi))
    n_bkg = len(passing) - n_sig
    return float(n_sig / fit["n_sig"]), float(n_bkg / fit["n_bkg"])


def survival_fraction(
    energies: ArrayLike,
    cut_param: ArrayLike,
    cut: float,
    fit: FitResult,
    *,
    high_cut: float | None = None,
    mode: CutMode = CutMode.GREATER,
    data_mask: ArrayLike | None = None,
) -> SurvivalFraction:
    """Survival fraction (percent) of the line `fit` describes, for a cut at `cut`.

    Events pass when `cut_param` is above `cut` (``mode``) and below `high_cut` if given, and
    `data_mask` is true; events with a NaN `cut_param` are left out of both spectra.

    Example
    -------
    >>> # sf = survival_fraction(energy, classifier, -2.0, fit_line_for_survival(...))
    """
    from iminuit import Minuit

    e = np.asarray(energies, dtype=np.float64)
    c = np.asarray(cut_param, dtype=np.float64)
    mask: BoolArray = np.ones(len(c), bool) if data_mask is None else np.asarray(data_mask, bool)
    ok = ~np.isnan(c)
    passes = _passing(c, cut, high_cut, mode, mask)
    passing, failing = e[ok & passes], e[ok & ~passes]
    cost = _PassFailCost(fit, passing, failing)
    m = Minuit(cost, *_eps_guess(fit, passing, len(e)), name=("eps_sig", "eps_bkg"))
    m.limits["eps_sig"] = m.limits["eps_bkg"] = (0.0, 1.0)
    m.simplex().migrad()
    m.hesse()
    return SurvivalFraction(float(cut), 100 * float(m.values[0]), 100 * float(m.errors[0]))


def survival_sweep(
    energies: ArrayLike,
    cut_param: ArrayLike,
    cuts: ArrayLike,
    fit: FitResult,
    **kwargs: Any,
) -> list[SurvivalFraction]:
    """:func:`survival_fraction` at each cut value of `cuts` (same line fit for all)."""
    values = np.asarray(cuts, dtype=np.float64)
    return [survival_fraction(energies, cut_param, float(v), fit, **kwargs) for v in values]


def compton_survival(
    cut_param: ArrayLike,
    cut: float,
    *,
    high_cut: float | None = None,
    mode: CutMode = CutMode.GREATER,
    data_mask: ArrayLike | None = None,
) -> SurvivalFraction:
    """Survival fraction (percent) by counting, for a region without a line.

    Example
    -------
    >>> float(compton_survival([-3.0, -1.0, 0.5, 2.0], -2.0).sf)
    75.0
    """
    c = np.asarray(cut_param, dtype=np.float64)
    mask: BoolArray = np.ones(len(c), bool) if data_mask is None else np.asarray(data_mask, bool)
    frac = np.count_nonzero(_passing(c, cut, high_cut, mode, mask)) / len(c)
    return SurvivalFraction(float(cut), 100 * frac, 100 * math.sqrt(frac * (1 - frac) / len(c)))
