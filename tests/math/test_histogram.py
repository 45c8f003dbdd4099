"""Histogram helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tierflow.math as tm


def test_get_hist_bins_and_variance() -> None:
    counts, edges, var = tm.get_hist([0.1, 0.2, 1.5, 2.99, 3.0, np.nan], range=(0, 3), dx=1)
    assert counts.tolist() == [2, 1, 1]
    assert edges.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(var, counts)
    c, _, v = tm.get_hist([0.5, 0.5, 1.5], bins=2, range=(0, 2), weights=2.0)
    assert c.tolist() == [4, 2]
    assert v.tolist() == [8, 4]


def test_fwhm_methods_on_a_gaussian() -> None:
    data = np.random.default_rng(3).normal(0, 1, 200_000)
    h, e, v = tm.get_hist(data, range=(-5, 5), dx=0.05)
    for method in tm.FwfmMethod:
        width, _ = tm.fwhm(h, e, v, method=method)
        assert width == pytest.approx(2.3548, abs=0.06), method
    tenth, err = tm.fwfm(0.1, h, e, v)
    assert tenth == pytest.approx(4.2919, abs=0.06)
    assert err > 0


def test_local_extrema() -> None:
    maxima, minima = tm.local_extrema([0, 5, 0, 1, 0, 7, 1, 2], 2)
    assert maxima.tolist() == [1, 5]
    assert minima.tolist() == [2]
    with pytest.raises(ValueError, match="positive"):
        tm.local_extrema([1, 2], 0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=50))
def test_local_maxima_stand_out(values: list[float]) -> None:
    data = np.asarray(values)
    for i in tm.local_maxima(data, 5.0):
        assert data[i] >= data[: i + 1].min() + 5.0 or data[i] == data[: i + 1].max()


def test_find_bin_and_mode_estimate() -> None:
    e = np.array([0.0, 1.0, 2.0, 3.0])
    assert [tm.find_bin(x, e) for x in (-1, 0, 0.5, 1.0, 2.99, 4)] == [-1, 0, 0, 1, 2, 4]
    data = np.random.default_rng(4).normal(10, 2, 50_000)
    h, edges, v = tm.get_hist(data, range=(0, 20), dx=0.5)
    (mu, sigma, _amp), cov = tm.gauss_mode_width_max(h, edges, v, n_bins=9)
    assert mu == pytest.approx(10, abs=0.1)
    assert sigma == pytest.approx(2, abs=0.2)
    assert cov.shape == (3, 3)
    mu_g, sigma_g, _ = tm.gaussian_guess(h, edges)
    assert abs(mu_g - 10) < 1
    assert abs(sigma_g - 2) < 0.5
