"""First steps of an energy calibration: a rough scale and the gamma lines found in a spectrum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.math import get_hist, local_maxima, poly

__all__ = ["PeakSearch", "guess_scale", "search_peaks", "scale_roots"]

Array = NDArray[np.float64]


def guess_scale(
    energy: ArrayLike, line_kev: float = 2614.511, percentiles: tuple[float, float] = (95, 99.9)
) -> float:
    """keV per ADC from the tallest 1-ADC bin between two high percentiles (the top line).

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> e = np.r_[rng.uniform(0, 16000, 20000), rng.normal(16900.5, 3, 4000)]
    >>> round(guess_scale(e), 4)
    0.1547
    """
    e = np.asarray(energy, dtype=np.float64)
    lo, hi = np.nanpercentile(e, percentiles)
    hist, edges, _ = get_hist(e[(e > lo) & (e < hi)], dx=1, range=(lo, hi))
    return float(line_kev / edges[np.nanargmax(hist)])


def scale_roots(pars: ArrayLike, energy_kev: float) -> float:
    """The uncalibrated value that calibration polynomial `pars` maps to `energy_kev`."""
    from numpy.polynomial import Polynomial

    roots = (Polynomial(np.asarray(pars, dtype=np.float64)) - energy_kev).roots()
    real = roots[np.isreal(roots)].real
    positive = real[real > 0]
    return float(np.min(positive) if positive.size else real[0])


@dataclass(frozen=True)
class PeakSearch:
    """Which lines a search found, where, and the calibration polynomial they give.

    Attributes
    ----------
    lines_kev
        The lines looked for.
    found_kev
        Those found, ascending.
    locations
        Their uncalibrated positions (left edge of the local-maximum bin).
    pars
        Calibration polynomial through the found lines, lowest order first.
    """

    lines_kev: tuple[float, ...]
    found_kev: tuple[float, ...]
    locations: tuple[float, ...]
    pars: tuple[float, ...]

    def to_dict(self) -> dict[str, list[float]]:
        """Plain-dict form."""
        return {k: list(getattr(self, k)) for k in ("lines_kev", "found_kev", "locations", "pars")}


def _dedupe(found: Array, locs: Array, matched: Array) -> tuple[Array, Array]:
    """Keep, for each matched line, the candidate closest to it in energy."""
    keep = []
    for line in np.unique(matched):
        idx = np.flatnonzero(matched == line)
        keep.append(idx[np.argmin(np.abs(found[idx] - line))])
    keep_arr = np.sort(np.asarray(keep, dtype=int))
    return locs[keep_arr], matched[keep_arr]


def search_peaks(
    energy: ArrayLike,
    lines_kev: ArrayLike,
    pars: ArrayLike,
    *,
    n_sigma: float = 3.0,
    etol_kev: float = 5.0,
    bin_width_kev: float = 0.2,
    deg: int = 0,
) -> PeakSearch:
    """Find the `lines_kev` in a spectrum, given a rough calibration polynomial `pars`.

    The spectrum between 0.9* the lowest and 1.1* the highest line is histogrammed in
    `bin_width_kev` bins; local maxima more significant than `n_sigma` (counts / sqrt(counts))
    that land within `etol_kev` of a line are matched to it, the closest candidate winning.
    The found lines then give a scale (``deg=0``, through the origin) or a polynomial fit.
    """
    e = np.asarray(energy, dtype=np.float64)
    lines = np.sort(np.asarray(lines_kev, dtype=np.float64))
    p = np.asarray(pars, dtype=np.float64)
    lo = max(scale_roots(p, lines[0] * 0.9), 0.0)
    hi = min(scale_roots(p, lines[-1] * 1.1), float(np.nanmax(e)) * 1.1)
    hist, edges, var = get_hist(e, range=(lo, hi), dx=bin_width_kev / p[1])
    var[var == 0] = 1
    imax = local_maxima(hist / np.sqrt(var), n_sigma)
    cand = poly(edges[imax], p)
    near = np.array([np.min(np.abs(lines - c)) < etol_kev for c in cand], dtype=bool)
    found, locs = cand[near], edges[imax][near]
    matched = lines[[int(np.argmin(np.abs(lines - c))) for c in found]]
    locs, matched = _dedupe(found, locs, matched)
    new = _calibration_through(locs, matched, deg) if len(locs) else p
    return PeakSearch(tuple(lines), tuple(matched), tuple(locs), tuple(float(v) for v in new))


def _calibration_through(locs: Array, energies: Array, deg: int) -> Array:
    if deg == 0:
        return np.array([0.0, float(np.sum(locs * energies) / np.sum(locs * locs))])
    from numpy.polynomial import Polynomial

    return np.asarray(Polynomial.fit(locs, energies, deg).convert().coef, dtype=np.float64)
