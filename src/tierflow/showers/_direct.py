"""Hits columns decoded straight from the file's bytes, bypassing HDF5's filter pipeline.

Reading a few rows through HDF5 costs tens of microseconds per column (selection, chunk
lookup, filter pipeline), more than decoding them. The hits columns of tierflow's shower files
are Bitshuffle-LZ4 chunks (hdf5plugin filter 32008) made of independent blocks of a few
hundred hits, or plain chunks (no filter: :mod:`tierflow.showers._packing`), whose rows are
copied. :class:`DirectColumns` looks up where the chunks lie in the file (HDF5's chunk
iteration, ~1 us a chunk: when a file is opened for random reads, or at the first large read),
and decodes only the blocks that hold the rows asked for, all columns in one numba kernel
that runs without the GIL, with the Bitshuffle library that hdf5plugin ships: the same code
HDF5's filter runs, so the values are the same. The kernel records where the blocks it walks
past lie, so that later reads of a chunk jump to their first block (0.8 of the time of a
random shower once its chunks were read). Columns are float32, or int8 / int16 stored
narrowly (:mod:`tierflow.showers._narrow`), converted to float32 as they are decoded.

Small reads decode from a memory map of the file (no copy); large ones go column by column,
in batches of chunks, in two threads that start on a column as soon as its chunks are located:
a compressed batch's bytes are read into a buffer and decoded chunk by chunk through ctypes
(:func:`decode_chunks`: as fast, and without importing numba), a plain one read straight into
the result (float32) or converted from a buffer (narrow), so that a full load holds no more
than its result and two batches. Columns of other filters, chunk layouts it does not know, or
files open for writing are read through HDF5 (:func:`make_direct_columns` returns ``None``).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import mmap
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError
from tierflow.lh5._native import Signatures, declared, hdf5plugin_library

__all__ = [
    "BITSHUFFLE_FILTER",
    "PLAIN",
    "ChunkIndex",
    "DirectColumns",
    "Workspace",
    "bitshuffle",
    "bitshuffle_path",
    "chunk_pieces",
    "chunks_of",
    "decode_chunks",
    "headers_fit",
    "make_direct_columns",
    "plain_pieces",
    "split_ranges",
]

BITSHUFFLE_FILTER = 32008
PLAIN = 0
"""The rows per block of a column stored without a filter (:mod:`~tierflow.showers._packing`):
its chunks are its values."""
LZ4 = 2
"""The Bitshuffle filter's code for LZ4 compression (its fifth filter parameter)."""
LARGE_ROWS = 1 << 20
"""Reads of at least this many hits go in batches, in two threads."""
BATCH_ROWS = 1 << 18
"""Hits per batch of a large read: ~2 MB of compressed bytes held by each thread."""
THREADS = 2
NARROW_TYPES: dict[int, np.dtype[Any]] = {1: np.dtype(np.int8), 2: np.dtype(np.int16)}
"""The integers of narrow columns (:mod:`tierflow.showers._narrow`), by their size."""
POPULATE_BYTES = 1 << 30
"""Files up to this size opened for random reads are mapped with all their pages at once
(25-55 ms for 300 MB in the page cache), rather than page by page as reads touch them:
a page fault costs several microseconds here, and a random shower touched ~3 (0.7x the time,
38 instead of 55 us of CPU a shower on 20,000 showers). Larger files are mapped lazily, so
that opening one does not read it whole."""
UNLOCATED = -2
"""What a large read returns when a column's chunks cannot be located (HDF5 reads it)."""
LOCATE_SHARE = 8
"""Until the chunks are located, reads of less than 1/8 of the rows go through HDF5: locating
all of them (1 us a chunk) would cost more than such a read saves."""


_BSHUF: Signatures = {
    name: (ctypes.c_int64, [ctypes.c_void_p] * 2 + [ctypes.c_size_t] * 3)
    for name in ("bshuf_decompress_lz4", "bshuf_compress_lz4")
}
"""``(in, out, n, itemsize, block) -> bytes read / written, or < 0``."""


def bitshuffle_path() -> str | None:
    """The path of hdf5plugin's Bitshuffle filter library, if there is one."""
    return hdf5plugin_library("h5bshuf")


@functools.cache
def bitshuffle(library: str | None) -> ctypes.CDLL | None:
    """hdf5plugin's Bitshuffle library at `library` with its LZ4 functions declared (called
    by ctypes, which lets other threads run during a call), or None."""
    return declared(library, _BSHUF)


@functools.cache
def _decompress(library: str) -> Any:
    """``bshuf_decompress_lz4`` (:data:`_BSHUF`)."""
    lib = bitshuffle(library)
    if lib is None:
        raise OSError(f"{library} has no bshuf_decompress_lz4")
    return lib.bshuf_decompress_lz4


def decode_chunks(
    decompress: Any,
    buf: npt.NDArray[np.uint8],
    chunks: npt.NDArray[np.int64],
    geometry: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.int64],
    divisors: npt.NDArray[np.float32],
    starts: npt.NDArray[np.int64],
    stops: npt.NDArray[np.int64],
    out: npt.NDArray[np.float32],
    scratch: npt.NDArray[np.float32],
) -> int:
    """What the numba kernel does, chunk by chunk through ctypes, for large reads of
    Bitshuffle-LZ4 columns (mostly whole chunks: float32 ones decoded in place, the others
    through `scratch`): it needs no numba, whose import takes 0.2 s and 65 MB, and a call per
    8,192 hits costs little. ``kinds[j]`` is column ``j``'s bytes per value and rows per
    block, ``divisors[j]`` what its integers are divided by."""
    rows = int(geometry[0])
    ranges = (starts.tolist(), stops.tolist())
    for j in range(len(kinds)):
        itemsize, block = int(kinds[j, 0]), int(kinds[j, 1])
        if not headers_fit(buf, chunks[j], itemsize * rows, itemsize * block):
            return -1
        layout = ((itemsize, block), divisors[j])
        if _decode_column(decompress, buf, chunks[j], geometry, *layout, ranges, out[j], scratch):
            return -1
    return 0


def _decode_column(
    decompress: Any,
    buf: npt.NDArray[np.uint8],
    chunks: npt.NDArray[np.int64],
    geometry: npt.NDArray[np.int64],
    kind: tuple[int, int],
    divisor: np.float32,
    ranges: tuple[list[int], list[int]],
    column: npt.NDArray[np.float32],
    scratch: npt.NDArray[np.float32],
) -> int:
    """One Bitshuffle-LZ4 column of :func:`decode_chunks`; 0, or -1 for a damaged chunk."""
    rows, first = (int(v) for v in geometry)
    itemsize, block = kind
    base, spare, at = buf.ctypes.data, scratch.ctypes.data, column.ctypes.data
    places = (chunks[:, 0] + 12).tolist()
    held_values = scratch if itemsize == 4 else scratch.view(NARROW_TYPES[itemsize])
    written, held = 0, -1  # held: the chunk in `scratch` (ranges of one chunk share it)
    for c, lo, hi in chunk_pieces(*ranges, rows):
        in_place = lo == 0 and hi == rows and itemsize == 4
        if in_place or c != held:
            dest = at + written * itemsize if in_place else spare
            if decompress(base + places[c - first], dest, rows, itemsize, block) < 0:
                return -1
            held = held if in_place else c
        if itemsize == 4 and not in_place:
            column[written : written + hi - lo] = held_values[lo:hi]
        elif not in_place:
            np.divide(held_values[lo:hi], divisor, out=column[written : written + hi - lo])
        written += hi - lo
    return 0


def chunk_pieces(
    starts: list[int], stops: list[int], chunk_rows: int
) -> Iterator[tuple[int, int, int]]:
    """The pieces of the row ranges ``starts[i]..stops[i]`` in chunks of `chunk_rows`, in
    order: ``(chunk, first row in it, last row + 1)``.

    Example
    -------
    >>> list(chunk_pieces([3], [12], 5))
    [(0, 3, 5), (1, 0, 5), (2, 0, 2)]
    """
    for a, b in zip(starts, stops, strict=True):
        for c in range(a // chunk_rows, -(-b // chunk_rows)):
            yield c, max(a - c * chunk_rows, 0), min(b - c * chunk_rows, chunk_rows)


def plain_pieces(
    places: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    stops: npt.NDArray[np.int64],
    chunk_rows: int,
    itemsize: int,
) -> list[list[int]]:
    """Where the rows ``starts[i]..stops[i]`` of a plain column whose chunks begin at byte
    `places` of the file lie: ``[offset, bytes]`` pieces in order, adjacent ones merged."""
    pieces: list[list[int]] = []
    for c, lo, hi in chunk_pieces(starts.tolist(), stops.tolist(), chunk_rows):
        offset, size = int(places[c]) + lo * itemsize, (hi - lo) * itemsize
        if pieces and pieces[-1][0] + pieces[-1][1] == offset:
            pieces[-1][1] += size
        else:
            pieces.append([offset, size])
    return pieces


def headers_fit(
    buf: npt.NDArray[np.uint8], chunks: npt.NDArray[np.int64], size: int, block_size: int
) -> bool:
    """Whether the chunks (``first, last + 1`` bytes in `buf`; -1 for none) lie in `buf`
    and their headers declare `size` bytes in blocks of `block_size` bytes."""
    spans = chunks[chunks[..., 0] >= 0]
    if np.any(spans[:, 1] > len(buf)) or np.any(spans[:, 1] - spans[:, 0] < 12):
        return False
    headers = buf[spans[:, :1] + np.arange(12)]
    sizes = headers[:, :8].copy().view(">u8")
    blocks = headers[:, 8:].copy().view(">u4")
    return bool(np.all(sizes == size) and np.all(blocks == block_size))


def _kernel(library: str) -> Any:
    """The decoding kernel (numba, compiled or loaded from its cache on first use)."""
    from tierflow.showers import _bshuf

    _bshuf.load_library(library)
    return _bshuf.decode_ranges


def _block_rows(ds: h5py.Dataset) -> int | None:
    """Hits per Bitshuffle block of `ds` if its only filter is Bitshuffle with LZ4,
    :data:`PLAIN` if it has no filter, None otherwise."""
    plist = ds.id.get_create_plist()
    if plist.get_nfilters() == 0:
        return PLAIN
    if plist.get_nfilters() != 1:
        return None
    code, _, options, _ = plist.get_filter(0)
    if code != BITSHUFFLE_FILTER or len(options) < 5 or options[4] != LZ4:
        return None
    return int(options[3]) or (8192 // ds.dtype.itemsize) // 8 * 8


def chunks_of(
    starts: npt.NDArray[np.int64], stops: npt.NDArray[np.int64], chunk_rows: int
) -> npt.NDArray[np.int64]:
    """The sorted indices of the chunks that hold the rows of the ranges."""
    keep = stops > starts
    first, last = starts[keep] // chunk_rows, (stops[keep] - 1) // chunk_rows
    counts = last - first + 1
    steps = np.ones(int(counts.sum()), dtype=np.int64)
    heads = np.cumsum(counts)[:-1]
    steps[0:1] = first[0:1]
    steps[heads] = first[1:] - last[:-1]
    return np.unique(np.cumsum(steps))


def split_ranges(
    starts: npt.NDArray[np.int64], stops: npt.NDArray[np.int64], parts: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, int]]:
    """The row ranges cut into `parts` runs of about equal hits: for each, its ranges and
    where its rows go in the output (first and last + 1)."""
    ends = np.cumsum(stops - starts)
    begins = ends - (stops - starts)
    total = int(ends[-1]) if len(ends) else 0
    out = []
    for k in range(parts):
        lo, hi = total * k // parts, total * (k + 1) // parts
        if hi <= lo:
            continue
        first = int(np.searchsorted(ends, lo, side="right"))
        last = int(np.searchsorted(ends, hi, side="left"))
        s, e = starts[first : last + 1].copy(), stops[first : last + 1].copy()
        s[0] += lo - int(begins[first])
        e[-1] -= int(ends[last]) - hi
        out.append((s, e, lo, hi))
    return out


def _map_file(fd: int, populate: bool) -> mmap.mmap:
    """A read-only map of the file `fd`, its pages mapped at once if `populate` (Linux)."""
    if populate and hasattr(mmap, "MAP_POPULATE"):
        flags = mmap.MAP_SHARED | mmap.MAP_POPULATE
        return mmap.mmap(fd, 0, flags=flags, prot=mmap.PROT_READ)
    return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)


class Workspace:
    """One thread's memory for decoding: a chunk of scratch, a buffer of compressed bytes."""

    def __init__(self, chunk_rows: int) -> None:
        self.scratch = np.empty(chunk_rows, dtype=np.float32)
        self._bytes = np.empty(0, dtype=np.uint8)

    def bytes(self, size: int) -> npt.NDArray[np.uint8]:
        """A buffer of at least `size` bytes (kept from call to call)."""
        if len(self._bytes) < size:
            self._bytes = np.empty(size + size // 4, dtype=np.uint8)
        return self._bytes


class ChunkIndex:
    """Where each chunk of equally chunked columns lies in their file.

    Parameters
    ----------
    columns
        The datasets (1-d, same chunks).
    n_rows
        The rows to locate (the columns may be longer).
    """

    def __init__(self, columns: list[h5py.Dataset], n_rows: int) -> None:
        self.columns = columns
        self.chunk_rows = int(columns[0].chunks[0])
        self.n_rows = n_rows
        self.n_chunks = -(-n_rows // self.chunk_rows)
        self.spans = np.full((len(columns), self.n_chunks, 2), -1, dtype=np.int64)
        """``(columns, chunks, 2)``: each chunk's first and last byte + 1 in the file."""
        self.usable: bool | None = None
        """Whether all chunks were located (None: not tried yet)."""
        self._plain_ok: dict[int, bool] = {}

    def locate(self) -> bool:
        """Find where every chunk lies in the file (HDF5's chunk iteration, ~1 us a chunk);
        False if a chunk has no place or was stored without its filter."""
        for _ in self.locate_each():
            pass
        return self.usable is True

    def locate_each(self) -> Iterator[int]:
        """Locate the columns one after another, yielding each column's index once its chunks
        are found (all at once if they were before); stops at a column that cannot be."""
        if self.usable is not None:
            yield from range(len(self.columns)) if self.usable else ()
            return
        for j in range(len(self.columns)):
            spans = self._locate_column(j)
            if spans is None:
                self.usable = False
                return
            self.spans[j] = spans
            yield j
        self.usable = True

    def plain_checked(self, j: int, itemsize: int) -> bool:
        """Whether every chunk of column `j`, stored without a filter, holds a whole chunk of
        `itemsize`-byte values (checked once)."""
        if j not in self._plain_ok:
            sizes = self.spans[j, :, 1] - self.spans[j, :, 0]
            self._plain_ok[j] = bool(np.all(sizes == itemsize * self.chunk_rows))
        return self._plain_ok[j]

    @property
    def located(self) -> bool:
        """Whether the chunks were located."""
        return self.usable is True

    def _locate_column(self, j: int) -> npt.NDArray[np.int64] | None:
        """The places of all chunks of column `j`, or None if one has none."""
        if self.n_chunks == 0:
            return np.empty((0, 2), dtype=np.int64)
        found: list[tuple[int, int, int, int]] = []
        keep = found.append
        self.columns[j].id.chunk_iter(
            lambda i: keep((i.chunk_offset[0], i.byte_offset, i.size, i.filter_mask))
        )
        table = np.array(found, dtype=np.int64).reshape(-1, 4)
        index = table[:, 0] // self.chunk_rows
        table, index = table[index < self.n_chunks], index[index < self.n_chunks]
        if np.any(table[:, 3] != 0) or len(np.unique(index)) != self.n_chunks:
            return None
        spans = np.empty((self.n_chunks, 2), dtype=np.int64)
        spans[index, 0] = table[:, 1]
        spans[index, 1] = table[:, 1] + table[:, 2]
        return spans


class DirectColumns:
    """Columns of one file with the same chunks (Bitshuffle-LZ4), decoded directly into
    float32.

    Made by :func:`make_direct_columns`; ``index.locate()`` finds where each chunk lies,
    ``read`` fills a ``(columns, rows)`` array.

    Example
    -------
    >>> direct = make_direct_columns(path, handle, [hits["x"], hits["y"]], n_hits)  # doctest: +SKIP
    >>> out = np.empty((2, 10), np.float32)  # doctest: +SKIP
    >>> direct.read(np.array([10]), np.array([20]), out)  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str,
        columns: list[h5py.Dataset],
        block_rows: list[int],
        n_rows: int,
        library: str,
        divisors: list[int] | None = None,
    ) -> None:
        self.path = path
        self.index = ChunkIndex(columns, n_rows)
        self.library = library
        self._kernel: Any = None
        self.chunk_rows = self.index.chunk_rows
        self.kinds = np.array(
            [(c.dtype.itemsize, b) for c, b in zip(columns, block_rows, strict=True)], np.int64
        )
        """Each column's bytes per value (4: float32, 2 or 1: int16 or int8 over a divisor) and
        rows per Bitshuffle block."""
        self.divisors = np.array(divisors or [1] * len(columns), dtype=np.float32)
        self.block_rows = next((b for b in block_rows if b != PLAIN), PLAIN)
        """The first compressed column's rows per block (:data:`PLAIN` if there is none)."""
        self._map: mmap.mmap | None = None
        self._bytes: npt.NDArray[np.uint8] | None = None
        self._blocks: npt.NDArray[np.int32] | None = None
        self._whole = self._geometry(0)
        self._lock = threading.Lock()
        self._local = threading.local()
        """Each calling thread's workspace for small reads (reads may come from threads)."""

    @property
    def kernel(self) -> Any:
        """The numba kernel, loaded on the first read (importing numba takes a while)."""
        if self._kernel is None:
            self._kernel = _kernel(self.library)
        return self._kernel

    def _geometry(self, first_chunk: int) -> npt.NDArray[np.int64]:
        return np.array([self.chunk_rows, first_chunk], np.int64)

    def read(
        self, starts: npt.NDArray[Any], stops: npt.NDArray[Any], out: npt.NDArray[np.float32]
    ) -> bool:
        """Rows ``starts[i]..stops[i]`` (in order, within the first `n_rows`) of every column
        into ``out[j]``; False (nothing read) when HDF5 should read them: before the chunks
        were located, for reads of less than 1/LOCATE_SHARE of the rows, or when they cannot
        be located."""
        index, large = self.index, out.shape[1] >= LARGE_ROWS
        if not index.located:
            if index.usable is False or out.shape[1] * LOCATE_SHARE < index.n_rows:
                return False
            if not large and not index.locate():
                return False
        if starts.dtype != np.int64 or stops.dtype != np.int64:
            starts, stops = starts.astype(np.int64), stops.astype(np.int64)
        if out.shape[1] == 0:
            return True
        if large:
            status = self._read_batches(starts, stops, out)
            if status == UNLOCATED:
                return False
        else:
            data = self._bytes if self._bytes is not None else self._file_bytes()
            blocks = self._blocks if self._blocks is not None else self._new_blocks()
            args = (data, index.spans, blocks, self._whole, self.kinds, self.divisors, starts)
            status = int(self.kernel(*args, stops, out, self._workspace().scratch))
        if status < 0:
            raise FormatError(
                "a hits chunk is not what its dataset declares (Bitshuffle-LZ4 blocks or plain"
                " values), or the file ends early",
                file=self.path,
            )
        return True

    def _file_bytes(self, populate: bool = False) -> npt.NDArray[np.uint8]:
        """The file's bytes, memory-mapped (made on first use; `populate`: with all its pages
        mapped at once, where the system can)."""
        with self._lock:
            if self._bytes is None:
                with open(self.path, "rb") as handle:
                    self._map = _map_file(handle.fileno(), populate)
                self._bytes = np.frombuffer(self._map, dtype=np.uint8)
            return self._bytes

    def prepare_random_access(self) -> None:
        """Locate the chunks, and map a file of up to POPULATE_BYTES with all its pages."""
        if self.index.locate() and os.path.getsize(self.path) <= POPULATE_BYTES:
            self._file_bytes(populate=True)

    def _new_blocks(self) -> npt.NDArray[np.int32]:
        """The places of the blocks in their chunks, none found yet (-1): filled in by the
        reads (:mod:`tierflow.showers._bshuf`), so that a chunk's block headers are walked
        once rather than by every read (a chain of loads from memory rarely in the caches:
        0.8 of the time of a random shower on 20,000 showers, once they are found)."""
        with self._lock:
            if self._blocks is None:
                blocks = self.kinds[:, 1][self.kinds[:, 1] != PLAIN]
                per_chunk = int((self.chunk_rows // blocks).max(initial=1))
                shape = (len(self.kinds), self.index.n_chunks, per_chunk)
                self._blocks = np.full(shape, -1, dtype=np.int32)
            return self._blocks

    def _workspace(self) -> Workspace:
        space: Workspace | None = getattr(self._local, "space", None)
        if space is None:
            space = self._local.space = Workspace(self.chunk_rows)
        return space

    def _read_batches(
        self, starts: npt.NDArray[np.int64], stops: npt.NDArray[np.int64], out: Any
    ) -> int:
        """Large reads: each column in batches of about BATCH_ROWS hits, read in two threads
        from the moment its chunks are located (locating them, in this thread, overlaps the
        reading); :data:`UNLOCATED` if a column cannot be located."""
        batches = split_ranges(starts, stops, -(-out.shape[1] // BATCH_ROWS))
        spaces = threading.local()
        with open(self.path, "rb", buffering=0) as handle, ThreadPoolExecutor(THREADS) as pool:
            fd = handle.fileno()

            def work(j: int, s: Any, e: Any, lo: int, hi: int) -> int:
                space = getattr(spaces, "space", None)
                if space is None:
                    space = spaces.space = Workspace(self.chunk_rows)
                return self._read_column(fd, j, s, e, out[j, lo:hi], space)

            located = self.index.locate_each()
            futures = [pool.submit(work, j, *batch) for j in located for batch in batches]
            status = min((future.result() for future in futures), default=0)
        return status if self.index.located else UNLOCATED

    def _read_column(
        self,
        fd: int,
        j: int,
        starts: npt.NDArray[np.int64],
        stops: npt.NDArray[np.int64],
        dest: npt.NDArray[np.float32],
        space: Workspace,
    ) -> int:
        """One batch of column `j` into `dest`: plain, or its chunks' bytes read into a buffer
        (or, when they lie far apart, from the memory map) and decoded; 0 or -1."""
        if self.kinds[j, 1] == PLAIN:
            return self._read_plain(fd, j, starts, stops, dest, space)
        chunks = chunks_of(starts, stops, self.chunk_rows)
        first = int(chunks[0])
        wanted = self.index.spans[j, chunks]
        local = np.full((1, int(chunks[-1]) + 1 - first, 2), -1, dtype=np.int64)
        begin, end = int(wanted[:, 0].min()), int(wanted[:, 1].max())
        if end - begin > 2 * int((wanted[:, 1] - wanted[:, 0]).sum()) + (1 << 16):
            buffer, local[0, chunks - first] = self._file_bytes(), wanted
        else:
            buffer, local[0, chunks - first] = space.bytes(end - begin), wanted - begin
            if os.preadv(fd, [buffer[: end - begin].data], begin) != end - begin:
                return -1
        decompress, geometry = _decompress(self.library), self._geometry(first)
        kinds, divisors = self.kinds[j : j + 1], self.divisors[j : j + 1]
        rows = (starts, stops, dest[None, :], space.scratch)
        return decode_chunks(decompress, buffer, local, geometry, kinds, divisors, *rows)

    def _read_plain(
        self,
        fd: int,
        j: int,
        starts: npt.NDArray[np.int64],
        stops: npt.NDArray[np.int64],
        dest: npt.NDArray[np.float32],
        space: Workspace,
    ) -> int:
        """The rows of plain column `j` into `dest`: read straight into it (float32) or into a
        buffer and divided (narrow), one read per run of adjacent bytes; 0, or -1 when the
        file ends early or a chunk is not where it should be."""
        itemsize = int(self.kinds[j, 0])
        if not self.index.plain_checked(j, itemsize):
            return -1
        places = self.index.spans[j, :, 0]
        pieces = plain_pieces(places, starts, stops, self.chunk_rows, itemsize)
        target = dest.view(np.uint8) if itemsize == 4 else space.bytes(len(dest) * itemsize)
        at = 0
        for offset, size in pieces:
            if os.preadv(fd, [target[at : at + size].data], offset) != size:
                return -1
            at += size
        if itemsize != 4:
            stored = target[: len(dest) * itemsize].view(NARROW_TYPES[itemsize])
            np.divide(stored, self.divisors[j], out=dest)
        return 0

    def close(self) -> None:
        """Release the memory map (now, or once the last view of it is gone)."""
        self._bytes = self._blocks = None
        if self._map is not None:
            with contextlib.suppress(BufferError):  # a view is alive: closed when collected
                self._map.close()


def make_direct_columns(
    path: str,
    handle: h5py.File,
    columns: list[h5py.Dataset],
    n_rows: int,
    divisors: list[int | None] | None = None,
) -> DirectColumns | None:
    """Direct reads of the first `n_rows` of `columns`, or None when they cannot be read that
    way (other filters or chunks, a user block, no Bitshuffle library). Columns are float32,
    or int8 / int16 with a divisor (``divisors[j]``: what its integers are divided by, None
    for float32)."""
    if not columns or handle.userblock_size != 0 or not hasattr(columns[0].id, "chunk_iter"):
        return None
    factors = list(divisors) if divisors is not None else [None] * len(columns)
    first = columns[0]
    blocks = [_block_rows(column) for column in columns]
    if first.chunks is None or len(factors) != len(columns):
        return None
    for column, factor, block in zip(columns, factors, blocks, strict=True):
        if column.chunks != first.chunks or block is None:
            return None
        if block != PLAIN and (first.chunks[0] % block or block % 8):
            return None
        narrow = column.dtype in NARROW_TYPES.values() and factor is not None
        if not (narrow or (column.dtype == np.float32 and factor is None)):
            return None
    library = bitshuffle_path()
    if library is None:
        return None
    found = [1 if factor is None else int(factor) for factor in factors]
    kinds = [b for b in blocks if b is not None]
    return DirectColumns(path, columns, kinds, n_rows, library, found)
