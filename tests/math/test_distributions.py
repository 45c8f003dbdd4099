"""Distributions: normalisation, cdf = integral of pdf, domains, agreement with scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.integrate import quad

import tierflow.math as tm

# one valid parameter set per distribution, and the support to integrate over
CASES = {
    "gaussian": ((1.0, 2.0), (-30, 30)),
    "exgauss": ((1.0, 2.0, 3.0), (-80, 30)),
    "crystal_ball": ((1.5, 3.0, 1.0, 2.0), (-np.inf, 40)),
    "exponential": ((1.0, 2.0, 3.0), (1.0, 60)),
    "moyal": ((1.0, 2.0), (-20, 200)),
    "step": ((-2.0, 5.0, 1.0, 1.0, 0.3), (-2.0, 5.0)),
    "uniform": ((0.0, 3.0), (0.0, 3.0)),
    "linear": ((-2.0, 5.0, 0.3, 1.0), (-2.0, 5.0)),
    "gauss_on_exgauss": ((1.0, 2.0, 0.3, 3.0), (-80, 30)),
}
X = np.linspace(-6.0, 14.0, 41)


@pytest.mark.parametrize("name", sorted(CASES))
def test_pdf_integrates_to_one(name: str) -> None:
    dist = tm.DISTRIBUTIONS[name]
    pars, (lo, hi) = CASES[name]
    total, _ = quad(lambda x: dist.pdf(x, *pars)[0], lo, hi, limit=200)
    assert total == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cdf_is_integral_of_pdf(name: str) -> None:
    dist = tm.DISTRIBUTIONS[name]
    pars, (lo, hi) = CASES[name]
    a, b = max(lo, -3.0), min(hi, 4.0)
    integral, _ = quad(lambda x: dist.pdf(x, *pars)[0], a, b)
    cdf = dist.cdf(np.array([a, b]), *pars)
    assert cdf[1] - cdf[0] == pytest.approx(integral, abs=1e-9)
    assert dist.cdf(hi, *pars)[0] == pytest.approx(1.0, abs=1e-9)


SCIPY = {
    "gaussian": lambda x, mu, s: (stats.norm.pdf(x, mu, s), stats.norm.cdf(x, mu, s)),
    # pygama's convention: tau > 0 is a tail on the low side, the mirror of scipy's exponnorm
    "exgauss": lambda x, mu, s, tau: (
        stats.exponnorm.pdf(-x, tau / s, loc=-mu, scale=s),
        stats.exponnorm.sf(-x, tau / s, loc=-mu, scale=s),
    ),
    "crystal_ball": lambda x, beta, m, mu, s: (
        stats.crystalball.pdf(x, beta, m, loc=mu, scale=s),
        stats.crystalball.cdf(x, beta, m, loc=mu, scale=s),
    ),
    "exponential": lambda x, mu, s, lamb: (
        stats.expon.pdf(x, mu, s / lamb),
        stats.expon.cdf(x, mu, s / lamb),
    ),
    "moyal": lambda x, mu, s: (stats.moyal.pdf(x, mu, s), stats.moyal.cdf(x, mu, s)),
    "uniform": lambda x, lo, hi: (
        stats.uniform.pdf(x, lo, hi - lo),
        stats.uniform.cdf(x, lo, hi - lo),
    ),
}


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_equals_scipy(name: str) -> None:
    dist = tm.DISTRIBUTIONS[name]
    pars, _ = CASES[name]
    pdf, cdf = SCIPY[name](X, *pars)
    np.testing.assert_allclose(dist.pdf(X, *pars), pdf, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(dist.cdf(X, *pars), cdf, rtol=1e-10, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    mu=st.floats(-100, 100),
    sigma=st.floats(0.05, 20),
    ratio=st.floats(0.05, 20),
)
def test_exgauss_matches_scipy_over_parameters(mu: float, sigma: float, ratio: float) -> None:
    tau = ratio * sigma
    x = mu + sigma * np.linspace(-30, 8, 60)
    expected = stats.exponnorm.pdf(-x, tau / sigma, loc=-mu, scale=sigma)
    got = tm.exgauss.pdf(x, mu, sigma, tau)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-300)
    assert np.all(np.isfinite(tm.exgauss.cdf(x, mu, sigma, tau)))


def test_poisson_equals_scipy() -> None:
    k = np.arange(0, 30.0)
    np.testing.assert_allclose(tm.poisson.pdf(k, 0.0, 4.5), stats.poisson.pmf(k, 4.5), rtol=1e-12)
    np.testing.assert_allclose(tm.poisson.cdf(k, 0.0, 4.5), stats.poisson.cdf(k, 4.5), rtol=1e-12)
    assert tm.poisson.pdf(k, 0.0, 4.5).sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    ("dist", "pars", "bad"),
    [
        (tm.gaussian, (0.0, -1.0), "sigma"),
        (tm.gaussian, (math.nan, 1.0), "mu"),
        (tm.exgauss, (0.0, 1.0, 0.0), "tau"),
        (tm.step, (0.0, 1.0, 0.5, 1.0, 1.5), "hstep"),
        (tm.crystal_ball, (1.0, 0.5, 0.0, 1.0), "m"),
        (tm.gauss_on_exgauss, (0.0, 1.0, 1.2, 1.0), "htail"),
    ],
)
def test_out_of_domain_is_refused(dist: tm.Distribution, pars: tuple[float, ...], bad: str) -> None:
    with pytest.raises(tm.DomainError, match=bad) as info:
        dist.pdf(X, *pars)
    assert info.value.obj == bad


def test_constraints_and_arity_are_refused() -> None:
    with pytest.raises(tm.DomainError, match="x_lo must be below x_hi"):
        tm.uniform.pdf(X, 3.0, 1.0)
    with pytest.raises(tm.DomainError, match="negative"):
        tm.linear.pdf(X, 0.0, 10.0, -1.0, 1.0)
    with pytest.raises(tm.DomainError, match="takes 2 parameters"):
        tm.gaussian.pdf(X, 1.0)


@settings(max_examples=30, deadline=None)
@given(mu=st.floats(-5, 5), sigma=st.floats(0.1, 5), lo=st.floats(-10, 0), width=st.floats(0.5, 20))
def test_norm_on_range_integrates_to_one(mu: float, sigma: float, lo: float, width: float) -> None:
    hi = lo + width
    assume(tm.gaussian.cdf(hi, mu, sigma)[0] - tm.gaussian.cdf(lo, mu, sigma)[0] >= 1e-6)
    total, _ = quad(lambda x: tm.gaussian.pdf_norm(x, lo, hi, mu, sigma)[0], lo, hi, points=[mu])
    assert total == pytest.approx(1.0, rel=1e-6)
    assert tm.gaussian.cdf_norm(hi, lo, hi, mu, sigma)[0] == pytest.approx(1.0)
    assert tm.gaussian.cdf_norm(lo, lo, hi, mu, sigma)[0] == pytest.approx(0.0, abs=1e-12)


def test_extended_forms() -> None:
    n, density = tm.gaussian.pdf_ext(X, -1.0, 1.0, 100.0, 0.0, 1.0)
    assert n == pytest.approx(100 * (stats.norm.cdf(1) - stats.norm.cdf(-1)))
    np.testing.assert_allclose(density, 100 * stats.norm.pdf(X))
    np.testing.assert_allclose(tm.gaussian.cdf_ext(X, 7.0, 0.0, 1.0), 7 * stats.norm.cdf(X))


HPGE = (0.0, 40.0, 500.0, 20.0, 1.5, 0.3, 2.0, 200.0, 0.2)


def test_area_sum_counts_and_shares_parameters() -> None:
    model = tm.hpge_peak
    n_expected, density = model.pdf_ext(np.linspace(0, 40, 5), *HPGE)
    in_range = 500 * (
        tm.gauss_on_exgauss.cdf(40.0, 20.0, 1.5, 0.3, 2.0)[0]
        - tm.gauss_on_exgauss.cdf(0.0, 20.0, 1.5, 0.3, 2.0)[0]
    )
    assert n_expected == pytest.approx(in_range + 200.0)
    total, _ = quad(lambda x: model.density(x, *HPGE)[0], 0, 40, points=[20.0])
    assert total == pytest.approx(n_expected, rel=1e-8)
    assert model.pdf_norm(20.0, *HPGE)[0] == pytest.approx(density[2] / n_expected)
    assert model.limits()["n_sig"] == (0.0, None)
    assert model.limits()["htail"] == (0.0, 1.0)
    with pytest.raises(tm.DomainError, match="n_bkg"):
        model.check(*HPGE[:7], -1.0, 0.2)
    assert set(tm.MODELS) >= {"hpge_peak", "gauss_on_step", "gauss_on_linear", "gauss_on_uniform"}


def test_registry_suggests_close_names() -> None:
    from tierflow.errors import NotFoundError

    with pytest.raises(NotFoundError, match="gaussian"):
        tm.DISTRIBUTIONS["gausian"]


def test_poly() -> None:
    np.testing.assert_allclose(tm.poly(X, [1.0, -2.0, 0.5]), 1 - 2 * X + 0.5 * X**2)
