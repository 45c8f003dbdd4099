"""Energy-resolution curves FWHM(E) fitted to peak widths, and their values at chosen energies."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.math import FitResult, fit_curve
from tierflow.math._fit import Limits
from tierflow.registry import Registry

__all__ = ["RESOLUTION_MODELS", "ResolutionCurve", "ResolutionModel", "fit_resolution"]

Array = NDArray[np.float64]

# lines whose width is not the detector's: Doppler-broadened annihilation and escape peaks
BROADENED_KEV = (511.0, 1592.53, 2103.5)


@dataclass(frozen=True)
class ResolutionModel:
    """A resolution curve: its formula, expression for the hit tier, start values and limits."""

    name: str
    names: tuple[str, ...]
    func: Callable[..., Any]
    expression: str  # with ``{x}`` for the energy
    guess: Callable[[Array], list[float]]
    limits: Callable[[Array], dict[str, Limits]]

    def __call__(self, x: ArrayLike, *pars: float) -> Any:
        return self.func(np.asarray(x, dtype=np.float64), *pars)


def _linear(x: Array, a: float, b: float) -> Array:
    return np.sqrt(a + b * x)


def _quadratic(x: Array, a: float, b: float, c: float) -> Array:
    return np.sqrt(a + b * x + c * x**2)


RESOLUTION_MODELS: Registry[ResolutionModel] = Registry("resolution model")
RESOLUTION_MODELS.add(
    "linear",
    ResolutionModel(
        "FWHMLinear",
        ("a", "b"),
        _linear,
        "(a+b*{x})**(0.5)",
        lambda y: [float(np.nanmin(y)), 1e-3],
        lambda y: {"a": (0.0, None), "b": (0.0, None)},
    ),
)
RESOLUTION_MODELS.add(
    "quadratic",
    ResolutionModel(
        "FWHMQuadratic",
        ("a", "b", "c"),
        _quadratic,
        "(a+b*{x}+c*{x}**2)**(0.5)",
        lambda y: [float(np.nanmin(y)), 2e-3, 1e-8],
        lambda y: {"a": (0.0, float(np.nanmin(y)) ** 2), "b": (1e-3, None), "c": (0.0, None)},
    ),
)


@dataclass(frozen=True)
class ResolutionCurve:
    """A fitted resolution curve and its value at named energies (e.g. ``Qbb``)."""

    model: str
    expression: str
    fit: FitResult
    peaks_kev: tuple[float, ...]
    at: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # name: (E, fwhm, err)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return {
            "model": self.model,
            "expression": self.expression,
            "parameters": self.fit.as_dict(),
            "uncertainties": dict(zip(self.fit.names, self.fit.errors, strict=False)),
            "fit": self.fit.to_dict(),
            "peaks_kev": list(self.peaks_kev),
            "at": {
                k: {"energy_kev": e, "fwhm_kev": f, "fwhm_err_kev": d}
                for k, (e, f, d) in self.at.items()
            },
        }


def _interpolate(
    model: ResolutionModel, fit: FitResult, peaks: Array, energy: float
) -> tuple[float, float]:
    if energy > np.nanmax(peaks) or energy < np.nanmin(peaks):
        return math.nan, math.nan
    value = float(model.func(energy, *fit.values))
    if not np.all(np.isfinite(fit.cov)):
        return value, math.nan
    draws = np.random.default_rng(1).multivariate_normal(fit.value_array, fit.cov, size=1000)
    with np.errstate(invalid="ignore"):
        values = model.func(energy, *draws.T)
    return value, float(np.nanstd(values))


def fit_resolution(
    peaks_kev: ArrayLike,
    fwhms_kev: ArrayLike,
    errors_kev: ArrayLike,
    model: str = "linear",
    *,
    at: Mapping[str, float] | None = None,
    exclude_kev: Sequence[float] = BROADENED_KEV,
) -> ResolutionCurve:
    """Fit FWHM(E) to peak widths, leaving out broadened lines and failed widths.

    The value at each energy of `at` gets an error from 1000 parameter sets drawn from the
    fit covariance (seeded); energies outside the fitted peaks give NaN.

    Example
    -------
    >>> c = fit_resolution([500, 1000, 2000], [1.41, 1.73, 2.24], [0.05] * 3, at={"Qbb": 1500.0})
    >>> round(c.at["Qbb"][1], 1)
    2.0
    """
    m = RESOLUTION_MODELS[model]
    p, f, d = (np.asarray(a, dtype=np.float64) for a in (peaks_kev, fwhms_kev, errors_kev))
    keep = np.isfinite(f) & np.isfinite(d)
    for line in exclude_kev:
        keep &= np.abs(p - line) >= 1
    p, f, d = p[keep], f[keep], d[keep]
    if len(p) == 0:
        fit = FitResult.failed(m.name, m.names, [math.nan] * len(m.names), "no usable peak widths")
    else:
        fit = fit_curve(
            m.func,
            p,
            f,
            d,
            m.guess(f),
            names=m.names,
            limits=m.limits(f),
            steps=("simplex", "migrad"),
            model=m.name,
        )
    values = {k: (float(e), *_interpolate(m, fit, p, float(e))) for k, e in (at or {}).items()}
    return ResolutionCurve(m.name, m.expression.format(x="x"), fit, tuple(p), values)
