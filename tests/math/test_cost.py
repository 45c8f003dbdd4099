"""Fused extended likelihood kernels equal iminuit's ExtendedUnbinnedNLL."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.math import MODELS
from tierflow.math._cost import FUSED, FusedExtendedNLL, extended_nll

X = np.random.default_rng(1).normal(10, 1, 2000)
X = X[(X > 5) & (X < 15)]


@settings(max_examples=20, deadline=None)
@given(
    name=st.sampled_from(FUSED),
    mu=st.floats(8, 12),
    sigma=st.floats(0.3, 3),
    frac=st.floats(0, 1),
    tau=st.floats(0.05, 2),
    hstep=st.floats(-0.9, 0.9),
)
def test_fused_equals_iminuit(
    name: str, mu: float, sigma: float, frac: float, tau: float, hstep: float
) -> None:
    from iminuit import cost

    model = MODELS[name]
    values = {"x_lo": 5.0, "x_hi": 15.0, "n_sig": 1500.0, "n_bkg": 500.0, "area": 2000.0}
    values |= {"mu": mu, "sigma": sigma, "htail": frac, "tau": tau, "hstep": hstep}
    pars = [values[n] for n in model.names]
    want = cost.ExtendedUnbinnedNLL(X, model.pdf_ext)(*pars)
    assert FusedExtendedNLL(model, X)(*pars) == pytest.approx(want, rel=1e-12, abs=1e-9)


def test_fallback_for_models_without_kernel() -> None:
    model = MODELS["gauss_on_linear"]
    assert not isinstance(extended_nll(model, X), FusedExtendedNLL)
    assert isinstance(extended_nll(MODELS["aoe_peak"], X), FusedExtendedNLL)
