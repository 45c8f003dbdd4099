"""Properties of encode/decode on generated waveforms: identity, layout, bounds, corruption."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from tierflow.codecs import RadwareSigcompress, ULEB128ZigZagDiff, WaveformCodec, decode, encode
from tierflow.errors import DecodeError, MismatchError

codec_settings = settings(max_examples=100, deadline=None)


@dataclass(frozen=True)
class Case:
    """A codec and the integer range its waveforms of `dtype` may take."""

    codec: WaveformCodec
    dtype: str
    lo: int
    hi: int


CASES = [
    Case(RadwareSigcompress(), "int16", -(2**15), 2**15 - 1),
    Case(RadwareSigcompress(codec_shift=-32768), "uint16", 0, 2**16 - 1),
    Case(RadwareSigcompress(), "int32", -(2**15), 2**15 - 1),
    Case(RadwareSigcompress(codec_shift=1000), "int32", -(2**15) - 1000, 2**15 - 1001),
    Case(ULEB128ZigZagDiff(), "int16", -(2**15), 2**15 - 1),
    Case(ULEB128ZigZagDiff(), "uint16", 0, 2**16 - 1),
    Case(ULEB128ZigZagDiff(), "int32", -(2**31), 2**31 - 1),
    Case(ULEB128ZigZagDiff(), "uint32", 0, 2**32 - 1),
    Case(ULEB128ZigZagDiff(), "int64", -(2**30), 2**30 - 1),
]


@st.composite
def waveform_sets(
    draw: st.DrawFn, case: Case, jagged: bool
) -> tuple[NDArray[Any], NDArray[np.int64] | None]:
    """Waveforms of `case`: white noise or random walks of any step size, clipped to range.

    Returns ``(values, None)`` for equal-sized, ``(flat, cumulative_length)`` for jagged.
    """
    n_wf = draw(st.integers(0, 5))
    if jagged:
        sizes = np.array(draw(st.lists(st.integers(0, 400), min_size=n_wf, max_size=n_wf)))
    else:
        sizes = np.full(n_wf, draw(st.integers(0, 400)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    step = 2 ** draw(st.integers(0, 34))
    total = int(sizes.sum())
    if draw(st.booleans()):
        values = rng.integers(-step, step + 1, total).cumsum() + rng.integers(case.lo, case.hi + 1)
    else:
        values = rng.integers(-step, step + 1, total)
    if draw(st.booleans()):  # saturation, as in clipped waveforms
        values[rng.random(total) < 0.05] = case.hi
    flat = np.clip(values, case.lo, case.hi).astype(case.dtype)
    if jagged:
        return flat, np.cumsum(sizes).astype(np.uint32)
    return flat.reshape(n_wf, -1 if n_wf else 0), None


def uleb128_zigzag_reference(wf: NDArray[Any]) -> bytes:
    """The codec as the LEGEND specification describes it, one sample at a time."""
    out = bytearray()
    prev = 0
    for x in wf.tolist():
        diff = (x - prev + 2**31) % 2**32 - 2**31  # differences as int32
        prev = x
        z = 2 * diff if diff >= 0 else -2 * diff - 1
        while z >= 0x80:
            out.append(z & 0x7F | 0x80)
            z >>= 7
        out.append(z)
    return bytes(out)


def rows(flat: NDArray[Any], ends: NDArray[Any]) -> list[NDArray[Any]]:
    return np.split(flat, np.asarray(ends[:-1], dtype=np.int64)) if len(ends) else []


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.codec!r}-{c.dtype}")
@codec_settings
@given(data=st.data())
def test_equal_sized_round_trip(case: Case, data: st.DataObject) -> None:
    values, _ = data.draw(waveform_sets(case, jagged=False))
    flat, ends = encode(case.codec, values)
    assert flat.dtype == np.uint8
    assert ends.dtype == np.uint32
    assert ends.shape == (len(values),)
    decoded = decode(case.codec, flat, ends, values.shape[1], values.dtype)
    assert decoded.dtype == values.dtype
    np.testing.assert_array_equal(decoded, values)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.codec!r}-{c.dtype}")
@codec_settings
@given(data=st.data())
def test_jagged_round_trip(case: Case, data: st.DataObject) -> None:
    values, lengths = data.draw(waveform_sets(case, jagged=True))
    assert lengths is not None
    flat, ends = encode(case.codec, values, lengths)
    sizes = np.diff(lengths, prepend=0)
    decoded = decode(case.codec, flat, ends, sizes, values.dtype)
    assert decoded.shape == values.shape
    np.testing.assert_array_equal(decoded, values)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.codec!r}-{c.dtype}")
@codec_settings
@given(data=st.data())
def test_each_waveform_encodes_alone_within_the_bound(case: Case, data: st.DataObject) -> None:
    values, lengths = data.draw(waveform_sets(case, jagged=True))
    assert lengths is not None
    flat, ends = encode(case.codec, values, lengths)
    for wf, encoded in zip(rows(values, lengths), rows(flat, ends), strict=True):
        alone, alone_ends = encode(case.codec, wf[None, :])
        assert alone.tobytes() == encoded.tobytes()
        assert alone_ends.tolist() == [len(encoded)]
        assert len(encoded) <= case.codec.max_encoded_bytes(len(wf))


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.codec, ULEB128ZigZagDiff)])
@codec_settings
@given(data=st.data())
def test_uleb128_bytes_follow_the_specification(case: Case, data: st.DataObject) -> None:
    values, _ = data.draw(waveform_sets(case, jagged=False))
    flat, ends = encode(case.codec, values)
    assert [e.tobytes() for e in rows(flat, ends)] == [
        uleb128_zigzag_reference(wf) for wf in values
    ]


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.codec, RadwareSigcompress)])
@codec_settings
@given(data=st.data())
def test_radware_words_start_with_the_length_and_are_even(case: Case, data: st.DataObject) -> None:
    values, _ = data.draw(waveform_sets(case, jagged=False))
    flat, ends = encode(case.codec, values)
    for encoded in rows(flat, ends):
        assert len(encoded) % 4 == 0
        assert int.from_bytes(encoded[:2].tobytes(), "big") == values.shape[1]


@pytest.mark.parametrize("codec", [RadwareSigcompress(), ULEB128ZigZagDiff()])
def test_no_waveforms_and_empty_waveforms(codec: WaveformCodec) -> None:
    flat, ends = encode(codec, np.empty((0, 10), dtype=np.int16))
    assert flat.size == 0
    assert ends.size == 0
    assert decode(codec, flat, ends, 10, np.int16).shape == (0, 10)
    assert decode(codec, flat, ends, np.array([], np.uint32), np.int16).shape == (0,)
    flat, ends = encode(codec, np.empty((3, 0), dtype=np.int16))
    assert decode(codec, flat, ends, 0, np.int16).shape == (3, 0)


def test_decode_fills_a_larger_out_and_returns_a_view() -> None:
    codec = RadwareSigcompress(codec_shift=-32768)
    values = np.arange(3 * 50, dtype=np.uint16).reshape(3, 50) * 400
    flat, ends = encode(codec, values)
    out = np.zeros((5, 50), dtype=np.uint16)
    result = decode(codec, flat, ends, 50, np.uint16, out=out)
    assert np.shares_memory(result, out)
    np.testing.assert_array_equal(out[:3], values)
    assert not out[3:].any()
    flat_out = np.zeros(200, dtype=np.uint16)
    result = decode(codec, flat, ends, np.full(3, 50), np.uint16, out=flat_out)
    assert np.shares_memory(result, flat_out)
    np.testing.assert_array_equal(result, values.reshape(-1))


@pytest.mark.parametrize(
    ("out", "dtype"),
    [
        (np.zeros((2, 50), np.uint16), np.uint16),  # too few rows
        (np.zeros((3, 49), np.uint16), np.uint16),  # wrong row length
        (np.zeros((3, 50), np.int32), np.uint16),  # wrong dtype
        (np.zeros((50, 3), np.uint16).T, np.uint16),  # not C-contiguous
    ],
)
def test_decode_refuses_an_out_that_does_not_fit(out: NDArray[Any], dtype: type) -> None:
    codec = ULEB128ZigZagDiff()
    flat, ends = encode(codec, np.ones((3, 50), dtype=np.uint16))
    with pytest.raises(MismatchError):
        decode(codec, flat, ends, 50, dtype, out=out)


@pytest.mark.parametrize(
    ("codec", "values", "where"),
    [
        (RadwareSigcompress(), np.array([[0, 1], [0, 40000]], np.int32), "waveform 1"),
        (RadwareSigcompress(codec_shift=-32768), np.array([[5, -1]], np.int16), "waveform 0"),
        (RadwareSigcompress(), np.zeros((2, 40000), np.int16), "waveform 0"),
        (ULEB128ZigZagDiff(), np.array([[0, 1], [0, 2**40]], np.int64), "waveform 1"),
        (ULEB128ZigZagDiff(), np.array([[0.5]]), "float"),
    ],
)
def test_values_the_codec_cannot_hold_are_refused(
    codec: WaveformCodec, values: NDArray[Any], where: str
) -> None:
    with pytest.raises(MismatchError, match=where):
        encode(codec, values)


def test_inconsistent_jagged_lengths_are_refused() -> None:
    values = np.arange(10, dtype=np.int16)
    with pytest.raises(MismatchError):
        encode(ULEB128ZigZagDiff(), values, np.array([5, 3, 10]))
    with pytest.raises(MismatchError):
        encode(ULEB128ZigZagDiff(), values, np.array([5, 11]))


@pytest.mark.parametrize("codec", [RadwareSigcompress(), ULEB128ZigZagDiff()])
def test_length_field_overrunning_the_buffer_is_a_decode_error(codec: WaveformCodec) -> None:
    flat, ends = encode(codec, np.arange(40, dtype=np.int16).reshape(2, 20))
    ends[1] += 2
    with pytest.raises(DecodeError, match="waveform 1"):
        decode(codec, flat, ends, 20, np.int16)
    ends[0] = ends[1] + 1
    with pytest.raises(DecodeError, match="waveform 0"):
        decode(codec, flat, ends, 20, np.int16)


def test_radware_bit_width_above_16_is_a_decode_error() -> None:
    codec = RadwareSigcompress()
    flat, ends = encode(codec, np.arange(60, dtype=np.int16).reshape(2, 30))
    start = int(ends[0])
    assert flat[start + 5] in (2, 34)  # word 2 of waveform 1: the first chunk's bit width
    flat[start + 5] = 17
    with pytest.raises(DecodeError, match=r"waveform 1.*bit width"):
        decode(codec, flat, ends, 30, np.int16)


@pytest.mark.parametrize("codec", [RadwareSigcompress(), ULEB128ZigZagDiff()])
def test_wrong_decoded_size_is_a_decode_error(codec: WaveformCodec) -> None:
    flat, ends = encode(codec, np.arange(40, dtype=np.int16).reshape(2, 20))
    with pytest.raises(DecodeError, match="waveform 0"):
        decode(codec, flat, ends, 21, np.int16)
    with pytest.raises(DecodeError, match="waveform 1"):
        decode(codec, flat, ends, np.array([20, 19]), np.int16)


@pytest.mark.parametrize("case", [CASES[1], CASES[5]], ids=["radware", "uleb128"])
@codec_settings
@given(data=st.data())
def test_corrupt_bytes_decode_or_raise_decode_error(case: Case, data: st.DataObject) -> None:
    values, lengths = data.draw(waveform_sets(case, jagged=True))
    assert lengths is not None
    flat, ends = encode(case.codec, values, lengths)
    assume(flat.size > 0)
    flips = st.tuples(st.integers(0, flat.size - 1), st.integers(0, 255))
    for position, byte in data.draw(st.lists(flips, min_size=1, max_size=8)):
        flat[position] = byte
    cut = data.draw(st.integers(0, flat.size))
    sizes = np.diff(lengths, prepend=0)
    try:
        decoded = decode(case.codec, flat[:cut], ends, sizes, values.dtype)
    except DecodeError as error:
        message = str(error)
    else:
        message = "waveform"  # the corruption went unnoticed, but the shape is right
        assert decoded.shape == values.shape
    assert "waveform" in message
