"""Data-quality cuts: parity with pygama's reference, synthetic distributions, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.errors import ConfigError, NotFoundError
from tierflow.pargen import apply_cuts, generate_cuts, mode_and_width

DSP = (
    "prod-ref-l200/generated/tier/dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
)


@pytest.mark.shared
def test_cuts_parity(legend_lh5: Path, reference: Path) -> None:
    from tierflow import lh5

    path = legend_lh5 / DSP
    if not path.exists():
        pytest.skip(f"{path} is absent")
    ref = json.loads((reference / "legend/pargen/data_cleaning.json").read_text())
    t = lh5.read("ch1104000/dsp", str(path), fields=["bl_std", "dt_eff", "baselineEmax"])
    data = {k: t[k].nda for k in ("bl_std", "dt_eff", "baselineEmax")}
    cuts = generate_cuts(data, ref["cut_pars"])
    for name, want in ref["cut_dict"].items():
        assert cuts[name]["expression"] == want["expression"]
        for k, v in want["parameters"].items():
            assert cuts[name]["parameters"][k] == pytest.approx(v, rel=1e-3)
    passed, each = apply_cuts(data, cuts)
    assert int(passed.sum()) == ref["n_pass_all_cuts"]
    assert {k: int(v.sum()) for k, v in each.items()} == ref["n_pass_each_cut"]


@settings(max_examples=10, deadline=None)
@given(mu=st.floats(-100, 100), sigma=st.floats(0.5, 20), seed=st.integers(0, 1000))
def test_mode_and_width_of_gaussians(mu: float, sigma: float, seed: int) -> None:
    x = np.random.default_rng(seed).normal(mu, sigma, 40_000)
    m, s = mode_and_width(x)
    # the anchor's estimator: fine bins (2 percentiles wide) make the mode noisy
    assert abs(m - mu) < 0.3 * sigma
    assert s == pytest.approx(sigma, rel=0.15)


def test_one_sided_and_exclusive_cuts() -> None:
    x = np.random.default_rng(2).normal(10, 1, 50_000)
    cuts = generate_cuts(
        {"q": x},
        {
            "lo": {"cut_parameter": "q", "cut_level": {"low_side": 3}, "mode": "inclusive"},
            "out": {"cut_parameter": "q", "cut_level": 2, "mode": "exclusive"},
        },
    )
    assert cuts["lo"]["expression"] == "q>a"
    assert cuts["lo"]["parameters"]["a"] == pytest.approx(7, abs=0.5)
    _, each = apply_cuts({"q": x}, cuts)
    a, b = cuts["out"]["parameters"]["a"], cuts["out"]["parameters"]["b"]
    assert cuts["out"]["expression"] == "(q<a) | (q>b)"
    assert a == pytest.approx(8, abs=0.4)
    assert b == pytest.approx(12, abs=0.4)
    np.testing.assert_array_equal(each["out"], (x < a) | (x > b))


def test_bad_configs_name_the_problem() -> None:
    data = {"bl_std": np.ones(10)}
    with pytest.raises(NotFoundError, match="bl_sdt"):
        generate_cuts(data, {"c": {"cut_parameter": "bl_sdt", "cut_level": 4, "mode": "inclusive"}})
    with pytest.raises(ConfigError, match="unknown keys"):
        generate_cuts(data, {"c": {"cut_parameter": "bl_std", "cut_level": 4, "sigma": 1}})
    with pytest.raises(ConfigError, match="mode must be"):
        generate_cuts(data, {"c": {"cut_parameter": "bl_std", "cut_level": 4, "mode": "both"}})
    with pytest.raises(NotFoundError):
        apply_cuts(data, {"c": {"expression": "bl_std < a", "parameters": {"b": 1}}})
