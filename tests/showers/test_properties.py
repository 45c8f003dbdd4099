"""Properties: save/load, slices and appends are lossless in both layouts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tierflow import showers as sh

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def showers(draw: st.DrawFn, max_showers: int = 6, features: int | None = None) -> sh.Showers:
    n = draw(st.integers(0, max_showers))
    f = features or draw(st.sampled_from([4, 5]))
    num_points = draw(hnp.arrays(np.int32, n, elements=st.integers(0, 7)))
    total = int(num_points.sum())
    values = st.floats(-1e4, 1e4, width=32, allow_nan=False)
    flat = draw(hnp.arrays(np.float32, (total, f), elements=values))
    flat[:, 3] = np.abs(flat[:, 3])  # energies are not negative; zero is allowed
    ints = st.integers(-(2**31), 2**31 - 1)
    return sh.Showers(
        flat_points=flat,
        num_points=num_points,
        energies=draw(hnp.arrays(np.float32, n, elements=values)),
        pdg=draw(hnp.arrays(np.int32, n, elements=ints)),
        directions=draw(hnp.arrays(np.float32, (n, 3), elements=values)),
        shower_ids=draw(hnp.arrays(np.int32, n, elements=ints)),
    )


def _round_trip(data: sh.Showers, suffix: str, **kwargs: Any) -> sh.Showers:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"s{suffix}"
        sh.save(data, path)
        return sh.load(path, **kwargs)


@SETTINGS
@given(data=showers(), suffix=st.sampled_from([".h5", ".lh5"]))
def test_save_load_is_lossless(data: sh.Showers, suffix: str) -> None:
    loaded = _round_trip(data, suffix)
    assert loaded == data
    assert loaded.max_points == data.max_points


@SETTINGS
@given(
    data=showers(),
    suffix=st.sampled_from([".h5", ".lh5"]),
    start=st.integers(-8, 8),
    stop=st.one_of(st.none(), st.integers(-8, 8)),
)
def test_load_slice_equals_slice_of_load(
    data: sh.Showers, suffix: str, start: int, stop: int | None
) -> None:
    begin = max(start, 0)
    assert _round_trip(data, suffix, start=begin, stop=stop) == data[begin:stop]


@SETTINGS
@given(data=showers(), picks=st.lists(st.integers(0, 5), max_size=8))
def test_index_lists_read_like_memory(data: sh.Showers, picks: list[int]) -> None:
    picks = [p for p in picks if p < len(data)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.lh5"
        sh.save(data, path)
        with sh.ShowerDataFile(path) as f:
            assert f[np.array(picks, dtype=np.int64)] == data[picks]


@SETTINGS
@given(parts=st.lists(showers(max_showers=4, features=4), min_size=1, max_size=4))
def test_appends_equal_concatenation(parts: list[sh.Showers]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.lh5"
        sh.save(parts[0], path)
        with sh.ShowerDataFile(path, "a") as f:
            for part in parts[1:]:
                f.append(part)
        assert sh.load(path) == sh.concatenate(parts) or all(p.is_empty for p in parts)


@SETTINGS
@given(data=showers(), width=st.integers(0, 8))
def test_padding_round_trip(data: sh.Showers, width: int) -> None:
    padded = data.to_padded(width)
    kept = np.minimum(data.num_points, width)
    again = sh.Showers(points=padded, num_points=kept, energies=data.energies, pdg=data.pdg)
    for i in range(len(data)):
        assert np.array_equal(again.shower(i), data.shower(i)[:width])
