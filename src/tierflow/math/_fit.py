"""Fits with iminuit that return a :class:`FitResult` (never NaNs in place of a reason)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import FormatError

__all__ = [
    "Cost",
    "FitResult",
    "GofMethod",
    "Model",
    "fit_binned",
    "fit_curve",
    "fit_unbinned",
    "goodness_of_fit",
    "minimize",
]

Array = NDArray[np.float64]
Limits = tuple[float | None, float | None]
FIT_ERRORS = (
    FloatingPointError,
    ValueError,
    ZeroDivisionError,
    RuntimeError,
    np.linalg.LinAlgError,
)


class Model(Protocol):
    """What the fits need from a model: parameter names and fit limits."""

    names: tuple[str, ...]
    name: str

    def limits(self) -> dict[str, Limits]: ...


class Cost(Enum):
    """Cost function of a binned fit."""

    POISSON = "poisson"  # binned (extended) Poisson likelihood
    LEAST_SQUARES = "least_squares"  # chi-square with the bin variances


class GofMethod(Enum):
    """Denominator of a histogram chi-square."""

    PEARSON = "pearson"  # expected counts
    NEYMAN = "neyman"  # observed counts
    VAR = "var"  # given variances
    LIKELIHOOD_RATIO = "likelihood_ratio"  # Baker-Cousins Poisson likelihood ratio


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Outcome of a fit: values, errors, covariance, validity with a reason, goodness of fit.

    Example
    -------
    >>> r = FitResult("line", ("a", "b"), (1.0, 2.0), (0.1, 0.2), valid=True)
    >>> r["b"], FitResult.from_dict(r.to_dict()) == r
    (2.0, True)
    """

    FORMAT_VERSION: ClassVar[int] = 1

    model: str
    names: tuple[str, ...]
    values: tuple[float, ...]
    errors: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...] = ()
    fixed: tuple[bool, ...] = ()
    valid: bool = False
    reason: str = ""
    fval: float = math.nan
    chi2: float = math.nan
    ndof: int = 0
    p_value: float = math.nan
    n_calls: int = 0

    def __getitem__(self, name: str) -> float:
        return self.values[self._index(name)]

    def _index(self, name: str) -> int:
        if name not in self.names:
            from tierflow.errors import NotFoundError

            raise NotFoundError(
                f"fit of {self.model} has no parameter {name!r}", obj=name, candidates=self.names
            )
        return self.names.index(name)

    def error(self, name: str) -> float:
        """Error of parameter `name`."""
        return self.errors[self._index(name)]

    @property
    def value_array(self) -> Array:
        """The values as an array, in parameter order."""
        return np.asarray(self.values, dtype=np.float64)

    @property
    def cov(self) -> Array:
        """The covariance matrix (zeros in the rows and columns of fixed parameters)."""
        if not self.covariance:
            return np.full((len(self.names),) * 2, np.nan)
        return np.asarray(self.covariance, dtype=np.float64)

    def as_dict(self) -> dict[str, float]:
        """Parameter name → value."""
        return dict(zip(self.names, self.values, strict=False))

    def with_gof(self, chi2: float, ndof: int) -> FitResult:
        """A copy with the chi-square, its degrees of freedom and the p-value filled in."""
        from scipy.stats import chi2 as chi2_dist

        p = float(chi2_dist.sf(chi2, ndof)) if ndof > 0 else math.nan
        return dataclasses.replace(self, chi2=float(chi2), ndof=int(ndof), p_value=p)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON/YAML ready), with a format version."""
        out = dataclasses.asdict(self)
        out["names"], out["values"], out["errors"] = (
            list(self.names),
            list(self.values),
            list(self.errors),
        )
        out["covariance"] = [list(row) for row in self.covariance]
        out["fixed"] = list(self.fixed)
        return {"format_version": self.FORMAT_VERSION, **out}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitResult:
        """Inverse of :meth:`to_dict`; refuses other format versions and unknown keys."""
        data = dict(data)
        version = data.pop("format_version", None)
        if version != cls.FORMAT_VERSION:
            raise FormatError(f"FitResult format_version {version!r} is not {cls.FORMAT_VERSION}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise FormatError(f"FitResult has no field(s) {sorted(unknown)}")
        data["names"] = tuple(data["names"])
        data["values"] = tuple(float(v) for v in data["values"])
        data["errors"] = tuple(float(v) for v in data["errors"])
        data["covariance"] = tuple(
            tuple(float(v) for v in row) for row in data.get("covariance", ())
        )
        data["fixed"] = tuple(bool(v) for v in data.get("fixed", ()))
        return cls(**data)

    @classmethod
    def failed(
        cls, model: str, names: Sequence[str], guess: Sequence[float], reason: str
    ) -> FitResult:
        """An invalid result that keeps the starting values and says why."""
        n = len(names)
        return cls(
            model,
            tuple(names),
            tuple(map(float, guess)),
            (math.nan,) * n,
            valid=False,
            reason=reason,
        )


def _reason(m: Any) -> str:
    fmin = m.fmin
    if fmin is None:
        return "the minimiser did not run"
    problems = [
        text
        for flag, text in (
            (not fmin.is_valid, "minimum not valid"),
            (fmin.has_reached_call_limit, "call limit reached"),
            (fmin.is_above_max_edm, "EDM above maximum"),
            (not fmin.has_accurate_covar, "covariance not accurate"),
            (fmin.has_made_posdef_covar, "covariance forced positive-definite"),
        )
        if flag
    ]
    return "; ".join(problems)


def minimize(
    cost: Any,
    guess: Sequence[float],
    *,
    model: str = "",
    limits: Mapping[str, Limits] | None = None,
    fixed: Iterable[str] = (),
    steps: Sequence[str] = ("migrad",),
    tol: float | None = None,
) -> tuple[FitResult, Any]:
    """Run iminuit on `cost` from `guess`: the given steps (``simplex``/``migrad``) then HESSE.

    Returns the :class:`FitResult` and the Minuit object. Failures that numerical code raises
    (overflow, singular matrices) give an invalid result with the reason, never an exception.
    """
    from iminuit import Minuit

    m = Minuit(cost, *map(float, guess))
    names = tuple(m.parameters)
    if tol is not None:
        m.tol = tol
    for name, lim in (limits or {}).items():
        lo, hi = lim
        m.limits[name] = (-math.inf if lo is None else lo, math.inf if hi is None else hi)
    for name in fixed:
        m.fixed[name] = True
    try:
        for step in steps:
            getattr(m, step)()
        m.hesse()
    except FIT_ERRORS as error:
        return FitResult.failed(model, names, guess, f"{type(error).__name__}: {error}"), m
    return _result(m, model), m


def _result(m: Any, model: str) -> FitResult:
    names = tuple(m.parameters)
    values = tuple(float(v) for v in m.values)
    errors = tuple(float(e) for e in m.errors)
    free = [not f for f in m.fixed]
    cov: tuple[tuple[float, ...], ...] = ()
    if m.covariance is not None:
        cov = tuple(tuple(float(v) for v in row) for row in np.asarray(m.covariance))
    reason = "" if m.valid else _reason(m) or "minimum not valid"
    free_errors = np.array([e for e, f in zip(errors, free, strict=False) if f])
    if free_errors.size and not np.all(np.isfinite(free_errors)):
        reason = "; ".join(filter(None, [reason, "non-finite parameter errors"]))
    elif free_errors.size and np.all(free_errors == 0):
        reason = "; ".join(filter(None, [reason, "all parameter errors are zero"]))
    return FitResult(
        model,
        names,
        values,
        errors,
        cov,
        tuple(bool(f) for f in m.fixed),
        valid=not reason,
        reason=reason,
        fval=float(m.fval),
        n_calls=int(m.nfcn),
    )


def _model_limits(model: Model, limits: Mapping[str, Limits] | None) -> dict[str, Limits]:
    out = model.limits()
    out.update(limits or {})
    return out


def fit_unbinned(
    model: Any,
    data: ArrayLike,
    guess: Sequence[float],
    *,
    extended: bool = True,
    fixed: Iterable[str] = ("x_lo", "x_hi"),
    limits: Mapping[str, Limits] | None = None,
    simplex: bool = False,
) -> FitResult:
    """Unbinned maximum-likelihood fit of an :class:`~tierflow.math.AreaSum` model to `data`.

    Parameters
    ----------
    model
        An extended model (``pdf_ext``) for extended fits, or anything with ``pdf_norm``.
    data
        The events (those outside ``[x_lo, x_hi]`` of the guess should be removed first).
    guess
        Starting values, in ``model.names`` order.
    extended
        Extended likelihood (fits the numbers of events) or shape-only.
    fixed
        Parameters held at their guess (by default the fit range).
    limits
        Extra or tighter limits on top of those the domains give.
    simplex
        Run SIMPLEX before MIGRAD.

    Example
    -------
    >>> import numpy as np
    >>> from tierflow.math import gauss_on_step, fit_unbinned
    >>> x = np.random.default_rng(1).normal(10, 1, 2000)
    >>> r = fit_unbinned(gauss_on_step, x[(x > 5) & (x < 15)], [5, 15, 2000, 10, 1, 10, 0])
    >>> r.valid, abs(r["mu"] - 10) < 0.1
    (True, True)
    """
    from iminuit import cost

    x = np.ascontiguousarray(np.asarray(data, dtype=np.float64))
    names = list(model.names)
    if extended:
        c = cost.ExtendedUnbinnedNLL(x, model.pdf_ext, name=names)
    else:
        c = cost.UnbinnedNLL(x, model.pdf_norm, name=names)
    steps = ("simplex", "migrad") if simplex else ("migrad",)
    result, _ = minimize(
        c, guess, model=model.name, limits=_model_limits(model, limits), fixed=fixed, steps=steps
    )
    return result


def fit_binned(
    model: Any,
    counts: ArrayLike,
    edges: ArrayLike,
    guess: Sequence[float],
    *,
    cost: Cost = Cost.POISSON,
    var: ArrayLike | None = None,
    fixed: Iterable[str] = ("x_lo", "x_hi"),
    limits: Mapping[str, Limits] | None = None,
    simplex: bool = False,
) -> FitResult:
    """Binned fit of an extended model to a histogram (Poisson likelihood or least squares).

    The chi-square (Pearson) and p-value of the result are filled in.

    Example
    -------
    >>> import numpy as np
    >>> from tierflow.math import gauss_on_step, fit_binned
    >>> n, e = np.histogram(np.random.default_rng(2).normal(0, 1, 5000), 60, (-5, 5))
    >>> fit_binned(gauss_on_step, n, e, [-5, 5, 5000, 0, 1, 10, 0]).valid
    True
    """
    from iminuit import cost as costs

    n = np.asarray(counts, dtype=np.float64)
    xe = np.asarray(edges, dtype=np.float64)
    names = list(model.names)
    if cost is Cost.POISSON:
        c = costs.ExtendedBinnedNLL(n, xe, model.cumulative, name=names)
    else:
        variance = n if var is None else np.asarray(var, dtype=np.float64)
        keep = ~((n == 0) & (variance == 0))
        centres, widths = 0.5 * (xe[1:] + xe[:-1]), np.diff(xe)

        def expected(x: Array, *pars: float) -> Array:
            return model.density(x, *pars) * widths[keep]  # type: ignore[no-any-return]

        c = costs.LeastSquares(
            centres[keep],
            n[keep],
            np.sqrt(np.where(variance[keep] > 0, variance[keep], 1.0)),
            expected,
            name=names,
        )
    steps = ("simplex", "migrad") if simplex else ("migrad",)
    result, _ = minimize(
        c, guess, model=model.name, limits=_model_limits(model, limits), fixed=fixed, steps=steps
    )
    chi2, ndof = goodness_of_fit(n, xe, model.density, result.values, n_fixed=sum(result.fixed))
    return result.with_gof(chi2, ndof)


def fit_curve(
    func: Callable[..., Any],
    x: ArrayLike,
    y: ArrayLike,
    yerr: ArrayLike,
    guess: Sequence[float],
    *,
    names: Sequence[str],
    limits: Mapping[str, Limits] | None = None,
    fixed: Iterable[str] = (),
    steps: Sequence[str] = ("migrad",),
    loss: str = "linear",
    model: str = "",
) -> FitResult:
    """Least-squares fit of ``y +- yerr = func(x, *pars)``; chi-square and p-value filled in.

    Example
    -------
    >>> import numpy as np
    >>> r = fit_curve(lambda x, a, b: a + b * x, [0, 1, 2], [1, 3, 5], [0.1] * 3, [0, 1],
    ...               names=["a", "b"])
    >>> round(r["b"], 6)
    2.0
    """
    from iminuit import cost

    c = cost.LeastSquares(
        np.asarray(x, dtype=np.float64),
        np.asarray(y, dtype=np.float64),
        np.asarray(yerr, dtype=np.float64),
        func,
        loss=loss,
        name=list(names),
    )
    result, m = minimize(c, guess, model=model, limits=limits, fixed=fixed, steps=steps)
    n_free = sum(not f for f in result.fixed) if result.fixed else len(names)
    return result.with_gof(float(m.fval), len(np.atleast_1d(x)) - n_free)


def goodness_of_fit(
    counts: ArrayLike,
    edges: ArrayLike,
    density: Callable[..., Array],
    pars: Sequence[float],
    *,
    method: GofMethod = GofMethod.PEARSON,
    var: ArrayLike | None = None,
    n_fixed: int = 0,
) -> tuple[float, int]:
    """Chi-square of a histogram against ``density(centres, *pars) * bin width``.

    Degrees of freedom: bins minus free parameters (``len(pars) - n_fixed``).
    """
    n = np.asarray(counts, dtype=np.float64)
    xe = np.asarray(edges, dtype=np.float64)
    expected = density(0.5 * (xe[1:] + xe[:-1]), *pars) * np.diff(xe)
    ndof = len(n) - (len(pars) - n_fixed)
    if method is GofMethod.LIKELIHOOD_RATIO:
        ratio = np.where(n > 0, n * np.log((n + 1e-99) / (expected + 1e-99)), 0.0)
        return float(2 * np.sum(expected - n + ratio)), ndof
    denominators = {
        GofMethod.PEARSON: expected,
        GofMethod.NEYMAN: n,
        GofMethod.VAR: None if var is None else np.asarray(var, dtype=np.float64),
    }
    denominator = denominators[method]
    if denominator is None or np.any(denominator == 0):
        raise ValueError(f"goodness_of_fit: {method.value} chi-square needs non-zero denominators")
    return float(np.sum((n - expected) ** 2 / denominator)), ndof
