"""Starting values and limits for the peak models fitted by the energy calibration.

The starting values follow the anchor's recipe so that fits start from the same place: the
peak top from a Gaussian fit to five bins at the expected position, the background level and
step from the ten bins at each end of the window, the width from the histogram's width at
1/sqrt(e) of the maximum, the signal count from the bins within 3 widths.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import ConfigError
from tierflow.math import AreaSum, bin_centers, gauss_mode_width_max, get_hist
from tierflow.math._fit import Limits

__all__ = ["PEAK_EXTRAS", "peak_guess", "peak_limits"]

Array = NDArray[np.float64]


def _crossings(hist: Array, level: float) -> tuple[int, int]:
    """First bin above `level`, and the first bin below it after the last one above."""
    over = hist > level
    return int(np.argmax(over)), len(over) - int(np.argmax(over[::-1]))


def _width_interpolated(hist: Array, centres: Array, level: float) -> float:
    """Crossings by straight lines: through the two bins around the rise, and through the two
    bins just past the fall (the anchor's estimator, kept so fits start where its fits start)."""
    lo, hi = _crossings(hist, level)
    if lo < 1 or hi >= len(hist) - 1:
        raise ValueError("crossing at the window edge")
    rise, fall = hist[lo] - hist[lo - 1], hist[hi] - hist[hi + 1]
    if rise == 0 or fall == 0:
        raise ValueError("flat crossing")
    x_lo = centres[lo - 1] + (centres[lo] - centres[lo - 1]) * (level - hist[lo - 1]) / rise
    x_hi = centres[hi] + (centres[hi + 1] - centres[hi]) * (hist[hi] - level) / fall
    if x_hi < x_lo:
        raise ValueError("negative width")
    return float(x_hi - x_lo)


def _width_slopes(hist: Array, centres: Array, var: Array, level: float, n: int = 3) -> float:
    """Crossings of `level` with weighted line fits to `n` bins at the rise and past the fall."""
    lo, hi = _crossings(hist, level)
    i0, j0 = lo - n // 2, hi - n // 2 + 1
    if i0 < 0 or j0 >= len(hist):
        raise ValueError("not enough bins around the crossings")
    ends = []
    for s in (slice(i0, i0 + n), slice(j0, j0 + n)):
        with np.errstate(divide="ignore"):
            w = 1 / np.sqrt(var[s])
        w[np.isinf(w)] = 0
        if np.count_nonzero(w) < 2:  # a line through fewer points is rank-deficient
            raise ValueError("fewer than 2 weighted bins for a line fit")
        try:
            m, b = np.polyfit(centres[s], hist[s], 1, w=w)
        except (np.linalg.LinAlgError, ValueError, TypeError) as error:
            raise ValueError("line fit failed") from error
        ends.append((level - b) / m)
    if ends[1] < ends[0]:
        raise ValueError("negative width")
    return float(ends[1] - ends[0])


def _width(
    hist: Array,
    centres: Array,
    var: Array,
    height: float,
    base: float,
    sigma_fit: float,
    span: float,
) -> float:
    """Full width at 1/sqrt(e) of the peak (used as the starting sigma); falls back to the
    width of the Gaussian fit to the peak top."""
    level = base + 0.6065 * (height - base)
    estimates: list[Callable[[], float]] = [
        lambda: _width_interpolated(hist, centres, level),
        lambda: _width_slopes(hist, centres, var, level),
    ]
    for estimate in estimates:
        try:
            width = estimate()
        except ValueError:
            continue
        if 0 < width <= span / 2 and not abs(width / sigma_fit) > 5:
            return width
    if 0 < sigma_fit < span / 2:
        return sigma_fit
    raise ValueError("peak guess: no width estimate")


def _tail_extras(guess: dict[str, float], hist: Array) -> None:
    guess["sigma"] *= 0.8  # part of the width is the tail's
    guess["htail"] = 0.2
    guess["tau"] = guess["sigma"] / 2


def _step_extras(guess: dict[str, float], hist: Array) -> None:
    high, low = float(np.mean(hist[-10:])), float(np.mean(hist[:10]))
    guess["hstep"] = (high - low) / (high + low) if high + low > 0 else 0.0


def _linear_extras(guess: dict[str, float], hist: Array) -> None:
    guess["m"], guess["b"] = 0.0, 1.0


PEAK_EXTRAS: dict[str, tuple[Callable[[dict[str, float], Array], None], ...]] = {
    "gauss_on_step": (_step_extras,),
    "hpge_peak": (_step_extras, _tail_extras),
    "gauss_on_linear": (_linear_extras,),
    "gauss_on_uniform": (),
}
"""Model name → steps adding that model's own parameters to the Gaussian-signal guess."""


def _anchor_bin(x: float, edges: Array) -> int:
    """The anchor's choice of the peak-top bin for a guess `x`: the bin holding `x` when the
    uniform-bin arithmetic finds it, else the insertion point after it (a guess on a bin edge,
    as at the centre of a symmetric window, picks the bin above that edge)."""
    i = int(np.floor((x - edges[0]) / (edges[1] - edges[0])))
    if 0 <= i < len(edges) - 1 and edges[i] <= x < edges[i + 1]:
        return i
    return int(np.searchsorted(edges, x, side="right"))


def peak_guess(
    energies: Array,
    model: AreaSum,
    fit_range: tuple[float, float],
    bin_width: float,
    mode_guess: float | None = None,
) -> list[float]:
    """Starting values for fitting `model` to the events in `fit_range`, in parameter order."""
    if model.name not in PEAK_EXTRAS:
        raise ConfigError(f"no starting values known for model {model.name!r}", obj=model.name)
    lo, hi = fit_range
    x = energies[(energies >= lo) & (energies <= hi)]
    hist, edges, var = get_hist(x, dx=bin_width, range=fit_range)
    centres = bin_centers(edges)
    try:
        centre = None if mode_guess is None else _anchor_bin(mode_guess, edges)
        (mu_fit, sigma_fit, height), _ = gauss_mode_width_max(
            hist, edges, var, mode_guess=mode_guess, n_bins=5, centre_bin=centre
        )
        mu = mode_guess if mode_guess is not None else mu_fit
    except ValueError:
        i = int(np.argmax(hist))
        mu, sigma_fit, height = float(centres[i]), math.nan, float(hist[i])
    background = float(np.mean(hist[-10:]))
    step = background - float(np.mean(hist[:10]))
    sigma = _width(hist, centres, var, height, background - step / 2, sigma_fit, hi - lo)
    n_sig = float(np.sum(hist[(centres > mu - 3 * sigma) & (centres < mu + 3 * sigma)]))
    guess = {
        "x_lo": float(edges[0]),
        "x_hi": float(edges[-1]),
        "n_sig": n_sig,
        "mu": float(mu),
        "sigma": sigma,
        "n_bkg": float(np.sum(hist)) - n_sig,
    }
    for extra in PEAK_EXTRAS[model.name]:
        extra(guess, hist)
    return [0.0 if math.isnan(guess[n]) else guess[n] for n in model.names]


def peak_limits(model: AreaSum, guess: list[float]) -> dict[str, Limits]:
    """Fit limits: the peak inside the window, its width below half the window, tails in range."""
    g = dict(zip(model.names, guess, strict=False))
    span = g["x_hi"] - g["x_lo"]
    limits: dict[str, Limits] = {
        "mu": (g["x_lo"], g["x_hi"]),
        "sigma": (0.0, span / 2),
        "n_sig": (0.0, None),
        "n_bkg": (0.0, None),
    }
    if "hstep" in g:
        limits["hstep"] = (-1.0, 1.0)
    if "htail" in g:
        limits["htail"] = (0.0, 0.5)
        limits["tau"] = (0.1 * g["sigma"], 5 * g["sigma"])
    if "m" in g:
        limits["m"], limits["b"] = (None, None), (None, None)
    return limits
