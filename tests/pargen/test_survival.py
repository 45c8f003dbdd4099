"""Survival fractions: known efficiencies recovered from simulated lines; counting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.pargen import compton_survival, fit_line_for_survival, survival_fraction


def _line(seed: int, eff_sig: float, eff_bkg: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sig = rng.normal(1592.5, 1.0, 3000)
    bkg = rng.uniform(1552.5, 1617.5, 3000)
    e = np.concatenate([sig, bkg])
    passes = np.concatenate([rng.random(3000) < eff_sig, rng.random(3000) < eff_bkg])
    cut = np.where(passes, 1.0, -1.0)
    keep = (e > 1552.5) & (e < 1617.5)
    return e[keep], cut[keep]


@pytest.mark.parametrize("seed", [0, 1])
def test_signal_efficiency_recovered(seed: int) -> None:
    e, c = _line(seed, 0.9, 0.3)
    fit = fit_line_for_survival(e, 1592.5, 2.355, (1552.5, 1617.5))
    assert fit.valid, fit.reason
    sf = survival_fraction(e, c, 0.0, fit)
    assert abs(sf.sf - 90) < 4 * sf.sf_err
    assert sf.sf_err == pytest.approx(100 * np.sqrt(0.9 * 0.1 / 3000), rel=0.5)
    two = survival_fraction(e, c, 0.0, fit, high_cut=0.5)
    assert two.sf == pytest.approx(0.0, abs=1.0)  # nothing is between 0 and 0.5


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=200), st.floats(-10, 10))
def test_compton_survival_is_a_count(values: list[float], cut: float) -> None:
    sf = compton_survival(values, cut)
    n = sum(v > cut for v in values)
    assert sf.sf == pytest.approx(100 * n / len(values))
    assert 0 <= sf.sf_err <= 50 / np.sqrt(len(values)) + 1e-12
