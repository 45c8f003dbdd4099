"""Extended sums of distributions with named, shared parameters (signal + background models)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from tierflow.math._base import Array, Distribution, DomainError, Limits, Parameter, as_array

if TYPE_CHECKING:
    from tierflow.math._peakshape import PeakShape

__all__ = ["AreaSum", "Component"]

AREA = Parameter("area", 0.0, math.inf, closed=(True, False))
RANGE_NAMES = ("x_lo", "x_hi")


@dataclass(frozen=True)
class Component:
    """One term of an :class:`AreaSum`: a distribution, the sum parameters it takes, its area.

    Parameters
    ----------
    dist
        The (normalised) distribution.
    takes
        For each parameter of `dist`, the name of the sum parameter passed to it.
    area
        Name of the sum parameter giving the number of events in this term.
    """

    dist: Distribution
    takes: tuple[str, ...]
    area: str


class AreaSum:
    """``sum_i area_i * dist_i(x)``: an extended model whose parameters are shared by name.

    The fit range ``x_lo``, ``x_hi`` is always a parameter (normally fixed in fits); terms
    with a bounded support (a step, a line) take it too. :meth:`pdf_ext` is what extended
    unbinned likelihoods need: the expected count in the range and the density.

    Parameters
    ----------
    name
        Registry name, e.g. ``"hpge_peak"``.
    names
        All parameters, in order (must include ``x_lo`` and ``x_hi``).
    components
        The terms.
    peak
        Optional peak-shape helper giving FWHM and mode of the signal term.

    Example
    -------
    >>> from tierflow.math import gauss_on_step
    >>> gauss_on_step.names
    ('x_lo', 'x_hi', 'n_sig', 'mu', 'sigma', 'n_bkg', 'hstep')
    """

    def __init__(
        self,
        name: str,
        names: Sequence[str],
        components: Sequence[Component],
        peak: PeakShape | None = None,
    ) -> None:
        self.name = name
        self.names = tuple(names)
        self.components = tuple(components)
        self.peak = peak
        self.parameters = tuple(self._declare(n) for n in self.names)
        self._idx = [np.array([self.names.index(t) for t in c.takes]) for c in components]
        self._area = [self.names.index(c.area) for c in components]
        self._range = (self.names.index("x_lo"), self.names.index("x_hi"))

    def _declare(self, name: str) -> Parameter:
        if name in RANGE_NAMES:
            return Parameter(name)
        for comp in self.components:
            if comp.area == name:
                return Parameter(name, AREA.low, AREA.high, AREA.closed)
            if name in comp.takes:
                par = comp.dist.parameters[comp.takes.index(name)]
                return Parameter(name, par.low, par.high, par.closed)
        raise DomainError(f"{self.name}: parameter {name!r} is used by no term", obj=name)

    def __repr__(self) -> str:
        return f"<AreaSum {self.name}({', '.join(self.names)})>"

    def index(self, name: str) -> int:
        """Position of parameter `name`."""
        return self.names.index(name)

    def limits(self) -> dict[str, Limits]:
        """Fit limits of every parameter, from the domains."""
        return {p.name: p.limits for p in self.parameters}

    def check(self, *pars: float) -> Array:
        """Return `pars` as an array; raise :class:`DomainError` when one is out of its domain."""
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
        if not values[self._range[0]] < values[self._range[1]]:
            raise DomainError(f"{self.name}: x_lo must be below x_hi", obj=self.name)
        return values

    # -- fast unchecked forms (used by fits) -----------------------------------------------
    def _terms(self, method: str, x: Array, pars: Array) -> list[Array]:
        return [
            pars[a] * getattr(c.dist, method)(x, pars[i])
            for c, i, a in zip(self.components, self._idx, self._area, strict=False)
        ]

    def density(self, x: ArrayLike, *pars: float) -> Array:
        """Expected events per unit of x (the sum of area * density of every term)."""
        terms = self._terms("_pdf", as_array(x), np.asarray(pars, dtype=np.float64))
        return np.sum(terms, axis=0)  # type: ignore[no-any-return]

    def cumulative(self, x: ArrayLike, *pars: float) -> Array:
        """Expected events below `x` (for binned extended likelihoods: differences of this)."""
        terms = self._terms("_cdf", as_array(x), np.asarray(pars, dtype=np.float64))
        return np.sum(terms, axis=0)  # type: ignore[no-any-return]

    def integral(self, pars: ArrayLike) -> float:
        """Expected events inside ``[x_lo, x_hi]``."""
        values = np.asarray(pars, dtype=np.float64)
        ends = np.array([values[self._range[0]], values[self._range[1]]])
        cum = self.cumulative(ends, *values)
        return float(cum[1] - cum[0])

    def pdf_ext(self, x: ArrayLike, *pars: float) -> tuple[float, Array]:
        """(expected events in the range, density at `x`): the extended-likelihood model."""
        return self.integral(pars), self.density(x, *pars)

    def pdf_norm(self, x: ArrayLike, *pars: float) -> Array:
        """Density normalised to 1 on ``[x_lo, x_hi]``."""
        return self.density(x, *pars) / self.integral(pars)

    def component_densities(self, x: ArrayLike, *pars: float) -> list[Array]:
        """Each term's area * density at `x` (for plots)."""
        return self._terms("_pdf", as_array(x), self.check(*pars))

    def total_events(self, pars: ArrayLike) -> float:
        """Sum of the areas."""
        values = np.asarray(pars, dtype=np.float64)
        return float(sum(values[a] for a in self._area))
