"""Minimum Covariance Determinant (FastMCD)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.errors import DatatypeError
from tierflow.math import min_cov_det


def _exact_raw_logdet(x: np.ndarray, h: int) -> float:
    best = np.inf
    for subset in itertools.combinations(range(len(x)), h):
        c = np.cov(x[list(subset)].T, bias=True)
        best = min(best, float(np.linalg.slogdet(c)[1]))
    return best


def test_finds_the_exact_minimum_determinant_subset() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(14, 2))
    x[:4] += rng.uniform(3, 6, (4, 2))
    h = int(np.ceil(0.5 * (14 + 2 + 1)))
    r = min_cov_det(x)
    assert np.linalg.slogdet(r.raw_covariance)[1] == pytest.approx(_exact_raw_logdet(x, h))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), rho=st.floats(-0.9, 0.9))
def test_ignores_outliers(seed: int, rho: float) -> None:
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, rho], [rho, 1.0]])
    x = rng.multivariate_normal([1.0, -2.0], cov, 1500)
    x[:200] = rng.uniform(6, 12, (200, 2))  # 13% far outliers
    r = min_cov_det(x, n_trials=200)
    assert not r.support[:200].any()
    np.testing.assert_allclose(r.location, [1.0, -2.0], atol=0.12)
    # the re-weighted covariance is that of the points within the 97.5% quantile (as
    # scikit-learn's): a normal's shrinks by up to P(chi2_4 < q) / P(chi2_2 < q) = 0.905, and
    # 1,300 points spread it by ~0.05; the outliers, were any kept, would add several units
    np.testing.assert_allclose(r.covariance, cov, atol=0.25)


def test_consistent_at_the_normal_and_reproducible() -> None:
    x = np.random.default_rng(0).normal(0, 2.0, (4000, 2))
    r = min_cov_det(x)
    np.testing.assert_allclose(np.diag(r.covariance), [4.0, 4.0], rtol=0.1)
    assert r.support.mean() == pytest.approx(0.975, abs=0.02)
    again = min_cov_det(x)
    np.testing.assert_array_equal(r.covariance, again.covariance)
    assert r.distances.shape == (4000,)


@pytest.mark.parametrize("bad", [np.zeros(10), np.zeros((3, 2)), np.full((10, 2), np.nan)])
def test_refuses_bad_input(bad: np.ndarray) -> None:
    with pytest.raises(DatatypeError):
        min_cov_det(bad)
