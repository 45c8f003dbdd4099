"""A/E calibration: parity with pygama's reference on the shared Th-228 file, and unit tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tierflow.errors import ConfigError
from tierflow.pargen import AoEOptions, TimeMode, calibrate_aoe, fit_aoe_peak, time_correction
from tierflow.pargen._aoe import compton_bands

DSP = (
    "prod-ref-l200/generated/tier/dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
)
SCALE = 0.15467975658646357  # the reference's cuspEmax calibration


def _eres(e: float) -> float:
    return float((0.6771098889706394 + 0.0021413140981953963 * e) ** 0.5)


@pytest.fixture(scope="module")
def ref(reference: Path) -> dict[str, Any]:
    return json.loads((reference / "legend/pargen/aoe_cal.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def result(legend_lh5: Path) -> Any:
    from tierflow import lh5

    path = legend_lh5 / DSP
    if not path.exists():
        pytest.skip(f"{path} is absent")
    t = lh5.read("ch1104000/dsp", str(path), fields=["cuspEmax", "A_max"])
    e = t["cuspEmax"].nda.astype(np.float64)
    a = t["A_max"].nda.astype(np.float64)
    return calibrate_aoe(a / e, e * SCALE, _eres, options=AoEOptions(sf_samples=0))


@pytest.mark.shared
def test_time_correction_parity(result: Any, ref: dict[str, Any]) -> None:
    row = result.time.rows()[0]
    want = ref["timecorr_df"]["0"]
    assert row["mean"] == pytest.approx(want["mean"], rel=1e-4)
    assert row["sigma"] == pytest.approx(want["sigma"], rel=1e-2)
    assert result.hit_pars()["AoE_Timecorr"]["expression"] == "AoE_Uncorr/a"


@pytest.mark.shared
def test_energy_correction_parity(result: Any, ref: dict[str, Any]) -> None:
    res = ref["energy_corr_res_dict"]
    assert sum(b.usable for b in result.energy.bands) == res["n_of_valid_fits"]
    mean = result.energy.mean_fit
    assert mean["b"] == pytest.approx(res["mean_fits"]["pars"]["b"], rel=1e-4)
    assert mean["a"] == pytest.approx(res["mean_fits"]["pars"]["a"], abs=1e-7)
    s = res["SigmaFits"]["pars"]
    energies = np.linspace(1000, 2600, 9)
    want = np.sqrt(s["a"] + (s["b"] / energies) ** s["c"])
    np.testing.assert_allclose(result.energy.sigma(energies), want, rtol=0.01)
    for band in result.energy.bands:
        got = ref["energy_corr_fits"][f"{band.energy_kev:.1f}"]
        assert band.mean == pytest.approx(got["mean"], rel=1e-4)
        assert band.sigma == pytest.approx(got["sigma"], rel=0.02)


@pytest.mark.shared
def test_cut_and_survival_fractions_parity(result: Any, ref: dict[str, Any]) -> None:
    assert result.low_cut.value == pytest.approx(ref["low_cut_val"], abs=0.05)
    for peak, sf in result.survival_fractions().items():
        assert sf.sf == pytest.approx(ref["low_side_sfs"][str(peak)]["sf"], abs=1.0), peak
    for peak, sf in result.survival_fractions(two_sided=True).items():
        assert sf.sf == pytest.approx(ref["two_side_sfs"][str(peak)]["sf"], abs=1.0), peak
    hit = result.hit_pars()
    assert hit["AoE_Classifier"]["expression"] == ref["cal_dicts"]["AoE_Classifier"]["expression"]
    assert list(hit) == [k for k in ref["cal_dicts"] if k != "AoE_Uncorr"]


@pytest.mark.shared
def test_record_is_json(result: Any) -> None:
    record = json.loads(json.dumps(result.to_dict()))
    assert record["format_version"] == 1
    assert record["low_cut"] == result.low_cut.value
    assert len(record["survival_fractions"]) == 5


def _simulated(seed: int, n: int = 6000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(1.0, 0.012, n), 1.0 - rng.exponential(0.06, n // 2)])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_aoe_peak_recovers_position_and_width(seed: int) -> None:
    r = fit_aoe_peak(_simulated(seed))
    assert r.valid, r.reason
    assert abs(r["mu"] - 1.0) < 4 * r.error("mu") + 1e-4
    assert r["sigma"] == pytest.approx(0.012, rel=0.1)


def test_time_correction_per_run_modes() -> None:
    rng = np.random.default_rng(5)
    a = np.concatenate([_simulated(7) * 0.07, _simulated(8) * 0.08])
    runs = np.repeat(["r0", "r1"], len(a) // 2)
    e = rng.uniform(1000, 1300, len(a))
    out, tc = time_correction(a, e, runs, TimeMode.FULL)
    assert tc.divisors[0] == pytest.approx(0.07, rel=2e-3)
    assert tc.divisors[1] == pytest.approx(0.08, rel=2e-3)
    assert np.nanmedian(out[runs == "r1"]) == pytest.approx(
        np.nanmedian(out[runs == "r0"]), rel=0.01
    )
    _, tc_none = time_correction(a, e, runs, TimeMode.NONE)
    assert tc_none.divisors[0] == tc_none.divisors[1] == pytest.approx(0.075, rel=3e-3)


def test_compton_bands_skip_lines() -> None:
    bands = compton_bands()
    assert len(bands) == 60
    assert not np.any((bands < 1592 - 5) & (bands + 20 > 1592 - 5))


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="no curve named"):
        AoEOptions(mean_curve="Pol2")
    with pytest.raises(ConfigError, match="fit widths"):
        AoEOptions(peaks_kev=(1592.5,))
    with pytest.raises(ConfigError):
        calibrate_aoe(np.ones(3), np.ones(4), _eres)
