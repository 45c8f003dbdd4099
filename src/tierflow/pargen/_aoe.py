"""A/E calibration: time correction, energy dependence of mean and width, cut, survival fractions.

Steps (LEGEND dataflow's recipe, the anchor's ``CalAoE.calibrate``):

1. **time correction**: the A/E peak of the 1000-1300 keV Compton continuum of each run is
   fitted (:func:`fit_aoe_peak`); A/E is divided by its position (per run or as chosen by
   :class:`TimeMode`);
2. **energy correction**: the same fit in 20 keV Compton bands from 900 to 2350 keV (bands
   touching a line left out); the mean and width against energy are fitted with
   :data:`AOE_CURVES` (``Pol1`` and ``SigmaFit`` by default); the classifier is
   ``(A/E / mean(E) - 1) / sigma(E)``;
3. **cut**: the survival fraction of the DEP (1592.5 keV) is swept over cut values from -8 to
   0, a sigmoid is fitted and the low cut is where it crosses the wanted acceptance;
4. **survival fractions** of the DEP, the Bi FEP, the Compton continuum at Qbb, the SEP and
   the Tl FEP, for the low-side and the two-sided cut.

The result's :meth:`AoECalibrationResult.hit_pars` are hit-tier expressions and parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import ConfigError
from tierflow.math import FitResult, fit_curve
from tierflow.pargen._aoedrift import DriftMode, DriftTimeCorrection, drift_time_correction
from tierflow.pargen._aoefit import fit_aoe_peak
from tierflow.pargen._survival import (
    SurvivalFraction,
    compton_survival,
    fit_line_for_survival,
    survival_fraction,
    survival_sweep,
)
from tierflow.registry import Registry

__all__ = [
    "AOE_CURVES",
    "AoECalibrationResult",
    "AoECurve",
    "AoEOptions",
    "EnergyCorrection",
    "TimeCorrection",
    "TimeMode",
    "calibrate_aoe",
    "energy_correction",
    "find_low_cut",
    "time_correction",
]

Array = NDArray[np.float64]
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
# lines whose events would distort a Compton band (keV)
COMPTON_LINES_KEV = (1080, 1094, 1459, 1512, 1552, 1592, 1620, 1650, 1670, 1830, 2105)
QBB_KEV = 2039.0


# -- curves of mean and width against energy ------------------------------------------------
@dataclass(frozen=True)
class AoECurve:
    """A curve of the A/E mean or width against energy, with its hit-tier expression."""

    name: str
    names: tuple[str, ...]
    func: Callable[..., Any]
    template: str  # with ``{x}`` for the energy
    guess: Callable[[Array], list[float]]

    def expression(self, x: str) -> str:
        """The expression with `x` as the energy."""
        return self.template.format(x=x)

    def __call__(self, x: ArrayLike, *pars: float) -> Any:
        return self.func(np.asarray(x, dtype=np.float64), *pars)


def _pol1(x: Array, a: float, b: float) -> Array:
    return x * a + b


def _sigma_fit(x: Array, a: float, b: float, c: float) -> Array:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        inner = a + (b / (x + 1e-99)) ** c
        return np.where((x > 0) & (inner > 0), np.sqrt(np.abs(inner)), np.nan)


AOE_CURVES: Registry[AoECurve] = Registry("A/E curve")
"""Curves for the energy dependence of the A/E mean and width, by name."""
AOE_CURVES.add("Pol1", AoECurve("Pol1", ("a", "b"), _pol1, "{x}*a+b", lambda y: [-1e-06, 5e-01]))
AOE_CURVES.add(
    "SigmaFit",
    AoECurve(
        "SigmaFit",
        ("a", "b", "c"),
        _sigma_fit,
        "(a+(b/({x}+10**-99))**c)**(0.5)",
        lambda y: [float(np.nanpercentile(y, 50)) ** 2, 2.0, 2.0],
    ),
)


class TimeMode(Enum):
    """How per-run A/E positions become the time correction."""

    FULL = "full"  # each run by its own position
    NONE = "none"  # every run by the mean of the positions
    PARTIAL = "partial"  # runs grouped while their positions agree (within 0.4 sigma)
    AVERAGE_CONSECUTIVE = "average_consecutive"  # each run by the mean of it and the next
    INTERPOLATE_CONSECUTIVE = "interpolate_consecutive"  # linear in time to the next run


@dataclass(frozen=True)
class RunCentroids:
    """Per run: the A/E peak position, its width and the run's median timestamp."""

    means: Array
    sigmas: Array
    times: Array


def _per_run(c: RunCentroids) -> Array:
    return c.means


def _all_runs(c: RunCentroids) -> Array:
    return np.full_like(c.means, np.nanmean(c.means))


def _consecutive(c: RunCentroids) -> Array:
    return np.append((c.means[:-1] + c.means[1:]) / 2, c.means[-1:])


def _agrees(means: Array, sigmas: Array, i: int) -> bool:
    """Run `i + 1` agrees with run `i` within 0.4 of its width (all finite)."""
    pair = (means[i], means[i + 1], sigmas[i], sigmas[i + 1])
    return bool(np.all(np.isfinite(pair)) and abs(means[i + 1] - means[i]) < 0.4 * sigmas[i + 1])


def _partial(c: RunCentroids) -> Array:
    """Blocks of runs whose positions stay within 0.4 sigma (and 1%) of the block's weighted
    mean share it; an outlying single run gets NaN (the anchor's ``fit_time_means``)."""
    m, s = c.means, c.sigmas
    starts = [i for i in range(len(m) - 1) if _agrees(m, s, i)]
    if not starts:
        raise ConfigError("A/E partial time correction: no two consecutive runs agree")
    out = np.full(len(m), np.nan)
    block: list[int] = []
    rolling = float(m[starts[0]])
    for i in range(len(m)):
        off = abs(m[i] - rolling)
        if (off > 0.4 * s[i] and off > 0.01 * rolling) or np.isnan(m[i]) or np.isnan(s[i]):
            if i + 1 < len(m) and _agrees(m, s, i):
                out[block] = rolling
                block, rolling = [i], float(m[i])
            continue
        block.append(i)
        rolling = float(np.average(m[block], weights=1 / s[block]))
    out[block] = rolling
    return out


TIME_MODES: dict[TimeMode, Callable[[RunCentroids], Array]] = {
    TimeMode.FULL: _per_run,
    TimeMode.NONE: _all_runs,
    TimeMode.PARTIAL: _partial,
    TimeMode.AVERAGE_CONSECUTIVE: _consecutive,
    TimeMode.INTERPOLATE_CONSECUTIVE: _per_run,  # the data; the hit expressions interpolate
}


@dataclass(frozen=True)
class AoEOptions:
    """Settings of :func:`calibrate_aoe` (defaults: LEGEND dataflow's).

    Attributes
    ----------
    peaks_kev, fit_widths_kev
        Lines for the survival fractions and their windows (keV below, above); the line
        at Qbb (2039 keV) is a Compton region, counted within two FWHM.
    cut_peak_index
        Which of `peaks_kev` sets the cut (the DEP).
    dep_acceptance
        Survival fraction the low cut keeps in that line.
    high_cut
        Upper cut on the classifier.
    band_width_kev
        Width of the Compton bands of the energy correction.
    mean_curve, sigma_curve
        Names in :data:`AOE_CURVES`.
    time_mode
        See :class:`TimeMode`.
    drift_mode
        Drift-time correction (:class:`DriftMode`), or None for none (the anchor's default).
    sf_samples, sf_cut_range
        The survival-fraction sweep of every line (0 samples: no sweep).
    cut_samples, cut_range
        The DEP sweep that sets the cut.
    """

    peaks_kev: tuple[float, ...] = (1592.5, 1620.5, 2039.0, 2103.53, 2614.5)
    fit_widths_kev: tuple[tuple[float, float], ...] = (
        (40, 25),
        (25, 40),
        (0, 0),
        (25, 40),
        (50, 50),
    )
    cut_peak_index: int = 0
    dep_acceptance: float = 0.9
    high_cut: float = 3.0
    band_width_kev: float = 20.0
    mean_curve: str = "Pol1"
    sigma_curve: str = "SigmaFit"
    time_mode: TimeMode = TimeMode.FULL
    drift_mode: DriftMode | None = None
    sf_samples: int = 11
    sf_cut_range: tuple[float, float] = (-5.0, 5.0)
    cut_samples: int = 40
    cut_range: tuple[float, float] = (-8.0, 0.0)

    def __post_init__(self) -> None:
        if len(self.peaks_kev) != len(self.fit_widths_kev):
            raise ConfigError(
                f"A/E: {len(self.peaks_kev)} peaks but {len(self.fit_widths_kev)} fit widths"
            )
        if not 0 <= self.cut_peak_index < len(self.peaks_kev):
            raise ConfigError(f"A/E: cut_peak_index {self.cut_peak_index} is not a peak index")
        for name in (self.mean_curve, self.sigma_curve):
            if name not in AOE_CURVES:
                raise ConfigError(
                    f"A/E: no curve named {name!r}; known: {sorted(AOE_CURVES)}", obj=name
                )


# -- time correction ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeCorrection:
    """Per-run A/E peak fits in the 1000-1300 keV continuum and the chosen divisors.

    `times` holds each run's median timestamp (NaN when no timestamps were given).
    """

    runs: tuple[str, ...]
    fits: tuple[FitResult, ...]
    divisors: tuple[float, ...]
    mode: TimeMode = TimeMode.FULL
    times: tuple[float, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        """Per run: mean, sigma, resolution with errors (the anchor's ``timecorr_df``)."""
        out = []
        for run, fit in zip(self.runs, self.fits, strict=False):
            mu, sigma = fit["mu"], fit["sigma"]
            mu_e, sigma_e = fit.error("mu"), fit.error("sigma")
            res = sigma / mu
            res_err = res * math.sqrt(sigma_e / sigma + mu_e / mu)  # the anchor's formula
            out.append(
                {"run": run, "mean": mu, "mean_err": mu_e, "sigma": sigma, "sigma_err": sigma_e}
                | {"res": res, "res_err": res_err}
            )
        return out

    def run_hit_pars(
        self, aoe: str = "AoE_Uncorr", output: str = "AoE_Timecorr"
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Run → ``{output: {expression, parameters}}``; with ``interpolate_consecutive`` the
        divisor is linear in ``timestamp`` from a run's median time to the next run's."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        interpolate = self.mode is TimeMode.INTERPOLATE_CONSECUTIVE and len(self.runs) > 1
        for i, run in enumerate(self.runs):
            entry: dict[str, Any] = {
                "expression": f"{aoe}/a",
                "parameters": {"a": self.divisors[i]},
            }
            if interpolate and i + 1 < len(self.runs):
                t, m = self.times, self.divisors
                slope = (m[i + 1] - m[i]) / (t[i + 1] - t[i])
                entry = {
                    "expression": f"{aoe} / ((timestamp - a ) * b + c) ",
                    "parameters": {"a": t[i], "b": slope, "c": m[i]},
                }
            out[run] = {output: entry}
        return out


def _median_times(labels: NDArray[Any], names: NDArray[Any], timestamps: Array | None) -> Array:
    if timestamps is None:
        return np.full(len(names), np.nan)
    t = np.asarray(timestamps, dtype=np.float64)
    return np.array([np.nanmedian(t[labels == r]) for r in names])


def time_correction(
    aoe: Array,
    energy: Array,
    runs: Array | None = None,
    mode: TimeMode = TimeMode.FULL,
    window_kev: tuple[float, float] = (1000.0, 1300.0),
    timestamps: Array | None = None,
) -> tuple[Array, TimeCorrection]:
    """Divide A/E by its continuum peak position, per run: (corrected A/E, correction).

    With one run (or no `runs`), A/E is divided by that run's position whatever the `mode`;
    ``interpolate_consecutive`` needs the event `timestamps` (for its hit expressions).
    """
    labels = np.zeros(len(aoe), dtype=np.int64) if runs is None else np.asarray(runs)
    names = np.unique(labels)
    if mode is TimeMode.INTERPOLATE_CONSECUTIVE and timestamps is None and len(names) > 1:
        raise ConfigError("A/E time correction interpolate_consecutive needs timestamps")
    in_window = (energy > window_kev[0]) & (energy < window_kev[1])
    fits = tuple(fit_aoe_peak(aoe[in_window & (labels == r)]) for r in names)
    centroids = RunCentroids(
        np.array([f["mu"] for f in fits]),
        np.array([f["sigma"] for f in fits]),
        _median_times(labels, names, timestamps),
    )
    divisors = TIME_MODES[mode](centroids) if len(names) > 1 else centroids.means
    index = np.searchsorted(names, labels)
    out = aoe / divisors[index]
    run_names = ("",) if runs is None else tuple(str(r) for r in names)
    return out, TimeCorrection(
        run_names,
        fits,
        tuple(float(d) for d in divisors),
        mode,
        tuple(float(t) for t in centroids.times),
    )


# -- energy correction -------------------------------------------------------------------------
def compton_bands(width: float = 20.0, start: float = 900.0, stop: float = 2350.0) -> Array:
    """Lower edges of the Compton bands, without those a line (+-5 keV) falls into."""
    bands = np.arange(start, stop, width)
    keep = np.ones(len(bands), bool)
    for line in COMPTON_LINES_KEV:
        for edge in (line - 5, line + 5):
            keep &= ~((edge > bands) & (edge < bands + width))
    return bands[keep]


@dataclass(frozen=True)
class BandFit:
    """The A/E peak in one Compton band: mean, width (sigma), signal/background ratio."""

    energy_kev: float
    mean: float
    mean_err: float
    sigma: float
    sigma_err: float
    ratio: float
    ratio_err: float
    fit: FitResult

    @property
    def usable(self) -> bool:
        """Errors present and non-zero (what the curve fits take)."""
        errs = (self.mean_err, self.sigma_err)
        return all(np.isfinite(e) and e != 0 for e in errs)

    def to_dict(self) -> dict[str, float]:
        """Plain-dict form (without the fit)."""
        return {
            k: getattr(self, k)
            for k in ("energy_kev", "mean", "mean_err", "sigma", "sigma_err", "ratio", "ratio_err")
        }


def _band_fit(energy_kev: float, aoe: Array) -> BandFit:
    fit = fit_aoe_peak(aoe)
    cov = fit.cov
    i_mu, i_sigma = fit.names.index("mu"), fit.names.index("sigma")
    # the anchor converts sigma to FWHM and back with 2.355
    scale = FWHM_PER_SIGMA / 2.355
    n_sig, n_bkg = fit["n_sig"], fit["n_bkg"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = n_sig / n_bkg
        ratio_err = ratio * math.sqrt(
            (fit.error("n_sig") / n_sig) ** 2 + (fit.error("n_bkg") / n_bkg) ** 2
        )
    return BandFit(
        energy_kev,
        fit["mu"],
        math.sqrt(cov[i_mu, i_mu]),
        fit["sigma"] * scale,
        math.sqrt(cov[i_sigma, i_sigma]) * scale,
        float(ratio),
        float(ratio_err),
        fit,
    )


@dataclass(frozen=True)
class EnergyCorrection:
    """Band fits, the fitted mean and width curves, and the DEP fit."""

    bands: tuple[BandFit, ...]
    mean_curve: AoECurve
    mean_fit: FitResult
    sigma_curve: AoECurve
    sigma_fit: FitResult
    dep_fit: FitResult | None = None

    def mean(self, energy: ArrayLike) -> Array:
        """A/E mean at `energy`."""
        return self.mean_curve(energy, *self.mean_fit.values)  # type: ignore[no-any-return]

    def sigma(self, energy: ArrayLike) -> Array:
        """A/E width at `energy`."""
        return self.sigma_curve(energy, *self.sigma_fit.values)  # type: ignore[no-any-return]

    def classifier(self, aoe: ArrayLike, energy: ArrayLike) -> Array:
        """``(A/E / mean(E) - 1) / sigma(E)``."""
        e = np.asarray(energy, dtype=np.float64)
        return (np.asarray(aoe) / self.mean(e) - 1) / self.sigma(e)


def _fit_aoe_curve(curve: AoECurve, x: Array, y: Array, yerr: Array) -> FitResult:
    return fit_curve(
        curve.func,
        x,
        y,
        yerr,
        curve.guess(y),
        names=curve.names,
        steps=("simplex", "migrad"),
        loss="soft_l1",
        model=curve.name,
    )


def energy_correction(
    aoe: Array,
    energy: Array,
    eres: Callable[[float], float],
    options: AoEOptions = AoEOptions(),
) -> EnergyCorrection:
    """Fit the A/E peak in Compton bands and its mean and width against energy."""
    ok = aoe > 0
    a, e = aoe[ok], energy[ok]
    width = options.band_width_kev
    bands = []
    for lo in compton_bands(width):
        band = _band_fit(float(lo + width / 2), a[(e > lo) & (e < lo + width)])
        bands.append(band)
    good = [b for b in bands if b.usable]
    x = np.array([b.energy_kev for b in good])
    mean_curve, sigma_curve = AOE_CURVES[options.mean_curve], AOE_CURVES[options.sigma_curve]
    mean_fit = _fit_aoe_curve(
        mean_curve, x, np.array([b.mean for b in good]), np.array([b.mean_err for b in good])
    )
    sigma_fit = _fit_aoe_curve(
        sigma_curve, x, np.array([b.sigma for b in good]), np.array([b.sigma_err for b in good])
    )
    dep = 1592.0
    half = 4 * eres(dep) / 2.355
    dep_fit = fit_aoe_peak(a[(e > dep - half) & (e < dep + half)])
    return EnergyCorrection(tuple(bands), mean_curve, mean_fit, sigma_curve, sigma_fit, dep_fit)


# -- cut ---------------------------------------------------------------------------------------
def _sigmoid(x: Array, a: float, b: float, c: float, d: float) -> Array:
    from scipy.special import erfc

    return (a + b * x) * erfc(c * x + d)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class LowCut:
    """The low cut: the DEP sweep, the sigmoid fitted to it and the chosen value."""

    value: float
    sweep: tuple[SurvivalFraction, ...]
    sigmoid: FitResult


def find_low_cut(
    energy: Array,
    classifier: Array,
    peak_kev: float,
    window_kev: tuple[float, float],
    fwhm_kev: float,
    options: AoEOptions = AoEOptions(),
) -> LowCut:
    """Sweep the cut in the line at `peak_kev`, fit a sigmoid, find where it keeps the wanted
    acceptance (rounded to 0.001)."""
    fit_range = (peak_kev - window_kev[0], peak_kev + window_kev[1])
    sel = (energy > fit_range[0]) & (energy < fit_range[1])
    e, c = energy[sel], classifier[sel]
    fit = fit_line_for_survival(e, peak_kev, fwhm_kev, fit_range)
    cuts = np.linspace(*options.cut_range, options.cut_samples)
    sweep = survival_sweep(e, c, cuts, fit)
    errs = np.array([s.sf_err for s in sweep])
    limit = 1.5 * np.nanpercentile(errs, 85)
    good = [s for s in sweep if s.sf_err < limit]
    xs, ys, es = (np.array([getattr(s, k) for s in good]) for k in ("cut", "sf", "sf_err"))
    sigmoid = fit_curve(
        _sigmoid,
        xs,
        ys,
        es,
        [float(np.nanmax(ys)) / 2, 0.0, 1.0, 1.5],
        names=("a", "b", "c", "d"),
        steps=("simplex", "migrad"),
        loss="soft_l1",
        model="SigmoidFit",
    )
    grid = np.arange(np.nanmin(xs), np.nanmax(xs), 0.01)
    curve = _sigmoid(grid, *sigmoid.values)
    value = round(float(grid[np.argmin(np.abs(curve - 100 * options.dep_acceptance))]), 3)
    return LowCut(value, tuple(sweep), sigmoid)


# -- survival fractions ------------------------------------------------------------------------
@dataclass(frozen=True)
class PeakSurvival:
    """Survival fractions in one line or region, for the low-side and two-sided cuts."""

    peak_kev: float
    low_side: SurvivalFraction
    two_sided: SurvivalFraction
    sweep: tuple[SurvivalFraction, ...] = ()
    fit: FitResult | None = None


def _line_survival(
    energy: Array,
    classifier: Array,
    peak: float,
    window: tuple[float, float],
    fwhm: float,
    low: float,
    options: AoEOptions,
) -> PeakSurvival:
    fit_range = (peak - window[0], peak + window[1])
    sel = (energy > fit_range[0]) & (energy < fit_range[1])
    finite = sel & ~np.isnan(classifier)
    fit = fit_line_for_survival(energy[finite], peak, fwhm, fit_range)
    e, c = energy[finite], classifier[finite]
    sweep: list[SurvivalFraction] = []
    if options.sf_samples:
        cuts = np.linspace(*options.sf_cut_range, options.sf_samples)
        sweep = survival_sweep(e, c, cuts, fit)
    low_side = survival_fraction(e, c, low, fit)
    if np.count_nonzero(sel) != np.count_nonzero(finite):  # the two-sided fit takes every event
        fit = fit_line_for_survival(energy[sel], peak, fwhm, fit_range)
    two = survival_fraction(energy[sel], classifier[sel], low, fit, high_cut=options.high_cut)
    return PeakSurvival(peak, low_side, two, tuple(sweep), fit)


def _compton_survival(
    energy: Array, classifier: Array, fwhm: float, low: float, options: AoEOptions
) -> PeakSurvival:
    sel = (energy > QBB_KEV - 2 * fwhm) & (energy < QBB_KEV + 2 * fwhm)
    finite = sel & ~np.isnan(classifier)
    sweep: list[SurvivalFraction] = []
    if options.sf_samples:
        cuts = np.linspace(*options.sf_cut_range, options.sf_samples)
        sweep = [compton_survival(classifier[finite], float(v)) for v in cuts]
    low_side = compton_survival(classifier[finite], low)
    two = compton_survival(classifier[sel], low, high_cut=options.high_cut)
    return PeakSurvival(QBB_KEV, low_side, two, tuple(sweep))


# -- the whole calibration -----------------------------------------------------------------------
@dataclass
class AoECalibrationResult:
    """Everything the A/E calibration produced; :meth:`to_dict` is what gets stored."""

    energy_field: str
    aoe_field: str
    time: TimeCorrection
    energy: EnergyCorrection
    low_cut: LowCut
    high_cut: float
    survival: list[PeakSurvival] = field(default_factory=list)
    drift: DriftTimeCorrection | None = None
    dt_field: str = "dt_eff"

    FORMAT_VERSION = 1

    def hit_pars(self, timecorr_name: str = "AoE_Timecorr") -> dict[str, dict[str, Any]]:
        """Hit-tier expressions and parameters, in evaluation order (the anchor's names)."""
        e, aoe = self.energy_field, self.aoe_field
        mean = dict(zip(self.energy.mean_fit.names, self.energy.mean_fit.values, strict=False))
        sigma = dict(zip(self.energy.sigma_fit.names, self.energy.sigma_fit.values, strict=False))
        m_expr = self.energy.mean_curve.expression(e)
        s_expr = self.energy.sigma_curve.expression(e)
        corrected = {
            timecorr_name: self.time.run_hit_pars(aoe, timecorr_name)[self.time.runs[0]][
                timecorr_name
            ]
        }
        source = timecorr_name
        if self.drift is not None:
            source = "AoE_DTcorr"
            corrected[source] = self.drift.expression(timecorr_name, self.dt_field)
        return corrected | {
            "AoE_Corrected": {"expression": f"{source}/({m_expr})", "parameters": mean},
            "_AoE_Classifier_intermediate": {
                "expression": f"({source})-({m_expr})",
                "parameters": mean,
            },
            "AoE_Classifier": {
                "expression": f"(_AoE_Classifier_intermediate)/({s_expr})",
                "parameters": sigma,
            },
            "AoE_Low_Cut": {
                "expression": "(AoE_Classifier>a)",
                "parameters": {"a": self.low_cut.value},
            },
            "AoE_High_Side_Cut": {
                "expression": "(a>AoE_Classifier)",
                "parameters": {"a": self.high_cut},
            },
            "AoE_Double_Sided_Cut": {
                "expression": "(AoE_High_Side_Cut) & (AoE_Low_Cut)",
                "parameters": {},
            },
        }

    def survival_fractions(self, two_sided: bool = False) -> dict[float, SurvivalFraction]:
        """Line energy → survival fraction (percent) of the low-side or two-sided cut."""
        return {p.peak_kev: (p.two_sided if two_sided else p.low_side) for p in self.survival}

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict (JSON/YAML-ready) form with a format version."""
        ec = self.energy
        return {
            "format_version": self.FORMAT_VERSION,
            "hit": self.hit_pars(),
            "time_correction": self.time.rows(),
            "time_mode": self.time.mode.value,
            "run_hit": self.time.run_hit_pars(self.aoe_field) if len(self.time.runs) > 1 else {},
            "drift_time_correction": None if self.drift is None else self.drift.to_dict(),
            "energy_correction": {
                "bands": [b.to_dict() for b in ec.bands],
                "n_usable_bands": sum(b.usable for b in ec.bands),
                "mean_fit": ec.mean_fit.to_dict(),
                "sigma_fit": ec.sigma_fit.to_dict(),
                "dep_fit": None if ec.dep_fit is None else ec.dep_fit.to_dict(),
            },
            "low_cut": self.low_cut.value,
            "high_cut": self.high_cut,
            "cut_sweep": [s.to_dict() for s in self.low_cut.sweep],
            "cut_fit": self.low_cut.sigmoid.to_dict(),
            "survival_fractions": [
                {
                    "peak_kev": p.peak_kev,
                    "low_side": p.low_side.to_dict(),
                    "two_sided": p.two_sided.to_dict(),
                    "sweep": [s.to_dict() for s in p.sweep],
                }
                for p in self.survival
            ],
        }


def calibrate_aoe(
    aoe: ArrayLike,
    energy: ArrayLike,
    eres: Callable[[float], float],
    *,
    runs: ArrayLike | None = None,
    timestamps: ArrayLike | None = None,
    dt: ArrayLike | None = None,
    energy_field: str = "cuspEmax_cal",
    aoe_field: str = "AoE_Uncorr",
    dt_field: str = "dt_eff",
    options: AoEOptions = AoEOptions(),
) -> AoECalibrationResult:
    """The full A/E calibration (see the module notes).

    Parameters
    ----------
    aoe
        Uncorrected A/E (e.g. ``A_max / cuspEmax``) of every event.
    energy
        Calibrated energy (keV) of the same events.
    eres
        FWHM (keV) at an energy: the resolution curve of the energy calibration.
    runs
        Optional run label of every event, for per-run time corrections.
    timestamps
        Event times, for the ``interpolate_consecutive`` time mode.
    dt
        Drift time of every event, for the drift-time correction (``options.drift_mode``).
    energy_field, aoe_field, dt_field
        Names used in the hit-tier expressions.

    Example
    -------
    >>> # r = calibrate_aoe(A_max / cuspEmax, cuspEmax_cal, lambda e: (0.68 + 0.00214 * e) ** 0.5)
    >>> # r.low_cut.value, r.survival_fractions()[1592.5].sf
    """
    a = np.asarray(aoe, dtype=np.float64)
    e = np.asarray(energy, dtype=np.float64)
    if a.shape != e.shape:
        raise ConfigError(f"A/E has {a.shape} values but energy {e.shape}")
    run_labels = None if runs is None else np.asarray(runs)
    times = None if timestamps is None else np.asarray(timestamps, dtype=np.float64)
    corrected, time = time_correction(a, e, run_labels, options.time_mode, timestamps=times)
    drift = None
    if options.drift_mode is not None:
        if dt is None:
            raise ConfigError(f"A/E drift-time correction {options.drift_mode.value} needs dt")
        corrected, drift = drift_time_correction(corrected, dt, e, options.drift_mode)
    ec = energy_correction(corrected, e, eres, options)
    classifier = ec.classifier(corrected, e)
    i = options.cut_peak_index
    peak = options.peaks_kev[i]
    low = find_low_cut(e, classifier, peak, options.fit_widths_kev[i], eres(peak), options)
    survival = []
    for p, w in zip(options.peaks_kev, options.fit_widths_kev, strict=True):
        if p == QBB_KEV:
            survival.append(_compton_survival(e, classifier, eres(p), low.value, options))
        else:
            survival.append(_line_survival(e, classifier, p, w, eres(p), low.value, options))
    return AoECalibrationResult(
        energy_field, aoe_field, time, ec, low, options.high_cut, survival, drift, dt_field
    )


def survival_table(result: AoECalibrationResult) -> list[dict[str, float]]:
    """Rows ``peak_kev, low_side, low_side_err, two_sided, two_sided_err`` (for printing)."""
    return [
        {
            "peak_kev": p.peak_kev,
            "low_side": p.low_side.sf,
            "low_side_err": p.low_side.sf_err,
            "two_sided": p.two_sided.sf,
            "two_sided_err": p.two_sided.sf_err,
        }
        for p in result.survival
    ]
