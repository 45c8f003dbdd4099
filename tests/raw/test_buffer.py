"""Raw buffers keep queued rows in reused columns; framing grows its index arrays as needed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.raw import Jagged, RawBuffer, RowBlock

block_sizes = st.lists(st.integers(0, 40), min_size=1, max_size=12)


def _block(start: int, n: int, wide: bool = False) -> RowBlock:
    rows = np.arange(start, start + n)
    lens = rows % 4
    flat = np.repeat(rows, lens).astype(np.int16)
    return RowBlock(
        rows.astype(np.int64),
        {
            "e": (rows * 1.5 if wide else rows).astype(np.float64 if wide else np.int32),
            "wf": np.repeat(rows[:, None], 3, axis=1).astype(np.uint16),
            "hits": Jagged(flat, lens.astype(np.int64)),
        },
    )


@settings(max_examples=40, deadline=None)
@given(sizes=block_sizes, max_bytes=st.integers(1, 4000), n_max=st.none() | st.integers(0, 60))
def test_drain_equals_the_rows_added(sizes: list[int], max_bytes: int, n_max: int | None) -> None:
    rb = RawBuffer(max_bytes=max_bytes)
    start = 0
    for rnd in range(2):  # the second round reuses (or replaces) the first round's columns
        want: list[RowBlock] = []
        for i, n in enumerate(sizes):
            want.append(_block(start, n, wide=rnd == 1 and i == len(sizes) // 2))
            rb.add(want[-1])
            start += n
        out = rb.drain(n_max)
        assert (rb.loc, rb.nbytes) == (0, 0)
        expected = RowBlock.concat([b for b in want if len(b)] or want[:1])
        k = len(expected) if n_max is None else min(n_max, len(expected))
        if k == 0:
            assert out is None
            continue
        assert out is not None
        assert out.keys.tolist() == expected.keys[:k].tolist()
        np.testing.assert_array_equal(out.columns["e"], np.asarray(expected.columns["e"])[:k])
        np.testing.assert_array_equal(out.columns["wf"], np.asarray(expected.columns["wf"])[:k])
        hits, ref = out.columns["hits"], expected.columns["hits"]
        assert isinstance(hits, Jagged)
        assert isinstance(ref, Jagged)
        assert hits.lengths.tolist() == ref.lengths[:k].tolist()
        np.testing.assert_array_equal(hits.flat, ref.flat[: int(ref.lengths[:k].sum())])


def test_drain_returns_rows_of_its_own() -> None:
    rb = RawBuffer(max_bytes=1)
    rb.add(_block(0, 5))
    first = rb.drain()
    rb.add(_block(100, 5))
    assert first is not None
    assert first.keys.tolist() == [0, 1, 2, 3, 4], "not overwritten by later rows"


def test_a_full_buffer_reuses_its_columns_unless_told_to_hand_them_over() -> None:
    for keep in (True, False):
        rb = RawBuffer(size=5)
        rb.add(_block(0, 5))
        (first,) = rb.drain_parts(keep=keep)
        rb.add(_block(100, 5))
        reused = first.keys.tolist() == [100, 101, 102, 103, 104]
        assert reused is keep, "kept columns take the next rows; handed-over ones do not"
        if not keep:
            np.testing.assert_array_equal(first.columns["wf"][:, 0], np.arange(5))


def test_wider_values_promote_the_column() -> None:
    rb = RawBuffer()
    rb.add(_block(0, 3))
    rb.add(_block(3, 2, wide=True))
    out = rb.drain()
    assert out is not None
    assert out.columns["e"].tolist() == [0, 1, 2, 4.5, 6.0]


def test_rows_of_other_columns_are_refused() -> None:
    rb = RawBuffer()
    rb.add(_block(0, 3))
    other = RowBlock(np.zeros(1, np.int64), {"x": np.zeros(1)})
    with pytest.raises(ValueError, match="can't join"):
        rb.add(other)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 3000), tag=st.integers(1, 10))
def test_framing_many_small_frames(n: int, tag: int) -> None:
    from tierflow.raw.formats.fcio._kernels import frame_records

    frames = np.zeros(n, "<i4").tobytes()  # n empty frames: the worst case for the index
    data = np.frombuffer(np.array([-tag], "<i4").tobytes() + frames, np.uint8)
    tags, rstart, rend, _, nf, fstart, fsize, consumed = frame_records(data, True)
    assert tags.tolist() == [tag]
    assert nf.tolist() == [n]
    assert fsize.size == n
    assert consumed == data.size
    assert (rstart.tolist(), rend.tolist()) == ([0], [data.size])
    assert (fstart == 4 + 4 * np.arange(n) + 4).all()
