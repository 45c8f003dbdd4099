"""Time coordinates and the interval-resolution sweep."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.calib import from_seconds, parse_time
from tierflow.calib._timeline import make_timeline
from tierflow.errors import ConfigError


def test_from_seconds_is_exact_on_the_decimal_form() -> None:
    assert from_seconds(1500000000.5) == 1_500_000_000_500_000_000
    assert from_seconds(1500000000.2) == 1_500_000_000_200_000_000
    assert from_seconds(1500001000.25) == 1_500_001_000_250_000_000
    assert from_seconds(0) == 0


@given(
    st.floats(min_value=0, max_value=4e9, allow_nan=False), st.floats(min_value=0, max_value=4e9)
)
def test_from_seconds_keeps_order(a: float, b: float) -> None:
    if a < b:
        assert from_seconds(a) <= from_seconds(b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20230101T000000Z", 1_672_531_200_000_000_000),
        ("2023-01-01T00:00:00Z", 1_672_531_200_000_000_000),
        ("1.5s", 1_500_000_000),
        ("42", 42),
        (np.int64(7), 7),
        (np.datetime64("2023-01-01T00:00:00", "ns"), 1_672_531_200_000_000_000),
        (dt.datetime(2023, 1, 1), 1_672_531_200_000_000_000),
    ],
)
def test_parse_time(text: object, expected: int) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("bad", [1.5, "yesterday", True, None])
def test_parse_time_refuses_ambiguous_or_unknown(bad: object) -> None:
    with pytest.raises(ConfigError):
        parse_time(bad)


def _brute(cands: list[tuple[int, int, int | None, int]], at: int) -> int:
    inside = [
        (c[1], c[0], k)
        for k, c in enumerate(sorted(cands, key=lambda c: (c[1], c[0])))
        if c[1] <= at and (c[2] is None or at < c[2])
    ]
    return max(inside)[2] if inside else -1


intervals = st.lists(
    st.tuples(st.integers(0, 30), st.one_of(st.none(), st.integers(1, 15))), max_size=8
)


@settings(max_examples=150, deadline=None)
@given(intervals)
def test_timeline_matches_brute_force(spec: list[tuple[int, int | None]]) -> None:
    cands = [(i, s, None if w is None else s + w, 1) for i, (s, w) in enumerate(spec)]
    timeline = make_timeline(cands)
    probes = np.arange(-2, 50, dtype=np.int64)
    many = timeline.find_many(probes)
    for at, vector in zip(probes.tolist(), many.tolist(), strict=True):
        assert timeline.find(at) == _brute(cands, at) == vector


def test_timeline_half_open_and_nested() -> None:
    t = make_timeline([(0, 0, None, 1), (1, 10, 20, 2)])
    assert [t.find(x) for x in (-1, 0, 9, 10, 19, 20, 10**18)] == [-1, 0, 0, 1, 1, 0, 0]
    assert t.entries[1] == (1, 2)
