"""build_hit on small files made here: chunking, n_max, write modes, errors, store parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from tierflow import lh5
from tierflow.errors import ConfigError, MismatchError, NotFoundError
from tierflow.hit import (
    ParameterSource,
    build_hit,
    default_outfile,
    discover_tables,
    hit_name,
    make_hit_config,
)
from tierflow.lh5 import ObjectExistsError, WriteMode
from tierflow.types import Array, Table, VectorOfVectors

N = 1000
T0 = 1_700_000_000.0  # seconds since the epoch


def _dsp_table(seed: int) -> Table:
    rng = np.random.default_rng(seed)
    return Table(
        {
            "timestamp": Array(T0 + np.arange(N, dtype=np.float64), attrs={"units": "s"}),
            "trapEmax": Array(rng.normal(3000, 100, N).astype(np.float32), attrs={"units": "ADC"}),
            "A_max": Array(rng.normal(200, 10, N).astype(np.float32)),
            "tp_0_est": Array(rng.normal(48000, 2000, N)),
            "hits": VectorOfVectors([[1.0] * (i % 3) for i in range(N)]),
        }
    )


@pytest.fixture
def dsp(tmp_path: Path) -> Path:
    path = tmp_path / "run_dsp.lh5"
    lh5.write(_dsp_table(1), "ch1/dsp", path)
    lh5.write(_dsp_table(2), "ch2/dsp", path, mode=WriteMode.APPEND)
    return path


CONFIG: dict[str, Any] = {
    "outputs": ["calE", "AoE", "A_max", "flags", "n_hits"],
    "operations": {
        "AoE": {"expression": "A_max / calE", "description": "A over E"},
        "calE": {
            "expression": "a + b * trapEmax",
            "parameters": {"a": 0.5, "b": 0.25},
            "lgdo_attrs": {"units": "keV"},
        },
        "valid_t0": {"expression": "(tp_0_est > 47000) & (tp_0_est < 55000)"},
        "high": {"expression": "calE > 750"},
        "n_hits": {"expression": "ak.num(hits)"},
    },
    "aggregations": {"flags": {"bit1": "high", "bit0": "valid_t0"}},
}


def test_outputs_values_and_attrs(dsp: Path, tmp_path: Path) -> None:
    out = build_hit(dsp, tmp_path / "hit.lh5", hit_config=CONFIG)
    assert lh5.ls(out, "*/hit") == ["ch1/hit", "ch2/hit"]
    hit = lh5.read("ch1/hit", out)
    table = _dsp_table(1)
    trap = table["trapEmax"].nda  # type: ignore[attr-defined]
    np.testing.assert_allclose(hit["calE"].nda, 0.5 + 0.25 * trap.astype(np.float64), rtol=1e-15)
    assert hit["calE"].attrs == {"units": "keV"}
    assert hit["AoE"].attrs == {"description": "A over E"}
    assert list(hit) == sorted(CONFIG["outputs"])
    t0 = table["tp_0_est"].nda  # type: ignore[attr-defined]
    valid = (t0 > 47000) & (t0 < 55000)
    expected = valid.astype(np.uint8) | (hit["calE"].nda > 750).astype(np.uint8) << 1
    np.testing.assert_array_equal(hit["flags"].nda, expected)
    assert hit["flags"].attrs["bit_names"] == "valid_t0,high"
    np.testing.assert_array_equal(hit["n_hits"].nda, np.arange(N) % 3)
    with h5py.File(out) as handle:
        assert handle["ch1"].attrs["datatype"] == "struct{hit}"


@pytest.mark.parametrize(
    ("preset", "filter_id", "level"), [(None, 32015, 3), ("legend", 32015, 3), ("anchor", 1, 4)]
)
def test_hdf5_presets(
    dsp: Path, tmp_path: Path, preset: str | None, filter_id: int, level: int
) -> None:
    out = build_hit(dsp, tmp_path / "hit.lh5", hit_config=CONFIG, hdf5_settings=preset)
    with h5py.File(out) as handle:
        plist = handle["ch1/hit/calE"].id.get_create_plist()
        filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    assert [f[0] for f in filters] == [2, filter_id]  # shuffle first
    assert filters[1][2][-1 if filter_id == 1 else 0] == level
    default = build_hit(dsp, tmp_path / "default.lh5", hit_config=CONFIG)
    assert lh5.read("ch1/hit", out) == lh5.read("ch1/hit", default)
    with pytest.raises(NotFoundError, match="legend"):
        build_hit(dsp, tmp_path / "x.lh5", hit_config=CONFIG, hdf5_settings="legnd")


def test_chunked_equals_one_chunk(dsp: Path, tmp_path: Path) -> None:
    one = build_hit(dsp, tmp_path / "one.lh5", hit_config=CONFIG)
    many = build_hit(dsp, tmp_path / "many.lh5", hit_config=CONFIG, buffer_len=97)
    assert lh5.read("ch2/hit", one) == lh5.read("ch2/hit", many)


def test_n_max_limits_rows_per_table(dsp: Path, tmp_path: Path) -> None:
    out = build_hit(dsp, tmp_path / "hit.lh5", hit_config=CONFIG, n_max=250, buffer_len=100)
    assert lh5.n_rows("ch1/hit", out) == 250
    assert lh5.n_rows("ch2/hit", out) == 250


def test_write_modes(dsp: Path, tmp_path: Path) -> None:
    target = tmp_path / "hit.lh5"
    build_hit(dsp, target, hit_config=CONFIG, lh5_tables=["ch1/dsp"])
    with pytest.raises(ObjectExistsError):
        build_hit(dsp, target, hit_config=CONFIG, lh5_tables=["ch1/dsp"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hit.lh5", "run_dsp.lh5"]  # no temp
    build_hit(dsp, target, hit_config=CONFIG, lh5_tables=["ch2/dsp"])  # adds a table
    assert lh5.ls(target, "*/hit") == ["ch1/hit", "ch2/hit"]
    build_hit(dsp, target, hit_config=CONFIG, lh5_tables=["ch1/dsp"], wo_mode="append")
    assert lh5.n_rows("ch1/hit", target) == 2 * N
    build_hit(dsp, target, hit_config=CONFIG, lh5_tables=["ch1/dsp"], wo_mode="overwrite")
    assert lh5.n_rows("ch1/hit", target) == N
    build_hit(dsp, target, hit_config=CONFIG, lh5_tables=["ch1/dsp"], wo_mode="overwrite_file")
    assert lh5.ls(target, "*/hit") == ["ch1/hit"]
    with pytest.raises(NotFoundError, match="did you mean 'overwrite'"):
        build_hit(dsp, target, hit_config=CONFIG, wo_mode="overwrit")


def test_outputs_unset_forwards_every_column(dsp: Path, tmp_path: Path) -> None:
    config = {"operations": {"double": {"expression": "2 * trapEmax"}}}
    out = build_hit(dsp, tmp_path / "hit.lh5", hit_config=config)
    assert list(lh5.read("ch1/hit", out)) == sorted(["double", *_dsp_table(1)])


def test_missing_column_names_the_closest(dsp: Path, tmp_path: Path) -> None:
    config = {"outputs": ["e"], "operations": {"e": {"expression": "2 * trapEmx"}}}
    with pytest.raises(NotFoundError, match="did you mean 'trapEmax'") as info:
        build_hit(dsp, tmp_path / "hit.lh5", hit_config=config)
    assert "run_dsp.lh5" in str(info.value)
    assert not (tmp_path / "hit.lh5").exists()


def test_failure_midway_leaves_no_file(dsp: Path, tmp_path: Path) -> None:
    config = {"outputs": ["e"], "operations": {"e": {"expression": "trapEmax & 1"}}}
    with pytest.raises(ConfigError, match="bitwise operators"):
        build_hit(dsp, tmp_path / "hit.lh5", hit_config=config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_dsp.lh5"]


def test_config_from_files_and_table_configs(dsp: Path, tmp_path: Path) -> None:
    json_file = tmp_path / "hit.json"
    json_file.write_text(json.dumps(CONFIG))
    yaml_file = tmp_path / "hit.yaml"
    yaml_file.write_text("outputs: [twice]\noperations:\n  twice: {expression: 2 * A_max}\n")
    out = build_hit(
        dsp,
        tmp_path / "hit.lh5",
        lh5_tables_config={"ch1/dsp": str(json_file), "ch2/dsp": yaml_file},
    )
    assert list(lh5.read("ch1/hit", out)) == sorted(CONFIG["outputs"])
    assert list(lh5.read("ch2/hit", out)) == ["twice"]
    with pytest.raises(ConfigError, match="mutually exclusive"):
        build_hit(dsp, lh5_tables_config={"ch1/dsp": CONFIG}, lh5_tables=["ch1/dsp"])
    with pytest.raises(ConfigError, match="either"):
        build_hit(dsp)


def test_names_and_discovery(dsp: Path, tmp_path: Path) -> None:
    assert discover_tables(dsp) == ["ch1/dsp", "ch2/dsp"]
    assert hit_name("ch1/dsp") == "ch1/hit"
    assert hit_name("dsp") == "hit"
    assert default_outfile(dsp) == tmp_path / "run_hit.lh5"
    assert default_outfile("/x/l200-tier_dsp.lh5") == Path("/x/l200-tier_hit.lh5")


class FakeStore:
    """Two validity intervals: a different slope from the 500th second on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def lookup(self, detector: str, ctype: str, at: int) -> Any:
        self.calls.append((detector, ctype, at))
        slope = 0.25 if at < (T0 + 500) * 1e9 else 0.5
        return {"trapEmax": {"b": slope, "a": 1.0 if detector == "ch1" else 2.0}}

    def provenance(self) -> dict[str, str]:
        return {"store": "fake", "version": "3"}


STORE_CONFIG = {
    "outputs": ["calE"],
    "operations": {
        "calE": {
            "expression": "a + b * trapEmax",
            "parameters": {
                "a": {"calib": "ecal", "key": "trapEmax.a"},
                "b": {"calib": "ecal", "key": "trapEmax.b"},
            },
        }
    },
}


def test_parameters_from_a_store_per_table_and_chunk(dsp: Path, tmp_path: Path) -> None:
    store = FakeStore()
    assert isinstance(store, ParameterSource)
    out = build_hit(
        dsp, tmp_path / "hit.lh5", hit_config=STORE_CONFIG, buffer_len=250, parameter_source=store
    )
    assert [c[0] for c in store.calls] == ["ch1"] * 4 + ["ch2"] * 4
    assert store.calls[1] == ("ch1", "ecal", int((T0 + 250) * 1e9))
    hit = lh5.read("ch2/hit", out)
    trap = _dsp_table(2)["trapEmax"].nda.astype(np.float64)  # type: ignore[attr-defined]
    slope = np.where(np.arange(N) < 500, 0.25, 0.5)
    np.testing.assert_allclose(hit["calE"].nda, 2.0 + slope * trap, rtol=1e-15)
    assert json.loads(hit.attrs["calib_provenance"]) == {"store": "fake", "version": "3"}
    assert json.loads(hit["calE"].attrs["calib_parameters"]) == {
        "a": "ecal:trapEmax.a",
        "b": "ecal:trapEmax.b",
    }


def test_store_parameters_need_a_source_and_a_known_key(dsp: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass parameter_source"):
        build_hit(dsp, tmp_path / "hit.lh5", hit_config=STORE_CONFIG)
    bad = json.loads(json.dumps(STORE_CONFIG))
    bad["operations"]["calE"]["parameters"]["b"]["key"] = "trapEmax.bb"
    with pytest.raises(NotFoundError, match="did you mean") as info:
        build_hit(dsp, tmp_path / "hit.lh5", hit_config=bad, parameter_source=FakeStore())
    assert "ch1" in str(info.value)


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="did you mean 'expression'"):
        make_hit_config({"operations": {"x": {"expresion": "a"}}})
    with pytest.raises(ConfigError, match="did you mean 'aggregations'"):
        make_hit_config({"agregations": {}})
    with pytest.raises(ConfigError, match="must be a number"):
        make_hit_config({"operations": {"x": {"expression": "a", "parameters": {"a": "1.2"}}}})
    with pytest.raises(ConfigError, match=r"bit0\.\.bit1"):
        make_hit_config({"aggregations": {"q": {"bit0": "a", "bit2": "b"}}})
    with pytest.raises(ConfigError, match="cycle"):
        make_hit_config({"operations": {"a": {"expression": "b"}, "b": {"expression": "a"}}})
    with pytest.raises(ConfigError, match="unknown function") as info:
        make_hit_config({"operations": {"x": {"expression": "os.system(1)"}}})
    assert info.value.obj == "operations/x/expression"


def test_config_is_not_modified_and_aggregation_dtype() -> None:
    before = json.dumps(CONFIG, sort_keys=True)
    config = make_hit_config(CONFIG)
    assert json.dumps(CONFIG, sort_keys=True) == before
    order = [op.name for op in config.operations]
    assert order.index("calE") < order.index("AoE")
    assert order.index("calE") < order.index("high")
    assert config.aggregations[0].bits == ("valid_t0", "high")
    wide = make_hit_config({"aggregations": {"q": {f"bit{i}": "x" for i in range(9)}}})
    assert wide.aggregations[0].dtype == np.uint16


def test_jagged_and_2d_flags_are_packed_per_element() -> None:
    import awkward as ak

    from tierflow.hit import Aggregation
    from tierflow.hit._process import pack_bits

    per_hit = ak.Array([[True, False], [], [True]])
    per_row = np.array([False, True, True])
    packed = pack_bits(Aggregation("q", ("hit", "row")), [per_hit, per_row], 3)
    assert isinstance(packed, VectorOfVectors)
    assert packed.view_as("ak").tolist() == [[1, 0], [], [3]]
    assert packed.attrs["bit_names"] == "hit,row"
    grid = np.array([[1, 0, 1], [0, 0, 1]], bool)
    words = pack_bits(Aggregation("q", ("row", "grid")), [np.array([1, 0], bool), grid], 2)
    np.testing.assert_array_equal(words.nda, [[3, 1, 3], [0, 0, 2]])  # type: ignore[attr-defined]
    with pytest.raises(MismatchError, match=r"'q'.*a: jagged, b: jagged"):
        pack_bits(Aggregation("q", ("a", "b")), [per_hit, ak.Array([[True], [], [True]])], 3)
    with pytest.raises(MismatchError, match=r"different shapes"):
        pack_bits(Aggregation("q", ("a", "b")), [grid, np.ones((2, 4), bool)], 2)


def test_jagged_aggregation_end_to_end(dsp: Path, tmp_path: Path) -> None:
    config = {
        "outputs": ["hit_flags"],
        "operations": {
            "positive": {"expression": "hits > 0"},
            "high": {"expression": "A_max > 200"},
        },
        "aggregations": {"hit_flags": {"bit0": "positive", "bit1": "high"}},
    }
    out = build_hit(dsp, tmp_path / "hit.lh5", hit_config=config)
    flags = lh5.read("ch1/hit/hit_flags", out)
    table = _dsp_table(1)
    high = table["A_max"].nda > 200  # type: ignore[attr-defined]
    expected = [[1 + 2 * int(high[i])] * (i % 3) for i in range(N)]
    assert flags.view_as("ak").tolist() == expected
    assert flags.flattened_data.nda.dtype == np.uint8
