"""Fast paths of the event tier against the general code they shortcut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.evt import TCM, _aggregators, build_evt
from tierflow.evt._aggregators import (
    _elementwise,
    _first_hit_per_event,
    _stable_order,
    _target_positions,
)
from tierflow.evt._data import EventChunk
from tierflow.types import Array, Table


@st.composite
def chunks(draw: st.DrawFn) -> tuple[EventChunk, np.ndarray]:
    """A chunk of events with hits of keys 1-4 (any order, repeats), and one wanted key
    per event (0: none)."""
    sizes = draw(st.lists(st.integers(0, 5), min_size=1, max_size=30))
    keys = draw(st.lists(st.integers(1, 4), min_size=sum(sizes), max_size=sum(sizes)))
    tcm = TCM(np.array(keys, dtype=np.int64), np.arange(len(keys)), np.cumsum(sizes))
    wanted = draw(st.lists(st.integers(0, 4), min_size=len(sizes), max_size=len(sizes)))
    return EventChunk({}, tcm, {}), np.array(wanted)


@settings(max_examples=60, deadline=None)
@given(case=chunks())
def test_first_hit_per_event_equals_the_general_search(case: tuple[EventChunk, np.ndarray]) -> None:
    chunk, wanted = case
    events = np.arange(chunk.n_events, dtype=np.int64)
    expected = _target_positions(chunk, events, wanted, by_index=False)
    got = _first_hit_per_event(chunk, wanted)
    assert got.tolist() == expected.tolist()
    for event, position in enumerate(got):
        if position >= 0:
            assert chunk.event_of_hit[position] == event
            assert chunk.tcm.table_key[position] == wanted[event]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 30), min_size=1, max_size=6),
    n_events=st.sampled_from([1, 7, 2**16, 2**16 + 5]),
    seed=st.integers(0, 1000),
)
def test_gather_order_equals_the_lexsort_by_event_then_channel(
    sizes: list[int], n_events: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    events = [np.sort(rng.integers(0, n_events, n)) for n in sizes]  # channel by channel
    event = np.concatenate(events).astype(np.int64)
    channel = np.repeat(np.arange(len(sizes)), sizes)
    expected = np.lexsort((channel, event))
    assert _stable_order(event, n_events).tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hit.e", True),
        ("~hit.flag", True),
        ("(hit.e > 25) & (dsp.t < 3e4)", True),
        ("-hit.e * 2.5 + hit.f ** 2", True),
        ("e > 25", False),  # a parameter or an evt column
        ("sqrt(hit.e)", False),
        ("ak.sum(hit.pe, axis=-1)", False),
        ("hit.e[0]", False),
        ("evt.x.y", False),
        ("hit.e > 'a'", False),
        ("hit.e >", False),
    ],
)
def test_elementwise_expressions_are_recognised(text: str, expected: bool) -> None:
    assert _elementwise(text) is expected


def _gather_inputs(folder: Path) -> dict[str, tuple[str, ...]]:
    """Three channels (one without hits, one with float32 energies) and a map."""
    rng = np.random.default_rng(4)
    n = 60
    for key, dtype in ((1, np.float64), (2, np.float64), (3, np.float32), (4, np.float64)):
        energy = rng.exponential(30, n).astype(dtype)
        energy[rng.random(n) < 0.1] = np.nan
        cols = {"e": Array(energy), "flag": Array(rng.random(n) < 0.5)}
        lh5.write(Table(cols), f"ch{key}/hit", folder / "hit.lh5")
    present = rng.random((n, 3)) < 0.6  # channel 4 has no hits
    keys = np.broadcast_to(np.array([2, 1, 3]), present.shape)[present]
    rows = np.broadcast_to(np.arange(n)[:, None], present.shape)[present]
    tcm = TCM(keys.astype(np.int64), rows.astype(np.int64), np.cumsum(present.sum(axis=1)))
    lh5.write(tcm.to_table(), "hardware_tcm_1", folder / "tcm.lh5")
    return {
        "tcm": (str(folder / "tcm.lh5"), "hardware_tcm_1"),
        "hit": (str(folder / "hit.lh5"), "hit", "ch{}"),
    }


def _gathers(channels: list[str], exclude: list[str]) -> dict[str, Any]:
    ops = {
        "e": "hit.e",
        "noflag": "~hit.flag",
        "big": "(hit.e * 2 > 30) & hit.flag",
    }
    return {
        "channels": {"on": channels, "off": exclude},
        "outputs": list(ops),
        "operations": {
            name: {
                "channels": "on",
                "aggregation_mode": "gather",
                "expression": text,
                **({"exclude_channels": "off"} if exclude else {}),
            }
            for name, text in ops.items()
        },
    }


@pytest.mark.parametrize(
    ("channels", "exclude"),
    [
        (["ch4", "ch2", "ch1"], []),
        (["ch1", "ch2", "ch1", "ch4"], []),  # a channel twice: gathered twice
        (["ch1", "ch2", "ch3"], []),  # float32 and float64 energies: channel by channel
        (["ch1", "ch2", "ch4"], ["ch4"]),  # excluded without hits
        (["ch1", "ch2"], ["ch2"]),  # excluded with hits: channel by channel
    ],
)
def test_gather_at_once_equals_channel_by_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channels: list[str], exclude: list[str]
) -> None:
    info = _gather_inputs(tmp_path)
    config = _gathers(channels, exclude)
    at_once = build_evt(info, config, buffer_len=17)
    monkeypatch.setattr(_aggregators, "_gather_at_once", lambda chunk, op: None)
    apart = build_evt(info, config, buffer_len=17)
    assert at_once is not None
    assert apart is not None
    for name in config["outputs"]:
        got, want = at_once[name], apart[name]
        assert got.cumulative_length.nda.tolist() == want.cumulative_length.nda.tolist()
        assert got.flattened_data.nda.dtype == want.flattened_data.nda.dtype, name
        np.testing.assert_array_equal(got.flattened_data.nda, want.flattened_data.nda)
