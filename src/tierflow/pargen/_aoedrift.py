"""A/E drift-time correction: ``A/E * (1 + alpha * dt)``.

Mode ``mcdrift`` (the anchor's default): in the Compton continuum from 1000 to 2400 keV
(lines +-5 keV left out), the A/E peak region is found from a histogram of A/E in (0.9, 1.1)
(from 2 FWHM below to 3 FWHM above its maximum); the robust (Minimum Covariance Determinant)
covariance of (A/E, drift time in us) of those events gives the direction along which A/E
changes with drift time: its principal axis (or the minor one, if the principal axis is along
A/E). ``alpha`` makes that axis flat.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.math import min_cov_det

__all__ = ["DriftMode", "DriftTimeCorrection", "drift_time_correction"]

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
# lines whose events are left out of the continuum (keV, +-5 keV)
DRIFT_LINES_KEV = (1080, 1094, 1459, 1512, 1552, 1620, 1650, 1670, 1830, 2105)


class DriftMode(Enum):
    """How the drift-time coefficient is found."""

    MCD = "mcdrift"  # principal axis of the robust (A/E, dt) covariance in the continuum


@dataclass(frozen=True)
class DriftTimeCorrection:
    """The drift-time coefficient ``alpha`` (per dt unit), how it was found and whether it
    worked (``alpha`` is 0 when it did not, with the reason)."""

    alpha: float
    mode: DriftMode
    valid: bool
    reason: str = ""
    n_events: int = 0
    aoe_range: tuple[float, float] = (math.nan, math.nan)
    covariance: tuple[tuple[float, ...], ...] = ()

    def apply(self, aoe: ArrayLike, dt: ArrayLike) -> Array:
        """``aoe * (1 + alpha * dt)``."""
        return np.asarray(aoe, dtype=np.float64) * (1 + self.alpha * np.asarray(dt, np.float64))

    def expression(self, aoe: str, dt: str) -> dict[str, Any]:
        """Hit-tier expression and parameters (the anchor's form)."""
        return {"expression": f"{aoe}*(1+a*{dt})", "parameters": {"a": self.alpha}}

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return {
            "alpha": self.alpha,
            "mode": self.mode.value,
            "valid": self.valid,
            "reason": self.reason,
            "n_events": self.n_events,
            "aoe_range": list(self.aoe_range),
            "covariance": [list(r) for r in self.covariance],
        }


def _continuum(energy: Array) -> BoolArray:
    keep = (energy >= 1000) & (energy <= 2400)
    for line in DRIFT_LINES_KEV:
        keep &= ~((energy >= line - 5) & (energy <= line + 5))
    return keep


def _peak_region(aoe: Array) -> tuple[float, float] | str:
    """A/E range around the peak (2 FWHM below, 3 above), or why there is none."""
    iqr = float(np.nanpercentile(aoe, 75) - np.nanpercentile(aoe, 25))
    width = 0.5 * iqr * len(aoe) ** (-1 / 3)
    if not width > 0:
        return "degenerate A/E distribution (bin width <= 0)"
    counts, edges = np.histogram(aoe, bins=int(0.2 / width), range=(0.9, 1.1), density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    above = np.flatnonzero(counts >= counts.max() / 2)
    if len(above) < 2:
        return "no FWHM of the A/E peak"
    peak = centres[np.argmax(counts)]
    fwhm = centres[above[-1]] - centres[above[0]] + (centres[1] - centres[0])
    return float(peak - 2 * fwhm), float(peak + 3 * fwhm)


def _mcd_alpha(aoe: Array, dt: Array, energy: Array) -> DriftTimeCorrection:
    failed = DriftTimeCorrection
    sel = np.isfinite(aoe) & np.isfinite(dt) & np.isfinite(energy)
    sel &= _continuum(np.where(sel, energy, 0.0))
    a, t = aoe[sel], dt[sel] / 1000.0  # dt in us for a well-conditioned covariance
    if len(a) == 0:
        return failed(0.0, DriftMode.MCD, False, "no continuum events")
    region = _peak_region(a)
    if isinstance(region, str):
        return failed(0.0, DriftMode.MCD, False, region, len(a))
    inside = (a >= region[0]) & (a <= region[1]) & (t >= 0) & (t <= np.quantile(t, 0.999))
    if np.count_nonzero(inside) < 4:
        return failed(0.0, DriftMode.MCD, False, "too few events for the MCD", len(a), region)
    cov = min_cov_det(np.column_stack([a[inside], t[inside]])).covariance
    _, vectors = np.linalg.eigh(cov)
    axis = vectors[:, -1]
    if abs(axis[0]) > abs(axis[1]):  # principal axis along A/E: take the minor one
        axis = vectors[:, -2]
    rows = tuple(tuple(float(v) for v in r) for r in cov)
    n = int(np.count_nonzero(inside))
    if abs(axis[1]) < 1e-10:
        return failed(0.0, DriftMode.MCD, False, "axis has no drift-time component", n, region)
    return DriftTimeCorrection(
        float(-axis[0] / axis[1] / 1000.0), DriftMode.MCD, True, "", n, region, rows
    )


DRIFT_MODES: dict[DriftMode, Callable[[Array, Array, Array], DriftTimeCorrection]] = {
    DriftMode.MCD: _mcd_alpha,
}


def drift_time_correction(
    aoe: ArrayLike,
    dt: ArrayLike,
    energy: ArrayLike,
    mode: DriftMode = DriftMode.MCD,
) -> tuple[Array, DriftTimeCorrection]:
    """Find the drift-time coefficient of A/E and apply it: (corrected A/E, correction).

    Parameters
    ----------
    aoe
        Time-corrected A/E (peak near 1).
    dt
        Drift time of the same events (ns, e.g. ``dt_eff``).
    energy
        Calibrated energy (keV).
    mode
        See :class:`DriftMode`.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> dt = rng.uniform(300, 1200, 20000)
    >>> aoe = rng.normal(1, 0.01, 20000) / (1 + 2e-5 * dt)
    >>> e = rng.uniform(1000, 2400, 20000)
    >>> _, c = drift_time_correction(aoe, dt, e)
    >>> c.valid, bool(abs(c.alpha - 2e-5) < 3e-6)
    (True, True)
    """
    a = np.asarray(aoe, dtype=np.float64)
    t = np.asarray(dt, dtype=np.float64)
    correction = DRIFT_MODES[mode](a, t, np.asarray(energy, dtype=np.float64))
    return correction.apply(a, t), correction
