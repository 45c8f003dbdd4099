"""build_evt on several processes: the same chunks, the same output bit for bit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import cores, lh5
from tierflow.errors import ConfigError, MismatchError
from tierflow.evt import TCM, _parallel, build_evt
from tierflow.evt._parallel import can_fork, plan_workers, split_events
from tierflow.types import Array, Table

ANT = "l200-truncated/generated/tier/{tier}/ant/p13/r001/l200-p13-r001-ant-20241210T225016Z"
needs_fork = pytest.mark.skipif(not can_fork(), reason="workers are forked on Linux only")


@settings(max_examples=60, deadline=None)
@given(
    n_events=st.integers(0, 5000),
    buffer_len=st.integers(1, 700),
    parts=st.integers(1, 9),
    first_weight=st.sampled_from([1.0, 1.25, 2.0]),
)
def test_ranges_cover_the_events_on_chunk_boundaries(
    n_events: int, buffer_len: int, parts: int, first_weight: float
) -> None:
    ranges = split_events(n_events, buffer_len, parts, first_weight)
    assert len(ranges) <= parts
    assert [a for a, _ in ranges[1:]] == [b for _, b in ranges[:-1]]  # contiguous
    if n_events:
        assert ranges[0][0] == 0
        assert ranges[-1][1] == n_events
    assert all(a % buffer_len == 0 and a < b for a, b in ranges)
    n_chunks = -(-n_events // buffer_len)
    if n_chunks >= parts and first_weight == 1.0:
        assert len(ranges) == parts  # one range for each process
    chunks = [-(-(b - a) // buffer_len) for a, b in ranges]
    if len(ranges) == parts:  # shares within a chunk of the weights
        total = first_weight + parts - 1
        for i, count in enumerate(chunks):
            share = (first_weight if i == 0 else 1.0) / total
            assert abs(count - share * n_chunks) <= 1.0


def test_worker_count() -> None:
    assert plan_workers(None, 1000, 100) == 1  # too few events to pay for a fork
    assert plan_workers(4, 250, 100) == (3 if can_fork() else 1)  # no more than the chunks
    assert plan_workers(1, 10**7, 100) == 1
    for bad in (0, -2, True):
        with pytest.raises(ConfigError, match="n_workers"):
            plan_workers(bad, 1000, 100)
    with pytest.raises(ConfigError, match="buffer_len"):
        plan_workers(2, 1000, 0)


def test_default_uses_the_idle_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores, "available_cores", lambda: 4)
    monkeypatch.setattr(_parallel, "can_fork", lambda: True)
    for load, idle in [(0.0, 4), (1.0, 4), (1.6, 3), (3.7, 1), (40.0, 1)]:
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert cores.idle_cores() == idle
        assert plan_workers(None, 10**6, 10**4) == idle
    assert plan_workers(None, 250_000, 10**4) == 1  # 100k events per extra process
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert plan_workers(None, 250_000, 10**4) == 2


def test_no_workers_from_daemonic_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    class Daemon:
        daemon = True

    monkeypatch.setattr(_parallel.multiprocessing, "current_process", Daemon)
    assert not _parallel.can_fork()
    assert plan_workers(4, 10**6, 10**4) == 1


def _datasets(path: Path) -> dict[str, Any]:
    """Every dataset of a file (values and attributes) by path."""
    found: dict[str, Any] = {}

    def visit(name: str, node: Any) -> None:
        if isinstance(node, h5py.Dataset):
            found[name] = (node[()], node.dtype, node.chunks, dict(node.attrs))
        else:
            found[name] = dict(node.attrs)

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return found


def _assert_same_files(a: Path, b: Path) -> None:
    one, two = _datasets(a), _datasets(b)
    assert sorted(one) == sorted(two)
    for name, value in one.items():
        other = two[name]
        if isinstance(value, dict):
            assert value == other, name
            continue
        data, dtype, chunks, attrs = value
        assert (dtype, chunks, attrs) == other[1:], name
        assert data.tobytes() == other[0].tobytes(), name  # bit for bit, NaNs included


@needs_fork
@pytest.mark.shared
def test_workers_give_the_output_of_one_process(
    legend_lh5: Path, reference: Path, tmp_path: Path
) -> None:
    """The SiPM config uses tcm.index (chunk-relative) and chunk-wide event functions."""
    info: dict[str, Any] = {
        tier: (legend_lh5 / f"{ANT.format(tier=tier)}-tier_{tier}.lh5", tier, "ch{}")
        for tier in ("dsp", "hit")
    }
    info["tcm"] = (legend_lh5 / f"{ANT.format(tier='tcm')}-tier_tcm.lh5", "hardware_tcm_1")
    config = reference / "legend" / "configs" / "pygama-spms-p13-evt-config.yaml"
    outputs = {}
    for workers in (1, 3):  # 50 events in chunks of 7: ranges of 21, 14 and 15 events
        out = tmp_path / f"evt{workers}.lh5"
        build_evt(info | {"evt": (out, "evt")}, config, buffer_len=7, n_workers=workers)
        outputs[workers] = out
    _assert_same_files(outputs[1], outputs[3])


def _buffers(obj: Any) -> list[np.ndarray]:
    if isinstance(obj, Array):
        return [obj.nda]
    return [obj.cumulative_length.nda, *_buffers(obj.flattened_data)]


def _synthetic(folder: Path, n_events: int, bad_last_row: bool = False) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    keys = np.array([11, 12])
    hit = folder / "hit.lh5"
    for key in keys:
        energy = Array(rng.exponential(100, n_events), attrs={"units": "keV"})
        lh5.write(Table({"energy": energy}), f"ch{key}/hit", hit)
    rows = np.repeat(np.arange(n_events), 2)
    if bad_last_row:
        rows[-1] = n_events + 5
    tcm = TCM(np.tile(keys, n_events), rows, np.arange(1, n_events + 1) * 2)
    lh5.write(tcm.to_table(), "hardware_tcm_1", folder / "tcm.lh5")
    return {"tcm": (folder / "tcm.lh5", "hardware_tcm_1"), "hit": (hit, "hit", "ch{}")}


CONFIG = {
    "channels": {"all": ["ch11", "ch12"]},
    "outputs": ["energy", "total", "index"],
    "operations": {
        "energy": {"channels": "all", "aggregation_mode": "gather",
                   "query": "hit.energy > 50", "expression": "hit.energy"},
        "total": {"channels": "all", "aggregation_mode": "sum", "initial": 0,
                  "expression": "hit.energy"},
        "index": {"channels": "all", "aggregation_mode": "gather", "expression": "tcm.index"},
    },
}  # fmt: skip


@needs_fork
def test_workers_on_synthetic_events(tmp_path: Path) -> None:
    info = _synthetic(tmp_path, 1000)
    one = build_evt(info, CONFIG, buffer_len=64, n_workers=1)
    two = build_evt(info, CONFIG, buffer_len=64, n_workers=2)
    assert isinstance(one, Table)
    assert isinstance(two, Table)
    flat_one, flat_two = one.flat_columns(), two.flat_columns()
    assert list(flat_one) == list(flat_two)
    for name, column in flat_one.items():
        for mine, theirs in zip(_buffers(column), _buffers(flat_two[name]), strict=True):
            assert mine.dtype == theirs.dtype, name
            assert mine.tobytes() == theirs.tobytes(), name
    index = two["index"].view_as("ak")
    assert index[64].tolist() == [0, 1]  # tcm.index restarts with every chunk
    assert index[63].tolist() == [126, 127]
    assert two["total"].attrs == {"units": "keV"}


@needs_fork
def test_errors_in_a_worker_reach_the_caller(tmp_path: Path) -> None:
    info = _synthetic(tmp_path, 1000, bad_last_row=True)  # only the last chunk is wrong
    out = tmp_path / "evt.lh5"
    with pytest.raises(MismatchError, match="row 1005"):
        build_evt(info | {"evt": (out, "evt")}, CONFIG, buffer_len=64, n_workers=2)
    assert not out.exists()  # nothing is left behind


def test_tables_pass_through_files_unchanged(tmp_path: Path) -> None:
    from tierflow.types import VectorOfVectors

    tables = [
        Table(
            {
                "x": Array(np.arange(n, dtype=np.float32), attrs={"units": "keV"}),
                "v": VectorOfVectors([[1, 2], [], [3]][:n] or [[4]]),
                "b": Array(np.arange(n) % 2 == 0),
            },
            size=n,
        )
        for n in (1, 3)
    ]
    path = tmp_path / "part.pickle"
    _parallel._dump(tables, str(path))
    got = _parallel._load(str(path), [])
    assert not path.exists()
    for mine, theirs in zip(got, tables, strict=True):
        assert mine["x"].attrs == {"units": "keV"}
        for name in ("x", "v", "b"):
            for a, b in zip(_buffers(mine[name]), _buffers(theirs[name]), strict=True):
                assert a.dtype == b.dtype
                assert a.tobytes() == b.tobytes()
    got[1]["x"].nda[0] = 7  # the arrays are writable copies on write
    assert tables[1]["x"].nda[0] == 0
