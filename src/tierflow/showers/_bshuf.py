"""numba kernel that decodes Bitshuffle-LZ4 chunks straight from a file's bytes.

Imported only when a shower file is first read directly (it imports numba and loads
hdf5plugin's Bitshuffle library). A chunk of the Bitshuffle filter (hdf5plugin filter 32008,
with LZ4) is a 12-byte header (big-endian: the chunk's size in bytes as uint64, the block size
in bytes as uint32) followed by independent blocks, each a big-endian uint32 of its compressed
size and the LZ4 data of its bit-shuffled elements. The kernel walks the block headers to the
first block holding a wanted row and decodes only the blocks of the wanted rows, calling the
library's ``bshuf_decompress_lz4``, the function HDF5's filter calls, by its symbol name (so
that the compiled kernel can be cached).
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
def _decode_part(
    buf: Any,
    start: int,
    end: int,
    geometry: Any,
    lo: int,
    hi: int,
    dest: Any,
    scratch: Any,
) -> int:
    """Rows ``lo..hi`` of the chunk at bytes ``start..end`` of `buf` into `dest`: runs of
    whole blocks decoded in place, the partly wanted first and last blocks via `scratch`."""
    chunk_rows, block, itemsize = geometry[0], geometry[1], geometry[2]
    if start < 0 or end - start < 12 or end > len(buf):
        return ERROR
    if _be(buf, start, 8) != chunk_rows * itemsize or _be(buf, start + 8, 4) != block * itemsize:
        return ERROR
    pos = start + 12
    row = lo // block * block
    for _ in range(row // block):
        if pos + 4 > end:
            return ERROR
        pos += 4 + _be(buf, pos, 4)
    done = 0
    while row < hi:
        if pos >= end:
            return ERROR
        if row < lo or row + block > hi:
            got = _decompress(buf.ctypes.data + pos, scratch.ctypes.data, block, itemsize, block)
            first, last = max(lo, row), min(hi, row + block)
            dest[done : done + last - first] = scratch[first - row : last - row]
            done, row = done + last - first, row + block
        else:
            n = (hi - row) // block * block
            got = _decompress(buf.ctypes.data + pos, dest[done:].ctypes.data, n, itemsize, block)
            done, row = done + n, row + n
        if got < 0:
            return ERROR
        pos += got
    return 0


@numba.njit(cache=True, nogil=True)
def decode_ranges(
    buf: Any,
    chunks: Any,
    geometry: Any,
    starts: Any,
    stops: Any,
    out: Any,
    scratch: Any,
) -> int:
    """Decode rows ``starts[i]..stops[i]`` of every column into the rows of `out`.

    `chunks` is ``(columns, chunks, 2)``: the first and last byte + 1 in `buf` of chunks
    ``geometry[3]`` onwards; `geometry` is (rows per chunk, rows per block, bytes per row,
    first chunk); `out[j]` receives column ``j``'s rows one range after another; `scratch`
    holds one chunk of one column. Returns 0, or -1 for a chunk that is not as expected.
    """
    chunk_rows, first_chunk = geometry[0], geometry[3]
    for j in range(out.shape[0]):
        row = out[j]
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
                if _decode_part(buf, start, end, geometry, lo, hi, dest, scratch) < 0:
                    return ERROR
                written += n
                a += n
    return 0
