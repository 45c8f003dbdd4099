"""The built-in distributions and peak models, declared once and registered by name."""

from __future__ import annotations

import math

from tierflow.math._base import Distribution, Mixture, Parameter, ordered_range
from tierflow.math._peakshape import GaussianPeak, TailedPeak
from tierflow.math._sum import AreaSum, Component
from tierflow.registry import Registry

__all__ = [
    "DISTRIBUTIONS",
    "MODELS",
    "aoe_peak",
    "exgauss_area",
    "gauss_area",
    "crystal_ball",
    "exgauss",
    "exponential",
    "gauss_on_exgauss",
    "gauss_on_linear",
    "gauss_on_step",
    "gauss_on_uniform",
    "gaussian",
    "hpge_peak",
    "linear",
    "moyal",
    "poisson",
    "step",
    "uniform",
]

INF = math.inf


def _real(name: str) -> Parameter:
    return Parameter(name)


def _positive(name: str) -> Parameter:
    return Parameter(name, 0.0, INF)


def _unit(name: str, low: float = 0.0) -> Parameter:
    return Parameter(name, low, 1.0, closed=(True, True))


RANGE = (_real("x_lo"), _real("x_hi"))

gaussian = Distribution("gaussian", (_real("mu"), _positive("sigma")), "gauss_pdf", "gauss_cdf")
exgauss = Distribution(
    "exgauss",
    (_real("mu"), _positive("sigma"), _positive("tau")),
    "exgauss_pdf",
    "exgauss_cdf",
)
crystal_ball = Distribution(
    "crystal_ball",
    (_positive("beta"), Parameter("m", 1.0, INF), _real("mu"), _positive("sigma")),
    "crystal_ball_pdf",
    "crystal_ball_cdf",
)
exponential = Distribution(
    "exponential",
    (_real("mu"), _positive("sigma"), _positive("lamb")),
    "exponential_pdf",
    "exponential_cdf",
)
moyal = Distribution("moyal", (_real("mu"), _positive("sigma")), "moyal_pdf", "moyal_cdf")
poisson = Distribution("poisson", (_real("mu"), _positive("lamb")), "poisson_pdf", "poisson_cdf")
step = Distribution(
    "step",
    (*RANGE, _real("mu"), _positive("sigma"), _unit("hstep", -1.0)),
    "step_pdf",
    "step_cdf",
    constraint=ordered_range(("x_lo", "x_hi")),
)
uniform = Distribution(
    "uniform", RANGE, "uniform_pdf", "uniform_cdf", constraint=ordered_range(("x_lo", "x_hi"))
)


def _linear_constraint(pars):  # type: ignore[no-untyped-def]
    x_lo, x_hi, m, b = pars
    if not x_lo < x_hi:
        return "x_lo must be below x_hi"
    if m * x_lo + b < 0 or m * x_hi + b < 0:
        return "the line m*x+b must not be negative on [x_lo, x_hi]"
    if m * (x_lo + x_hi) / 2 + b <= 0:
        return "the line m*x+b must be positive on [x_lo, x_hi]"
    return None


linear = Distribution(
    "linear", (*RANGE, _real("m"), _real("b")), "linear_pdf", "linear_cdf", _linear_constraint
)

gauss_on_exgauss = Mixture(
    "gauss_on_exgauss",
    exgauss,
    gaussian,
    (_real("mu"), _positive("sigma"), _unit("htail"), _positive("tau")),
    first_names=("mu", "sigma", "tau"),
    second_names=("mu", "sigma"),
    fraction="htail",
)

_GOS = ("x_lo", "x_hi", "n_sig", "mu", "sigma", "n_bkg", "hstep")
gauss_on_step = AreaSum(
    "gauss_on_step",
    _GOS,
    (
        Component(gaussian, ("mu", "sigma"), "n_sig"),
        Component(step, ("x_lo", "x_hi", "mu", "sigma", "hstep"), "n_bkg"),
    ),
    peak=GaussianPeak(_GOS),
)

_HPGE = ("x_lo", "x_hi", "n_sig", "mu", "sigma", "htail", "tau", "n_bkg", "hstep")
hpge_peak = AreaSum(
    "hpge_peak",
    _HPGE,
    (
        Component(gauss_on_exgauss, ("mu", "sigma", "htail", "tau"), "n_sig"),
        Component(step, ("x_lo", "x_hi", "mu", "sigma", "hstep"), "n_bkg"),
    ),
    peak=TailedPeak(_HPGE),
)

_GOL = ("x_lo", "x_hi", "n_sig", "mu", "sigma", "n_bkg", "m", "b")
gauss_on_linear = AreaSum(
    "gauss_on_linear",
    _GOL,
    (
        Component(gaussian, ("mu", "sigma"), "n_sig"),
        Component(linear, ("x_lo", "x_hi", "m", "b"), "n_bkg"),
    ),
    peak=GaussianPeak(_GOL),
)

_GOU = ("x_lo", "x_hi", "n_sig", "mu", "sigma", "n_bkg")
gauss_on_uniform = AreaSum(
    "gauss_on_uniform",
    _GOU,
    (
        Component(gaussian, ("mu", "sigma"), "n_sig"),
        Component(uniform, ("x_lo", "x_hi"), "n_bkg"),
    ),
    peak=GaussianPeak(_GOU),
)

DISTRIBUTIONS: Registry[Distribution] = Registry(
    "distribution", entry_point_group="tierflow.distributions"
)
"""Normalised distributions by name."""
for _d in (
    gaussian,
    exgauss,
    crystal_ball,
    exponential,
    moyal,
    poisson,
    step,
    uniform,
    linear,
    gauss_on_exgauss,
):
    DISTRIBUTIONS.add(_d.name, _d)

_AOE = ("x_lo", "x_hi", "n_sig", "mu", "sigma", "n_bkg", "tau")
aoe_peak = AreaSum(
    "aoe_peak",
    _AOE,
    (
        Component(gaussian, ("mu", "sigma"), "n_sig"),
        Component(exgauss, ("mu", "sigma", "tau"), "n_bkg"),
    ),
    peak=GaussianPeak(_AOE),
)
"""A/E peak: Gaussian single-site events on a low-side exponentially modified Gaussian."""

_AREA_GAUSS = ("x_lo", "x_hi", "area", "mu", "sigma")
gauss_area = AreaSum(
    "gauss_area",
    _AREA_GAUSS,
    (Component(gaussian, ("mu", "sigma"), "area"),),
    peak=GaussianPeak(_AREA_GAUSS),
)
"""An extended Gaussian on a fit range: ``area`` events."""

exgauss_area = AreaSum(
    "exgauss_area",
    ("x_lo", "x_hi", "area", "mu", "sigma", "tau"),
    (Component(exgauss, ("mu", "sigma", "tau"), "area"),),
)
"""An extended exponentially modified Gaussian on a fit range: ``area`` events."""

MODELS: Registry[AreaSum] = Registry("peak model", entry_point_group="tierflow.peak_models")
"""Extended signal + background models by name (what energy calibrations fit)."""
for _m in (
    gauss_on_step,
    hpge_peak,
    gauss_on_linear,
    gauss_on_uniform,
    aoe_peak,
    gauss_area,
    exgauss_area,
):
    MODELS.add(_m.name, _m)
