"""build_evt: parity with the anchor's reference evt files, and errors that name the culprit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest

from tierflow import lh5
from tierflow.errors import ConfigError, MismatchError, NotFoundError
from tierflow.evt import EVT_FUNCTIONS, build_evt, make_evt_config
from tierflow.expr import ExpressionError
from tierflow.types import Table

PROD = "prod-ref-l200/generated/tier"
PHY = "phy/p03/r001/l200-p03-r001-phy-20230322T160139Z"
ANT = "ant/p13/r001/l200-p13-r001-ant-20241210T225016Z"

# The anchor's keep_at_ch writes a channel's value into every event that channel is in,
# not only into events whose energy_id names it (pygama.evt.aggregators.evaluate_at_channel:
# ``out[evt_ids_ch] = res``): in these files every channel is in every event, so the anchor
# gives ch1084803's values everywhere. tierflow keeps the value at the named channel only;
# the test compares the events where energy_id names a channel, and the rest must be initial.
KEEP_AT_CH_QUIRK = {"aoe", "is_aoe_rejected", "is_usable_aoe"}


def _datainfo(root: Path, base: str, stem: str, out: Path | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "tcm": (root / base / "tcm" / f"{stem}-tier_tcm.lh5", "hardware_tcm_1"),
        "dsp": (root / base / "dsp" / f"{stem}-tier_dsp.lh5", "dsp", "ch{}"),
        "hit": (root / base / "hit" / f"{stem}-tier_hit.lh5", "hit", "ch{}"),
    }
    if out is not None:
        info["evt"] = (out, "evt")
    return info


def _flat(table: Table, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, obj in table.items():
        if isinstance(obj, Table):
            out.update(_flat(obj, f"{prefix}{name}/"))
        else:
            out[f"{prefix}{name}"] = obj
    return out


def _compare(mine: Table, ref: Table, quirk: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    flat_mine, flat_ref = _flat(mine), _flat(ref)
    assert sorted(flat_mine) == sorted(flat_ref)
    named = None
    if quirk:
        named = flat_ref["energy_id"].nda != 0
    for name, expected in flat_ref.items():
        got = flat_mine[name]
        assert type(got) is type(expected), name
        assert dict(got.attrs) == dict(expected.attrs), name
        a, b = got.view_as("ak"), expected.view_as("ak")
        assert str(ak.type(a)) == str(ak.type(b)), name
        if name in quirk:
            assert named is not None
            assert ak.to_list(a[named]) == ak.to_list(b[named]), name
            continue
        assert ak.to_list(ak.nan_to_none(a)) == ak.to_list(ak.nan_to_none(b)), name


@pytest.mark.shared
@pytest.mark.parametrize(
    ("config", "ref", "quirk"),
    [
        ("pygama-basic-evt-config.yaml", "prodref-phy-basic.lh5", KEEP_AT_CH_QUIRK),
        ("pygama-vov-test-evt-config.json", "prodref-phy-vov.lh5", set()),
    ],
)
def test_evt_equals_anchor(
    reference: Path, legend_lh5: Path, tmp_path: Path, config: str, ref: str, quirk: set[str]
) -> None:
    out = tmp_path / "evt.lh5"
    info = _datainfo(legend_lh5, PROD, PHY, out)
    build_evt(info, reference / "legend" / "configs" / config, wo_mode="overwrite_file")
    mine = lh5.read("evt", out)
    _compare(mine, lh5.read("evt", reference / "legend" / "evt" / ref), quirk)
    if quirk:
        assert mine["aoe"].nda[0] != mine["aoe"].nda[0]  # energy_id is 0: initial (NaN)
        # with the anchor's keep_at_ch, every field is equal
        build_evt(info, reference / "legend" / "configs" / config, wo_mode="overwrite_file",
                  keep_at_ch="anchor")  # fmt: skip
        _compare(lh5.read("evt", out), lh5.read("evt", reference / "legend" / "evt" / ref))


@pytest.mark.shared
def test_spms_evt_equals_anchor(reference: Path, legend_lh5: Path) -> None:
    info = _datainfo(legend_lh5, "l200-truncated/generated/tier", ANT)
    config = reference / "legend" / "configs" / "pygama-spms-p13-evt-config.yaml"
    mine = build_evt(info, config, buffer_len=17)  # chunks that do not divide the 50 events
    assert isinstance(mine, Table)
    _compare(mine, lh5.read("evt", reference / "legend" / "evt" / "trunc-ant.lh5"))


def _config(**operation: Any) -> dict[str, Any]:
    return {
        "channels": {"geds": ["ch1084803", "ch1084804"]},
        "operations": {"x": {"channels": "geds", "aggregation_mode": "sum", **operation}},
    }


@pytest.mark.shared
def test_bad_configs_name_the_culprit(legend_lh5: Path) -> None:
    info = _datainfo(legend_lh5, PROD, PHY)
    with pytest.raises(ExpressionError, match="cuspEmax_ctc_cal"):
        build_evt(info, _config(expression="hit.cuspEmax_ctc_cl"))
    bad_channel = _config(expression="hit.cuspEmax_ctc_cal")
    bad_channel["channels"]["geds"] = ["ch1084803", "ch1084805"]
    with pytest.raises(ConfigError, match=r"ch1084805.*did you mean"):
        build_evt(info, bad_channel)
    with pytest.raises(ExpressionError, match=r"'hti.cuspEmax_ctc_cal'.*did you mean"):
        build_evt(info, _config(expression="hti.cuspEmax_ctc_cal"))
    with pytest.raises(NotFoundError, match="did you mean 'anchor'"):
        build_evt(info, _config(expression="1"), keep_at_ch="anchr")
    with pytest.raises(NotFoundError, match=r"nothere\.lh5"):
        build_evt(info | {"hot": ("nothere.lh5", "dsp", "ch{}")}, _config(expression="1"))


def test_config_errors() -> None:
    with pytest.raises(NotFoundError, match=r"'ged'.*did you mean 'geds'"):
        make_evt_config({"channels": {"geds": []}, "operations": {"x": {"channels": "ged",
                         "aggregation_mode": "sum", "expression": "1"}}})  # fmt: skip
    with pytest.raises(NotFoundError, match="gather_pulse_dat"):
        make_evt_config(
            _config(
                aggregation_mode="function",
                expression="pygama.evt.modules.spms.gather_pulse_dat(<...>)",
            )
        )
    with pytest.raises(NotFoundError, match="did you mean 'query'"):
        make_evt_config(_config(expression="1", qurey="x"))
    with pytest.raises(ConfigError, match="constant or a column"):
        make_evt_config(
            _config(
                aggregation_mode="function",
                expression="spms.gather_tcm_data(<...>, tcm_field=open('x'))",
            )
        )
    with pytest.raises(ConfigError, match="initial"):
        make_evt_config(_config(expression="1", initial="__import__('os')"))


def test_function_names_map_onto_the_registry() -> None:
    config = make_evt_config(_config(
        aggregation_mode="function",
        expression="pygama.evt.modules.spms.gather_pulse_data(<...>, observable='hit.x', "
                   "pulse_mask=evt.mask, dt_range_ns=(-1_000, 5_000))",
    ))  # fmt: skip
    call = config.operations[0].call
    assert call is not None
    assert EVT_FUNCTIONS[call.name].__name__ == "gather_pulse_data"
    assert call.constants == {"observable": "hit.x", "dt_range_ns": (-1000, 5000)}
    assert call.references == {"pulse_mask": "evt.mask"}


@pytest.mark.shared
def test_tcm_past_the_end_is_reported(legend_lh5: Path, tmp_path: Path) -> None:
    from tierflow.evt import TCM

    tcm = TCM(np.array([1084803]), np.array([10**6]), np.array([1]))
    path = tmp_path / "tcm.lh5"
    lh5.write(tcm.to_table(), "hardware_tcm_1", path)
    info = _datainfo(legend_lh5, PROD, PHY) | {"tcm": (path, "hardware_tcm_1")}
    with pytest.raises(MismatchError, match="row 1000000"):
        build_evt(info, _config(expression="hit.cuspEmax_ctc_cal"))


def test_concat_tables_joins_chunks_column_by_column() -> None:
    from tierflow.evt._build import concat_tables
    from tierflow.types import Array, VectorOfVectors

    def chunk(start: int, rows: list[list[float]]) -> Table:
        inner = Table({"vv": VectorOfVectors(rows, attrs={"units": "pe"})}, size=len(rows))
        return Table({"x": Array(np.arange(start, start + len(rows), dtype=np.uint16)),
                      "spms": inner}, size=len(rows))  # fmt: skip

    got = concat_tables([chunk(0, [[1.0], []]), chunk(2, []), chunk(5, [[2.0, 3.0]])])
    assert len(got) == 3
    assert got["x"].nda.tolist() == [0, 1, 5]
    assert got["x"].nda.dtype == np.uint16
    vv = got["spms"]["vv"]
    assert ak.to_list(vv.view_as("ak")) == [[1.0], [], [2.0, 3.0]]
    assert vv.attrs["units"] == "pe"


@pytest.mark.shared
@pytest.mark.parametrize(("preset", "codec"), [(None, 32015), ("anchor", 1)])
def test_hdf5_presets(
    reference: Path, legend_lh5: Path, tmp_path: Path, preset: str | None, codec: int
) -> None:
    import h5py

    out = tmp_path / "evt.lh5"
    info = _datainfo(legend_lh5, PROD, PHY, out)
    config = reference / "legend" / "configs" / "pygama-vov-test-evt-config.json"
    build_evt(info, config, hdf5_settings=preset)
    with h5py.File(out) as handle:
        plist = handle["evt/energy_sum"].id.get_create_plist()
        assert plist.get_filter(plist.get_nfilters() - 1)[0] == codec  # Zstd, or gzip
