"""A/E drift-time correction (MCD) and the partial / interpolate_consecutive time modes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tierflow.errors import ConfigError
from tierflow.pargen import DriftMode, TimeMode, drift_time_correction, time_correction
from tierflow.pargen._aoe import RunCentroids, TimeCorrection, _partial

DSP = (
    "prod-ref-l200/generated/tier/dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
)
REF = json.loads((Path(__file__).parent / "data" / "lq_dt_reference.json").read_text())


def _simulated(alpha: float, n: int = 30000, seed: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    dt = rng.uniform(300, 1200, n)
    energy = rng.uniform(900, 2500, n)
    aoe = rng.normal(1.0, 0.012, n)
    aoe[: n // 5] = rng.uniform(0.5, 0.95, n // 5)  # multi-site tail below the peak
    return aoe / (1 + alpha * dt), dt, energy


@pytest.mark.parametrize("alpha", [0.0, 1.5e-5, -2e-5])
def test_mcd_recovers_a_simulated_slope(alpha: float) -> None:
    aoe, dt, energy = _simulated(alpha)
    corrected, c = drift_time_correction(aoe, dt, energy, DriftMode.MCD)
    assert c.valid
    assert c.reason == ""
    assert c.alpha == pytest.approx(alpha, abs=2e-6)
    core = (corrected > 0.97) & (corrected < 1.03)
    assert abs(np.polyfit(dt[core], corrected[core], 1)[0]) < 3e-6
    assert c.expression("AoE_Timecorr", "dt_eff") == {
        "expression": "AoE_Timecorr*(1+a*dt_eff)",
        "parameters": {"a": c.alpha},
    }


def test_mcd_without_continuum_events_is_invalid_not_nan() -> None:
    _, c = drift_time_correction([1.0, 1.0], [500.0, 600.0], [500.0, 600.0])
    assert not c.valid
    assert c.alpha == 0.0
    assert "continuum" in c.reason


@pytest.mark.shared
def test_mcd_parity_with_pygama(legend_lh5: Path) -> None:
    from tierflow import lh5

    path = legend_lh5 / DSP
    if not path.exists():
        pytest.skip(f"{path} is absent")
    t = lh5.read("ch1104000/dsp", str(path), fields=["cuspEmax", "A_max", "dt_eff"])
    e = t["cuspEmax"].nda.astype(np.float64)
    ok = (e > 0) & np.isfinite(e)
    aoe = t["A_max"].nda[ok] / e[ok] / 0.07449463315885797
    _, c = drift_time_correction(aoe, t["dt_eff"].nda[ok], e[ok] * REF["B"])
    # scikit-learn's random FastMCD itself spreads by ~1% over seeds on these events
    assert c.alpha == pytest.approx(float(np.median(REF["mcdrift_alpha"])), rel=0.03)


def _nan(v: Any) -> float:
    return math.nan if v is None else float(v)


def test_partial_mode_matches_pygama() -> None:
    means = np.array([_nan(v) for v in REF["time_inputs"]["means"]])
    sigmas = np.array(REF["time_inputs"]["sigmas"])
    got = _partial(RunCentroids(means, sigmas, np.full(len(means), np.nan)))
    want = [_nan(REF["partial"][f"r{i}"]) for i in range(len(means))]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_partial_mode_needs_two_agreeing_runs() -> None:
    c = RunCentroids(np.array([1.0, 2.0, 3.0]), np.full(3, 0.01), np.zeros(3))
    with pytest.raises(ConfigError, match="agree"):
        _partial(c)


def test_interpolate_consecutive_expressions_match_pygama() -> None:
    means = tuple(_nan(v) for v in REF["time_inputs"]["means"])
    fits: tuple[Any, ...] = (None,) * len(means)
    tc = TimeCorrection(
        tuple(f"r{i}" for i in range(6)),
        fits,
        means,
        TimeMode.INTERPOLATE_CONSECUTIVE,
        (0.0, 10.0, 20.0, 30.0, 40.0, 50.0),
    )
    got = tc.run_hit_pars("AoE_Uncorr", "AoE_Timecorr")
    for run, want in REF["interpolate"].items():
        entry, ref_entry = got[run]["AoE_Timecorr"], want["AoE_Timecorr"]
        assert entry["expression"] == ref_entry["expression"]
        for k, v in ref_entry["parameters"].items():
            assert entry["parameters"][k] == pytest.approx(_nan(v), rel=1e-12, nan_ok=True)


def _runs(shifts: list[float], seed: int = 2) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    aoe, energy, runs, stamps = [], [], [], []
    for i, s in enumerate(shifts):
        n = 6000
        sample = rng.normal(s, 0.01 * s, n)
        sample[: n // 4] = s * rng.exponential(0.05, n // 4).clip(0, 0.4) * -1 + s
        aoe.append(sample)
        energy.append(rng.uniform(1000, 1300, n))
        runs.append(np.full(n, i))
        stamps.append(np.full(n, 100.0 * i))
    return tuple(np.concatenate(v) for v in (aoe, energy, runs, stamps))


def test_time_modes_on_simulated_runs() -> None:
    aoe, energy, runs, stamps = _runs([1.0, 1.001, 1.1])
    out, full = time_correction(aoe, energy, runs, TimeMode.FULL)
    np.testing.assert_allclose(full.divisors, [1.0, 1.001, 1.1], rtol=1e-3)
    np.testing.assert_allclose(out, aoe / np.asarray(full.divisors)[runs])
    _, part = time_correction(aoe, energy, runs, TimeMode.PARTIAL)
    assert part.divisors[0] == part.divisors[1] != part.divisors[2]
    _, inter = time_correction(
        aoe, energy, runs, TimeMode.INTERPOLATE_CONSECUTIVE, timestamps=stamps
    )
    pars = inter.run_hit_pars()
    assert pars["0"]["AoE_Timecorr"]["parameters"]["a"] == 0.0
    assert pars["2"]["AoE_Timecorr"]["expression"] == "AoE_Uncorr/a"
    with pytest.raises(ConfigError, match="timestamps"):
        time_correction(aoe, energy, runs, TimeMode.INTERPOLATE_CONSECUTIVE)
