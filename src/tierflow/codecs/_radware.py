"""numba kernels of radware-sigcompress v1.0, byte-compatible with the LEGEND anchor.

Encoded layout of one waveform, as 16-bit words stored big-endian (2 bytes each):

* word 0: the number of samples;
* then one chunk after another, each starting on a word boundary:
  ``nw`` (samples in the chunk), ``nb`` (bits per value; ``nb + 32`` flags difference mode),
  in difference mode the first sample of the chunk, then the minimum encoded value;
  then the ``nw`` (absolute mode) or ``nw - 1`` (difference mode) values minus that
  minimum, packed most significant bit first in ``nb`` bits each;
* a zero word when needed to make the number of words even.

Chunk boundaries and bit widths follow the reference C code of the LEGEND data-format
specification exactly (first 48 samples decide the mode, extension up to 128 samples),
so that encoded bytes are identical. All values are the input plus ``shift``, which must
fit in int16.

This module imports numba: the codec classes import it on first use only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.codecs._jit import kernel

__all__ = ["ERRORS", "decode_waveforms", "encode_waveforms"]

OK = 0
VALUE_RANGE = 1
TOO_LONG = 2
OVERRUN = 3
ODD_LENGTH = 4
TRUNCATED = 5
LENGTH_MISMATCH = 6
BAD_WIDTH = 7
BAD_COUNT = 8

ERRORS = {
    VALUE_RANGE: "a value plus codec_shift does not fit in int16",
    TOO_LONG: "more than 32767 samples (the reference decoder reads the length as int16)",
    OVERRUN: "its cumulative_length runs backwards or past the end of the encoded buffer",
    ODD_LENGTH: "its encoded length is an odd number of bytes (not whole 16-bit words)",
    TRUNCATED: "the encoded words end in the middle of a chunk",
    LENGTH_MISMATCH: "the length stored in the first word differs from decoded_size",
    BAD_WIDTH: "a chunk declares a bit width above 16",
    BAD_COUNT: "a chunk holds no samples or more samples than remain",
}

MAX_SAMPLES = 32767
FIRST_PASS = 48  # samples that decide between absolute and difference mode
MAX_CHUNK = 128


@kernel
def _put_word(out: NDArray[np.uint8], pos: int, word: int) -> int:
    out[pos] = (word >> 8) & 0xFF
    out[pos + 1] = word & 0xFF
    return pos + 2


@kernel
def _get_word(buf: NDArray[np.uint8], word_index: int) -> int:
    return int((np.int64(buf[2 * word_index]) << 8) | np.int64(buf[2 * word_index + 1]))


@kernel
def _wrap16(x: int) -> int:
    return ((x + 32768) & 0xFFFF) - 32768


@kernel
def _bit_width(span: int) -> int:
    nb = 2
    while span > (1 << nb) - 1:
        nb += 1
    return nb


@kernel
def _fits_int16(wf: NDArray[Any], shift: int) -> bool:
    for x in wf:
        v = np.int64(x) + shift
        if v < -32768 or v > 32767:
            return False
    return True


@kernel
def _first_pass(wf: NDArray[Any], j: int, shift: int) -> tuple[int, int, int, int, int]:
    """Scan up to 48 samples from `j`: (end, min, max, min diff, max diff)."""
    lo = hi = np.int64(wf[j]) + shift
    dlo = 16000  # the reference starts the difference range inverted, kept as is
    dhi = -16000
    end = min(wf.size, j + FIRST_PASS)
    for i in range(j + 1, end):
        v = np.int64(wf[i]) + shift
        d = np.int64(wf[i]) - np.int64(wf[i - 1])
        lo, hi = min(lo, v), max(hi, v)
        dlo, dhi = min(dlo, d), max(dhi, d)
    return end, lo, hi, dlo, dhi


@kernel
def _extend_absolute(
    wf: NDArray[Any], j: int, i: int, lo: int, hi: int, nb: int, shift: int
) -> tuple[int, int]:
    """Extend an absolute-mode chunk while the values fit in `nb` bits: (end, min)."""
    limit = (1 << nb) - 1
    end = min(wf.size, j + MAX_CHUNK)
    while i < end:
        v = np.int64(wf[i]) + shift
        if max(hi, v) - min(lo, v) > limit:
            break
        lo, hi = min(lo, v), max(hi, v)
        i += 1
    return i, lo


@kernel
def _extend_difference(
    wf: NDArray[Any], j: int, i: int, dlo: int, dhi: int, nb: int
) -> tuple[int, int]:
    """Extend a difference-mode chunk while the differences fit in `nb` bits: (end, min)."""
    limit = (1 << nb) - 1
    end = min(wf.size, j + MAX_CHUNK)
    while i < end:
        d = np.int64(wf[i]) - np.int64(wf[i - 1])
        if max(dhi, d) - min(dlo, d) > limit:
            break
        dlo, dhi = min(dlo, d), max(dhi, d)
        i += 1
    return i, dlo


@kernel
def _plan_chunk(wf: NDArray[Any], j: int, shift: int) -> tuple[int, int, bool, int]:
    """Choose the chunk starting at `j`: (samples, bit width, difference mode, minimum)."""
    i, lo, hi, dlo, dhi = _first_pass(wf, j, shift)
    if hi - lo <= dhi - dlo:
        nb = _bit_width(hi - lo)
        end, lo = _extend_absolute(wf, j, i, lo, hi, nb, shift)
        return end - j, nb, False, lo
    nb = _bit_width(dhi - dlo)
    end, dlo = _extend_difference(wf, j, i, dlo, dhi, nb)
    return end - j, nb, True, dlo


@kernel
def _pack(values: NDArray[np.int64], nb: int, out: NDArray[np.uint8], pos: int) -> int:
    """Pack `values` in `nb` bits each, most significant bit first, into whole words."""
    acc = 0
    nacc = 0
    for v in values:
        acc = (acc << nb) | v
        nacc += nb
        if nacc >= 16:
            nacc -= 16
            pos = _put_word(out, pos, acc >> nacc)
            acc &= (1 << nacc) - 1
    if nacc > 0:
        pos = _put_word(out, pos, acc << (16 - nacc))
    return pos


@kernel
def _encode_chunk(
    wf: NDArray[Any],
    j: int,
    shift: int,
    scratch: NDArray[np.int64],
    out: NDArray[np.uint8],
    pos: int,
) -> tuple[int, int]:
    """Encode the chunk starting at `j` at byte `pos`: (samples used, new pos)."""
    nw, nb, diff, lo = _plan_chunk(wf, j, shift)
    pos = _put_word(out, pos, nw)
    if diff:
        pos = _put_word(out, pos, nb + 32)
        pos = _put_word(out, pos, (np.int64(wf[j]) + shift) & 0xFFFF)
        for i in range(j + 1, j + nw):
            scratch[i - j - 1] = np.int64(wf[i]) - np.int64(wf[i - 1]) - lo
        count = nw - 1
    else:
        pos = _put_word(out, pos, nb)
        for i in range(j, j + nw):
            scratch[i - j] = np.int64(wf[i]) + shift - lo
        count = nw
    pos = _put_word(out, pos, lo & 0xFFFF)
    return nw, _pack(scratch[:count], nb, out, pos)


@kernel
def _encode_one(
    wf: NDArray[Any], shift: int, scratch: NDArray[np.int64], out: NDArray[np.uint8], pos: int
) -> int:
    start = pos
    pos = _put_word(out, pos, wf.size)
    j = 0
    while j < wf.size:
        nw, pos = _encode_chunk(wf, j, shift, scratch, out, pos)
        j += nw
    if (pos - start) % 4 != 0:
        pos = _put_word(out, pos, 0)
    return pos


@kernel
def encode_waveforms(
    values: NDArray[Any],
    offsets: NDArray[np.int64],
    shift: int,
    out: NDArray[np.uint8],
    ends: NDArray[np.int64],
) -> tuple[int, int]:
    """Encode waveform ``k = values[offsets[k]:offsets[k+1]]`` one after the other into `out`.

    `out` must hold the codec's ``max_encoded_bytes`` of every waveform; ``ends[k]``
    receives the byte where waveform `k` ends. Returns ``(status, k)``: 0 and -1, or an
    :data:`ERRORS` code and the waveform.
    """
    scratch = np.empty(MAX_CHUNK, dtype=np.int64)
    pos = 0
    for k in range(offsets.size - 1):
        wf = values[offsets[k] : offsets[k + 1]]
        if wf.size > MAX_SAMPLES:
            return TOO_LONG, k
        if not _fits_int16(wf, shift):
            return VALUE_RANGE, k
        pos = _encode_one(wf, shift, scratch, out, pos)
        ends[k] = pos
    return OK, -1


@kernel
def _unpack_absolute(
    buf: NDArray[np.uint8], isi: int, nb: int, lo: int, out: NDArray[Any], shift: int
) -> None:
    p = 2 * isi
    acc = 0
    nacc = 0
    mask = (1 << nb) - 1
    for t in range(out.size):
        if nacc < nb:
            acc = (acc << 16) | (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])
            p += 2
            nacc += 16
        nacc -= nb
        out[t] = _wrap16(((acc >> nacc) & mask) + lo) - shift
        acc &= (1 << nacc) - 1


@kernel
def _unpack_difference(
    buf: NDArray[np.uint8], isi: int, nb: int, lo: int, prev: int, out: NDArray[Any], shift: int
) -> None:
    p = 2 * isi
    acc = 0
    nacc = 0
    mask = (1 << nb) - 1
    for t in range(out.size):
        if nacc < nb:
            acc = (acc << 16) | (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])
            p += 2
            nacc += 16
        nacc -= nb
        prev = _wrap16(prev + ((acc >> nacc) & mask) + lo)
        out[t] = prev - shift
        acc &= (1 << nacc) - 1


@kernel
def _decode_chunk(
    buf: NDArray[np.uint8], isi: int, out: NDArray[Any], iso: int, shift: int
) -> tuple[int, int, int]:
    """Decode the chunk at word `isi` into ``out[iso:]``: (status, next word, next sample)."""
    nwords = buf.size // 2
    if isi + 3 > nwords:
        return TRUNCATED, isi, iso
    nw = _get_word(buf, isi)
    nb = _get_word(buf, isi + 1)
    diff = nb >= 32
    nb = nb - 32 if diff else nb
    if nb > 16:
        return BAD_WIDTH, isi, iso
    if nw == 0 or iso + nw > out.size:
        return BAD_COUNT, isi, iso
    isi += 2
    prev = 0
    if diff:
        if isi + 2 > nwords:
            return TRUNCATED, isi, iso
        prev = _wrap16(_get_word(buf, isi))
        out[iso] = prev - shift
        isi += 1
    count = nw - 1 if diff else nw
    lo = _wrap16(_get_word(buf, isi))
    isi += 1
    data_words = (count * nb + 15) // 16
    if isi + data_words > nwords:
        return TRUNCATED, isi, iso
    dest = out[iso + nw - count : iso + nw]
    if diff:
        _unpack_difference(buf, isi, nb, lo, prev, dest, shift)
    else:
        _unpack_absolute(buf, isi, nb, lo, dest, shift)
    return OK, isi + data_words, iso + nw


@kernel
def _decode_one(buf: NDArray[np.uint8], out: NDArray[Any], shift: int) -> int:
    if buf.size % 2 != 0:
        return ODD_LENGTH
    if buf.size < 2:
        return TRUNCATED
    if _get_word(buf, 0) != out.size:
        return LENGTH_MISMATCH
    isi = 1
    iso = 0
    while iso < out.size:
        status, isi, iso = _decode_chunk(buf, isi, out, iso, shift)
        if status != OK:
            return status
    return OK


@kernel
def decode_waveforms(
    buf: NDArray[np.uint8],
    ends: NDArray[np.int64],
    out: NDArray[Any],
    out_offsets: NDArray[np.int64],
    shift: int,
) -> tuple[int, int]:
    """Decode waveform ``k = buf[ends[k-1]:ends[k]]`` into ``out[out_offsets[k]:out_offsets[k+1]]``.

    Returns ``(status, k)``: 0 and -1, or an :data:`ERRORS` code and the waveform.
    """
    start = 0
    for k in range(ends.size):
        end = ends[k]
        if end < start or end > buf.size:
            return OVERRUN, k
        status = _decode_one(buf[start:end], out[out_offsets[k] : out_offsets[k + 1]], shift)
        if status != OK:
            return status, k
        start = end
    return OK, -1
