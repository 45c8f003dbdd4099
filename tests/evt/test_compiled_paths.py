"""The compiled per-chunk loops of the aggregators against numpy forms of the same rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.evt import TCM, _aggregators, build_evt
from tierflow.evt._kernels import counting_sort, first_or_last_where, put_owned
from tierflow.types import Array, Table, VectorOfVectors


def _inputs(folder: Path, seed: int) -> dict[str, tuple[str, ...]]:
    """Four channels (float32 energies in one, NaNs, integer counts) and a map in which
    channels appear in any order, some events without hits."""
    rng = np.random.default_rng(seed)
    n = 80
    for key in (1, 2, 3, 4):
        energy = rng.exponential(30, n).astype(np.float32 if key == 3 else np.float64)
        energy[rng.random(n) < 0.1] = np.nan
        cols = {
            "e": Array(energy),
            "t": Array(np.round(rng.random(n) * 5)),  # ties between channels
            "k": Array(rng.integers(0, 5, n)),
        }
        lh5.write(Table(cols), f"ch{key}/hit", folder / "hit.lh5")
    sizes = rng.integers(0, 5, n)
    keys = np.concatenate([rng.permutation([1, 2, 3, 4])[:s] for s in sizes])
    rows = np.repeat(np.arange(n), sizes)
    tcm = TCM(keys.astype(np.int64), rows.astype(np.int64), np.cumsum(sizes))
    lh5.write(tcm.to_table(), "hardware_tcm_1", folder / "tcm.lh5")
    return {
        "tcm": (str(folder / "tcm.lh5"), "hardware_tcm_1"),
        "hit": (str(folder / "hit.lh5"), "hit", "ch{}"),
    }


def _op(mode: str, expression: str, **more: Any) -> dict[str, Any]:
    return {"channels": "on", "aggregation_mode": mode, "expression": expression, **more}


CONFIG = {
    "channels": {"on": ["ch2", "ch1", "ch3", "ch4"], "off": ["ch4"]},
    "outputs": ["e", "e_off", "s", "n", "k", "first", "last", "first_k", "at_id", "at_int",
                "at_idx"],
    "operations": {
        "e": _op("gather", "hit.e", query="hit.e > 20"),
        "e_off": _op("gather", "hit.e * 2", query="hit.k > 1", exclude_channels="off"),
        "s": _op("sum", "hit.e", query="hit.e > 20", initial=0),
        "n": _op("sum", "hit.e > 20", initial=0),
        "k": _op("sum", "hit.k", initial=0.5),  # integers into a float sum
        "first": _op("first_at:hit.t", "hit.e", query="hit.k > 0", initial=np.nan),
        "last": _op("last_at:hit.t", "tcm.table_key", initial=0),
        "first_k": _op("first_at:hit.t", "hit.k", initial=0),
        "at_id": _op("keep_at_ch:evt.last", "hit.e", initial=np.nan),
        "at_int": _op("keep_at_ch:evt.last", "hit.e", initial=-1),  # floats into integers
        "at_idx": _op("keep_at_idx:evt.first_k", "hit.k", initial=0),
    },
}  # fmt: skip


def _grouped_by_sorting(
    value: np.ndarray, event: np.ndarray, n_events: int, dtype: Any
) -> VectorOfVectors:
    order = np.argsort(event, kind="stable")
    flat = value[order] if dtype is None else value[order].astype(dtype)
    lengths = np.bincount(event, minlength=n_events)
    return VectorOfVectors(flattened_data=Array(flat), cumulative_length=np.cumsum(lengths))


def _numpy_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send the aggregators down their numpy paths."""
    monkeypatch.setattr(_aggregators, "_gather_unsorted", lambda *args: None)
    monkeypatch.setattr(_aggregators, "_grouped_by_event", _grouped_by_sorting)
    monkeypatch.setattr(_aggregators, "_compiled_copy", lambda source, target: False)
    monkeypatch.setattr(
        _aggregators,
        "_add_where",
        lambda out, events, values, mask: _aggregators._add_at(out, events[mask], values[mask]),
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")  # NaN into integers
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_paths_equal_the_numpy_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    info = _inputs(tmp_path, seed)
    compiled = build_evt(info, CONFIG, buffer_len=13)
    _numpy_only(monkeypatch)
    reference = build_evt(info, CONFIG, buffer_len=13)
    assert isinstance(compiled, Table)
    assert isinstance(reference, Table)
    for name in CONFIG["outputs"]:
        got, want = compiled[name], reference[name]
        assert type(got) is type(want), name
        if isinstance(want, VectorOfVectors):
            assert got.cumulative_length.nda.tolist() == want.cumulative_length.nda.tolist()
            got, want = got.flattened_data, want.flattened_data
        assert got.nda.dtype == want.nda.dtype, name
        np.testing.assert_array_equal(got.nda, want.nda, err_msg=name)
    assert np.isnan(compiled["first"].nda).any()  # the initial value where nothing passes


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(
        st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.booleans()), max_size=12),
        min_size=1,
        max_size=4,
    ),
    is_first=st.booleans(),
)
def test_first_or_last_by_part_equals_one_pass(
    parts: list[list[tuple[int, int, bool]]], is_first: bool
) -> None:
    """Parts one after another pick the same hits as one pass over all of them."""
    n_events = 7
    best = np.full(n_events, np.inf if is_first else -np.inf)
    chosen = np.full(n_events, -1, dtype=np.int64)
    offset = 0
    for part in parts:
        events = np.array([p[0] for p in part], dtype=np.int64)
        sort = np.array([p[1] for p in part], dtype=np.float64)
        valid = np.array([p[2] for p in part], dtype=np.bool_)
        first_or_last_where(sort, events, valid, best, chosen, offset, is_first)
        offset += len(part)
    hits = [hit for part in parts for hit in part]
    for event in range(n_events):
        candidates = [(s, i) for i, (e, s, ok) in enumerate(hits) if e == event and ok]
        if not candidates:
            assert chosen[event] == -1
            continue
        target = min(s for s, _ in candidates) if is_first else max(s for s, _ in candidates)
        assert chosen[event] == next(i for s, i in candidates if s == target)  # the earliest


@settings(max_examples=60, deadline=None)
@given(
    events=st.lists(st.integers(0, 9), max_size=40),
    keep=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_counting_sort_is_a_stable_sort_by_event(events: list[int], keep: list[bool]) -> None:
    event = np.array(events, dtype=np.int64)
    kept = np.array(keep[: len(events)], dtype=np.bool_)
    values = np.arange(len(events), dtype=np.float64)
    out = np.empty_like(values)
    ends = np.empty(10, dtype=np.int64)
    total = counting_sort(values, event, kept, 10, out, ends)
    order = np.argsort(event[kept], kind="stable")
    assert out[:total].tolist() == values[kept][order].tolist()
    assert ends.tolist() == np.cumsum(np.bincount(event[kept], minlength=10)).tolist()


def test_put_owned_writes_only_the_targets_of_the_key() -> None:
    table_key = np.array([5, 6, 5, 6], dtype=np.int64)
    rank = np.array([0, 0, 1, 1], dtype=np.int64)
    out = np.full(4, -1.0)
    put_owned(
        np.array([2, -1, 1, 0], dtype=np.int64), table_key, rank, 5, np.array([10.0, 20.0]), out
    )
    assert out.tolist() == [20.0, -1.0, -1.0, 10.0]
