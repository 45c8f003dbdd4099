"""Peak-shape quantities of fitted peaks: FWHM, full width at any fraction, mode, with errors.

Two shapes: a Gaussian (``gauss_on_step``, ``gauss_on_linear``...) and the HPGe peak,
``(1 - htail) gauss + htail exgauss`` with a low-side exponential tail (``hpge_peak``).
Errors of the HPGe widths come from linear propagation through the implicit equations of the
crossing points; the error of its mode is the spread of the mode over parameter sets drawn from
the covariance (seeded, so results are reproducible).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from tierflow.math._jit import get_kernel

__all__ = ["GaussianPeak", "PeakShape", "TailedPeak", "ModeError"]

Array = NDArray[np.float64]
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


class ModeError(Enum):
    """How the error of the mode of a tailed peak is estimated."""

    BOOTSTRAP = "bootstrap"  # spread over 10,000 parameter sets drawn from the covariance
    LINEAR = "linear"  # linear propagation through d(slope)/d(par) / d(slope)/dx


class PeakShape:
    """Base: width and mode of a peak from its fit parameters.

    Parameters
    ----------
    names
        The model's parameter names (the shape looks up ``mu``, ``sigma``... by name).
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)

    def _get(self, values: Array, name: str) -> float:
        return float(values[self.names.index(name)])

    def _var(self, cov: Array | None, name: str) -> float:
        if cov is None:
            return math.nan
        i = self.names.index(name)
        return float(cov[i, i])

    def fwfm(
        self, values: Array, cov: Array | None = None, frac: float = 0.5
    ) -> tuple[float, float]:
        """Full width at `frac` of the maximum and its error (NaN without `cov`)."""
        factor = 2.0 * math.sqrt(-2.0 * math.log(frac))
        return factor * self._get(values, "sigma"), factor * math.sqrt(self._var(cov, "sigma"))

    def fwhm(self, values: Array, cov: Array | None = None) -> tuple[float, float]:
        """Full width at half maximum and its error."""
        return self.fwfm(values, cov, 0.5)

    def mode(self, values: Array, cov: Array | None = None) -> tuple[float, float]:
        """Position of the maximum and its error."""
        return self._get(values, "mu"), math.sqrt(self._var(cov, "mu"))


class GaussianPeak(PeakShape):
    """A Gaussian signal: FWHM = 2.3548 sigma, mode = mu."""


class TailedPeak(PeakShape):
    """Gaussian plus a low-side exponentially modified Gaussian (``htail``, ``tau``)."""

    SHAPE = ("mu", "sigma", "htail", "tau")

    def __init__(
        self,
        names: Sequence[str],
        mode_error: ModeError = ModeError.BOOTSTRAP,
        n_boot: int = 10_000,
    ) -> None:
        super().__init__(names)
        self.mode_error = mode_error
        self.n_boot = n_boot

    def _shape(self, values: Array) -> tuple[float, float, float, float]:
        mu, sigma, htail, tau = (self._get(values, n) for n in self.SHAPE)
        return mu, sigma, htail, tau

    def _crossings(self, mu: float, sigma: float, htail: float, tau: float, frac: float):  # type: ignore[no-untyped-def]
        from scipy.optimize import brentq

        shape = get_kernel("hpge_shape")
        x_max = float(
            get_kernel("hpge_modes")(*(np.array([v]) for v in (mu, sigma, htail, tau)))[0]
        )
        level = frac * shape(x_max, mu, sigma, htail, tau)

        def excess(x: float) -> float:
            return float(shape(x, mu, sigma, htail, tau) - level)

        reach = 2.5 * sigma / 2 + htail * tau
        lo = x_max - reach
        while excess(lo) > 0:
            lo -= reach
        hi = x_max + 2.5 * sigma / 2
        while excess(hi) > 0:
            hi += sigma
        return x_max, brentq(excess, lo, x_max), brentq(excess, x_max, hi)

    def _gradient(self, x: float, shape_pars: Array) -> Array:
        """d shape(x) / d (mu, sigma, htail, tau) by central differences."""
        shape = get_kernel("hpge_shape")
        grad = np.empty(4)
        for k in range(4):
            step = 1e-6 * max(abs(shape_pars[k]), 1e-3)
            up, down = shape_pars.copy(), shape_pars.copy()
            up[k] += step
            down[k] -= step
            grad[k] = (shape(x, *up) - shape(x, *down)) / (2 * step)
        return grad

    def _shape_cov(self, cov: Array) -> Array:
        idx = [self.names.index(n) for n in self.SHAPE]
        return np.asarray(cov)[np.ix_(idx, idx)]

    def fwfm(
        self, values: Array, cov: Array | None = None, frac: float = 0.5
    ) -> tuple[float, float]:
        mu, sigma, htail, tau = self._shape(values)
        if not 0 <= htail <= 1:
            return math.nan, math.nan
        x_max, lo, hi = self._crossings(mu, sigma, htail, tau, frac)
        if cov is None:
            return hi - lo, math.nan
        slope = get_kernel("hpge_slope")
        pars = np.array([mu, sigma, htail, tau])
        at_max = frac * self._gradient(x_max, pars)
        d_lo = (self._gradient(lo, pars) - at_max) / -slope(lo, *pars)
        d_hi = (self._gradient(hi, pars) - at_max) / -slope(hi, *pars)
        grad = d_hi - d_lo
        return hi - lo, float(np.sqrt(grad @ self._shape_cov(cov) @ grad))

    def mode(self, values: Array, cov: Array | None = None) -> tuple[float, float]:
        mu, sigma, htail, tau = self._shape(values)
        modes = get_kernel("hpge_modes")
        mode = float(modes(*(np.array([v]) for v in (mu, sigma, htail, tau)))[0])
        if cov is None:
            return mode, math.nan
        if self.mode_error is ModeError.LINEAR:
            return mode, self._linear_mode_error(mode, values, cov)
        return mode, self._bootstrap_mode_error(values, cov)

    def _bootstrap_mode_error(self, values: Array, cov: Array) -> float:
        # parameters drawn as (n_sig, mu, sigma, htail, tau, n_bkg, hstep): the peak's own
        # parameters without the fit range; amplitudes do not move the mode
        keep = [i for i, n in enumerate(self.names) if n not in ("x_lo", "x_hi")]
        names = [self.names[i] for i in keep]
        centre = np.zeros(len(keep))
        for k, name in enumerate(names):
            if name in self.SHAPE:
                centre[k] = values[self.names.index(name)]
            elif name.startswith("n_sig"):
                centre[k] = 1.0
        sub = np.asarray(cov)[np.ix_(keep, keep)]
        draws = np.random.default_rng(1).multivariate_normal(centre, sub, size=self.n_boot)
        cols = [draws[:, names.index(n)].copy() for n in self.SHAPE]
        return float(np.nanstd(get_kernel("hpge_modes")(*cols)))

    def _linear_mode_error(self, mode: float, values: Array, cov: Array) -> float:
        slope = get_kernel("hpge_slope")
        pars = np.array(self._shape(values))
        grad = np.empty(4)
        for k in range(4):
            step = 1e-6 * max(abs(pars[k]), 1e-3)
            up, down = pars.copy(), pars.copy()
            up[k] += step
            down[k] -= step
            grad[k] = (slope(mode, *up) - slope(mode, *down)) / (2 * step)
        h = 1e-4 * pars[1]
        curvature = (slope(mode + h, *pars) - slope(mode - h, *pars)) / (2 * h)
        jac = -grad / curvature
        return float(np.sqrt(jac @ self._shape_cov(cov) @ jac))
