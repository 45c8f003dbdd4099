"""numba kernels of the ULEB128 zig-zag difference codec, byte-compatible with the LEGEND anchor.

One waveform is encoded as one varint per sample, concatenated: the first sample, then the
difference of each sample to the one before, mapped to unsigned numbers by zig-zag
(0, -1, 1, -2, ... -> 0, 1, 2, 3, ...) and written 7 bits a byte, least significant group
first, the high bit of each byte set when more bytes follow (unsigned LEB128).

As in the anchor, differences are taken modulo 2**32 (as int32), so every 8-, 16- and 32-bit
waveform round-trips and a varint is at most 5 bytes; 64-bit waveforms are accepted when
every difference fits in int32. Decoding sums the differences in int64 and stores them in
the output dtype (which wraps modulo its width), so it also reads varints of up to 10 bytes.

This module imports numba: the codec classes import it on first use only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.codecs._jit import kernel

__all__ = ["ERRORS", "decode_waveforms", "encode_waveforms"]

OK = 0
DIFF_RANGE = 1
OVERRUN = 2
TRUNCATED = 3
VARINT_TOO_LONG = 4
EXTRA_BYTES = 5

ERRORS = {
    DIFF_RANGE: "a difference between adjacent 64-bit samples does not fit in int32",
    OVERRUN: "its cumulative_length runs backwards or past the end of the encoded buffer",
    TRUNCATED: "the bytes end before decoded_size values (or inside a varint)",
    VARINT_TOO_LONG: "a varint is longer than 10 bytes",
    EXTRA_BYTES: "bytes are left over after decoded_size values",
}

MAX_VARINT_BYTES = 10
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


@kernel
def _wrap32(x: int) -> int:
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


@kernel
def _put_varint(z: int, out: NDArray[np.uint8], pos: int) -> int:
    while z >= 0x80:
        out[pos] = (z & 0x7F) | 0x80
        pos += 1
        z >>= 7
    out[pos] = z
    return pos + 1


@kernel
def _encode_one(wf: NDArray[Any], wide: bool, out: NDArray[np.uint8], pos: int) -> tuple[bool, int]:
    """Encode one waveform at byte `pos`: (whether every difference fitted, new pos)."""
    prev = 0
    for x in wf:
        v = np.int64(x)
        d = v - prev
        prev = v
        if wide:
            if d < INT32_MIN or d > INT32_MAX:
                return False, pos
        else:
            d = _wrap32(d)
        pos = _put_varint((d << 1) ^ (d >> 63), out, pos)
    return True, pos


@kernel
def encode_waveforms(
    values: NDArray[Any],
    offsets: NDArray[np.int64],
    wide: bool,
    out: NDArray[np.uint8],
    ends: NDArray[np.int64],
) -> tuple[int, int]:
    """Encode waveform ``k = values[offsets[k]:offsets[k+1]]`` one after the other into `out`.

    `wide` says the values are 64-bit, whose differences are checked rather than wrapped.
    `out` must hold the codec's ``max_encoded_bytes`` of every waveform; ``ends[k]``
    receives the byte where waveform `k` ends. Returns ``(status, k)``: 0 and -1, or an
    :data:`ERRORS` code and the waveform.
    """
    pos = 0
    for k in range(offsets.size - 1):
        fitted, pos = _encode_one(values[offsets[k] : offsets[k + 1]], wide, out, pos)
        if not fitted:
            return DIFF_RANGE, k
        ends[k] = pos
    return OK, -1


@kernel
def _decode_one(buf: NDArray[np.uint8], out: NDArray[Any]) -> int:
    p = 0
    acc = 0
    for i in range(out.size):
        x = 0
        shift = 0
        while True:
            if p >= buf.size:
                return TRUNCATED
            b = np.int64(buf[p])
            p += 1
            x |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift >= 7 * MAX_VARINT_BYTES:
                return VARINT_TOO_LONG
        acc += ((x >> 1) & 0x7FFFFFFFFFFFFFFF) ^ -(x & 1)
        out[i] = acc
    return OK if p == buf.size else EXTRA_BYTES


@kernel
def decode_waveforms(
    buf: NDArray[np.uint8],
    ends: NDArray[np.int64],
    out: NDArray[Any],
    out_offsets: NDArray[np.int64],
) -> tuple[int, int]:
    """Decode waveform ``k = buf[ends[k-1]:ends[k]]`` into ``out[out_offsets[k]:out_offsets[k+1]]``.

    Returns ``(status, k)``: 0 and -1, or an :data:`ERRORS` code and the waveform.
    """
    start = 0
    for k in range(ends.size):
        end = ends[k]
        if end < start or end > buf.size:
            return OVERRUN, k
        status = _decode_one(buf[start:end], out[out_offsets[k] : out_offsets[k + 1]])
        if status != OK:
            return status, k
        start = end
    return OK, -1
