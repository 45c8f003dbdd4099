"""Distributions that declare their parameters and domains once.

A :class:`Distribution` is a name, an ordered tuple of :class:`Parameter` (each with its
domain) and two numba kernels, ``pdf(x, *pars)`` and ``cdf(x, *pars)``. Everything else is
derived here: checked evaluation, the forms normalised on a range, the extended forms used by
extended likelihood fits, and the fit limits (from the domains).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import TierflowError
from tierflow.math._jit import get_kernel

__all__ = ["Distribution", "DomainError", "Mixture", "Parameter", "as_array"]

Array = NDArray[np.float64]
Limits = tuple[float | None, float | None]


class DomainError(TierflowError, ValueError):
    """Parameters outside the domain their distribution declares."""


def as_array(x: ArrayLike) -> Array:
    """`x` as a contiguous 1-d float64 array (scalars become length-1 arrays)."""
    return np.ascontiguousarray(np.atleast_1d(np.asarray(x, dtype=np.float64)).ravel())


@dataclass(frozen=True)
class Parameter:
    """A named parameter and its domain ``low .. high``.

    Parameters
    ----------
    name
        The parameter name, as used by fits and in results.
    low, high
        Bounds of the domain (may be infinite).
    closed
        Whether `low` and `high` themselves belong to the domain.

    Example
    -------
    >>> Parameter("sigma", 0.0).contains(0.0)
    False
    """

    name: str
    low: float = -math.inf
    high: float = math.inf
    closed: tuple[bool, bool] = (False, False)

    def contains(self, value: float) -> bool:
        """Whether `value` is inside the domain (NaN never is)."""
        if math.isnan(value):
            return False
        above = value >= self.low if self.closed[0] else value > self.low
        below = value <= self.high if self.closed[1] else value < self.high
        return above and below

    @property
    def limits(self) -> Limits:
        """The domain as fit limits (``None`` for an infinite bound)."""
        return (
            None if math.isinf(self.low) else self.low,
            None if math.isinf(self.high) else self.high,
        )

    def describe(self) -> str:
        """The domain as text, e.g. ``(0, inf)`` or ``[0, 1]``."""
        left = "[" if self.closed[0] else "("
        right = "]" if self.closed[1] else ")"
        return f"{left}{self.low:g}, {self.high:g}{right}"


Constraint = Callable[[Array], "str | None"]


def ordered_range(names: Sequence[str]) -> Constraint:
    """A constraint that ``x_lo < x_hi`` for a distribution with those parameters."""
    i_lo, i_hi = names.index("x_lo"), names.index("x_hi")

    def check(pars: Array) -> str | None:
        return None if pars[i_lo] < pars[i_hi] else "x_lo must be below x_hi"

    return check


class Distribution:
    """A normalised probability distribution with declared parameters.

    Parameters
    ----------
    name
        Registry name, e.g. ``"gaussian"``.
    parameters
        Parameters in the order the kernels take them.
    pdf_kernel, cdf_kernel
        Names of the kernels in :mod:`tierflow.math._kernels`.
    constraint
        Optional check across parameters returning a reason when they do not fit together.

    Example
    -------
    >>> from tierflow.math import gaussian
    >>> float(gaussian.pdf(0.0, 0.0, 1.0)[0])  # doctest: +ELLIPSIS
    0.398942...
    """

    def __init__(
        self,
        name: str,
        parameters: Sequence[Parameter],
        pdf_kernel: str = "",
        cdf_kernel: str = "",
        constraint: Constraint | None = None,
    ) -> None:
        self.name = name
        self.parameters = tuple(parameters)
        self.names = tuple(p.name for p in self.parameters)
        self._kernels = (pdf_kernel, cdf_kernel)
        self._constraint = constraint

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}({', '.join(self.names)})>"

    # -- checks
    def check(self, *pars: float) -> Array:
        """`pars` as an array; :class:`DomainError` names any parameter out of its domain."""
        values = np.asarray(pars, dtype=np.float64)
        if values.shape != (len(self.names),):
            raise DomainError(
                f"{self.name} takes {len(self.names)} parameters {self.names}, got {len(pars)}",
                obj=self.name,
            )
        for par, value in zip(self.parameters, values, strict=False):
            if not par.contains(float(value)):
                raise DomainError(
                    f"{self.name}: {par.name}={value:g} is outside its domain {par.describe()}",
                    obj=par.name,
                )
        reason = self._constraint(values) if self._constraint else None
        if reason:
            raise DomainError(f"{self.name}: {reason}", obj=self.name)
        return values

    def limits(self) -> dict[str, Limits]:
        """Fit limits of every parameter, from the domains."""
        return {p.name: p.limits for p in self.parameters}

    # -- raw (unchecked) evaluation, the fast path used by fits ----------------------------
    def _pdf(self, x: Array, pars: Array) -> Array:
        return get_kernel(self._kernels[0])(x, *pars)  # type: ignore[no-any-return]

    def _cdf(self, x: Array, pars: Array) -> Array:
        return get_kernel(self._kernels[1])(x, *pars)  # type: ignore[no-any-return]

    # -- public, checked -------------------------------------------------------------------
    def pdf(self, x: ArrayLike, *pars: float) -> Array:
        """Probability density at `x`."""
        return self._pdf(as_array(x), self.check(*pars))

    def cdf(self, x: ArrayLike, *pars: float) -> Array:
        """Cumulative distribution at `x`."""
        return self._cdf(as_array(x), self.check(*pars))

    def pdf_norm(self, x: ArrayLike, x_lo: float, x_hi: float, *pars: float) -> Array:
        """Density normalised to 1 on ``[x_lo, x_hi]`` (0 outside)."""
        values, xs = self.check(*pars), as_array(x)
        norm = self._norm(x_lo, x_hi, values)
        inside = (xs >= x_lo) & (xs <= x_hi)
        return np.where(inside, self._pdf(xs, values) / norm, 0.0)

    def cdf_norm(self, x: ArrayLike, x_lo: float, x_hi: float, *pars: float) -> Array:
        """Cumulative distribution of :meth:`pdf_norm`."""
        values, xs = self.check(*pars), as_array(x)
        lo = self._cdf(as_array(x_lo), values)[0]
        norm = self._norm(x_lo, x_hi, values)
        inside = self._cdf(np.clip(xs, x_lo, x_hi), values)
        return np.asarray(np.clip((inside - lo) / norm, 0.0, 1.0), dtype=np.float64)

    def pdf_ext(
        self, x: ArrayLike, x_lo: float, x_hi: float, area: float, *pars: float
    ) -> tuple[float, Array]:
        """Extended form: (expected count in ``[x_lo, x_hi]``, ``area`` * density at `x`)."""
        values = self.check(*pars)
        return area * self._norm(x_lo, x_hi, values), area * self._pdf(as_array(x), values)

    def cdf_ext(self, x: ArrayLike, area: float, *pars: float) -> Array:
        """Extended cumulative form: ``area`` * cdf (expected count below `x`)."""
        return area * self._cdf(as_array(x), self.check(*pars))

    def _norm(self, x_lo: float, x_hi: float, values: Array) -> float:
        if not x_lo < x_hi:
            raise DomainError(f"{self.name}: range [{x_lo}, {x_hi}] is empty", obj=self.name)
        ends = self._cdf(np.array([x_lo, x_hi], dtype=np.float64), values)
        norm = float(ends[1] - ends[0])
        if not norm > 0:
            raise DomainError(f"{self.name}: no probability inside [{x_lo}, {x_hi}]", obj=self.name)
        return norm


class Mixture(Distribution):
    """``f * first + (1 - f) * second``: a normalised sum with a fraction parameter.

    Parameters
    ----------
    name
        Registry name.
    first, second
        The two distributions.
    parameters
        The mixture's parameters (including the fraction), in order.
    first_names, second_names
        For each parameter of `first` / `second`, the mixture parameter it takes.
    fraction
        Name of the fraction parameter (weight of `first`).
    """

    def __init__(
        self,
        name: str,
        first: Distribution,
        second: Distribution,
        parameters: Sequence[Parameter],
        first_names: Sequence[str],
        second_names: Sequence[str],
        fraction: str,
    ) -> None:
        super().__init__(name, parameters)
        self.first, self.second = first, second
        self._idx = (
            np.array([self.names.index(n) for n in first_names]),
            np.array([self.names.index(n) for n in second_names]),
        )
        self._frac = self.names.index(fraction)

    def _combine(self, method: str, x: Array, pars: Array) -> Array:
        f = pars[self._frac]
        a: Any = getattr(self.first, method)(x, pars[self._idx[0]])
        b: Any = getattr(self.second, method)(x, pars[self._idx[1]])
        return f * a + (1.0 - f) * b  # type: ignore[no-any-return]

    def _pdf(self, x: Array, pars: Array) -> Array:
        return self._combine("_pdf", x, pars)

    def _cdf(self, x: Array, pars: Array) -> Array:
        return self._combine("_cdf", x, pars)
