"""Data-quality cuts from distributions: baseline, pile-up and discharge flags.

A cut on a dsp quantity keeps (``inclusive``) or rejects (``exclusive``) the band
``mode +- n sigma`` of its distribution. The mode and width come from histograms, the anchor's
way: the central 98% of the values, a histogram with a bin width of the 50-55 percentile
spacing, its FWHM, then a finer histogram (50-52 percentile spacing) within 10 widths of the
top, whose top is fitted with a Gaussian (20 bins) for the mode; sigma = FWHM / 2.355.
Cut values are rounded to 4 significant decimals.

Cuts given as an ``expression`` with ``parameters`` are passed through; every expression is
evaluated with :mod:`tierflow.expr` (never ``eval``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import ConfigError, NotFoundError
from tierflow.math import bin_centers, gauss_mode_width_max, get_hist

__all__ = ["BandMode", "CutSpec", "apply_cuts", "generate_cuts", "mode_and_width"]

Array = NDArray[np.float64]


class BandMode(Enum):
    """Keep the band around the mode (inclusive) or everything outside it (exclusive)."""

    INCLUSIVE = "inclusive"
    EXCLUSIVE = "exclusive"


@dataclass(frozen=True)
class CutSpec:
    """A cut to derive: parameter, number of sigmas each side (None: that side open), mode."""

    parameter: str
    low_sigmas: float | None
    high_sigmas: float | None
    mode: BandMode

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> CutSpec:
        """From the anchor's form ``{"cut_parameter", "cut_level", "mode"}``; ``cut_level`` is
        a number or ``{"low_side": n, "high_side": m}``."""
        unknown = set(data) - {"cut_parameter", "cut_level", "mode"}
        if unknown:
            raise ConfigError(f"cut {name!r}: unknown keys {sorted(unknown)}", obj=name)
        try:
            level, par = data["cut_level"], data["cut_parameter"]
            mode = BandMode(data.get("mode", "inclusive"))
        except KeyError as error:
            raise ConfigError(f"cut {name!r}: missing {error}", obj=name) from error
        except ValueError as error:
            raise ConfigError(
                f"cut {name!r}: mode must be one of {[m.value for m in BandMode]}", obj=name
            ) from error
        if isinstance(level, Mapping):
            return cls(par, level.get("low_side"), level.get("high_side"), mode)
        return cls(par, float(level), float(level), mode)


def _spacing(x: Array, upper: float, fallback: float) -> float:
    dx = float(np.nanpercentile(x, upper) - np.nanpercentile(x, 50))
    return dx if dx != 0 else fallback


def _coarse_range(x: Array) -> tuple[float, float, float, float]:
    """Bin width, the top, and the range within 10 widths of the top of a coarse histogram."""
    bin_width = _spacing(x, 55, float(np.std(x)) / 4)
    counts, edges, _ = get_hist(x, range=(float(np.nanmin(x)), float(np.nanmax(x))), dx=bin_width)
    mu = float(edges[np.argmax(counts)])
    sigma = _bins_over_half(counts, edges) / 2.355
    lo, hi = mu - 10 * sigma, mu + 10 * sigma
    x_min, x_max = float(np.nanmin(x)), float(np.nanmax(x))
    if not x_min <= lo <= x_max:
        lo = x_min
    if not x_min <= hi <= x_max:
        hi = x_max
    return bin_width, mu, lo, hi


def _bins_over_half(counts: Array, edges: Array) -> float:
    """Distance between the first bin over half the maximum and the first under it after the
    last one over (the anchor's 'bins over f' width)."""
    over = counts > 0.5 * np.max(counts)
    lo, hi = int(np.argmax(over)), len(over) - int(np.argmax(over[::-1]))
    centres = bin_centers(edges)
    if hi >= len(centres):
        raise IndexError("the half-maximum crossing is outside the histogram")
    return float(centres[hi] - centres[lo])


def mode_and_width(values: ArrayLike) -> tuple[float, float]:
    """Mode and Gaussian-equivalent width (FWHM / 2.355) of a distribution (module notes).

    Example
    -------
    >>> import numpy as np
    >>> m, s = mode_and_width(np.random.default_rng(0).normal(5, 2, 100_000))
    >>> abs(m - 5) < 0.1, abs(s - 2) < 0.15
    (True, True)
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no finite values")
    x = x[(x > np.nanpercentile(x, 1)) & (x < np.nanpercentile(x, 99))]
    try:
        bin_width, mu, lo, hi = _coarse_range(x)
    except IndexError:
        bin_width = _spacing(x, 55, float(np.std(x)) / 4)
        mu = math.nan
        lo, hi = float(np.nanpercentile(x, 5)), float(np.nanpercentile(x, 95))
    counts, edges, _ = get_hist(x, dx=_spacing(x, 52, bin_width), range=(lo, hi))
    centres = bin_centers(edges)
    top = float(centres[np.argmax(counts)])
    fwhm = _bins_over_half(counts, edges)
    (mean, _s, _a), _ = gauss_mode_width_max(
        counts, edges, None, mode_guess=top, n_bins=min(20, len(counts))
    )
    std = fwhm / 2.355
    # a Gaussian top outside the histogram or a width away from the coarse top: take the bin
    if not (edges[0] <= mean <= edges[-1]) or mean + std < mu or mean - std > mu:
        mean = top
    return float(mean), std


def _cut_entry(values: Array, spec: CutSpec, digits: int) -> dict[str, Any]:
    mean, std = mode_and_width(values)
    lower = None if spec.low_sigmas is None else round(mean - spec.low_sigmas * std, digits)
    upper = None if spec.high_sigmas is None else round(mean + spec.high_sigmas * std, digits)
    par = spec.parameter
    inside = spec.mode is BandMode.INCLUSIVE
    if lower is not None and upper is not None:
        expr = f"({par}>a) & ({par}<b)" if inside else f"({par}<a) | ({par}>b)"
        return {"expression": expr, "parameters": {"a": lower, "b": upper}}
    if upper is None and lower is not None:
        return {"expression": f"{par}>a" if inside else f"{par}<a", "parameters": {"a": lower}}
    if upper is not None:
        return {"expression": f"{par}<a" if inside else f"{par}>a", "parameters": {"a": upper}}
    raise ConfigError(f"cut on {par!r}: neither side has a level", obj=par)


def _column(data: Mapping[str, ArrayLike], name: str) -> Array:
    if name in data:
        return np.asarray(data[name], dtype=np.float64)
    from tierflow.expr import ExpressionError, compile_expr

    try:
        expr = compile_expr(name)
    except ExpressionError as error:
        raise NotFoundError(
            f"no column {name!r} (and it is not an expression: {error})",
            obj=name,
            candidates=list(data),
        ) from error
    missing = [n for n in expr.names if n not in data]
    if missing:
        raise NotFoundError(f"no column {missing[0]!r}", obj=missing[0], candidates=list(data))
    return np.asarray(expr.evaluate({n: np.asarray(data[n]) for n in expr.names}), np.float64)


def generate_cuts(
    data: Mapping[str, ArrayLike], cuts: Mapping[str, Mapping[str, Any]], digits: int = 4
) -> dict[str, dict[str, Any]]:
    """Cut expressions and parameters from the distributions in `data` (module notes).

    Example
    -------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(10, 1, 50_000)
    >>> cut = generate_cuts({"bl_std": x}, {"bl": {"cut_parameter": "bl_std", "cut_level": 4,
    ...                                          "mode": "inclusive"}})
    >>> cut["bl"]["expression"]
    '(bl_std>a) & (bl_std<b)'
    """
    out: dict[str, dict[str, Any]] = {}
    for name, cut in cuts.items():
        if "expression" in cut:
            out[name] = {
                "expression": cut["expression"],
                "parameters": dict(cut.get("parameters", {})),
            }
            continue
        spec = CutSpec.from_dict(name, cut)
        values = _column(data, spec.parameter)
        if not np.isfinite(values).any():
            raise ConfigError(f"cut {name!r}: no finite values of {spec.parameter!r}", obj=name)
        out[name] = _cut_entry(values, spec, digits)
    return out


def apply_cuts(
    data: Mapping[str, ArrayLike], cut_dict: Mapping[str, Mapping[str, Any]]
) -> tuple[NDArray[np.bool_], dict[str, NDArray[np.bool_]]]:
    """Evaluate cut expressions on `data`: (all cuts passed, each cut's mask).

    Example
    -------
    >>> import numpy as np
    >>> ok, each = apply_cuts({"x": np.array([1.0, 5.0])},
    ...                       {"c": {"expression": "x<a", "parameters": {"a": 2}}})
    >>> ok.tolist()
    [True, False]
    """
    from tierflow.expr import compile_expr

    n = len(np.asarray(next(iter(data.values())))) if data else 0
    passed = np.ones(n, dtype=bool)
    each: dict[str, NDArray[np.bool_]] = {}
    for name, cut in cut_dict.items():
        expr = compile_expr(cut["expression"])
        pars = dict(cut.get("parameters", {}))
        missing = [v for v in expr.names if v not in data and v not in pars]
        if missing:
            raise NotFoundError(
                f"cut {name!r}: no column {missing[0]!r}", obj=missing[0], candidates=list(data)
            )
        columns = {v: np.asarray(data[v]) for v in expr.names if v in data and v not in pars}
        mask = np.asarray(expr.evaluate({**columns, **pars}), dtype=bool)
        each[name] = mask
        passed &= mask
    return passed, each
