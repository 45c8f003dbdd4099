"""Slab caches and chunked map reading in build_evt: same values as reading each chunk."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.evt import TCM, _data, _slabs, build_evt
from tierflow.evt._slabs import SlabCache
from tierflow.types import Array, Table, VectorOfVectors

KEYS = (11, 12, 13)


def _write_inputs(folder: Path, n: int, seed: int = 0) -> dict[str, tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    hit = folder / "hit.lh5"
    for key in KEYS:
        lengths = rng.integers(0, 4, n)
        flat = rng.normal(size=lengths.sum())
        ends = Array(np.cumsum(lengths))
        cols = {
            "e": Array(rng.exponential(100, n)),
            "t": Array(rng.random(n)),
            "flag": Array(rng.random(n) < 0.5),
            "pe": VectorOfVectors(flattened_data=Array(flat), cumulative_length=ends),
            "ok": VectorOfVectors(flattened_data=Array(flat > 0), cumulative_length=ends),
        }  # fmt: skip
        lh5.write(Table(cols), f"ch{key}/hit", hit)
    # each event has a random subset of the channels, rows increase per channel
    present = rng.random((n, len(KEYS))) < 0.7
    keys = np.broadcast_to(np.array(KEYS), present.shape)[present]
    rows = np.broadcast_to(np.arange(n)[:, None], present.shape)[present]
    tcm = TCM(keys.astype(np.int64), rows.astype(np.int64), np.cumsum(present.sum(axis=1)))
    lh5.write(tcm.to_table(), "hardware_tcm_1", folder / "tcm.lh5")
    return {"tcm": (str(folder / "tcm.lh5"), "hardware_tcm_1"), "hit": (str(hit), "hit", "ch{}")}


CONFIG = {
    "channels": {"all": [f"ch{k}" for k in KEYS]},
    "outputs": ["e_sum", "first_id", "e_first", "pe_sum", "n_ok", "flags", "e_all"],
    "operations": {
        "e_sum": {"channels": "all", "aggregation_mode": "sum", "initial": 0,
                  "query": "hit.e > 50", "expression": "hit.e"},
        "first_id": {"channels": "all", "aggregation_mode": "first_at:hit.t",
                     "expression": "tcm.table_key", "initial": 0},
        "e_first": {"channels": "all", "aggregation_mode": "keep_at_ch:evt.first_id",
                    "expression": "hit.e", "initial": "np.nan"},
        "pe_sum": {"channels": "all", "aggregation_mode": "sum", "initial": 0,
                   "expression": "ak.sum(hit.pe, axis=-1)"},
        "n_ok": {"channels": "all", "aggregation_mode": "sum", "initial": 0,
                 "expression": "ak.sum(hit.ok, axis=-1)"},
        "flags": {"channels": "all", "aggregation_mode": "any", "initial": False,
                  "expression": "hit.flag"},
        "e_all": {"channels": "all", "aggregation_mode": "gather", "expression": "hit.e"},
    },
}  # fmt: skip


def _as_lists(table: Table) -> dict[str, list[object]]:
    return {name: ak.to_list(col.view_as("ak")) for name, col in table.items()}


def test_small_slabs_and_chunks_give_the_one_chunk_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = _write_inputs(tmp_path, 500)
    whole = build_evt(info, CONFIG, buffer_len=10**6)
    monkeypatch.setattr(_slabs, "_MIN_SLAB", 16)
    monkeypatch.setattr(_slabs, "_DEFAULT_CHUNK", 16)
    monkeypatch.setattr(_slabs, "_SLAB_BYTES", 8 * 16)  # 16 rows of float64
    monkeypatch.setattr(_data, "_TCM_SLAB", 40)
    monkeypatch.setattr(_data, "_TCM_SLAB_HITS", 60)
    chunked = build_evt(info, CONFIG, buffer_len=13)
    assert whole is not None
    assert chunked is not None
    assert len(whole) == len(chunked) == 500
    expected, got = _as_lists(whole), _as_lists(chunked)
    assert list(expected) == list(got)
    for name in expected:
        np.testing.assert_equal(got[name], expected[name], err_msg=name)
    assert max(got["n_ok"]) > 0
    assert any(got["flags"])


def test_slabs_of_numbers_are_wide_unless_many_columns_are_cached() -> None:
    dataset = _slabs._Dataset(None, "x", (10**7,), np.dtype(np.float64), True)
    entry = _slabs._Entry("x", 10**7, 2**17, True, plain=(dataset, False))
    assert _slabs._slab_rows(entry, 3) * 8 == _slabs._SLAB_BYTES
    assert _slabs._slab_rows(entry, 2**10) * 8 == _slabs._SLAB_BUDGET // 2**10
    assert _slabs._slab_rows(_slabs._Entry("y", 10, 10, True), 1) == 0  # not plain


def test_map_reads_hold_about_a_budget_of_hits(tmp_path: Path) -> None:
    path = tmp_path / "tcm.lh5"
    n_events = 3 * 2**17
    tcm = TCM(np.ones(2 * n_events, dtype=np.int64), np.arange(2 * n_events),
              np.arange(1, n_events + 1) * 2)  # fmt: skip
    lh5.write(tcm.to_table(), "hardware_tcm_1", path)
    with h5py.File(path, "r") as handle:
        per_read = _data._events_per_read(handle, "hardware_tcm_1", n_events, 1000)
        assert per_read == _data._TCM_SLAB_HITS // 2 // 1000 * 1000  # 2 hits per event
        small = _data._events_per_read(handle, "hardware_tcm_1", 10, 7)
        assert small == _data._TCM_SLAB // 7 * 7
    chunks = list(_data.iter_tcm(str(path), "hardware_tcm_1", 1000))
    assert sum(len(c) for c in chunks) == n_events
    assert all(int(c.cumulative_length[-1]) == 2 * len(c) for c in chunks)


@pytest.fixture(scope="module")
def hit_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(_write_inputs(tmp_path_factory.mktemp("slabs"), 300, seed=3)["hit"][0])


@settings(max_examples=30, deadline=None)
@given(
    field=st.sampled_from(["e", "flag", "pe", "ok"]),
    picks=st.lists(
        st.one_of(
            st.lists(st.integers(0, 299), min_size=0, max_size=20),
            st.integers(0, 280).map(lambda a: list(range(a, a + 19))),  # consecutive rows
        ),
        max_size=6,
    ),
    min_slab=st.sampled_from([1, 7, 64, 1000]),
)
def test_slab_take_equals_lh5_read(
    hit_file: Path, field: str, picks: list[list[int]], min_slab: int
) -> None:
    path = f"ch12/hit/{field}"
    full = lh5.read(path, hit_file)
    expected_all = ak.to_list(full.view_as("ak"))
    old = _slabs._MIN_SLAB
    _slabs._MIN_SLAB = min_slab
    try:
        with h5py.File(hit_file, "r") as handle:
            cache = SlabCache(handle)
            assert cache.size(path) == 300
            floor = 0
            for pick in picks:  # increasing ranges, as a map visits them
                rows = np.sort(np.asarray(pick, dtype=np.int64) % (300 - floor) + floor)
                want = [expected_all[r] for r in rows]
                got = cache.take(path, rows)
                assert ak.to_list(got.view_as("ak")) == want
                lists = cache.take_lists(path, rows)  # the same values, as lengths + flat
                if len(rows) == 0:
                    assert lists is None
                    continue
                assert lists is not None
                nested = ak.to_list(ak.unflatten(lists[1], lists[0]))
                assert nested == [w if isinstance(w, list) else [w] for w in want]
                floor = int(rows.min()) if len(rows) else floor
    finally:
        _slabs._MIN_SLAB = old


def test_plain_readers_are_used_for_numbers(hit_file: Path) -> None:
    with h5py.File(hit_file, "r") as handle:
        cache = SlabCache(handle)
        cache.take("ch11/hit/e", np.array([1, 2]))
        cache.take("ch11/hit/ok", np.array([1, 2]))
        cache.take("ch11/hit/flag", np.array([1, 2]))
        assert cache.entries["ch11/hit/e"].plain is not None
        assert cache.entries["ch11/hit/ok"].jagged is not None
        assert cache.entries["ch11/hit/flag"].plain is not None  # booleans too
        flags = cache.take("ch11/hit/flag", np.array([0, 5, 7]))
        assert flags.nda.dtype == np.bool_
        want = lh5.read("ch11/hit/flag", handle).nda[[0, 5, 7]]
        assert flags.nda.tolist() == want.tolist()


@settings(max_examples=40, deadline=None)
@given(
    keys=st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=70),
    picks=st.lists(st.integers(0, 69), max_size=400),
)
def test_hits_grouped_by_key_in_map_order(keys: list[int], picks: list[int]) -> None:
    table_key = np.array([keys[p % len(keys)] for p in picks], dtype=np.int64)
    groups, rank = _data.group_hits(table_key)
    assert list(groups) == sorted(set(table_key.tolist()))  # keys ascending
    for key, positions in groups.items():
        assert positions.tolist() == np.flatnonzero(table_key == key).tolist()
        assert rank[positions].tolist() == list(range(len(positions)))
