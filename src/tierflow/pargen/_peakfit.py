"""Staged unbinned fit of one gamma line: robust starting values, two minimiser paths, tail drop.

Stages (the anchor's recipe, so results agree with it):

1. for a tailed model, fit the tail-less ``gauss_on_step`` first and start from its result;
2. fit from those starting values with MIGRAD, and again with SIMPLEX then MIGRAD; keep the
   valid one, else the one with the clearly lower chi-square, else the one with the smaller
   relative errors; if neither is valid, retry with two SIMPLEX passes;
3. for a tailed model, fall back to the tail-less fit when the tailed one is not valid and it
   is, when its p-value is higher, or when the tail height is compatible with zero.

The goodness of fit is Pearson's chi-square on a histogram of the events whose bins are merged
until each holds at least 5 events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.math import MODELS, AreaSum, FitResult, get_hist, goodness_of_fit, minimize
from tierflow.math._cost import extended_nll
from tierflow.math._fit import Limits
from tierflow.pargen._peakguess import peak_guess, peak_limits

__all__ = ["GuessFunc", "LimitsFunc", "PeakFitOptions", "fit_peak", "gof_histogram"]

Array = NDArray[np.float64]
FIXED = ("x_lo", "x_hi")
GuessFunc = Callable[[Array, AreaSum, tuple[float, float], float, "float | None"], list[float]]
"""``(energies, model, fit_range, bin_width, mode_guess) -> starting values``."""
LimitsFunc = Callable[[AreaSum, list[float]], dict[str, Limits]]
"""``(model, starting values) -> fit limits``."""


@dataclass(frozen=True)
class PeakFitOptions:
    """Options of :func:`fit_peak`.

    Attributes
    ----------
    allow_tail_drop
        Let a tailed model fall back to the tail-less one (see the module notes).
    tail_weight
        Weight of a penalty ``2 w log(htail + 0.1)`` discouraging large tails (0: none).
    p_val_threshold
        p-value under which a fit counts as poor when deciding on the tail.
    anchor_ndof
        Count the degrees of freedom of the goodness of fit as the anchor does (bins minus
        the fixed parameters) instead of bins minus the free parameters; this changes which
        fit is kept when the tail is dropped, so survival-fraction fits use it for parity.
    """

    allow_tail_drop: bool = True
    tail_weight: float = 0.0
    p_val_threshold: float = 1e-19
    anchor_ndof: bool = False


def gof_histogram(
    energies: Array, fit_range: tuple[float, float], bin_width: float
) -> tuple[Array, Array]:
    """Histogram for the goodness of fit: near-empty tail cut, bins merged to >= 5 events."""
    hist, edges, _ = get_hist(energies, range=fit_range, dx=bin_width)
    for i, count in enumerate(hist):
        if count <= 1 and np.nanmean(hist[i:]) < 1:
            hist, edges = hist[:i], edges[: i + 1]
            break
    merged: list[float] = []
    keep_edges: list[float] = [float(edges[0])]
    acc = 0.0
    for i, count in enumerate(hist):
        acc += count
        if acc >= 5 or i == len(hist) - 1:
            merged.append(acc)
            keep_edges.append(float(edges[i + 1]))
            acc = 0.0
    return np.asarray(merged), np.asarray(keep_edges)


class _TailPenalised:
    """A cost plus ``2 w log(htail + 0.1)``."""

    errordef = 1.0

    def __init__(self, cost: Any, index: int, weight: float) -> None:
        self.cost, self.index, self.weight = cost, index, weight

    def __call__(self, *pars: float) -> float:
        return float(self.cost(*pars) + 2 * self.weight * math.log(pars[self.index] + 0.1))


class _Stage:
    """Fits of one model to one set of events, sharing the cost and the gof histogram."""

    def __init__(
        self,
        energies: Array,
        model: AreaSum,
        gof: tuple[Array, Array],
        tail_weight: float,
        limits_func: LimitsFunc = peak_limits,
        anchor_ndof: bool = False,
    ) -> None:
        self.model, self.gof, self.limits_func = model, gof, limits_func
        self.anchor_ndof = anchor_ndof
        self.cost: Any = extended_nll(model, energies)
        if tail_weight and "htail" in model.names:
            self.cost = _TailPenalised(self.cost, model.index("htail"), tail_weight)

    def run(self, guess: Sequence[float], steps: Sequence[str]) -> tuple[FitResult, Any]:
        limits = self.limits_func(self.model, list(guess))
        if isinstance(self.cost, _TailPenalised):
            from iminuit import Minuit

            m = Minuit(self.cost, *guess, name=self.model.names)
            for name, (lo, hi) in limits.items():
                m.limits[name] = (-math.inf if lo is None else lo, math.inf if hi is None else hi)
            m.fixed["x_lo"] = m.fixed["x_hi"] = True
            for step in steps:
                getattr(m, step)()
            m.hesse()
            from tierflow.math._fit import _result

            result = _result(m, self.model.name)
        else:
            result, m = minimize(
                self.cost, guess, model=self.model.name, limits=limits, fixed=FIXED, steps=steps
            )
        chi2, ndof = goodness_of_fit(
            *self.gof, self.model.density, result.values, n_fixed=len(FIXED)
        )
        if self.anchor_ndof:
            ndof = len(self.gof[0]) - len(FIXED)
        return result.with_gof(chi2, ndof), m


def _rel_errors(result: FitResult) -> float:
    pairs = [
        (v, e) for v, e, f in zip(result.values, result.errors, result.fixed, strict=False) if not f
    ]
    return float(sum(abs(e / v) if v != 0 else math.inf for v, e in pairs))


def _choose(first: FitResult, second: FitResult) -> FitResult:
    if not second.valid:
        return first
    if not first.valid:
        return second
    if first.chi2 * 1.05 < second.chi2:
        return first
    if second.chi2 * 1.05 < first.chi2:
        return second
    return second if _rel_errors(second) < _rel_errors(first) else first


def _two_paths(stage: _Stage, guess: Sequence[float]) -> FitResult:
    first, _ = stage.run(guess, ("migrad",))
    second, _ = stage.run(guess, ("simplex", "migrad"))
    if first.valid or second.valid:
        return _choose(first, second)
    third, _m = stage.run(guess, ("simplex", "simplex", "migrad"))
    return third


def _tailless_start(
    energies: Array,
    gof: tuple[Array, Array],
    fit_range: tuple[float, float],
    bin_width: float,
    mode_guess: float | None,
    model: AreaSum,
    hooks: tuple[GuessFunc, LimitsFunc] = (peak_guess, peak_limits),
    anchor_ndof: bool = False,
) -> list[float]:
    """Starting values for a tailed model, taking the shared parameters from a tail-less fit."""
    base = MODELS["gauss_on_step"]
    guess_func, limits_func = hooks
    start = guess_func(energies, base, fit_range, bin_width, mode_guess)
    stage = _Stage(energies, base, gof, 0.0, limits_func, anchor_ndof)
    notail, _ = stage.run(start, ("simplex", "migrad"))
    guess = guess_func(energies, model, fit_range, bin_width, mode_guess)
    if notail.valid and notail.p_value > 0:
        for name, value in zip(base.names, notail.values, strict=False):
            guess[model.index(name)] = value
    return guess


def fit_peak(
    energies: Array,
    model: AreaSum,
    fit_range: tuple[float, float],
    bin_width: float,
    mode_guess: float | None = None,
    options: PeakFitOptions = PeakFitOptions(),
    *,
    guess_func: GuessFunc = peak_guess,
    limits_func: LimitsFunc = peak_limits,
) -> FitResult:
    """Fit `model` to the events in `fit_range` (see the module notes); returns the chosen fit.

    The result's ``model`` names the model actually used (a tailed model may have been
    replaced by ``gauss_on_step``); its chi-square and p-value are filled in. `guess_func`
    and `limits_func` replace the starting values and limits (e.g. to pin a known position).
    """
    x = np.ascontiguousarray(energies, dtype=np.float64)
    gof = gof_histogram(x, fit_range, bin_width)
    tailed = "htail" in model.names
    try:
        if tailed:
            guess = _tailless_start(
                x,
                gof,
                fit_range,
                bin_width,
                mode_guess,
                model,
                (guess_func, limits_func),
                options.anchor_ndof,
            )
        else:
            guess = guess_func(x, model, fit_range, bin_width, mode_guess)
    except ValueError as error:
        return FitResult.failed(model.name, model.names, [math.nan] * len(model.names), str(error))
    fit = _two_paths(
        _Stage(x, model, gof, options.tail_weight, limits_func, options.anchor_ndof), guess
    )
    if not (tailed and options.allow_tail_drop):
        return fit
    base = MODELS["gauss_on_step"]
    notail = _two_paths(
        _Stage(x, base, gof, 0.0, limits_func, options.anchor_ndof),
        guess_func(x, base, fit_range, bin_width, mode_guess),
    )
    small_tail = fit["htail"] < fit.error("htail")
    threshold = options.p_val_threshold
    if (
        (notail.valid and not fit.valid)  # a tail that does not converge (its errors all zero)
        or notail.p_value > fit.p_value
        or (small_tail and notail.p_value > threshold)
        or (small_tail and notail.p_value < threshold and fit.p_value < threshold)
    ):
        return notail
    return fit
