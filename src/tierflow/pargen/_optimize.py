"""DSP filter optimisation: find filter parameters (rise and flat times...) giving the best
energy resolution, by a grid scan or by Bayesian search.

An *objective* maps parameters to ``(value, error)`` (lower is better). The usual one,
:func:`make_resolution_objective`, runs a user function ``energy(params) -> energies`` (for
instance a DSP chain with those filter settings run on waveforms of one line) and returns the
fitted FWHM of the line, in keV at `peak_kev`, so filters of different gains compare fairly.

The Bayesian search models the objective with a Gaussian process (Matern 5/2 kernel, one length
scale per parameter, noise from the objective's errors, hyperparameters by maximum marginal
likelihood with scipy) and evaluates next where the expected improvement is largest.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import ConfigError

__all__ = [
    "Dimension",
    "Evaluation",
    "GaussianProcess",
    "OptimisationResult",
    "bayesian_search",
    "expected_improvement",
    "grid_search",
    "make_resolution_objective",
]

Array = NDArray[np.float64]
Params = dict[str, float]
Objective = Callable[[Params], tuple[float, float]]
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class Dimension:
    """A parameter searched over ``[low, high]`` (rounded to multiples of `step` if given)."""

    name: str
    low: float
    high: float
    step: float | None = None

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ConfigError(f"dimension {self.name!r}: high {self.high} <= low {self.low}")

    def snap(self, u: float) -> float:
        """The value at fraction `u` of the range (rounded to the step)."""
        x = self.low + float(np.clip(u, 0, 1)) * (self.high - self.low)
        if self.step:
            x = self.low + round((x - self.low) / self.step) * self.step
        return float(min(max(x, self.low), self.high))

    def unit(self, x: float) -> float:
        """Fraction of the range at value `x`."""
        return (x - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Evaluation:
    """One objective evaluation."""

    params: Params
    value: float
    error: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return {"params": dict(self.params), "value": self.value, "error": self.error}


@dataclass
class OptimisationResult:
    """Every evaluation, in order, and the best one."""

    method: str
    evaluations: list[Evaluation] = field(default_factory=list)

    FORMAT_VERSION = 1

    @property
    def best(self) -> Evaluation:
        """The evaluation with the lowest finite value."""
        finite = [e for e in self.evaluations if math.isfinite(e.value)]
        if not finite:
            raise ConfigError(f"{self.method} search: no evaluation gave a finite value")
        return min(finite, key=lambda e: e.value)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict (JSON/YAML-ready) form with a format version."""
        return {
            "format_version": self.FORMAT_VERSION,
            "method": self.method,
            "best": self.best.to_dict(),
            "evaluations": [e.to_dict() for e in self.evaluations],
        }


# -- the resolution objective -----------------------------------------------------------------
def _line_fwhm(energies: Array, peak_kev: float) -> tuple[float, float]:
    """Relative FWHM of the tallest line (Gaussian on a flat background), scaled to keV at
    `peak_kev`, with its error; NaN when the fit fails."""
    from tierflow.math import fit_unbinned, gauss_on_uniform, gaussian_guess, get_hist

    x = energies[np.isfinite(energies)]
    if len(x) < 20:
        return math.nan, math.nan
    counts, edges, _ = get_hist(x, bins=200, range=tuple(np.percentile(x, [0.5, 99.5])))
    mu0, sigma0, _ = gaussian_guess(counts, edges)
    mu0 = float(0.5 * (edges[np.argmax(counts)] + edges[np.argmax(counts) + 1]))
    sigma0 = max(sigma0, float(edges[1] - edges[0]))
    lo, hi = mu0 - 6 * sigma0, mu0 + 6 * sigma0
    win = x[(x > lo) & (x < hi)]
    guess = [lo, hi, 0.9 * len(win), mu0, sigma0, 0.1 * len(win) + 1]
    fit = fit_unbinned(gauss_on_uniform, win, guess)
    if not fit.valid or not fit["mu"] > 0:
        return math.nan, math.nan
    scale = FWHM_PER_SIGMA * peak_kev / fit["mu"]
    rel_err = math.hypot(fit.error("sigma") / fit["sigma"], fit.error("mu") / fit["mu"])
    return fit["sigma"] * scale, fit["sigma"] * scale * rel_err


def make_resolution_objective(
    energy: Callable[[Params], ArrayLike], peak_kev: float = 2614.511
) -> Objective:
    """Objective: FWHM (keV at `peak_kev`) of the line in ``energy(params)``.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> obj = make_resolution_objective(lambda p: rng.normal(1000, p["w"], 5000), 1000.0)
    >>> value, error = obj({"w": 2.0})
    >>> bool(abs(value - 2.355 * 2.0) < 0.2)
    True
    """

    def objective(params: Params) -> tuple[float, float]:
        return _line_fwhm(np.asarray(energy(params), dtype=np.float64), peak_kev)

    return objective


# -- grid ---------------------------------------------------------------------------------------
def grid_search(objective: Objective, grid: Mapping[str, Sequence[float]]) -> OptimisationResult:
    """Evaluate `objective` on every combination of the `grid` values.

    Example
    -------
    >>> r = grid_search(lambda p: ((p["a"] - 2) ** 2, 0.0), {"a": [0, 1, 2, 3]})
    >>> r.best.params
    {'a': 2.0}
    """
    if not grid:
        raise ConfigError("grid_search: empty grid")
    names = list(grid)
    result = OptimisationResult("grid")
    for combo in itertools.product(*(grid[n] for n in names)):
        params = {n: float(v) for n, v in zip(names, combo, strict=True)}
        result.evaluations.append(Evaluation(params, *map(float, objective(params))))
    return result


# -- Gaussian process -------------------------------------------------------------------------
def _matern52(a: Array, b: Array, lengths: Array) -> Array:
    d = np.sqrt(np.sum(((a[:, None, :] - b[None, :, :]) / lengths) ** 2, axis=-1)) * math.sqrt(5)
    return (1 + d + d * d / 3) * np.exp(-d)  # type: ignore[no-any-return]


class GaussianProcess:
    """Gaussian-process regression with a Matern 5/2 kernel on inputs scaled to ``[0, 1]``.

    Hyperparameters (amplitude, one length scale per input, extra noise) maximise the
    marginal likelihood; the targets are standardised first.

    Example
    -------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 8)[:, None]
    >>> gp = GaussianProcess().fit(x, np.sin(6 * x[:, 0]))
    >>> mean, std = gp.predict(np.array([[0.5]]))
    >>> bool(abs(mean[0] - np.sin(3.0)) < 0.05)
    True
    """

    def __init__(self) -> None:
        self.x: Array = np.empty((0, 0))
        self.theta: Array = np.empty(0)

    def _kernel_matrix(self, theta: Array) -> Array:
        amp, lengths, noise = np.exp(theta[0]), np.exp(theta[1:-1]), np.exp(theta[-1])
        k = amp * _matern52(self.x, self.x, lengths)
        return k + np.diag(self.noise + noise + 1e-10)  # type: ignore[no-any-return]

    def _neg_log_likelihood(self, theta: Array) -> float:
        try:
            chol = np.linalg.cholesky(self._kernel_matrix(theta))
        except np.linalg.LinAlgError:
            return 1e25
        alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, self.y))
        return float(0.5 * self.y @ alpha + np.sum(np.log(np.diag(chol))))

    def fit(self, x: ArrayLike, y: ArrayLike, yerr: ArrayLike | None = None) -> GaussianProcess:
        """Fit to points `x` (``(n, d)``), values `y` with optional errors `yerr`."""
        from scipy.optimize import minimize

        self.x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        values = np.asarray(y, dtype=np.float64)
        self.shift, self.scale = float(np.mean(values)), float(np.std(values)) or 1.0
        self.y = (values - self.shift) / self.scale
        err = np.zeros(len(values)) if yerr is None else np.asarray(yerr, np.float64)
        self.noise = np.nan_to_num(err / self.scale) ** 2
        d = self.x.shape[1]
        start = np.concatenate([[0.0], np.full(d, np.log(0.3)), [np.log(1e-3)]])
        # extra noise up to a tenth of the values' spread: beyond that a handful of points is
        # "explained" as pure noise and the model stops passing through them
        bounds = [(-5.0, 5.0)] + [(np.log(0.02), np.log(10.0))] * d + [(-14.0, np.log(0.01))]
        best = minimize(self._neg_log_likelihood, start, method="L-BFGS-B", bounds=bounds)
        self.theta = best.x
        self.chol = np.linalg.cholesky(self._kernel_matrix(self.theta))
        self.alpha = np.linalg.solve(self.chol.T, np.linalg.solve(self.chol, self.y))
        return self

    def predict(self, x: ArrayLike) -> tuple[Array, Array]:
        """Mean and standard deviation of the model at points `x`."""
        xs = np.atleast_2d(np.asarray(x, dtype=np.float64))
        amp, lengths = np.exp(self.theta[0]), np.exp(self.theta[1:-1])
        k = amp * _matern52(xs, self.x, lengths)
        mean = k @ self.alpha
        v = np.linalg.solve(self.chol, k.T)
        var = np.clip(amp - np.sum(v * v, axis=0), 1e-12, None)
        return mean * self.scale + self.shift, np.sqrt(var) * self.scale


def expected_improvement(mean: Array, std: Array, best: float, xi: float = 0.01) -> Array:
    """Expected improvement (for minimisation) over `best` of points with model `mean`, `std`."""
    from scipy.stats import norm

    gain = best - mean - xi
    z = gain / std
    return gain * norm.cdf(z) + std * norm.pdf(z)  # type: ignore[no-any-return]


def _to_params(space: Sequence[Dimension], u: Array) -> Params:
    return {d.name: d.snap(float(v)) for d, v in zip(space, u, strict=True)}


def _next_point(gp: GaussianProcess, best: float, d: int, rng: np.random.Generator) -> Array:
    candidates = rng.random((2000, d))
    mean, std = gp.predict(candidates)
    return candidates[int(np.argmax(expected_improvement(mean, std, best)))]  # type: ignore[no-any-return]


def _propose(
    result: OptimisationResult, space: Sequence[Dimension], rng: np.random.Generator
) -> Array:
    """The next point (in unit coordinates): random until two finite values exist."""
    done = [e for e in result.evaluations if math.isfinite(e.value)]
    if len(done) < 2:
        return rng.random(len(space))
    units = np.array([[s.unit(e.params[s.name]) for s in space] for e in done])
    values = np.array([e.value for e in done])
    errors = np.array([e.error if math.isfinite(e.error) else 0.0 for e in done])
    gp = GaussianProcess().fit(units, values, errors)
    return _next_point(gp, float(values.min()), len(space), rng)


def bayesian_search(
    objective: Objective,
    space: Sequence[Dimension],
    *,
    n_initial: int = 5,
    n_iterations: int = 15,
    seed: int = 0,
) -> OptimisationResult:
    """Minimise `objective` over `space` by Bayesian optimisation.

    `n_initial` points (a Latin hypercube) start the model; each of `n_iterations` further
    points maximises the expected improvement of the Gaussian-process model.

    Example
    -------
    >>> space = [Dimension("a", 0.0, 4.0)]
    >>> r = bayesian_search(lambda p: ((p["a"] - 2.5) ** 2, 0.0), space, n_iterations=8)
    >>> bool(abs(r.best.params["a"] - 2.5) < 0.2)
    True
    """
    if not space:
        raise ConfigError("bayesian_search: empty parameter space")
    rng = np.random.default_rng(seed)
    d = len(space)
    result = OptimisationResult("bayesian")
    strata = np.argsort(rng.random((n_initial, d)), axis=0) + rng.random((n_initial, d))
    points = list(strata / n_initial)
    for i in range(n_initial + n_iterations):
        if i >= n_initial:
            points.append(_propose(result, space, rng))
        params = _to_params(space, points[i])
        result.evaluations.append(Evaluation(params, *map(float, objective(params))))
    return result
