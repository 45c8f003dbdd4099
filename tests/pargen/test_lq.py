"""LQ calibration: parity with pygama 2.6.2 on the shared Th-228 file, simulated data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tierflow.errors import ConfigError
from tierflow.pargen import LQOptions, calibrate_lq, lq_drift_correction, lq_fit_range

DSP = (
    "prod-ref-l200/generated/tier/dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
)
REF = json.loads((Path(__file__).parent / "data" / "lq_dt_reference.json").read_text())["lq"]


def _eres(e: float) -> float:
    return float((0.6771098889706394 + 0.0021413140981953963 * e) ** 0.5)


@pytest.fixture(scope="module")
def result(legend_lh5: Path) -> Any:
    from tierflow import lh5

    path = legend_lh5 / DSP
    if not path.exists():
        pytest.skip(f"{path} is absent")
    t = lh5.read("ch1104000/dsp", str(path), fields=["cuspEmax", "lq80", "dt_eff"])
    e = t["cuspEmax"].nda.astype(np.float64)
    ok = (e > 0) & np.isfinite(e)
    cal = e[ok] * 0.15467975658646357
    return calibrate_lq(t["lq80"].nda[ok] / cal, cal, t["dt_eff"].nda[ok], _eres)


@pytest.mark.shared
def test_hit_pars_parity(result: Any) -> None:
    got, want = result.hit_pars(), REF["cal_dicts"]
    for name in ("LQ_Timecorr", "LQ_Corrected", "LQ_Classifier", "LQ_Cut"):
        assert got[name]["expression"] == want[name]["expression"]
        for k, v in want[name]["parameters"].items():
            assert got[name]["parameters"][k] == pytest.approx(v, rel=1e-4), (name, k)


@pytest.mark.shared
def test_ranges_fit_and_time_rows_parity(result: Any) -> None:
    assert result.time.rows()[0]["mean"] == pytest.approx(REF["timecorr"][0]["mean"], rel=1e-12)
    assert result.time.rows()[0]["res_err"] == pytest.approx(
        REF["timecorr"][0]["res_err"], rel=1e-9
    )
    np.testing.assert_allclose(result.drift.dt_range, REF["dt_range"], rtol=1e-12)
    np.testing.assert_allclose(result.drift.lq_range, REF["lq_range"], rtol=1e-4)
    np.testing.assert_allclose(result.cut_fit.values, REF["cut_fit"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.cut_fit.errors, REF["cut_fit_errs"], rtol=1e-2)


@pytest.mark.shared
def test_survival_fractions_parity(result: Any) -> None:
    got = result.survival_fractions()
    for peak, (sf, err) in REF["sf"].items():
        assert got[float(peak)].sf == pytest.approx(sf, abs=0.1), peak
        assert got[float(peak)].sf_err == pytest.approx(err, rel=0.02), peak
    assert json.loads(json.dumps(result.to_dict()))["format_version"] == 1


def _simulated(slope: float, width: float, seed: int = 4) -> tuple[np.ndarray, ...]:
    """DEP events on a flat continuum; LQ ~ N(1 + slope*dt, width) for single-site events."""
    rng = np.random.default_rng(seed)
    n_bkg, n_dep = 60000, 6000
    energy = np.concatenate([rng.uniform(1500, 2700, n_bkg), rng.normal(1592.5, 1.0, n_dep)])
    dt = rng.uniform(400, 1000, len(energy))
    lq = rng.normal(1 + slope * dt, width)
    multi = rng.random(len(energy)) < 0.3
    multi[n_bkg:] = False
    lq[multi] += rng.exponential(0.5, multi.sum())
    return 3.0 * lq, energy, dt


def test_recovers_simulated_slope_width_and_acceptance() -> None:
    lq, energy, dt = _simulated(slope=5e-5, width=0.05)
    r = calibrate_lq(lq, energy, dt, lambda e: 2.0, options=LQOptions(sf_samples=3))
    assert r.time.divisors[0] == pytest.approx(3.0 * (1 + 5e-5 * 700), rel=0.01)
    scale = r.time.divisors[0] / 3.0
    # the anchor fits the line to events within 2 sigma of the mean LQ: cutting on the
    # dependent variable attenuates the slope by the variance ratio of a normal truncated at
    # +-2 sigma, 1 - 4 phi(2) / (2 Phi(2) - 1) = 0.774
    assert r.drift.slope == pytest.approx(0.774 * 5e-5 / scale, rel=0.2)
    assert r.width == pytest.approx(0.05 / scale, rel=0.1)
    assert r.survival_fractions()[1592.5].sf == pytest.approx(99.87, abs=1.5)
    assert r.survival_fractions()[2039.0].sf < 90


def test_drift_correction_flattens() -> None:
    lq, energy, dt = _simulated(slope=-3e-4, width=0.03)
    corrected, c = lq_drift_correction(lq / 3.0, energy, dt)
    dep = (energy > 1590) & (energy < 1595) & (np.abs(corrected) < 0.06)
    assert abs(np.polyfit(dt[dep], corrected[dep], 1)[0]) < 0.35 * 3e-4  # see above
    assert c.dt_range[0] < c.dt_range[1]


def test_fit_range_brackets_the_mode() -> None:
    lo, hi = lq_fit_range(np.random.default_rng(0).normal(2.0, 0.1, 20000))
    assert lo < 2.0 < hi
    assert hi - lo == pytest.approx(0.5, rel=0.15)


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ConfigError, match="LQ has"):
        calibrate_lq(np.ones(3), np.ones(4), np.ones(3), lambda e: 2.0)
    with pytest.raises(ConfigError, match="fit widths"):
        LQOptions(peaks_kev=(1592.5,), fit_widths_kev=())
