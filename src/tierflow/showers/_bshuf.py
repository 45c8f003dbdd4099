"""numba kernel that decodes Bitshuffle-LZ4 chunks straight from a file's bytes.

Imported only when a shower file is first read directly (it imports numba and loads
hdf5plugin's Bitshuffle library). A chunk of the Bitshuffle filter (hdf5plugin filter 32008,
with LZ4) is a 12-byte header (big-endian: the chunk's size in bytes as uint64, the block size
in bytes as uint32) followed by independent blocks, each a big-endian uint32 of its compressed
size and the LZ4 data of its bit-shuffled elements. The kernel finds the first block holding a
wanted row by walking the block headers from the nearest block whose place it knows (reads
record the places they pass, so that later reads of the chunk jump straight there) and decodes
only the blocks of the wanted rows (float32 in place; the int8 / int16 of narrow columns,
:mod:`tierflow.showers._narrow`, through a scratch buffer, converted and divided on the way
out), calling the library's ``bshuf_decompress_lz4``, the function HDF5's filter calls, by its
symbol name (so that the compiled kernel can be cached).
"""

from __future__ import annotations

from typing import Any

import llvmlite.binding as llvm
import numba
import numpy as np
from numba import types

__all__ = ["decode_ranges", "load_library"]

ERROR = -1
"""Returned by the kernels for a chunk whose header or blocks do not fit the dataset."""
PLAIN = 0
"""``kinds[j, 1]`` of a column stored without a filter (its chunks hold its values)."""


def load_library(path: str) -> None:
    """Make the Bitshuffle library at `path` known to numba's linker (idempotent)."""
    llvm.load_library_permanently(path)


_decompress: Any = types.ExternalFunction(
    "bshuf_decompress_lz4",
    types.int64(types.uintp, types.uintp, types.uintp, types.uintp, types.uintp),
)


@numba.njit(cache=True, nogil=True, inline="always")
def _be(buf: Any, pos: int, size: int) -> int:
    value = 0
    for k in range(size):
        value = (value << 8) | np.int64(buf[pos + k])
    return value


@numba.njit(cache=True, nogil=True)
def _find(
    buf: Any,
    start: int,
    end: int,
    places: Any,
    chunk_rows: int,
    block: int,
    itemsize: int,
    wanted: int,
) -> int:
    """The place in `buf` of block `wanted` of the chunk at bytes ``start..end``, or ERROR.

    `places` are the chunk's blocks' places found so far (bytes from its start; -1: not yet):
    the walk through the block headers starts from the nearest known block before `wanted`
    (the first time, after checking the chunk's header), and records the places it passes
    (all inside the chunk)."""
    b = wanted
    while b > 0 and places[b] < 0:
        b -= 1
    if places[0] < 0:
        if _be(buf, start, 8) != chunk_rows * itemsize:
            return ERROR
        if _be(buf, start + 8, 4) != block * itemsize:
            return ERROR
        places[0] = 12
    pos = start + places[b]
    while b < wanted:
        if pos + 4 > end:
            return ERROR
        pos += 4 + _be(buf, pos, 4)
        if pos >= end:
            return ERROR
        b += 1
        places[b] = pos - start
    return int(pos)


@numba.njit(cache=True, nogil=True)
def _walk_together(
    buf: Any, chunks: Any, blocks: Any, kinds: Any, chunk_rows: int, k: int, lo: int
) -> None:
    """Record the places of the blocks up to the one holding row `lo` of chunk `k` of every
    column, walking the columns' block headers in step, so that their loads from memory
    overlap (one column after another, each waits for the last). A chunk that does not fit
    is left to :func:`_find`, which reports it."""
    n = kinds.shape[0]
    pos, at, wanted = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    for j in range(n):
        itemsize, block = kinds[j, 0], kinds[j, 1]
        if block == PLAIN:
            continue
        start, end, places = chunks[j, k, 0], chunks[j, k, 1], blocks[j, k]
        b = lo // block
        if start < 0 or end - start < 12 or end > len(buf) or places[b] >= 0:
            continue
        while b > 0 and places[b] < 0:
            b -= 1
        if places[0] < 0:
            if _be(buf, start, 8) != chunk_rows * itemsize:
                continue
            if _be(buf, start + 8, 4) != block * itemsize:
                continue
            places[0] = 12
        pos[j], at[j], wanted[j] = start + places[b], b, lo // block
    busy = True
    while busy:
        busy = False
        for j in range(n):
            if at[j] < wanted[j]:
                start, end = chunks[j, k, 0], chunks[j, k, 1]
                if pos[j] + 4 > end:
                    wanted[j] = at[j]
                    continue
                pos[j] += 4 + _be(buf, pos[j], 4)
                if pos[j] >= end:
                    wanted[j] = at[j]
                    continue
                at[j] += 1
                blocks[j, k, at[j]] = pos[j] - start
                busy = True


@numba.njit(cache=True, nogil=True)
def _decode_floats(
    buf: Any, pos: int, end: int, block: int, lo: int, hi: int, dest: Any, scratch: Any
) -> int:
    """Rows ``lo..hi`` of float32 blocks from the block at `pos` (holding `lo`) into `dest`:
    runs of whole blocks decoded in place, the partly wanted first and last via `scratch`."""
    row = lo // block * block
    done = 0
    while row < hi:
        if pos >= end:
            return ERROR
        if row < lo or row + block > hi:
            got = _decompress(buf.ctypes.data + pos, scratch.ctypes.data, block, 4, block)
            first, last = max(lo, row), min(hi, row + block)
            dest[done : done + last - first] = scratch[first - row : last - row]
            done, row = done + last - first, row + block
        else:
            n = (hi - row) // block * block
            got = _decompress(buf.ctypes.data + pos, dest[done:].ctypes.data, n, 4, block)
            done, row = done + n, row + n
        if got < 0:
            return ERROR
        pos += got
    return 0


@numba.njit(cache=True, nogil=True)
def _decode_narrow(
    buf: Any,
    pos: int,
    block: int,
    itemsize: int,
    divisor: Any,
    lo: int,
    hi: int,
    dest: Any,
    scratch: Any,
) -> int:
    """Rows ``lo..hi`` of int8 or int16 blocks from the block at `pos` (holding `lo`), decoded
    into `scratch` in one run and converted to float32 over `divisor` into `dest`."""
    row = lo // block * block
    n = -(-(hi - row) // block) * block
    if _decompress(buf.ctypes.data + pos, scratch.ctypes.data, n, itemsize, block) < 0:
        return ERROR
    if itemsize == 2:
        wide = scratch.view(np.int16)
        for k in range(hi - lo):
            dest[k] = np.float32(wide[lo - row + k]) / divisor
    else:
        small = scratch.view(np.int8)
        for k in range(hi - lo):
            dest[k] = np.float32(small[lo - row + k]) / divisor
    return 0


@numba.njit(cache=True, nogil=True)
def _copy_plain(buf: Any, pos: int, itemsize: int, divisor: Any, dest: Any) -> None:
    """Values of a plain column from byte `pos` of `buf` into `dest`: float32 copied bit for
    bit, little-endian int16 / int8 converted and divided by `divisor` (the bytes may not be
    aligned for a view)."""
    if itemsize == 4:
        dest.view(np.uint8)[:] = buf[pos : pos + 4 * len(dest)]
    elif itemsize == 2:
        for k in range(len(dest)):
            value = np.int64(buf[pos + 2 * k]) | (np.int64(buf[pos + 2 * k + 1]) << 8)
            dest[k] = np.float32(value - 65536 if value >= 32768 else value) / divisor
    else:
        for k in range(len(dest)):
            value = np.int64(buf[pos + k])
            dest[k] = np.float32(value - 256 if value >= 128 else value) / divisor


@numba.njit(cache=True, nogil=True)
def decode_ranges(
    buf: Any,
    chunks: Any,
    blocks: Any,
    geometry: Any,
    kinds: Any,
    divisors: Any,
    starts: Any,
    stops: Any,
    out: Any,
    scratch: Any,
) -> int:
    """Decode rows ``starts[i]..stops[i]`` of every column into the rows of `out`.

    `chunks` is ``(columns, chunks, 2)``: the first and last byte + 1 in `buf` of chunks
    ``geometry[1]`` onwards; `blocks` ``(columns, chunks, blocks per chunk)`` the places of
    the blocks in their chunks found so far (-1: not yet; filled in by the reads);
    `geometry` is (rows per chunk, first chunk); ``kinds[j]`` is (bytes per value, rows per
    block, or :data:`PLAIN` for a column stored without a filter) of column ``j``: float32
    (4) or int16 / int8 (2 / 1) values that are divided by `divisors[j]` (float32); `out[j]`
    (float32) receives column ``j``'s rows one range after another; `scratch` (float32) holds
    one chunk. Returns 0, or -1 for a chunk that is not as expected.
    """
    chunk_rows, first_chunk = geometry[0], geometry[1]
    for r in range(len(starts)):
        k = starts[r] // chunk_rows - first_chunk
        if starts[r] < stops[r] and 0 <= k < chunks.shape[1]:
            _walk_together(buf, chunks, blocks, kinds, chunk_rows, k, starts[r] % chunk_rows)
    for j in range(out.shape[0]):
        row = out[j]
        itemsize, block, divisor = kinds[j, 0], kinds[j, 1], divisors[j]
        written = 0
        for r in range(len(starts)):
            a, b = starts[r], stops[r]
            while a < b:
                c = a // chunk_rows
                lo = a - c * chunk_rows
                hi = min(b - c * chunk_rows, chunk_rows)
                n = hi - lo
                k = c - first_chunk
                if k < 0 or k >= chunks.shape[1]:
                    return ERROR
                start, end = chunks[j, k, 0], chunks[j, k, 1]
                dest = row[written : written + n]
                if block == PLAIN:
                    if start < 0 or end - start != chunk_rows * itemsize or end > len(buf):
                        return ERROR
                    _copy_plain(buf, start + lo * itemsize, itemsize, divisor, dest)
                    written += n
                    a += n
                    continue
                if start < 0 or end - start < 12 or end > len(buf):
                    return ERROR
                places = blocks[j, k]
                pos = start + places[lo // block]
                if places[lo // block] < 0:
                    pos = _find(buf, start, end, places, chunk_rows, block, itemsize, lo // block)
                if pos < 0 or pos >= end:
                    return ERROR
                if itemsize == 4:
                    status = _decode_floats(buf, pos, end, block, lo, hi, dest, scratch)
                else:
                    status = _decode_narrow(
                        buf, pos, block, itemsize, divisor, lo, hi, dest, scratch
                    )
                if status < 0:
                    return ERROR
                written += n
                a += n
    return 0
