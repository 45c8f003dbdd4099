"""build_tcm: parity with the anchor and production, streaming over chunks, properties."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.errors import FormatError, NotFoundError
from tierflow.evt import build_tcm, read_tcm
from tierflow.types import Array, Table

RAW = "prod-ref-l200/generated/tier/raw"
TCM = "prod-ref-l200/generated/tier/tcm"
CASES = [
    ("prodref-phy.lh5", "phy/p03/r001/l200-p03-r001-phy-20230322T160139Z", "timestamp"),
    # LEGEND's production built this cal map on the DAQ event number, not the timestamp
    # (its 22 events are 29 by timestamp): the anchor reference uses timestamp
    ("prodref-cal.lh5", "cal/p03/r001/l200-p03-r001-cal-20230318T012144Z", "eventnumber"),
]


def _same(a: object, b: object) -> None:
    assert np.array_equal(a.table_key, b.table_key)  # type: ignore[attr-defined]
    assert np.array_equal(a.row_in_table, b.row_in_table)  # type: ignore[attr-defined]
    assert np.array_equal(a.cumulative_length, b.cumulative_length)  # type: ignore[attr-defined]


@pytest.mark.shared
@pytest.mark.parametrize(("reference_name", "stem", "production_col"), CASES)
@pytest.mark.parametrize("buffer_len", [None, 1, 4])
def test_tcm_equals_anchor_and_production(
    reference: Path,
    legend_lh5: Path,
    tmp_path: Path,
    reference_name: str,
    stem: str,
    production_col: str,
    buffer_len: int | None,
) -> None:
    out = tmp_path / "tcm.lh5"
    raw = legend_lh5 / RAW / f"{stem}-tier_raw.lh5"
    build_tcm([(raw, "ch*/raw")], "timestamp", out_file=out, out_name="hardware_tcm_1",
              buffer_len=buffer_len)  # fmt: skip
    mine = read_tcm(out, "hardware_tcm_1")
    _same(mine, read_tcm(reference / "legend" / "tcm" / reference_name, "hardware_tcm_1"))
    production = build_tcm([(raw, "ch*/raw")], production_col, buffer_len=buffer_len)
    assert production is not None
    produced = read_tcm(legend_lh5 / TCM / f"{stem}-tier_tcm.lh5", "hardware_tcm_1")
    assert _lists(production["table_key"]) == _jagged(produced.table_key, produced)
    assert _lists(production["row_in_table"]) == _jagged(produced.row_in_table, produced)
    with h5py.File(out) as handle:
        attrs = handle["hardware_tcm_1"].attrs
        assert attrs["hash_func"] == r"\d+"
        assert attrs["tables"].startswith("['ch")
        assert handle["hardware_tcm_1/table_key/flattened_data"].dtype == np.int64


def _lists(obj: Any) -> list[Any]:
    return list(obj.view_as("ak").tolist())


def _jagged(values: np.ndarray, tcm: object) -> list[list[int]]:
    return [list(v) for v in np.split(values, tcm.cumulative_length[:-1])]  # type: ignore[attr-defined]


def _write_tables(path: Path, tables: list[np.ndarray]) -> None:
    for i, ts in enumerate(tables):
        cols = {"timestamp": Array(ts), "energy": Array(np.arange(len(ts), dtype=np.float32))}
        lh5.write(Table(cols), f"ch{100 + i}/raw", path, mode=lh5.WriteMode.APPEND)


def _brute_force(
    tables: list[np.ndarray], window: float, first: bool
) -> tuple[list[list[int]], list[list[int]]]:
    hits = sorted((t, 100 + i, r) for i, ts in enumerate(tables) for r, t in enumerate(ts))
    events: list[list[tuple[int, int]]] = []
    ref = last = None
    for t, key, row in hits:
        if ref is None or t - (ref if first else last) > window:
            events.append([])
            ref = t
        last = t
        events[-1].append((key, row))
    return [[k for k, _ in e] for e in events], [[r for _, r in e] for e in events]


@settings(max_examples=25, deadline=None)
@given(
    data=st.lists(st.lists(st.integers(0, 60), min_size=0, max_size=30), min_size=1, max_size=4),
    window=st.sampled_from([0.0, 1.0, 3.0]),
    first=st.booleans(),
    buffer_len=st.integers(1, 7),
)
def test_tcm_matches_a_global_sort(
    tmp_path_factory: pytest.TempPathFactory,
    data: list[list[int]],
    window: float,
    first: bool,
    buffer_len: int,
) -> None:
    tables = [np.sort(np.asarray(d, dtype=np.float64)) for d in data]
    path = tmp_path_factory.mktemp("tcm") / "raw.lh5"
    _write_tables(path, tables)
    tcm = build_tcm([(path, "ch*/raw")], "timestamp", coin_windows=window,
                    window_refs="first" if first else "last", buffer_len=buffer_len)  # fmt: skip
    keys, rows = _brute_force(tables, window, first)
    assert tcm is not None
    assert _lists(tcm["table_key"]) == keys
    assert _lists(tcm["row_in_table"]) == rows


def test_out_fields_are_copied(tmp_path: Path) -> None:
    path = tmp_path / "raw.lh5"
    _write_tables(path, [np.array([0.0, 5.0]), np.array([0.0, 9.0])])
    tcm = build_tcm([(path, "ch*/raw")], "timestamp", out_fields="energy", buffer_len=1)
    assert tcm is not None
    assert _lists(tcm["energy"]) == [[0, 0], [1], [1]]


def test_old_layout_is_read(tmp_path: Path) -> None:
    path = tmp_path / "old.lh5"
    with h5py.File(path, "w") as handle:
        group = handle.create_group("hardware_tcm_1")
        group["cumulative_length"] = np.array([2, 3])
        group["array_id"] = np.array([7, 8, 7])
        group["array_idx"] = np.array([0, 0, 1])
    tcm = read_tcm(path)
    assert tcm.table_key.tolist() == [7, 8, 7]
    assert tcm.cumulative_length.tolist() == [2, 3]
    assert read_tcm(path, start_row=1).row_in_table.tolist() == [1]


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    path = tmp_path / "raw.lh5"
    _write_tables(path, [np.array([0.0, 1.0])])
    with pytest.raises(NotFoundError, match=r"timestmp.*did you mean 'timestamp'"):
        build_tcm([(path, "ch*/raw")], "timestmp")
    with pytest.raises(NotFoundError, match="no table matches"):
        build_tcm([(path, "ch*/dsp")], "timestamp")
    with pytest.raises(NotFoundError, match="window reference"):
        build_tcm([(path, "ch*/raw")], "timestamp", window_refs="middle")
    unsorted = tmp_path / "unsorted.lh5"
    _write_tables(unsorted, [np.array([5.0, 6.0, 1.0])])
    with pytest.raises(FormatError, match="not sorted"):
        build_tcm([(unsorted, "ch*/raw")], "timestamp", buffer_len=2)


def test_build_tcm_reads_zstd_inputs_in_a_fresh_process(tmp_path: Path) -> None:
    """Nothing imported but tierflow: Zstd-filtered columns must still be read."""
    import subprocess
    import sys

    raw = tmp_path / "raw.lh5"
    table = Table({"timestamp": Array(np.array([1.0, 2.0, 2.0, 5.0]))})
    lh5.write(table, "ch1/raw", raw, hdf5_settings={"compression": "zstd"})
    lh5.write(table, "ch2/raw", raw, hdf5_settings={"compression": "zstd"})
    out = str(tmp_path / "tcm.lh5")
    code = (
        "from tierflow.evt import build_tcm, read_tcm;"
        f"build_tcm([({str(raw)!r}, 'ch*/raw')], 'timestamp', out_file={out!r}, out_name='tcm');"
        f"print(len(read_tcm({out!r}, 'tcm')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "3"


def test_write_modes_take_the_anchors_names(tmp_path: Path) -> None:
    """The modes go through WriteMode.parse: ``of`` replaces the file, ``o`` an object."""
    raw = tmp_path / "raw.lh5"
    _write_tables(raw, [np.array([0.0, 1.0]), np.array([0.0, 7.0])])
    out = tmp_path / "tcm.lh5"
    build_tcm([(raw, "ch*/raw")], "timestamp", out_file=out, out_name="a")
    build_tcm([(raw, "ch*/raw")], "timestamp", out_file=out, out_name="b", wo_mode="a")
    assert sorted(lh5.ls(out)) == ["a", "b"]
    build_tcm([(raw, "ch*/raw")], "timestamp", out_file=out, out_name="b", wo_mode="o",
              coin_windows=10)  # fmt: skip
    assert len(read_tcm(out, "b")) == 1
    build_tcm([(raw, "ch*/raw")], "timestamp", out_file=out, out_name="c", wo_mode="of")
    assert lh5.ls(out) == ["c"]
    with pytest.raises(NotFoundError, match="did you mean 'overwrite_file'"):
        build_tcm([(raw, "ch*/raw")], "timestamp", out_file=out, wo_mode="overwrite_fil")


@settings(max_examples=40, deadline=None)
@given(
    runs=st.lists(st.lists(st.integers(0, 40), min_size=0, max_size=60), min_size=1, max_size=9),
    block=st.sampled_from([1, 16, 40, 8192]),
    as_float=st.booleans(),
)
def test_blocked_merge_is_a_stable_sort(runs: list[list[int]], block: int, as_float: bool) -> None:
    """The cache-blocked k-way merge equals numpy's stable argsort, whatever the block
    size (small blocks cut the runs into many value ranges, ties across the cuts)."""
    from tierflow.evt._kernels import merge_runs

    dtype = np.float64 if as_float else np.int64
    values = np.concatenate([np.sort(np.asarray(r, dtype=dtype)) for r in runs])
    bounds = np.cumsum([0] + [len(r) for r in runs]).astype(np.int64)
    order, merged = merge_runs(values, bounds, block)
    want = np.argsort(values, kind="stable")
    assert order.tolist() == want.tolist()
    assert merged.tolist() == values[want].tolist()


@pytest.mark.parametrize(("preset", "codec"), [(None, 32015), ("anchor", 1)])
def test_hdf5_presets(tmp_path: Path, preset: str | None, codec: int) -> None:
    path = tmp_path / "raw.lh5"
    _write_tables(path, [np.arange(5000.0), np.arange(5000.0) + 0.5])
    out = tmp_path / "tcm.lh5"
    build_tcm([(path, "ch*/raw")], "timestamp", out_file=out, hdf5_settings=preset)
    with h5py.File(out) as handle:
        plist = handle["tcm/table_key/flattened_data"].id.get_create_plist()
        assert plist.get_filter(plist.get_nfilters() - 1)[0] == codec  # Zstd, or gzip
