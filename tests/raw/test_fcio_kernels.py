"""The FCIO sample copy: 16-bit words at even offsets, two byte loads at odd ones, same values."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.raw.formats.fcio._kernels import _copy_samples, as_words


def _expected(buf: np.ndarray, start: int, n: int, length: int) -> np.ndarray:
    out = np.zeros(length, np.uint16)
    out[:n] = buf[start : start + 2 * n].view("<u2")
    return out


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(min_size=2, max_size=400),
    start=st.integers(0, 200),
    n=st.integers(0, 200),
    extra=st.integers(0, 5),
)
def test_word_and_byte_copies_equal_the_little_endian_samples(
    data: bytes, start: int, n: int, extra: int
) -> None:
    buf = np.frombuffer(data, np.uint8).copy()
    start = min(start, buf.size)
    n = min(n, (buf.size - start) // 2)
    expected = _expected(buf, start, n, n + extra)
    for words in (as_words(buf), np.empty(0, np.uint16)):
        out = np.full(n + extra, 0xFFFF, np.uint16)  # what was there before is overwritten
        _copy_samples(buf, words, start, n, out)
        np.testing.assert_array_equal(out, expected)


def test_as_words_refuses_an_odd_address() -> None:
    backing = np.arange(10, dtype=np.uint8)
    assert as_words(backing[1:]).size == 0  # np.empty's memory is aligned: [1:] is odd
    assert as_words(backing).tolist() == [256, 770, 1284, 1798, 2312]
