"""LQ (late charge) calibration: time and drift-time corrections, classifier, cut, survival.

Steps (the anchor's ``LQCal.calibrate``):

1. **time correction**: LQ (energy-normalised late charge, e.g. ``lq80 / E``) is divided by its
   mean in the DEP window (1584.5-1597.5 keV, within 2.5 sigma of the peak); with several runs,
   by the weighted mean of all valid runs;
2. **drift-time correction**: a Gaussian is fitted to the sideband-subtracted LQ histogram of
   the DEP; a straight line of LQ against drift time, fitted to DEP events (1589.5-1595.5 keV)
   within 2 sigma of that mean and between the 10th and 95th drift-time percentiles, is
   subtracted;
3. **cut**: the Gaussian width of the corrected DEP LQ normalises the classifier; the cut keeps
   events below 3 (sigma);
4. **survival fractions** (cut ``less``) of the DEP, the Compton continuum at Qbb, the SEP and
   the Tl FEP.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import ConfigError
from tierflow.math import FitResult, gaussian, gaussian_guess, get_hist, minimize
from tierflow.pargen._survival import (
    CutMode,
    SurvivalFraction,
    compton_survival,
    fit_line_for_survival,
    survival_fraction,
    survival_sweep,
)

__all__ = [
    "LQCalibrationResult",
    "LQDriftCorrection",
    "LQOptions",
    "LQTimeCorrection",
    "calibrate_lq",
    "fit_lq_peak",
    "lq_drift_correction",
    "lq_fit_range",
    "lq_histogram",
    "lq_time_correction",
]

Array = NDArray[np.float64]
DEP_KEV = 1592.5
QBB_KEV = 2039.0


@dataclass(frozen=True)
class LQOptions:
    """Settings of :func:`calibrate_lq` (defaults: the anchor's, which it does not expose).

    Attributes
    ----------
    peaks_kev, fit_widths_kev
        Lines for the survival fractions and their windows (keV below, above); 2039 keV is
        the Compton continuum at Qbb, counted within two FWHM.
    cut
        The classifier cut (in units of the DEP LQ width).
    sidebands
        Sideband-subtract the DEP LQ histogram (side band 7-20 keV above the line).
    sf_samples, sf_cut_range
        The survival-fraction sweep of every line.
    """

    peaks_kev: tuple[float, ...] = (DEP_KEV, QBB_KEV, 2103.53, 2614.5)
    fit_widths_kev: tuple[tuple[float, float], ...] = ((40, 25), (0, 0), (25, 40), (50, 50))
    cut: float = 3.0
    sidebands: bool = True
    sf_samples: int = 30
    sf_cut_range: tuple[float, float] = (0.0, 5.0)

    def __post_init__(self) -> None:
        if len(self.peaks_kev) != len(self.fit_widths_kev):
            raise ConfigError(
                f"LQ: {len(self.peaks_kev)} peaks but {len(self.fit_widths_kev)} fit widths"
            )


# -- histogram and fit of the LQ peak ---------------------------------------------------------
def lq_fit_range(lq: ArrayLike) -> tuple[float, float]:
    """+-2.5 sigma around the mode of `lq` (from a 100-bin histogram of the 1st-95th
    percentiles).

    Example
    -------
    >>> import numpy as np
    >>> lo, hi = lq_fit_range(np.random.default_rng(0).normal(1, 0.1, 10000))
    >>> bool(0.7 < lo < 0.8 and 1.2 < hi < 1.3)
    True
    """
    x = np.asarray(lq, dtype=np.float64)
    counts, edges, _ = get_hist(x, bins=100, range=tuple(np.nanpercentile(x, [1, 95])))
    centres = 0.5 * (edges[1:] + edges[:-1])
    mu = float(centres[np.argmax(counts)])
    sigma = gaussian_guess(counts, edges)[1]
    return mu - 2.5 * sigma, mu + 2.5 * sigma


def _window(energy: Array, peak: float, lo: float, hi: float) -> NDArray[np.bool_]:
    return (energy > peak + lo) & (energy < peak + hi)


def lq_histogram(
    lq: ArrayLike, energy: ArrayLike, peak: float = DEP_KEV, sidebands: bool = True
) -> tuple[Array, Array, Array]:
    """LQ histogram (100 bins over :func:`lq_fit_range`) of the events 8 keV below to 5 keV
    above `peak`, minus the side band 7-20 keV above it: ``(counts, edges, variances)``."""
    x = np.asarray(lq, dtype=np.float64)
    e = np.asarray(energy, dtype=np.float64)
    in_peak = x[_window(e, peak, -8, 5)]
    fit_range = lq_fit_range(in_peak)
    counts, edges, var = get_hist(in_peak, bins=100, range=fit_range)
    if not sidebands:
        return counts, edges, var
    side, _, _ = get_hist(x[_window(e, peak, 7, 20)], bins=100, range=fit_range)
    return counts - side, edges, counts + side


class _BinnedGaussNLL:
    """Binned likelihood of a Gaussian, ``-2 sum n log p`` with p the bin probabilities on
    the whole line (not renormalised to the histogram range, as the anchor's fit)."""

    errordef = 1.0

    def __init__(self, counts: Array, edges: Array) -> None:
        self.counts, self.edges = counts, edges

    def __call__(self, mu: float, sigma: float) -> float:
        cdf = np.asarray(gaussian.cdf(self.edges, mu, sigma), dtype=np.float64)
        p = np.diff(cdf)
        return float(-2 * np.sum(self.counts * np.log(np.maximum(p, 1e-300))))


def fit_lq_peak(
    lq: ArrayLike, energy: ArrayLike, peak: float = DEP_KEV, sidebands: bool = True
) -> tuple[FitResult, Array, Array]:
    """Binned Gaussian fit of the (sideband-subtracted, negative bins set to 0) LQ histogram
    of the line at `peak`: ``(fit, counts, edges)``."""
    counts, edges, _ = lq_histogram(lq, energy, peak, sidebands)
    counts = np.clip(counts, 0, None)
    centres = 0.5 * (edges[1:] + edges[:-1])
    guess = [float(centres[np.argmax(counts)]), gaussian_guess(counts, edges)[1]]
    fit, _ = minimize(
        _BinnedGaussNLL(counts, edges),
        guess,
        model="gaussian",
        limits={"sigma": (1e-12, None)},
        steps=("simplex", "migrad"),
    )
    return fit, counts, edges


# -- time correction ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LQTimeCorrection:
    """Per run: LQ mean and width in the DEP window; the divisor every run gets."""

    runs: tuple[str, ...]
    means: tuple[float, ...]
    sigmas: tuple[float, ...]
    counts: tuple[int, ...]
    divisors: tuple[float, ...]

    def rows(self) -> list[dict[str, Any]]:
        """Per run: mean, resolution and errors (the anchor's ``timecorr_df``)."""
        out = []
        for run, mu, sigma, n in zip(self.runs, self.means, self.sigmas, self.counts, strict=True):
            mu_err, sigma_err = sigma / math.sqrt(n), 2 * sigma**4 / (n - 1)  # the anchor's
            res = sigma / mu
            res_err = res * math.sqrt(sigma_err / sigma + mu_err / mu)
            out.append({"run": run, "mean": mu, "mean_err": mu_err, "res": res, "res_err": res_err})
        return out


def _dep_moments(lq: Array, energy: Array) -> tuple[float, float, int]:
    in_peak = lq[_window(energy, DEP_KEV, -8, 5)]
    lo, hi = lq_fit_range(in_peak)
    core = in_peak[(in_peak > lo) & (in_peak < hi)]
    return float(np.mean(core)), float(np.std(core)), len(core)


def lq_time_correction(
    lq: ArrayLike, energy: ArrayLike, runs: ArrayLike | None = None
) -> tuple[Array, LQTimeCorrection]:
    """Divide LQ by its DEP mean: (corrected LQ, correction). With several runs every run is
    divided by the mean of all valid runs weighted by their inverse resolution (the anchor's
    choice; runs with a NaN mean get NaN)."""
    x = np.asarray(lq, dtype=np.float64)
    e = np.asarray(energy, dtype=np.float64)
    labels = np.zeros(len(x), dtype=np.int64) if runs is None else np.asarray(runs)
    names = np.unique(labels)
    moments = [_dep_moments(x[labels == r], e[labels == r]) for r in names]
    means = np.array([m[0] for m in moments])
    res = np.array([m[1] for m in moments]) / means
    valid = np.isfinite(means) & np.isfinite(res)
    divisors = np.where(valid, np.average(means[valid], weights=1 / res[valid]), np.nan)
    out = x / divisors[np.searchsorted(names, labels)]
    run_names = ("",) if runs is None else tuple(str(r) for r in names)
    return out, LQTimeCorrection(
        run_names,
        tuple(float(m) for m in means),
        tuple(m[1] for m in moments),
        tuple(m[2] for m in moments),
        tuple(float(d) for d in divisors),
    )


# -- drift-time correction ---------------------------------------------------------------------
@dataclass(frozen=True)
class LQDriftCorrection:
    """``LQ - slope * dt - intercept``, from DEP events; with the ranges used."""

    slope: float
    intercept: float
    lq_range: tuple[float, float]
    dt_range: tuple[float, float]
    dep_fit: FitResult

    def apply(self, lq: ArrayLike, dt: ArrayLike) -> Array:
        """The corrected LQ."""
        return np.asarray(lq, np.float64) - np.asarray(dt, np.float64) * self.slope - self.intercept


def lq_drift_correction(
    lq: ArrayLike, energy: ArrayLike, dt: ArrayLike, sidebands: bool = True
) -> tuple[Array, LQDriftCorrection]:
    """Fit and subtract the linear dependence of LQ on drift time in the DEP."""
    x = np.asarray(lq, dtype=np.float64)
    e = np.asarray(energy, dtype=np.float64)
    t = np.asarray(dt, dtype=np.float64)
    fit, _, _ = fit_lq_peak(x, e, DEP_KEV, sidebands)
    mu, sigma = fit["mu"], fit["sigma"]
    dep = (e > DEP_KEV - 3) & (e < DEP_KEV + 3) & np.isfinite(x)
    dt_range = (float(np.nanpercentile(t[dep], 10)), float(np.nanpercentile(t[dep], 95)))
    lq_range = (mu - 2 * sigma, mu + 2 * sigma)
    sel = dep & (x > lq_range[0]) & (x < lq_range[1]) & (t > dt_range[0]) & (t < dt_range[1])
    slope, intercept = np.polyfit(t[sel], x[sel], 1)
    correction = LQDriftCorrection(float(slope), float(intercept), lq_range, dt_range, fit)
    return correction.apply(x, t), correction


# -- survival fractions ------------------------------------------------------------------------
@dataclass(frozen=True)
class LQSurvival:
    """Survival fraction (percent) of the LQ cut in one line or region, with its sweep."""

    peak_kev: float
    sf: SurvivalFraction
    sweep: tuple[SurvivalFraction, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        sweep = [s.to_dict() for s in self.sweep]
        return {"peak_kev": self.peak_kev, **self.sf.to_dict(), "sweep": sweep}


def _lq_survival(
    energy: Array,
    classifier: Array,
    peak: float,
    width: tuple[float, float],
    fwhm: float,
    o: LQOptions,
) -> LQSurvival:
    cuts = np.linspace(*o.sf_cut_range, o.sf_samples)
    if peak == QBB_KEV:
        sel = (energy > peak - 2 * fwhm) & (energy < peak + 2 * fwhm)
        c = classifier[sel]
        sweep = [compton_survival(c, float(v), mode=CutMode.LESS) for v in cuts]
        return LQSurvival(peak, compton_survival(c, o.cut, mode=CutMode.LESS), tuple(sweep))
    fit_range = (peak - width[0], peak + width[1])
    sel = (energy > fit_range[0]) & (energy < fit_range[1])
    e, c = energy[sel], classifier[sel]
    fit = fit_line_for_survival(e, peak, fwhm, fit_range)
    sweep = survival_sweep(e, c, cuts, fit, mode=CutMode.LESS)
    return LQSurvival(peak, survival_fraction(e, c, o.cut, fit, mode=CutMode.LESS), tuple(sweep))


# -- the whole calibration ---------------------------------------------------------------------
@dataclass
class LQCalibrationResult:
    """Everything the LQ calibration produced; :meth:`to_dict` is what gets stored."""

    lq_field: str
    dt_field: str
    time: LQTimeCorrection
    drift: LQDriftCorrection
    cut_fit: FitResult
    cut: float
    survival: list[LQSurvival] = field(default_factory=list)

    FORMAT_VERSION = 1

    @property
    def width(self) -> float:
        """The DEP LQ width that normalises the classifier."""
        return self.cut_fit["sigma"]

    def hit_pars(self) -> dict[str, dict[str, Any]]:
        """Hit-tier expressions and parameters, in evaluation order (the anchor's names)."""
        d = self.drift
        return {
            "LQ_Timecorr": {
                "expression": f"{self.lq_field}/a",
                "parameters": {"a": self.time.divisors[0]},
            },
            "LQ_Corrected": {
                "expression": f"LQ_Timecorr - {self.dt_field}*a - b",
                "parameters": {"a": d.slope, "b": d.intercept},
            },
            "LQ_Classifier": {"expression": "(LQ_Corrected / a)", "parameters": {"a": self.width}},
            "LQ_Cut": {"expression": "(LQ_Classifier < a)", "parameters": {"a": self.cut}},
        }

    def survival_fractions(self) -> dict[float, SurvivalFraction]:
        """Line energy → survival fraction (percent) at the cut."""
        return {s.peak_kev: s.sf for s in self.survival}

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict (JSON/YAML-ready) form with a format version."""
        d = self.drift
        return {
            "format_version": self.FORMAT_VERSION,
            "hit": self.hit_pars(),
            "time_correction": self.time.rows(),
            "drift_time_correction": {
                "slope": d.slope,
                "intercept": d.intercept,
                "lq_range": list(d.lq_range),
                "dt_range": list(d.dt_range),
                "dep_fit": d.dep_fit.to_dict(),
            },
            "cut_fit": self.cut_fit.to_dict(),
            "cut": self.cut,
            "survival_fractions": [s.to_dict() for s in self.survival],
        }


def calibrate_lq(
    lq: ArrayLike,
    energy: ArrayLike,
    dt: ArrayLike,
    eres: Callable[[float], float],
    *,
    runs: ArrayLike | None = None,
    lq_field: str = "LQ_Ecorr",
    dt_field: str = "dt_eff",
    options: LQOptions = LQOptions(),
) -> LQCalibrationResult:
    """The full LQ calibration (see the module notes).

    Parameters
    ----------
    lq
        Energy-normalised late charge (e.g. ``lq80 / cuspEmax_cal``) of every event.
    energy
        Calibrated energy (keV).
    dt
        Drift time (e.g. ``dt_eff``, ns).
    eres
        FWHM (keV) at an energy: the resolution curve of the energy calibration.
    runs
        Optional run label of every event.
    lq_field, dt_field
        Names used in the hit-tier expressions.

    Example
    -------
    >>> # r = calibrate_lq(lq80 / e_cal, e_cal, dt_eff, lambda e: (0.68 + 0.00214 * e) ** 0.5)
    >>> # r.hit_pars()["LQ_Classifier"], r.survival_fractions()[1592.5].sf
    """
    x = np.asarray(lq, dtype=np.float64)
    e = np.asarray(energy, dtype=np.float64)
    t = np.asarray(dt, dtype=np.float64)
    if not x.shape == e.shape == t.shape:
        raise ConfigError(f"LQ has {x.shape} values, energy {e.shape}, drift time {t.shape}")
    timecorr, time = lq_time_correction(x, e, runs)
    corrected, drift = lq_drift_correction(timecorr, e, t, options.sidebands)
    cut_fit, _, _ = fit_lq_peak(corrected, e, DEP_KEV, options.sidebands)
    classifier = corrected / cut_fit["sigma"]
    survival = [
        _lq_survival(e, classifier, p, w, eres(p), options)
        for p, w in zip(options.peaks_kev, options.fit_widths_kev, strict=True)
    ]
    return LQCalibrationResult(lq_field, dt_field, time, drift, cut_fit, options.cut, survival)
