"""Distributions, histograms and fits.

Distributions declare their parameters and domains once; numba kernels (compiled on first
use, cached on disk) give pdf and cdf, and the base derives the checked, range-normalised and
extended forms and the fit limits. Extended signal + background models (:class:`AreaSum`)
share parameters by name. Fits run iminuit and return a :class:`FitResult`.

Importing this package imports neither numba nor scipy nor iminuit.

Example
-------
>>> import numpy as np
>>> from tierflow import math as tm
>>> float(tm.gaussian.cdf(0.0, 0.0, 2.0)[0])
0.5
>>> tm.hpge_peak.names
('x_lo', 'x_hi', 'n_sig', 'mu', 'sigma', 'htail', 'tau', 'n_bkg', 'hstep')
"""

from __future__ import annotations

from tierflow.math._base import Distribution, DomainError, Mixture, Parameter
from tierflow.math._builtin import (
    DISTRIBUTIONS,
    MODELS,
    aoe_peak,
    crystal_ball,
    exgauss,
    exgauss_area,
    exponential,
    gauss_area,
    gauss_on_exgauss,
    gauss_on_linear,
    gauss_on_step,
    gauss_on_uniform,
    gaussian,
    hpge_peak,
    linear,
    moyal,
    poisson,
    step,
    uniform,
)
from tierflow.math._fit import (
    Cost,
    FitResult,
    GofMethod,
    fit_binned,
    fit_curve,
    fit_unbinned,
    goodness_of_fit,
    minimize,
)
from tierflow.math._histogram import (
    FwfmMethod,
    bin_centers,
    bin_widths,
    find_bin,
    fwfm,
    fwhm,
    gauss_mode_width_max,
    gaussian_guess,
    get_hist,
    local_extrema,
    local_maxima,
)
from tierflow.math._peakshape import GaussianPeak, ModeError, PeakShape, TailedPeak
from tierflow.math._poly import poly
from tierflow.math._robust import RobustCovariance, min_cov_det
from tierflow.math._sum import AreaSum, Component

__all__ = [
    "DISTRIBUTIONS",
    "MODELS",
    "AreaSum",
    "Component",
    "Cost",
    "Distribution",
    "DomainError",
    "FitResult",
    "FwfmMethod",
    "GaussianPeak",
    "GofMethod",
    "Mixture",
    "ModeError",
    "Parameter",
    "PeakShape",
    "RobustCovariance",
    "TailedPeak",
    "aoe_peak",
    "bin_centers",
    "bin_widths",
    "crystal_ball",
    "exgauss",
    "exgauss_area",
    "exponential",
    "find_bin",
    "fit_binned",
    "fit_curve",
    "fit_unbinned",
    "fwfm",
    "fwhm",
    "gauss_area",
    "gauss_mode_width_max",
    "gauss_on_exgauss",
    "gauss_on_linear",
    "gauss_on_step",
    "gauss_on_uniform",
    "gaussian",
    "gaussian_guess",
    "get_hist",
    "goodness_of_fit",
    "hpge_peak",
    "linear",
    "local_extrema",
    "local_maxima",
    "min_cov_det",
    "minimize",
    "moyal",
    "poisson",
    "poly",
    "step",
    "uniform",
]
