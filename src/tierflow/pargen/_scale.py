"""The calibration curve: from fitted peak positions and their known energies."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.math import fit_curve, poly

__all__ = ["fit_calibration", "fit_energy_scale"]

Array = NDArray[np.float64]


def _poly_model(x: Array, *pars: float) -> Array:
    return poly(x, np.asarray(pars))


def _names(n: int) -> list[str]:
    return [f"c{i}" for i in range(n)]


def fit_energy_scale(
    positions: ArrayLike, pos_vars: ArrayLike, energies_kev: ArrayLike, deg: int = 0
) -> tuple[Array, Array]:
    """Uncalibrated position as a polynomial of energy (``ADC = f(keV)``): (pars, covariance).

    ``deg=0`` is a scale through the origin (weighted least squares, closed form); higher
    degrees are a robust (soft-L1) least-squares fit started from a weighted polynomial fit.
    """
    mus, var, e = (np.asarray(a, dtype=np.float64) for a in (positions, pos_vars, energies_kev))
    if deg == 0:
        scale_var = 1.0 / np.sum(e * e / var)
        scale = np.sum(mus * e / var) * scale_var
        return np.array([0.0, scale]), np.array([[0.0, 0.0], [0.0, scale_var]])
    from numpy.polynomial import Polynomial

    start = Polynomial.fit(e, mus, deg=deg, w=1 / np.sqrt(var)).convert().coef
    r = fit_curve(
        _poly_model,
        e,
        mus,
        np.sqrt(var),
        start,
        names=_names(deg + 1),
        steps=("simplex", "migrad"),
        loss="soft_l1",
    )
    return r.value_array, r.cov


def fit_calibration(
    positions: ArrayLike,
    pos_vars: ArrayLike,
    energies_kev: ArrayLike,
    scale_pars: ArrayLike,
    deg: int = 0,
) -> tuple[Array, Array]:
    """Energy as a polynomial of the uncalibrated value (``keV = f(ADC)``): (pars, covariance).

    Errors in energy are the position errors carried through the scale `scale_pars`. With one
    peak and ``deg=0`` it is the closed-form scale; otherwise a soft-L1 least-squares fit whose
    offset is held at its weighted-polynomial value (zero for ``deg=0``), as the anchor does.
    """
    mus, var, e = (np.asarray(a, dtype=np.float64) for a in (positions, pos_vars, energies_kev))
    sp = np.asarray(scale_pars, dtype=np.float64)
    if deg == 0 and len(mus) == 1:
        e_var = var / sp[1] ** 2
        scale_var = 1.0 / np.sum(mus * mus / e_var)
        scale = np.sum(e * mus / e_var) * scale_var
        return np.array([0.0, scale]), np.array([[0.0, 0.0], [0.0, scale_var]])
    from numpy.polynomial import Polynomial

    slope = sum(sp[n + 1] * mus ** (n + 1) for n in range(len(sp) - 1))
    weights = np.sqrt(slope * var)
    ok = np.isfinite(weights)
    start = Polynomial.fit(mus[ok], e[ok], deg=max(deg, 1), w=1 / weights[ok]).convert().coef
    if deg == 0:
        start[0] = 0.0
    r = fit_curve(
        _poly_model,
        mus[ok],
        e[ok],
        weights[ok],
        start,
        names=_names(len(start)),
        fixed=["c0"],
        steps=("simplex", "migrad"),
        loss="soft_l1",
    )
    return r.value_array, r.cov
