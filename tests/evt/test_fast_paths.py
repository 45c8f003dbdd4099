"""Fast paths of the event tier against the general code they shortcut."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.evt import TCM
from tierflow.evt._aggregators import _first_hit_per_event, _target_positions
from tierflow.evt._data import EventChunk


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
