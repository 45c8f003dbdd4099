"""Fits recover known parameters within errors; FitResult serialises; failures say why."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tierflow.math as tm

TRUE = {"n_sig": 2000.0, "mu": 50.0, "sigma": 2.0, "n_bkg": 1500.0, "hstep": 0.2}
RANGE = (30.0, 70.0)


def _sample(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sig = rng.normal(TRUE["mu"], TRUE["sigma"], rng.poisson(TRUE["n_sig"]))
    # step background by accept-reject
    x = rng.uniform(*RANGE, 4 * int(TRUE["n_bkg"]))
    keep = rng.uniform(0, 1 + TRUE["hstep"], x.size) < 1 + TRUE["hstep"] * np.vectorize(math.erf)(
        (x - 50) / (2 * math.sqrt(2))
    )
    bkg = x[keep][: rng.poisson(TRUE["n_bkg"])]
    data = np.concatenate([sig, bkg])
    return data[(data > RANGE[0]) & (data < RANGE[1])]


def _guess() -> list[float]:
    return [*RANGE, 1800.0, 49.0, 2.5, 1600.0, 0.0]


def test_unbinned_coverage_over_seeds() -> None:
    pulls = []
    for seed in range(40):
        r = tm.fit_unbinned(tm.gauss_on_step, _sample(seed), _guess())
        assert r.valid, r.reason
        pulls.append([(r[n] - TRUE[n]) / r.error(n) for n in ("mu", "sigma", "n_sig")])
    inside = np.mean(np.abs(np.array(pulls)) < 1, axis=0)
    assert np.all((inside > 0.5) & (inside < 0.88)), inside
    assert np.all(np.abs(np.mean(pulls, axis=0)) < 0.5)


def test_binned_poisson_and_least_squares_agree() -> None:
    data = _sample(99)
    n, e, _ = tm.get_hist(data, range=RANGE, dx=0.5)
    poisson = tm.fit_binned(tm.gauss_on_step, n, e, _guess())
    lsq = tm.fit_binned(tm.gauss_on_step, n, e, _guess(), cost=tm.Cost.LEAST_SQUARES)
    unbinned = tm.fit_unbinned(tm.gauss_on_step, data, _guess())
    assert poisson.valid
    assert lsq.valid
    assert poisson["mu"] == pytest.approx(unbinned["mu"], abs=0.2 * unbinned.error("mu"))
    assert lsq["mu"] == pytest.approx(TRUE["mu"], abs=4 * lsq.error("mu"))
    assert 0.001 < poisson.p_value <= 1
    assert poisson.ndof == len(n) - 5


def test_shape_only_fit() -> None:
    data = _sample(5)
    r = tm.fit_unbinned(
        tm.gauss_on_step, data, _guess(), extended=False, fixed=("x_lo", "x_hi", "n_sig")
    )
    assert r.valid
    assert r["mu"] == pytest.approx(TRUE["mu"], abs=4 * r.error("mu"))


def test_failure_gives_a_reason_not_nans() -> None:
    def broken(x: np.ndarray, a: float) -> np.ndarray:
        return np.full_like(x, np.nan)

    r = tm.fit_curve(broken, [0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [0.1] * 3, [1.0], names=["a"])
    assert not r.valid
    assert r.reason


def test_curve_fit_and_gof() -> None:
    x = np.linspace(0, 10, 11)
    r = tm.fit_curve(
        lambda x, a, b: a + b * x, x, 1 + 2 * x, np.full(11, 0.1), [0, 1], names=["a", "b"]
    )
    assert r["a"] == pytest.approx(1)
    assert r["b"] == pytest.approx(2)
    assert r.ndof == 9
    assert r.chi2 == pytest.approx(0, abs=1e-8)


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.text("abcxyz_", min_size=1, max_size=5), finite, finite),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0],
    ),
    st.booleans(),
    st.text(max_size=20),
)
def test_fit_result_round_trip(
    pars: list[tuple[str, float, float]], valid: bool, reason: str
) -> None:
    names = tuple(p[0] for p in pars)
    n = len(names)
    cov = tuple(tuple(float(i == j) for j in range(n)) for i in range(n))
    r = tm.FitResult(
        "m",
        names,
        tuple(p[1] for p in pars),
        tuple(p[2] for p in pars),
        cov,
        (False,) * n,
        valid,
        reason,
        1.5,
        2.0,
        3,
        0.5,
        7,
    )
    import json

    assert tm.FitResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_from_dict_refuses_bad_input() -> None:
    from tierflow.errors import FormatError, NotFoundError

    good = tm.FitResult("m", ("sigma",), (1.0,), (0.1,), valid=True).to_dict()
    with pytest.raises(FormatError, match="format_version"):
        tm.FitResult.from_dict({**good, "format_version": 99})
    with pytest.raises(FormatError, match="no field"):
        tm.FitResult.from_dict({**good, "colour": 1})
    with pytest.raises(NotFoundError, match="did you mean 'sigma'"):
        tm.FitResult.from_dict(good)["sigm"]
