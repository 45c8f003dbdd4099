"""``db.*`` values from a real calibration store (``build_dsp(parameter_source=...)``),
``init_args`` factories and per-channel configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tierflow import calib, lh5
from tierflow.dsp import build_dsp
from tierflow.errors import ConfigError, NotFoundError

RAW = "L200-comm-20211130-phy-spms.lh5"
CONFIG = {
    "outputs": ["gaus_kernel", "peak"],
    "processors": {
        "gaus_kernel": {
            "function": "gaussian_filter1d",
            "module": "dspeed.processors",
            "args": [
                "db.gauss.width",
                "db.gauss.trunc",
                "gaus_kernel(shape=round(db.gauss.trunc * db.gauss.width + 0.5)*2+1, dtype='d')",
            ],
            "defaults": {"db.gauss.width": 1, "db.gauss.trunc": 4},
        },
        "peak": "numpy.amax(waveform, 1, peak)",
    },
}


def _nda(obj: Any) -> np.ndarray:
    return np.asarray(obj.nda)


def gaussian(sigma: float, trunc: float) -> np.ndarray:
    half = int(trunc * sigma + 0.5)
    x = np.arange(-half, half + 1)
    phi = np.exp(-0.5 / sigma**2 * x**2)
    return np.asarray(phi / phi.sum())


@pytest.fixture
def store(tmp_path: Path) -> calib.Store:
    s = calib.Store(tmp_path / "store", create=True, author="tester")
    with s.edit() as edit:
        edit.add_detector("ch0", "sipm", "S001")
        edit.add_ctype("ch0", "gauss")
        edit.add("ch0", "gauss", {"width": 2.0, "trunc": 3.0}, since=0)
    return s


@pytest.mark.shared
def test_db_values_come_from_the_store_with_provenance(
    legend_lh5: Path, store: calib.Store, tmp_path: Path
) -> None:
    out = tmp_path / "dsp.lh5"
    source = store.parameter_source()
    build_dsp(legend_lh5 / RAW, out, CONFIG, lh5_tables=["ch0", "ch1"], parameter_source=source)
    kernel = lh5.read("ch0/dsp/gaus_kernel", out).nda
    np.testing.assert_allclose(kernel[0], gaussian(2.0, 3.0), rtol=1e-12)
    attrs = lh5.read("ch0/dsp", out).attrs
    provenance = json.loads(attrs["calib_provenance"])
    assert provenance["calib_store"] == str(store.path)
    assert "gauss" in provenance["calib_versions"]
    assert json.loads(attrs["calib_parameters"])["ctypes"] == ["gauss"]
    # ch1 is not in the store: its entry's defaults apply, and nothing is recorded
    np.testing.assert_allclose(lh5.read("ch1/dsp/gaus_kernel", out).nda[0], gaussian(1, 4))
    assert "calib_provenance" not in lh5.read("ch1/dsp", out).attrs


@pytest.mark.shared
def test_database_values_win_over_the_store(legend_lh5: Path, store: calib.Store) -> None:
    result = build_dsp(
        legend_lh5 / RAW,
        None,
        CONFIG,
        lh5_tables="ch0",
        database={"ch0": {"gauss": {"width": 1.5, "trunc": 3.0}}},
        parameter_source=store.parameter_source(),
    )
    assert result is not None
    np.testing.assert_allclose(_nda(result["ch0/dsp"]["gaus_kernel"])[0], gaussian(1.5, 3.0))


@pytest.mark.shared
def test_lookup_time_before_any_payload_uses_defaults(legend_lh5: Path, tmp_path: Path) -> None:
    s = calib.Store(tmp_path / "late", create=True, author="tester")
    with s.edit() as edit:
        edit.add_detector("ch0", "sipm", "S001")
        edit.add_ctype("ch0", "gauss")
        edit.add("ch0", "gauss", {"width": 2.0, "trunc": 3.0}, since=4 * 10**18)
    result = build_dsp(
        legend_lh5 / RAW, None, CONFIG, lh5_tables="ch0", parameter_source=s.parameter_source()
    )
    assert result is not None
    np.testing.assert_allclose(_nda(result["ch0/dsp"]["gaus_kernel"])[0], gaussian(1, 4))


class FakeSource:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def lookup(self, detector: str, ctype: str, at: int) -> Any:
        self.calls.append((detector, ctype, at))
        return {"width": 2.0, "trunc": 2.0}

    def provenance(self) -> dict[str, str]:
        return {"store": "fake"}


@pytest.mark.shared
def test_lookups_are_at_the_first_timestamp(legend_lh5: Path) -> None:
    source = FakeSource()
    build_dsp(legend_lh5 / RAW, None, CONFIG, lh5_tables="ch3", parameter_source=source)
    first = lh5.read("ch3/raw", legend_lh5 / RAW, start_row=0, n_rows=1)["timestamp"].nda[0]
    assert source.calls == [("ch3", "gauss", round(float(first) * 1e9))]
    build_dsp(
        legend_lh5 / RAW, None, CONFIG, lh5_tables="ch3", parameter_source=source, parameter_time=7
    )
    assert source.calls[-1] == ("ch3", "gauss", 7)


@pytest.mark.shared
def test_chan_config_picks_a_config_per_channel(legend_lh5: Path) -> None:
    other = {"outputs": ["low"], "processors": {"low": "numpy.amin(waveform, 1, low)"}}
    result = build_dsp(legend_lh5 / RAW, None, chan_config={"ch1": CONFIG, "ch2/raw": other})
    assert result is not None
    assert sorted(result) == ["ch1/dsp", "ch2/dsp"]
    raw = lh5.read("ch2/raw", legend_lh5 / RAW)["waveform"]["values"]
    np.testing.assert_array_equal(_nda(result["ch2/dsp"]["low"]), _nda(raw).min(axis=1))
    with pytest.raises(NotFoundError, match="no chan_config entry"):
        build_dsp(legend_lh5 / RAW, None, chan_config={"ch1": CONFIG}, lh5_tables="ch*")


def _table(n: int = 5, length: int = 120) -> Any:
    from tierflow.types import ArrayOfEqualSizedArrays, Table, WaveformTable

    x = np.arange(length, dtype="float64")
    values = np.stack([1.0 + (k + 1) * x + 0.25 * x**2 for k in range(n)])
    wf = WaveformTable(values=ArrayOfEqualSizedArrays(values), dt=16, dt_units="ns")
    return Table({"waveform": wf}, size=n)


def test_init_args_make_a_poly_fit_processor() -> None:
    from tierflow.dsp import make_processing_chain

    config = {
        "outputs": ["pars"],
        "processors": {
            "pars": {
                "function": "poly_fit",
                "module": "dspeed.processors",
                "args": ["waveform[:100]", "pars(3)"],
                "init_args": ["len(waveform[:100])", 2],
            }
        },
    }
    table = _table()
    out = _nda(make_processing_chain(config, table).process(table)["pars"])
    expected = np.array([[1.0, k + 1.0, 0.25] for k in range(5)])
    np.testing.assert_allclose(out, expected, rtol=1e-7, atol=1e-7)


def test_init_args_on_a_plain_processor_is_an_error() -> None:
    from tierflow.dsp import make_processing_chain

    config = {
        "outputs": ["m"],
        "processors": {
            "m, m1, m2, m3": {
                "function": "min_max",
                "args": ["waveform", "m", "m1", "m2", "m3"],
                "init_args": [1],
            }
        },
    }
    with pytest.raises(ConfigError, match="takes no init_args"):
        make_processing_chain(config, _table())
