"""HPGe energy calibration: peak search, peak fits, calibration curve, resolution curve."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import ConfigError
from tierflow.math import MODELS, FitResult, poly
from tierflow.pargen._peakfit import PeakFitOptions, fit_peak
from tierflow.pargen._resolution import ResolutionCurve, fit_resolution
from tierflow.pargen._scale import fit_calibration, fit_energy_scale
from tierflow.pargen._search import PeakSearch, guess_scale, scale_roots, search_peaks
from tierflow.registry import Registry

__all__ = [
    "LINE_SETS",
    "EnergyCalibration",
    "EnergyCalibrationResult",
    "PeakFit",
    "PeakSpec",
    "calibrate_energy",
]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class PeakSpec:
    """A gamma line to fit: energy, window (keV below, above) and model name."""

    energy_kev: float
    window_kev: tuple[float, float]
    model: str = "hpge_peak"

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(
                f"line {self.energy_kev} keV: no peak model named {self.model!r}", obj=self.model
            )
        if min(self.window_kev) <= 0:
            raise ConfigError(
                f"line {self.energy_kev} keV: window {self.window_kev} must be positive"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PeakSpec:
        """From ``{"energy_kev": .., "window_kev": [l, r], "model": ..}``."""
        return cls(
            float(data["energy_kev"]), tuple(data["window_kev"]), data.get("model", "hpge_peak")
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return {
            "energy_kev": self.energy_kev,
            "window_kev": list(self.window_kev),
            "model": self.model,
        }


LINE_SETS: Registry[tuple[PeakSpec, ...]] = Registry("calibration line set")
LINE_SETS.add(
    "th228",
    (
        PeakSpec(583.191, (20, 20)),
        PeakSpec(727.330, (30, 30)),
        PeakSpec(860.564, (30, 25)),
        PeakSpec(1592.511, (40, 20), "gauss_on_step"),
        PeakSpec(1620.50, (20, 40), "gauss_on_step"),
        PeakSpec(2103.511, (40, 40), "gauss_on_step"),
        PeakSpec(2614.511, (40, 40)),
    ),
)


@dataclass(frozen=True)
class PeakFit:
    """One fitted line: the fit, the peak position (mode) and width in uncalibrated units."""

    energy_kev: float
    fit: FitResult
    position: float
    position_err: float
    fwhm: float
    fwhm_err: float
    fit_range: tuple[float, float]
    bin_width: float
    valid: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return {
            "energy_kev": self.energy_kev,
            "model": self.fit.model,
            "valid": self.valid,
            "reason": self.reason,
            "position": self.position,
            "position_err": self.position_err,
            "fwhm": self.fwhm,
            "fwhm_err": self.fwhm_err,
            "fit_range": list(self.fit_range),
            "bin_width": self.bin_width,
            "fit": self.fit.to_dict(),
        }


def _checks(fit: FitResult, n_events: int, allowed_p_val: float) -> str:
    """Why a peak fit is not usable for the calibration ('' when it is)."""
    free = [i for i, f in enumerate(fit.fixed) if not f]
    values, errors = fit.value_array[free], np.asarray(fit.errors)[free]
    cov = fit.cov[np.ix_(free, free)]
    total = fit["n_sig"] + fit["n_bkg"]
    ratio = fit.chi2 / fit.ndof if fit.ndof else math.inf
    reasons = [
        (not fit.valid, fit.reason or "fit not valid"),
        (fit["n_sig"] < 100, "fewer than 100 signal events"),
        (not np.isfinite(cov.sum()) or cov.sum() == 0, "no covariance"),
        (
            bool(np.any(np.abs(errors / values) < 1e-7)) or bool(np.isnan(errors).any()),
            "parameter error too small or NaN",
        ),
        (abs(total - n_events) / n_events > 0.1, "fitted events differ from the data by > 10%"),
        (
            (fit.p_value < allowed_p_val and ratio > 10) or math.isnan(fit.p_value),
            "p-value too low",
        ),
    ]
    return next((text for bad, text in reasons if bad), "")


class EnergyCalibration:
    """An energy calibration in steps; each step updates the calibration polynomial `pars`.

    Parameters
    ----------
    field
        Name of the uncalibrated energy (used in the hit-tier expression).
    lines_kev
        Lines to look for.
    scale
        First guess of keV per uncalibrated unit (see :func:`guess_scale`).
    deg
        Degree of the calibration polynomial; 0 is a scale through the origin.

    Example
    -------
    >>> cal = EnergyCalibration("cuspEmax", [2614.511], 0.1547)
    >>> cal.hit_pars()
    {'expression': 'a + b * cuspEmax', 'parameters': {'a': 0.0, 'b': 0.1547}}
    """

    def __init__(self, field: str, lines_kev: Iterable[float], scale: float, deg: int = 0) -> None:
        if deg < 0:
            raise ConfigError(f"calibration degree must be >= 0, got {deg}")
        if not scale > 0:
            raise ConfigError(f"first-guess scale must be positive, got {scale}")
        self.field, self.deg = field, deg
        self.lines_kev = tuple(sorted(float(x) for x in lines_kev))
        self.pars = np.zeros(max(deg, 1) + 1)
        self.pars[1] = scale
        self.cov = np.zeros((len(self.pars),) * 2)
        self.peak_locations: dict[float, float] = {}
        self.search_result: PeakSearch | None = None
        self.peak_fits: list[PeakFit] = []
        self.history: list[dict[str, Any]] = []

    def search(
        self,
        energy: ArrayLike,
        *,
        n_sigma: float = 3,
        etol_kev: float = 5,
        bin_width_kev: float = 0.2,
    ) -> PeakSearch:
        """Find the lines in the spectrum and refine the scale from them."""
        found = search_peaks(
            energy,
            self.lines_kev,
            self.pars,
            n_sigma=n_sigma,
            etol_kev=etol_kev,
            bin_width_kev=bin_width_kev,
            deg=self.deg,
        )
        self.search_result = found
        self.peak_locations = dict(zip(found.found_kev, found.locations, strict=False))
        self.pars = np.asarray(found.pars, dtype=np.float64)
        self.history.append({"step": "search", **found.to_dict()})
        return found

    def _slope(self, adc: float) -> float:
        return float(poly(adc, np.polynomial.polynomial.polyder(self.pars))[0])

    def _fit_one(
        self,
        e: Array,
        spec: PeakSpec,
        bin_width_kev: float,
        allowed_p_val: float,
        options: PeakFitOptions,
    ) -> PeakFit:
        loc = self.peak_locations.get(spec.energy_kev, None)
        if loc is None:
            loc = scale_roots(self.pars, spec.energy_kev)
        slope = self._slope(loc)
        lo, hi = loc - spec.window_kev[0] / slope, loc + spec.window_kev[1] / slope
        n_bins = int(sum(spec.window_kev) / bin_width_kev)
        x = e[(e > lo) & (e < hi)]
        bin_width = (hi - lo) / n_bins
        model = MODELS[spec.model]
        fit = fit_peak(x, model, (lo, hi), bin_width, loc, options)
        used = MODELS[fit.model]
        reason = (
            _checks(fit, len(x), allowed_p_val) if np.all(np.isfinite(fit.values)) else fit.reason
        )
        if used.peak is None or (reason == fit.reason and not fit.valid):
            return PeakFit(
                spec.energy_kev,
                fit,
                math.nan,
                math.nan,
                math.nan,
                math.nan,
                (lo, hi),
                bin_width,
                False,
                reason,
            )
        pos, pos_err = used.peak.mode(fit.value_array, fit.cov)
        width, width_err = used.peak.fwhm(fit.value_array, fit.cov)
        return PeakFit(
            spec.energy_kev,
            fit,
            pos,
            pos_err,
            width,
            width_err,
            (lo, hi),
            bin_width,
            not reason,
            reason,
        )

    def fit_peaks(
        self,
        energy: ArrayLike,
        specs: Sequence[PeakSpec],
        *,
        peaks_kev: Iterable[float] | None = None,
        bin_width_kev: float = 0.5,
        allowed_p_val: float = 0.0,
        update: bool = True,
        options: PeakFitOptions = PeakFitOptions(),  # noqa: B008 - frozen
    ) -> list[PeakFit]:
        """Fit the lines (those of `peaks_kev`, default: the found ones) with their `specs`.

        With `update`, the valid fits give a new calibration polynomial.
        """
        e = np.asarray(energy, dtype=np.float64)
        wanted = set(self.peak_locations if peaks_kev is None else peaks_kev)
        fits = [
            self._fit_one(e, s, bin_width_kev, allowed_p_val, options)
            for s in specs
            if s.energy_kev in wanted
        ]
        self.peak_fits = fits
        step: dict[str, Any] = {"step": "fit_peaks", "peaks": [f.to_dict() for f in fits]}
        good = [f for f in fits if f.valid]
        if update and good:
            mus = np.array([f.position for f in good])
            var = np.array([f.position_err for f in good]) ** 2
            kev = np.array([f.energy_kev for f in good])
            scale_pars, scale_cov = fit_energy_scale(mus, var, kev, self.deg)
            self.pars, self.cov = fit_calibration(mus, var, kev, scale_pars, self.deg)
            self.peak_locations = dict(zip(kev, mus, strict=False))
            step.update(
                scale_pars=scale_pars.tolist(),
                scale_cov=scale_cov.tolist(),
                pars=self.pars.tolist(),
                cov=self.cov.tolist(),
            )
        self.history.append(step)
        return fits

    def fwhms_kev(self) -> tuple[Array, Array, Array]:
        """(line, FWHM, error) in keV of the last step's valid fits, with the current pars."""
        good = [f for f in self.peak_fits if f.valid]
        slopes = np.array([self._slope(f.position) for f in good])
        return (
            np.array([f.energy_kev for f in good]),
            np.array([f.fwhm for f in good]) * slopes,
            np.array([f.fwhm_err for f in good]) * slopes,
        )

    def fit_resolution(
        self, model: str = "linear", at: Mapping[str, float] | None = None
    ) -> ResolutionCurve:
        """Fit the resolution curve to the widths of the last fitted peaks."""
        return fit_resolution(*self.fwhms_kev(), model, at=at)

    def hit_pars(self) -> dict[str, Any]:
        """Hit-tier expression and parameters: ``a + b * field + c * field**2 ...``."""
        letters = "abcdefghijklmnopqrstuvwxyz"
        terms = ["a", f"b * {self.field}"] + [
            f"{letters[i]} * {self.field}**{i}" for i in range(2, len(self.pars))
        ]
        return {
            "expression": " + ".join(terms),
            "parameters": {letters[i]: float(v) for i, v in enumerate(self.pars)},
        }


@dataclass
class EnergyCalibrationResult:
    """Everything an energy calibration produced; :meth:`to_dict` is what gets stored."""

    field: str
    guess: float
    search: PeakSearch
    peak_fits: list[PeakFit]
    pars: list[float]
    cov: list[list[float]]
    hit: dict[str, Any]
    resolution: dict[str, ResolutionCurve] = dataclasses.field(default_factory=dict)
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    FORMAT_VERSION = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict (JSON/YAML-ready) form with a format version."""
        return {
            "format_version": self.FORMAT_VERSION,
            "field": self.field,
            "guess_kev_per_unit": self.guess,
            "search": self.search.to_dict(),
            "pars": self.pars,
            "cov": self.cov,
            "hit": self.hit,
            "peaks": [f.to_dict() for f in self.peak_fits],
            "resolution": {k: v.to_dict() for k, v in self.resolution.items()},
        }


def calibrate_energy(
    energy: ArrayLike,
    field: str,
    specs: Sequence[PeakSpec] | str = "th228",
    *,
    deg: int = 0,
    reference_line_kev: float = 2614.511,
    qbb_kev: float = 2039.0,
    options: PeakFitOptions = PeakFitOptions(),  # noqa: B008 - frozen
) -> EnergyCalibrationResult:
    """The standard HPGe recipe: guess, search, fit, resolution (LEGEND dataflow's ``ecal``).

    For ``deg=0`` the scale comes from the `reference_line_kev` peak alone and every found line
    is then fitted with that scale; for higher degrees every found line enters the curve.

    Example
    -------
    >>> # result = calibrate_energy(cuspEmax, "cuspEmax"); result.hit["parameters"]["b"]
    """
    lines = LINE_SETS[specs] if isinstance(specs, str) else tuple(specs)
    e = np.asarray(energy, dtype=np.float64)
    e = e[np.isfinite(e) & (e > 0)]
    guess = guess_scale(e, reference_line_kev)
    cal = EnergyCalibration(field, [s.energy_kev for s in lines], guess, deg)
    found = cal.search(e)
    if deg == 0 and reference_line_kev in found.found_kev:
        cal.fit_peaks(e, lines, peaks_kev=[reference_line_kev], options=options)
        cal.fit_peaks(e, lines, peaks_kev=found.found_kev, update=False, options=options)
    else:
        cal.fit_peaks(e, lines, options=options)
    curves = {m: cal.fit_resolution(m, at={"Qbb": qbb_kev}) for m in ("linear", "quadratic")}
    return EnergyCalibrationResult(
        field,
        guess,
        found,
        cal.peak_fits,
        cal.pars.tolist(),
        cal.cov.tolist(),
        cal.hit_pars(),
        curves,
        cal.history,
    )
