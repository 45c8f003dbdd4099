"""Histogram helpers: binning, widths at a fraction of the maximum, extrema, mode estimates."""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.math._jit import get_kernel

__all__ = [
    "FwfmMethod",
    "bin_centers",
    "bin_widths",
    "find_bin",
    "fwfm",
    "fwhm",
    "gauss_mode_width_max",
    "gaussian_guess",
    "get_hist",
    "local_extrema",
    "local_maxima",
]

Array = NDArray[np.float64]


def get_hist(
    data: ArrayLike,
    bins: int | ArrayLike | None = None,
    range: tuple[float, float] | None = None,
    dx: float | None = None,
    weights: ArrayLike | None = None,
) -> tuple[Array, Array, Array]:
    """Histogram `data`: ``(counts, edges, variances)``.

    With `dx`, the range is cut into ``int((hi - lo) / dx)`` equal bins (so the bin width is at
    least `dx`). Values equal to the upper edge and NaNs are left out.

    Example
    -------
    >>> counts, edges, var = get_hist([1.0, 1.5, 2.5], range=(0, 3), dx=1)
    >>> counts.tolist(), edges.tolist()
    ([0.0, 2.0, 1.0], [0.0, 1.0, 2.0, 3.0])
    """
    x = np.asarray(data, dtype=np.float64)
    if range is None:
        range = (float(np.nanmin(x)), float(np.nanmax(x)))
    lo, hi = float(range[0]), float(range[1])
    if dx is not None:
        bins = int((hi - lo) / dx)
    if bins is None:
        bins = 100
    w = None if weights is None else np.broadcast_to(np.asarray(weights, dtype=np.float64), x.shape)
    keep = (x >= lo) & (x < hi)
    x = x[keep]
    w = None if w is None else w[keep]
    if np.ndim(bins) == 0:
        edges = np.linspace(lo, hi, int(bins) + 1)  # type: ignore[arg-type]
    else:
        edges = np.asarray(bins, dtype=np.float64)
    counts, edges = np.histogram(x, edges, weights=w)
    var = counts if w is None else np.histogram(x, edges, weights=w * w)[0]
    return counts.astype(np.float64), edges.astype(np.float64), np.asarray(var, dtype=np.float64)


def bin_centers(edges: ArrayLike) -> Array:
    """Centres of the bins with these edges."""
    e = np.asarray(edges, dtype=np.float64)
    return (e[:-1] + e[1:]) / 2.0


def bin_widths(edges: ArrayLike) -> Array:
    """Widths of the bins with these edges."""
    return np.diff(np.asarray(edges, dtype=np.float64))


def find_bin(x: float, edges: ArrayLike) -> int:
    """Index of the bin holding `x`: -1 below the first edge, ``len(edges)`` above the last."""
    e = np.asarray(edges, dtype=np.float64)
    if x < e[0]:
        return -1
    if x > e[-1]:
        return len(e)
    return int(np.searchsorted(e, x, side="right") - 1)


def local_extrema(data: ArrayLike, delta: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices of the local maxima and minima that stand out by more than `delta`.

    A maximum is declared once the data fall `delta` below it, a minimum once they rise
    `delta` above it (the peak-detection scheme of Eli Billauer's ``peakdet``).

    Example
    -------
    >>> local_extrema([0, 5, 0, 0, 7, 1], 2)[0].tolist()
    [1, 4]
    """
    if not delta > 0:
        raise ValueError(f"local_extrema: delta must be positive, got {delta}")
    kernel = get_kernel("local_extrema")
    maxima, minima = kernel(np.ascontiguousarray(np.asarray(data, dtype=np.float64)), float(delta))
    return maxima, minima


def local_maxima(data: ArrayLike, delta: float) -> NDArray[np.int64]:
    """Indices of the local maxima standing out by more than `delta` (see :func:`local_extrema`)."""
    return local_extrema(data, delta)[0]


class FwfmMethod(Enum):
    """How :func:`fwfm` locates the crossings of the fraction-of-maximum line."""

    BINS_OVER_F = "bins_over_f"  # centres of the first and last bins above the line
    INTERPOLATE = "interpolate"  # linear interpolation between the bins that cross it
    FIT_SLOPES = "fit_slopes"  # line fits to a few bins around each crossing


def _crossing_bins(fraction: float, hist: Array, mx: float, bl: float) -> tuple[int, int, float]:
    over = hist > bl + fraction * (mx - bl)
    lo = int(np.argmax(over))
    hi = len(over) - int(np.argmax(over[::-1])) - 1
    return lo, hi, bl + fraction * (mx - bl)


def _fwfm_bins_over_f(
    fraction: float, hist: Array, edges: Array, mx: float, bl: float, var: Array | None
) -> tuple[float, float]:
    lo, hi, _ = _crossing_bins(fraction, hist, mx, bl)
    centres = bin_centers(edges)
    width = float(edges[1] - edges[0])
    return float(centres[hi] - centres[lo]), width * math.sqrt(2.0)


def _fwfm_interpolate(
    fraction: float, hist: Array, edges: Array, mx: float, bl: float, var: Array | None
) -> tuple[float, float]:
    lo, hi, level = _crossing_bins(fraction, hist, mx, bl)
    if lo < 1 or hi >= len(hist) - 1:
        raise ValueError(f"fwfm: cannot interpolate, the crossings ({lo}, {hi}) touch the ends")
    c = bin_centers(edges)
    rise = hist[lo] - hist[lo - 1]
    fall = hist[hi] - hist[hi + 1]
    if rise == 0 or fall == 0:
        raise ValueError("fwfm: interpolation failed, flat crossing")
    x_lo = c[lo - 1] + (c[lo] - c[lo - 1]) * (level - hist[lo - 1]) / rise
    x_hi = c[hi] + (c[hi + 1] - c[hi]) * (hist[hi] - level) / fall
    if x_hi < x_lo:
        raise ValueError("fwfm: interpolation produced a negative width")
    err = 0.0
    if var is not None:
        t_lo, t_hi = (level - hist[lo - 1]) / rise, (hist[hi] - level) / fall
        d_lo = (t_lo**2 * var[lo] + (1 - t_lo) ** 2 * var[lo - 1]) * (
            (c[lo] - c[lo - 1]) / rise
        ) ** 2
        d_hi = (t_hi**2 * var[hi + 1] + (1 - t_hi) ** 2 * var[hi]) * (
            (c[hi + 1] - c[hi]) / fall
        ) ** 2
        err = math.sqrt(d_lo + d_hi)
    return float(x_hi - x_lo), err


def _line_crossing(c: Array, h: Array, w: Array | None, level: float) -> float:
    if w is not None and np.count_nonzero(w) < 2:  # a line through fewer points is rank-deficient
        raise RuntimeError("fwfm: fewer than 2 weighted bins for a line fit")
    try:
        m, b = np.polyfit(c, h, 1, w=w)
    except np.linalg.LinAlgError as error:
        raise RuntimeError("fwfm: line fit failed") from error
    return float((level - b) / m)


def _fwfm_fit_slopes(
    fraction: float,
    hist: Array,
    edges: Array,
    mx: float,
    bl: float,
    var: Array | None,
    n_slope: int = 3,
) -> tuple[float, float]:
    lo, hi, level = _crossing_bins(fraction, hist, mx, bl)
    c = bin_centers(edges)
    i0 = lo - n_slope // 2
    j0 = hi - n_slope // 2 + 1
    if i0 < 0 or j0 + n_slope > len(hist):
        raise RuntimeError("fwfm: not enough bins around the crossings to fit slopes")

    def weights(s: slice) -> Array | None:
        if var is None:
            return None
        v = var[s]
        return np.where(v > 0, 1 / np.sqrt(np.where(v > 0, v, 1)), 0.0)

    s_lo, s_hi = slice(i0, i0 + n_slope), slice(j0, j0 + n_slope)
    x_lo = _line_crossing(c[s_lo], hist[s_lo], weights(s_lo), level)
    x_hi = _line_crossing(c[s_hi], hist[s_hi], weights(s_hi), level)
    if x_hi < x_lo:
        raise RuntimeError("fwfm: slope fits produced a negative width")
    return x_hi - x_lo, math.nan


_FWFM: dict[FwfmMethod, Callable[..., tuple[float, float]]] = {
    FwfmMethod.BINS_OVER_F: _fwfm_bins_over_f,
    FwfmMethod.INTERPOLATE: _fwfm_interpolate,
    FwfmMethod.FIT_SLOPES: _fwfm_fit_slopes,
}


def fwfm(
    fraction: float,
    hist: ArrayLike,
    edges: ArrayLike,
    var: ArrayLike | None = None,
    *,
    mx: float | None = None,
    bl: float = 0.0,
    method: FwfmMethod = FwfmMethod.INTERPOLATE,
) -> tuple[float, float]:
    """Full width of a histogram peak at `fraction` of its maximum above a baseline `bl`.

    Returns ``(width, error)``; the error is NaN where the method gives none.

    Example
    -------
    >>> import numpy as np
    >>> h, e, v = get_hist(np.random.default_rng(0).normal(0, 1, 100_000), range=(-5, 5), dx=0.05)
    >>> w, _ = fwhm(h, e, v)
    >>> abs(w - 2.3548) < 0.05
    True
    """
    h = np.asarray(hist, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    v = None if var is None else np.asarray(var, dtype=np.float64)
    peak = float(np.max(h)) if mx is None else float(mx)
    return _FWFM[method](fraction, h, e, peak, bl, v)


def fwhm(
    hist: ArrayLike,
    edges: ArrayLike,
    var: ArrayLike | None = None,
    *,
    mx: float | None = None,
    bl: float = 0.0,
    method: FwfmMethod = FwfmMethod.INTERPOLATE,
) -> tuple[float, float]:
    """Full width at half maximum of a histogram peak (see :func:`fwfm`)."""
    return fwfm(0.5, hist, edges, var, mx=mx, bl=bl, method=method)


def gaussian_guess(hist: ArrayLike, edges: ArrayLike) -> tuple[float, float, float]:
    """Rough ``(mu, sigma, area)`` of a Gaussian peak: the tallest bin's lower edge, and the
    width from the first bin over half the maximum to the first bin under it after the last
    one over (the anchor's estimator, one bin wider than the bins over half, so a one-bin
    spike still gets a width)."""
    h = np.asarray(hist, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    i = int(np.argmax(h))
    over = h > 0.5 * h[i]
    lo, hi = int(np.argmax(over)), len(over) - int(np.argmax(over[::-1]))
    centres = bin_centers(e)
    width = float(centres[min(hi, len(centres) - 1)] - centres[lo])
    sigma = width / 2.355
    return float(e[i]), sigma, float(h[i] * sigma * math.sqrt(2 * math.pi))


def gauss_mode_width_max(
    hist: ArrayLike,
    edges: ArrayLike,
    var: ArrayLike | None = None,
    *,
    mode_guess: float | None = None,
    n_bins: int = 5,
    centre_bin: int | None = None,
) -> tuple[Array, Array]:
    """Fit a Gaussian ``a exp(-(x-mu)^2 / 2 sigma^2)`` to `n_bins` bins around the peak.

    Returns ``([mu, sigma, a], covariance)`` by least squares (errors from `var`, or the
    counts). The window is centred on `centre_bin` if given, else on the bin of `mode_guess`,
    else on the tallest bin. Raises :class:`ValueError` when it does not fit in the histogram.
    """
    from tierflow.math._fit import fit_curve

    h = np.asarray(hist, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    v = h if var is None else np.asarray(var, dtype=np.float64)
    if centre_bin is not None:
        centre = centre_bin
    else:
        centre = find_bin(mode_guess, e) if mode_guess is not None else int(np.argmax(h))
    if not 0 <= centre < len(h):
        raise ValueError(f"gauss_mode_width_max: mode guess {mode_guess} is outside the histogram")
    mu0 = mode_guess if mode_guess is not None else float(bin_centers(e)[centre])
    i0 = min(max(centre - n_bins // 2, 0), len(h) - n_bins)
    if i0 < 0:
        raise ValueError(f"gauss_mode_width_max: n_bins={n_bins} exceeds the {len(h)} bins")
    s = slice(i0, i0 + n_bins)
    keep = ~((h[s] == 0) & (v[s] == 0))
    x = bin_centers(e[i0 : i0 + n_bins + 1])[keep]

    def gauss(x: Array, mu: float, sigma: float, a: float) -> Array:
        return a * np.exp(-0.5 * ((x - mu) / sigma) ** 2)

    result = fit_curve(
        gauss,
        x,
        h[s][keep],
        np.sqrt(v[s][keep]),
        [mu0, e[i0 + n_bins] - e[i0], h[centre]],
        names=["mu", "sigma", "a"],
        limits={"mu": (e[i0], e[i0 + n_bins]), "sigma": (0, None), "a": (0, None)},
        steps=("simplex", "migrad"),
    )
    return result.value_array, result.cov
