"""DSP filter optimisation: grid and Bayesian search on simulated filter energies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tierflow.errors import ConfigError
from tierflow.pargen import (
    Dimension,
    GaussianProcess,
    bayesian_search,
    grid_search,
    make_resolution_objective,
)

PEAK = 2614.511


def _energies(params: dict[str, float]) -> np.ndarray:
    """A trapezoid filter's 2614 keV line: series noise falls with the rise time, ballistic
    deficit and 1/f noise grow with it (optimum rise 4 us), gain 6.5 ADC/keV, with flat top
    helping a little up to 1 us; on a flat background."""
    rise, flat = params["rise"], params.get("flat", 1.0)
    sigma_kev = math.sqrt(4.0 / rise + 0.25 * rise + 0.3 / (1 + flat) + 0.1)
    rng = np.random.default_rng(int(rise * 1000 + flat * 10))
    line = rng.normal(PEAK, sigma_kev, 4000)
    bkg = rng.uniform(PEAK - 40, PEAK + 40, 800)
    return 6.5 * np.concatenate([line, bkg])


def _true_fwhm(rise: float, flat: float = 1.0) -> float:
    return 2.3548 * math.sqrt(4.0 / rise + 0.25 * rise + 0.3 / (1 + flat) + 0.1)


def test_resolution_objective_is_in_kev_at_the_line() -> None:
    value, error = make_resolution_objective(_energies, PEAK)({"rise": 2.0})
    assert value == pytest.approx(_true_fwhm(2.0), rel=0.05)
    assert 0 < error < 0.1 * value


def test_grid_finds_the_optimum_rise_time() -> None:
    result = grid_search(make_resolution_objective(_energies, PEAK), {"rise": [1, 2, 4, 8, 16]})
    assert result.best.params == {"rise": 4.0}
    assert len(result.evaluations) == 5
    assert result.to_dict()["best"]["params"] == {"rise": 4.0}


def test_bayesian_search_finds_the_optimum_in_two_dimensions() -> None:
    space = [Dimension("rise", 0.5, 16.0, step=0.1), Dimension("flat", 0.1, 3.0, step=0.1)]
    result = bayesian_search(
        make_resolution_objective(_energies, PEAK), space, n_initial=6, n_iterations=14
    )
    best = result.best
    assert len(result.evaluations) == 20
    assert best.value == pytest.approx(_true_fwhm(4.0, 3.0), rel=0.06)
    assert 2.0 < best.params["rise"] < 8.0
    assert all(
        round(v * 10) == pytest.approx(v * 10)
        for e in result.evaluations
        for v in e.params.values()
    )


@settings(max_examples=10, deadline=None)
@given(
    xs=st.lists(st.floats(0, 1), min_size=3, max_size=8, unique=True),
    a=st.floats(-3, 3),
)
@example(xs=[0.75, 0.6875, 0.25], a=-1.0)  # three points read as pure noise before the cap
def test_gp_interpolates_noise_free_points(xs: list[float], a: float) -> None:
    x = np.array(xs)[:, None]
    y = a * np.sin(4 * x[:, 0]) + x[:, 0]
    if np.ptp(y) < 1e-6:
        return
    mean, std = GaussianProcess().fit(x, y).predict(x)
    np.testing.assert_allclose(mean, y, atol=0.05 * np.ptp(y) + 1e-6)
    assert np.all(std < 0.2 * np.ptp(y) + 1e-6)


def test_bad_spaces_are_refused() -> None:
    with pytest.raises(ConfigError, match="high"):
        Dimension("rise", 2.0, 1.0)
    with pytest.raises(ConfigError, match="empty"):
        grid_search(lambda p: (0.0, 0.0), {})
    with pytest.raises(ConfigError, match="finite"):
        _ = grid_search(lambda p: (math.nan, math.nan), {"a": [1.0]}).best
