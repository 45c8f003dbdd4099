"""Event modules: HPGe recovery cut and cross talk, the LAr-veto classifier, LEGEND metadata.

Values are checked against hand computations on small inputs; the functions run through
build_evt with configs that name them by the anchor's module paths.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.errors import ConfigError, MismatchError, NotFoundError
from tierflow.evt import TCM, build_evt, make_evt_config
from tierflow.evt.modules import geds, larveto, legend, xtalk
from tierflow.types import Array, Table

KEYS = (1084803, 1084804, 1121600)


def test_recovery_mask_by_hand() -> None:
    times = np.array([0.0, 0.4, 0.99, 1.0, 2.5, 2.6, 5.0, np.nan])
    got = geds.recovery_mask(times, np.array([0.0, 2.5, np.nan]), 1.0)
    assert got.tolist() == [True, True, True, False, True, True, False, False]
    assert not geds.recovery_mask(times, np.array([]), 1.0).any()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 100), min_size=1, max_size=30),
    st.lists(st.booleans(), min_size=1, max_size=30),
    st.floats(0.01, 20),
)
def test_recovery_mask_agrees_with_the_definition(
    times: list[float], flags: list[bool], window: float
) -> None:
    t = np.array(times)
    flag = np.resize(np.array(flags), len(t))
    got = geds.recovery_mask(t, t[flag], window)
    want = [any(0 <= x - d < window for d in t[flag]) for x in t]
    assert got.tolist() == want


def test_pulse_rounding_and_amplitude_pdf() -> None:
    assert larveto.pulse_amp_round(np.array([0.01, 0.99, 1.49, 1.5, 2.51])).tolist() == [
        1, 1, 1, 2, 3,
    ]  # fmt: skip
    density = [0.5, 0.25, 0.125]
    got = larveto.l200_rc_amp_logpdf(np.array([0.0, 2.0, 4.0, np.nan]), density)
    assert got[:2].tolist() == [math.log(0.5), math.log(0.125)]
    assert got[2] == pytest.approx(-0.1 * 2 + math.log(0.125))
    assert np.isnan(got[3])
    with pytest.raises(ConfigError, match="negative"):
        larveto.l200_rc_amp_logpdf(np.array([1.0]), density, logexp_cont_slope=0.1)


def test_time_pdf_is_a_density_with_the_uniform_floor() -> None:
    t = np.linspace(-1000, 5000, 120_001)
    pdf = larveto.l200_tc_time_pdf(t)
    # the triplet's tail beyond the domain is missing
    tail = (1 - 0.42) * (2 / 3) * math.exp(-(5000 + 80) / 1100)
    assert np.sum(pdf) * (t[1] - t[0]) == pytest.approx(1.0 - tail, abs=3e-4)
    # far before the prompt peak only the uniform part is left
    assert pdf[0] == pytest.approx(0.42 / 6000, rel=1e-9)
    assert t[np.argmax(pdf)] == pytest.approx(-80, abs=40)
    with pytest.raises(MismatchError, match="domain"):
        larveto.l200_tc_time_pdf(np.array([0.0, 6000.0]))


def test_combined_test_stat_by_hand() -> None:
    t0 = ak.Array([[[-60.0, 10.0], [300.0]], [[]], [[20.0]]])
    amp = ak.Array([[[1.2, 0.4], [2.6]], [[]], [[0.2]]])
    geds_t0 = np.array([10.0, 0.0, 20.0])
    density = [0.6, 0.3, 0.05, 0.03, 0.02]
    got = larveto.l200_combined_test_stat(t0, amp, geds_t0, 0.42, density)
    rel = np.array([-70.0, 0.0, 290.0])
    n = np.array([1.0, 1.0, 3.0])
    pdf = larveto.l200_tc_time_pdf(rel)
    want0 = -np.sum(n * np.log(pdf)) / 5 + (-0.1 * (5 - 4) + math.log(0.02))
    assert got[0] == pytest.approx(want0, rel=1e-12)
    assert got[1] == np.inf
    pdf2 = larveto.l200_tc_time_pdf(np.array([0.0]))
    assert got[2] == pytest.approx(-math.log(pdf2[0]) + math.log(0.3), rel=1e-12)


def test_xtalk_correction_by_hand() -> None:
    response_trigger = np.array([[0.0, 0.01, 0.0], [0.02, 0.0, 0.0], [0.0, 0.0, 0.0]])
    uncal = np.array([[1000.0, 20.0, np.nan], [np.nan, 500.0, 300.0]])
    cal = uncal * 2
    got = xtalk.correct_energy(uncal, cal, response_trigger, threshold=100)
    # event 0: channel 1 (cal 40 < 100) does not correct channel 0; channel 0 corrects 1
    np.testing.assert_allclose(got, [[1000.0, 20.0 - 20.0, 0.0], [-5.0, 500.0, 300.0]])


def _write_matrix(path: Path) -> None:
    ids = np.array([1121600, 1084804, 1084803, 999])
    neg = np.zeros((4, 4))
    pos = np.zeros((4, 4))
    # [trigger, response]: 1084803 triggering shows -0.01 in 1084804, 1084804 shows +0.02 in 1084803
    neg[2, 1] = -0.01
    pos[2, 1] = 0.005
    pos[1, 2] = 0.02
    neg[1, 2] = np.nan
    lh5.write(Array(ids), "xtc/rawid_index", path)
    lh5.write(Array(neg), "xtc/xtalk_matrix_negative", path)
    lh5.write(Array(pos), "xtc/xtalk_matrix_positive", path)


def test_read_matrix_combines_polarities_and_keeps_channels(tmp_path: Path) -> None:
    path = tmp_path / "xtc.lh5"
    _write_matrix(path)
    m = xtalk.read_xtalk_matrix(path, [1084803, 1084804])
    assert m.rawids == (1084804, 1084803)
    np.testing.assert_array_equal(m.matrix, [[0.0, -0.01], [0.02, 0.0]])  # response x trigger
    with pytest.raises(NotFoundError, match="xtc/nothere"):
        xtalk.read_xtalk_matrix(path, None, rawid_obj="xtc/nothere")


def _inputs(folder: Path) -> dict[str, Any]:
    """Three channels, four events: ch1121600 misses event 2."""
    energies = {
        1084803: [1000.0, 10.0, 2000.0, 30.0],
        1084804: [50.0, 700.0, 5.0, 40.0],
        1121600: [100.0, 200.0, 400.0],
    }
    hit, tcm = folder / "hit.lh5", folder / "tcm.lh5"
    for key, values in energies.items():
        e = np.array(values)
        cols = {"cuspEmax": Array(e / 2), "cuspEmax_ctc_cal": Array(e),
                "timestamp": Array(np.arange(len(e)) * 1.0)}  # fmt: skip
        lh5.write(Table(cols), f"ch{key}/hit", hit)
        lh5.write(Table({"cuspEmax": Array(e / 2)}), f"ch{key}/dsp", folder / "dsp.lh5")
    keys = [1084803, 1084804, 1121600] * 2 + [1084803, 1084804] + [1084803, 1084804, 1121600]
    rows = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 2]
    tcm_obj = TCM(np.array(keys), np.array(rows), np.array([3, 6, 8, 11]))
    lh5.write(tcm_obj.to_table(), "hardware_tcm_1", tcm)
    return {
        "tcm": (tcm, "hardware_tcm_1"),
        "hit": (hit, "hit", "ch{}"),
        "dsp": (folder / "dsp.lh5", "dsp", "ch{}"),
    }


def _function_config(call: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "channels": {"geds": [f"ch{k}" for k in KEYS]},
        "outputs": ["out"],
        "operations": {
            **(extra or {}),
            "out": {"channels": "geds", "aggregation_mode": "function", "expression": call},
        },
    }


def test_apply_xtalk_correction_in_build_evt(tmp_path: Path) -> None:
    info = _inputs(tmp_path)
    _write_matrix(tmp_path / "xtc.lh5")
    call = (
        "pygama.evt.modules.geds.apply_xtalk_correction(<...>, return_mode='{}', "
        "uncal_energy_expr='hit.cuspEmax', cal_energy_expr='hit.cuspEmax_ctc_cal', "
        "multiplicity_expr='xtalk_corr_energy > 20', xtalk_threshold=25, "
        f"xtalk_matrix_filename='{tmp_path / 'xtc.lh5'}')"
    )
    got = build_evt(info, _function_config(call.format("energy")))
    assert isinstance(got, Table)
    # channels in matrix order 1121600, 1084804, 1084803; uncalibrated energies are e / 2;
    # M[response, trigger]: 1084804 sees -0.01 of 1084803, 1084803 sees +0.02 of 1084804
    # event 0: 1084804 = 25 + 0.01 * 500 = 30; 1084803 = 500 - 0.02 * 25 = 499.5
    # event 1: 1084803 (cal 10 < 25) corrects nothing; 1084803 = 5 - 0.02 * 350 < 20: dropped
    # event 2: no 1121600 hit; 1084804 = 2.5 + 0.01 * 1000 = 12.5 < 20: dropped
    # event 3: 1084804 = 20 + 0.01 * 15 = 20.15; 1084803 = 15 - 0.02 * 20 = 14.6: dropped
    want = [[50.0, 30.0, 499.5], [100.0, 350.0], [1000.0], [200.0, 20.15]]
    got_list = ak.to_list(got["out"].view_as("ak"))
    assert len(got_list) == len(want)
    for g, w in zip(got_list, want, strict=True):
        assert g == pytest.approx(w, rel=1e-12)


def _xtalk_call(folder: Path, return_mode: str, extra: str = "") -> str:
    return (
        f"pygama.evt.modules.geds.apply_xtalk_correction(<...>, return_mode='{return_mode}', "
        "uncal_energy_expr='hit.cuspEmax', cal_energy_expr='hit.cuspEmax_ctc_cal', "
        "multiplicity_expr='xtalk_corr_energy > 20', xtalk_threshold=25, "
        f"xtalk_matrix_filename='{folder / 'xtc.lh5'}'{extra})"
    )


def test_xtalk_tcm_index_follows_the_anchor(tmp_path: Path) -> None:
    """pygama 2.6.2 places each hit's map position in the row of its *table row*, while
    energies and the hit filter are per event: event 3 keeps ch1121600's hit (energy 200
    above) but gets NaN, because that hit is row 2 of its table (its position 10 went to
    event 2, where the filter drops it). The anchor printed exactly this list on these
    inputs. ``index_rows='event'`` gives each kept hit its own position."""
    info = _inputs(tmp_path)
    _write_matrix(tmp_path / "xtc.lh5")
    anchor = build_evt(info, _function_config(_xtalk_call(tmp_path, "tcm_index")))
    assert isinstance(anchor, Table)
    got = ak.to_list(anchor["out"].view_as("ak"))
    assert got[:3] == [[2.0, 1.0, 0.0], [5.0, 4.0], [6.0]]
    assert math.isnan(got[3][0])
    assert got[3][1] == 9.0
    call = _xtalk_call(tmp_path, "tcm_index", ", index_rows='event'")
    by_event = build_evt(info, _function_config(call))
    assert isinstance(by_event, Table)
    want = [[2.0, 1.0, 0.0], [5.0, 4.0], [6.0], [10.0, 9.0]]
    assert ak.to_list(by_event["out"].view_as("ak")) == want
    # in chunks of two events positions count from the chunk start
    chunked = build_evt(info, _function_config(call), buffer_len=2)
    assert isinstance(chunked, Table)
    assert ak.to_list(chunked["out"].view_as("ak")) == [
        [2.0, 1.0, 0.0], [5.0, 4.0], [0.0], [4.0, 3.0],
    ]  # fmt: skip
    # the anchor's layout cannot hold table rows past the chunk (pygama: IndexError)
    with pytest.raises(MismatchError, match="index_rows='event'"):
        build_evt(info, _function_config(_xtalk_call(tmp_path, "tcm_index")), buffer_len=2)
    with pytest.raises(NotFoundError, match="did you mean 'event'"):
        build_evt(info, _function_config(_xtalk_call(tmp_path, "energy", ", index_rows='evnt'")))


def test_xtalk_correction_and_calibration(tmp_path: Path) -> None:
    info = _inputs(tmp_path)
    _write_matrix(tmp_path / "xtc.lh5")
    pars = {f"ch{k}": {"pars": {"operations": {
        "cuspEmax_ctc": {"expression": "cuspEmax * 1"},
        "cuspEmax_ctc_cal": {"expression": "a * cuspEmax_ctc + b", "parameters": {"a": 2, "b": 1}},
        "unused": {"expression": "nothere * 3"},
    }}} for k in (1084803, 1084804)}  # fmt: skip
    par_file = tmp_path / "pars.json"
    par_file.write_text(json.dumps(pars))
    call = (
        "geds.apply_xtalk_correction_and_calibrate(<...>, return_mode='energy', "
        "uncal_energy_expr='dsp.cuspEmax', cal_energy_expr='hit.cuspEmax_ctc_cal', "
        f"cal_par_files='{par_file}', multiplicity_expr='xtalk_corr_energy > -1e9', "
        f"xtalk_threshold=25, xtalk_matrix_filename='{tmp_path / 'xtc.lh5'}')"
    )
    got = build_evt(info, _function_config(call))
    assert isinstance(got, Table)
    first = ak.to_list(got["out"].view_as("ak"))[0]
    # 1121600 has no parameters: NaN, filtered out by the comparison
    assert first == pytest.approx([2 * 30.0 + 1, 2 * 499.5 + 1])


def test_recovery_cut_through_the_config(tmp_path: Path) -> None:
    info = _inputs(tmp_path)
    first_at = {"channels": "geds", "aggregation_mode": "first_at:hit.timestamp"}
    extra = {
        "t": {**first_at, "expression": "hit.timestamp"},
        "flag": {**first_at, "expression": "hit.cuspEmax_ctc_cal > 1500", "initial": False},
    }
    call = "geds.apply_recovery_cut(<...>, timestamps=evt.t, flag=evt.flag, time_window=1.5)"
    got = build_evt(info, _function_config(call, extra))
    assert isinstance(got, Table)
    # event times 0, 1, 2, 2 (event 3's earliest hit is row 2 of ch1121600); the flag is
    # the earliest hit's: a discharge (2000 > 1500) at t = 2 only
    assert got["out"].nda.tolist() == [False, False, True, True]
    call = call.replace("flag=evt.flag", "flag=evt.flag2").replace("1.5", "0.5")
    extra["flag2"] = {**first_at, "expression": "hit.cuspEmax_ctc_cal > 500"}
    got = build_evt(info, _function_config(call, extra))
    assert isinstance(got, Table)
    assert got["out"].nda.tolist() == [True, False, True, True]  # discharges at 0 and 2


def test_channel_lists_from_a_channel_map(tmp_path: Path) -> None:
    chmap = {
        "V01": {"system": "geds", "daq": {"rawid": 1084803}, "analysis": {"usability": "on"}},
        "V02": {"system": "geds", "daq": {"rawid": 1084804}, "analysis": {"usability": "off"}},
        "S01": {"system": "spms", "daq": {"rawid": 1057600}},
    }
    path = tmp_path / "chmap.json"
    path.write_text(json.dumps(chmap))
    spec = {"module": "pygama.evt.modules.legend.metadata", "time_key": "20230322T160139Z",
            "channelmap": str(path), "system": "geds",
            "selectors": {"analysis.usability": "on"}}  # fmt: skip
    config = make_evt_config({"channels": {"geds_on": spec}, "operations": {}})
    assert config.channels["geds_on"] == ("ch1084803",)
    assert legend.channels_from_channelmap(chmap, "spms") == ["ch1057600"]
    with pytest.raises(ConfigError, match="meta_path"):
        legend.metadata({"system": "geds", "time_key": "x"})


def test_convert_rawid(tmp_path: Path) -> None:
    info = _inputs(tmp_path)
    config = _function_config(
        "legend.convert_rawid(<...>, rawid_obj=evt.id)",
        {"id": {"channels": "geds", "aggregation_mode": "first_at:hit.timestamp",
                "expression": "tcm.table_key", "query": "hit.cuspEmax_ctc_cal > 1500",
                "initial": 0}},
    )  # fmt: skip
    config["channel_mapping"] = {"ch1084803": "V01", "ch1084804": "V02", "ch1121600": "P01"}
    got = build_evt(info, config)
    assert isinstance(got, Table)
    assert got["out"].nda.tolist() == ["0000000", "0000000", "V01", "0000000"]
    del config["channel_mapping"]["ch1084803"]
    with pytest.raises(NotFoundError, match="ch1084803"):
        build_evt(info, config)
