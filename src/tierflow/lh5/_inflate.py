"""Fast reads of shuffle+deflate and shuffle+Zstd datasets: the chunks' bytes read in one
slab, decompressed in threads.

HDF5 decompresses a dataset one chunk at a time on the calling thread, and h5py lets one
thread into HDF5 at a time, so reading compressed columns uses one core. For a dataset of a
read-only file whose filter pipeline is exactly deflate or Zstd (hdf5plugin's filter),
optionally preceded by shuffle, this module asks HDF5 only where the chunks are
(``chunk_iter``), reads their bytes with one ``pread`` of the span they cover, and
decompresses and un-shuffles them in the shared thread pool, straight into the output array.
Deflate uses the fastest installed implementation (libdeflate, ISA-L, then zlib), Zstd the
``zstandard`` package: decompression is lossless, so every engine gives the same values.

Anything else goes through HDF5: other filters or drivers, files open for writing, chunks
stored with a filter skipped, missing (never written) chunks, and small reads.

Example
-------
>>> with h5py.File("f.h5", "r") as f:  # doctest: +SKIP
...     out = np.empty(10**6)
...     read_chunked(f["x"], 0, 10**6, out)  # False when the caller must ask HDF5
True
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import itertools
import math
import os
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.cores import idle_cores
from tierflow.errors import FormatError
from tierflow.lh5._chunks import (
    FILTER_DEFLATE,
    FILTER_SHUFFLE,
    FILTER_ZSTD,
    _pool,
    _scratch_bytes,
    plain_type,
)
from tierflow.lh5._native import (
    DecodeInto,
    WrongSizeError,
    libdeflate_into,
    simd_unshuffle,
    zstd_into,
)
from tierflow.lh5._settings import fast_read_settings
from tierflow.registry import Registry

__all__ = [
    "ChunkedRead",
    "INFLATE_ENGINES",
    "decode_chunked",
    "inflate_engine",
    "plan_chunked",
    "read_chunked",
    "unshuffle_into",
]

Inflate = Callable[[memoryview, int], bytes]
"""An inflate implementation: (zlib stream, size of the result) → the bytes."""

INFLATE_ENGINES: Registry[Callable[[], Inflate]] = Registry(
    "inflate engine", entry_point_group="tierflow.inflate_engines"
)
"""Name → a function returning the decompressor (it imports its package on demand)."""


def _zlib() -> Inflate:
    return lambda data, size: zlib.decompress(data, bufsize=size)


def _libdeflate() -> Inflate:
    decompress: Inflate = importlib.import_module("deflate").zlib_decompress
    return decompress


def _isal() -> Inflate:
    module = importlib.import_module("isal.isal_zlib")
    return lambda data, size: bytes(module.decompress(data, bufsize=size))


INFLATE_ENGINES.add("zlib", _zlib)
INFLATE_ENGINES.add("libdeflate", _libdeflate)
INFLATE_ENGINES.add("isal", _isal)
AUTO_ORDER = ("libdeflate", "isal", "zlib")
"""The engines ``"auto"`` tries, fastest first."""

_engines: dict[str, Inflate] = {}


def inflate_engine(name: str = "auto") -> Inflate:
    """The decompressor called `name` (``"auto"``: the fastest one installed).

    Example
    -------
    >>> inflate_engine("zlib")(memoryview(zlib.compress(b"abc")), 3)
    b'abc'
    """
    if name not in _engines:
        if name != "auto":
            _engines[name] = INFLATE_ENGINES[name]()
        else:
            for candidate in AUTO_ORDER:
                try:
                    _engines[name] = INFLATE_ENGINES[candidate]()
                    break
                except ImportError:
                    continue
    return _engines[name]


def unshuffle_into(
    out: npt.NDArray[np.uint8], data: npt.NDArray[np.uint8], size: int, elements: int
) -> None:
    """Undo HDF5's shuffle filter: `data` holds byte ``k`` of each of `elements` elements
    (of `size` bytes) together, for ``k = 0 .. size-1``; the first ``len(out) // size``
    elements go to `out`. Whole chunks use c-blosc2's SIMD unshuffle (the same byte
    transposition) from hdf5plugin's Blosc2 plugin when it is there.

    Example
    -------
    >>> out = np.empty(4, np.uint8)
    >>> unshuffle_into(out, np.array([1, 2, 0, 0], np.uint8), 2, 2)
    >>> out.view("<u2")
    array([1, 2], dtype=uint16)
    """
    count = len(out) // size
    whole = count == elements and len(data) == size * elements and len(data) < 2**31
    simd = simd_unshuffle() if whole and out.flags.c_contiguous else None
    if simd is not None and data.flags.c_contiguous:
        done = simd(size, len(data), data.ctypes.data, out.ctypes.data)
        if done == len(data):
            return
    out.reshape(count, size)[:] = data.reshape(size, elements)[:, :count].T


@dataclass(frozen=True)
class _Chunks:
    """Where the chunks of a row range are in the file."""

    first_rows: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    sizes: npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Layout:
    """How to turn one chunk's stored bytes into rows."""

    chunk_rows: int
    row_bytes: int
    shuffle_size: int
    inflate: Inflate
    decode_into: DecodeInto | None = None
    """The same decompression through C, into a buffer and without the GIL (if found)."""
    codec: int = FILTER_DEFLATE
    """The HDF5 filter id of the compression."""
    source: tuple[int, ...] = ()
    """The file's identity (device, inode, modification time, size)."""

    @property
    def chunk_bytes(self) -> int:
        return self.chunk_rows * self.row_bytes


_zstd_local = threading.local()


def _zstd_decompress(data: memoryview, size: int) -> bytes:
    """One decompressor per thread: making one costs more than decompressing a chunk."""
    decompressor = getattr(_zstd_local, "decompressor", None)
    if decompressor is None:
        import zstandard

        decompressor = _zstd_local.decompressor = zstandard.ZstdDecompressor()
    data_bytes: bytes = decompressor.decompress(data, max_output_size=size)
    return data_bytes


NATIVE_ENGINES = {"auto": libdeflate_into, "libdeflate": libdeflate_into}
"""Deflate engines that have a C path (:mod:`tierflow.lh5._native`) besides their binding."""


def _decompressor(code: int, engine: str) -> tuple[Inflate, DecodeInto | None] | None:
    """The Python and the C decompressor of filter `code` (deflate: `engine`'s)."""
    if code == FILTER_DEFLATE:
        native = NATIVE_ENGINES.get(engine)
        return inflate_engine(engine), None if native is None else native()
    if code == FILTER_ZSTD and importlib.util.find_spec("zstandard") is not None:
        return _zstd_decompress, zstd_into()
    return None


def _layout(ds: h5py.Dataset, engine: str, shape: tuple[int, ...]) -> _Layout | None:
    """The chunk layout of `ds` (of `shape`) if the fast path can read it (deflate with
    `engine`; asked of HDF5's low-level API, which costs a tenth of h5py's properties)."""
    plist, dtype = ds.id.get_create_plist(), ds.id.dtype
    if plist.get_layout() != h5py.h5d.CHUNKED or not shape:
        return None
    chunks = plist.get_chunk()
    if tuple(chunks[1:]) != tuple(shape[1:]) or not plain_type(ds):
        return None
    codes = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    shuffle = dtype.itemsize if codes[:1] == [FILTER_SHUFFLE] else 0
    decoders = _decompressor(codes[-1], engine) if len(codes) == 1 + bool(shuffle) else None
    if decoders is None:
        return None
    row_bytes = math.prod(shape[1:]) * dtype.itemsize
    return _Layout(int(chunks[0]), row_bytes, shuffle, *decoders, codec=codes[-1])


def _chunks_of(ds: h5py.Dataset, layout: _Layout, start: int, stop: int) -> _Chunks | None:
    """The stored chunks holding rows ``start:stop``, or ``None`` if one is missing or was
    stored with a filter skipped."""
    found: list[tuple[int, int, int, int]] = []
    first, last = start // layout.chunk_rows, (stop - 1) // layout.chunk_rows

    def visit(info: Any) -> None:
        index = info.chunk_offset[0] // layout.chunk_rows
        if first <= index <= last:
            found.append((info.chunk_offset[0], info.byte_offset, info.size, info.filter_mask))

    try:
        ds.id.chunk_iter(visit)
    except (AttributeError, NotImplementedError):  # HDF5 before 1.12.3 has no chunk iteration
        return None
    if len(found) != last - first + 1 or any(mask for *_, mask in found):
        return None
    found.sort()
    table = np.array([f[:3] for f in found], dtype=np.int64).reshape(-1, 3)
    return _Chunks(table[:, 0], table[:, 1], table[:, 2])


class _PartialChunks:
    """Decoded chunks that a read used only in part, kept for the next read: an iterator's
    reads rarely align with the file's chunks, and without this the chunk on each boundary
    is decompressed twice. Keyed by file identity and the chunk's byte offset; the oldest
    go first beyond `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[int, ...], npt.NDArray[np.uint8]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[int, ...]) -> npt.NDArray[np.uint8] | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[int, ...], rows: npt.NDArray[np.uint8]) -> None:
        with self._lock:
            if key in self._items or rows.nbytes > self.max_bytes:
                return
            self._items[key] = rows
            self._bytes += rows.nbytes
            while self._bytes > self.max_bytes:
                self._bytes -= self._items.popitem(last=False)[1].nbytes

    def reset(self) -> None:
        """Forget everything (a forked child starts afresh: a parent thread may hold the lock)."""
        self._items, self._bytes, self._lock = OrderedDict(), 0, threading.Lock()


_partial = _PartialChunks(32 << 20)
os.register_at_fork(after_in_child=_partial.reset)


def _decode_whole(stored: memoryview, layout: _Layout, out: npt.NDArray[np.uint8]) -> None:
    """Decompress and un-shuffle one chunk into `out` (its full size in bytes)."""
    if layout.decode_into is not None:
        target = _scratch_bytes("inflated", layout.chunk_bytes) if layout.shuffle_size else out
        layout.decode_into(np.frombuffer(stored, np.uint8), target)
        if layout.shuffle_size:
            unshuffle_into(out, target, layout.shuffle_size, len(target) // layout.shuffle_size)
        return
    data = np.frombuffer(layout.inflate(stored, layout.chunk_bytes), np.uint8)
    if len(data) != layout.chunk_bytes:
        size = f"{len(data)} bytes, not {layout.chunk_bytes}"
        raise WrongSizeError(f"a chunk decompresses to {size}")
    if layout.shuffle_size:
        unshuffle_into(out, data, layout.shuffle_size, layout.chunk_bytes // layout.shuffle_size)
    else:
        out[:] = data


def _decode_chunk(
    stored: memoryview, layout: _Layout, out: npt.NDArray[np.uint8], skip: int, key: tuple[int, ...]
) -> None:
    """Put the rows of one chunk from `skip` on into `out` (bytes); a chunk used in part is
    decoded once for this read and the next (`key` identifies it)."""
    begin = skip * layout.row_bytes
    if begin == 0 and len(out) == layout.chunk_bytes:
        _decode_whole(stored, layout, out)
        return
    rows = _partial.get(key)
    if rows is None:
        rows = np.empty(layout.chunk_bytes, np.uint8)
        _decode_whole(stored, layout, rows)
        _partial.put(key, rows)
    out[:] = rows[begin : begin + len(out)]


def _decode_span(
    stored: Sequence[memoryview],
    chunks: _Chunks,
    picks: Sequence[int],
    layout: _Layout,
    span: tuple[int, int],
    out: npt.NDArray[np.uint8],
) -> None:
    """Decode chunks `picks` of the rows ``span`` into `out` (the bytes of those rows)."""
    start, stop = span
    for k in picks:
        row0 = int(chunks.first_rows[k])
        lo, hi = max(row0, start), min(row0 + layout.chunk_rows, stop)
        target = out[(lo - start) * layout.row_bytes : (hi - start) * layout.row_bytes]
        key = (*layout.source, int(chunks.offsets[k]))
        _decode_chunk(stored[k], layout, target, lo - row0, key)


PARALLEL_CHUNK_MIN_BYTES = 1 << 18
"""Chunks of at least this many bytes (decompressed) are shared among the threads."""

MAX_GAP = 1 << 20
"""Chunks closer than this in the file are read with one ``pread`` (the bytes between are
read and dropped); farther apart, they are read separately."""


class _Stored:
    """The stored bytes of the chunks of a read: runs of chunks close together in the file
    read into one buffer each."""

    def __init__(self, slabs: list[npt.NDArray[np.uint8]], run: npt.NDArray[np.int64],
                 offsets: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64]) -> None:  # fmt: skip
        self.slabs = slabs
        """The buffers (kept alive as long as the addresses are used)."""
        self.run, self.offsets, self.sizes = run, offsets, sizes
        """Per chunk: its buffer, where it starts in it, its size."""

    @property
    def addresses(self) -> npt.NDArray[np.int64]:
        """Where each chunk starts in memory."""
        bases = np.array([slab.ctypes.data for slab in self.slabs], dtype=np.int64)
        return bases[self.run] + self.offsets

    @property
    def views(self) -> list[memoryview]:
        """Each chunk's bytes."""
        slabs = [memoryview(slab.data) for slab in self.slabs]
        spans = zip(self.run.tolist(), self.offsets.tolist(), self.sizes.tolist(), strict=True)
        return [slabs[r][offset : offset + size] for r, offset, size in spans]


def _read_stored(ds: h5py.Dataset, handle: int, chunks: _Chunks) -> _Stored:
    """The stored bytes of each of `chunks` (from the file descriptor `handle`): runs of
    nearby chunks read with one ``pread`` each (a column's chunks usually follow one another
    in the file)."""
    ends = chunks.offsets + chunks.sizes
    gaps = chunks.offsets[1:] - ends[:-1]
    if not len(gaps) or (gaps.min() >= 0 and gaps.max() <= MAX_GAP):  # in order, close: one run
        base = int(chunks.offsets[0])
        slab = _read_span(ds, handle, base, int(ends[-1]))
        return _Stored([slab], np.zeros(len(ends), np.int64), chunks.offsets - base, chunks.sizes)
    order = np.argsort(chunks.offsets, kind="stable")
    starts, ends = chunks.offsets[order], (chunks.offsets + chunks.sizes)[order]
    # a new run where the gap from the chunks before is too large
    reach = np.maximum.accumulate(ends)
    breaks = np.flatnonzero(starts[1:] - reach[:-1] > MAX_GAP) + 1
    bounds = np.concatenate(([0], breaks, [len(order)]))
    run = np.empty(len(order), np.int64)
    offsets = np.empty(len(order), np.int64)
    slabs = []
    for r, (lo, hi) in enumerate(itertools.pairwise(bounds.tolist())):
        base = int(starts[lo])
        slabs.append(_read_span(ds, handle, base, int(reach[hi - 1])))
        run[order[lo:hi]] = r
        offsets[order[lo:hi]] = starts[lo:hi] - base
    return _Stored(slabs, run, offsets, chunks.sizes)


def _read_span(ds: h5py.Dataset, handle: int, base: int, end: int) -> npt.NDArray[np.uint8]:
    """Bytes ``base:end`` of the file."""
    size = end - base
    slab = np.empty(size, np.uint8)  # not zeroed, unlike a bytearray
    view, done = memoryview(slab.data), 0
    while done < size:  # pread may return less than asked (and at most ~2 GiB)
        got = os.preadv(handle, [view[done:size]], base + done)
        if got <= 0:
            raise OSError(f"{ds.file.filename}: {ds.name} ends after {done} of {size} bytes")
        done += got
    return slab


@dataclass(frozen=True)
class ChunkedRead:
    """A read the fast path can do: where the chunks are, their stored bytes, and where the
    rows go (:func:`plan_chunked`); :func:`decode_chunked` decodes it."""

    ds: h5py.Dataset
    layout: _Layout
    chunks: _Chunks
    stored: _Stored
    span: tuple[int, int]
    """The rows read (start, stop)."""
    target: npt.NDArray[np.uint8]
    """The bytes of those rows in the caller's array."""
    rows: int
    """The dataset's rows."""

    def target_addresses(self) -> npt.NDArray[np.int64]:
        """Where the rows of each chunk start in memory (for the chunks read whole)."""
        offsets = (self.chunks.first_rows - self.span[0]) * self.layout.row_bytes
        addresses: npt.NDArray[np.int64] = offsets + np.int64(self.target.ctypes.data)
        return addresses

    def damaged(self, error: WrongSizeError) -> FormatError:
        name = self.ds.name
        return FormatError(f"{name} is damaged: {error}", file=self.ds.file.filename, obj=name)


OpenFiles = dict[int, tuple[int, tuple[int, ...]] | None]
"""HDF5 file number → its descriptor and identity if the fast path may read it (or None):
what :func:`plan_chunked` learnt of the files of one read, for its next columns."""


def plan_chunked(
    ds: h5py.Dataset,
    start: int,
    count: int,
    out: npt.NDArray[Any],
    files: OpenFiles | None = None,
) -> ChunkedRead | None:
    """The fast read of rows ``start:start+count`` of `ds` into ``out[:count]``, its chunks
    located and their bytes read, or ``None`` when the fast path does not apply (`files`:
    what earlier calls learnt of the files, while they stay open)."""
    settings = fast_read_settings()
    row_bytes = out.itemsize * math.prod(out.shape[1:])
    if not settings.enabled or count * row_bytes < max(settings.min_bytes, 1):
        return None  # checked first: small reads must not pay for the checks below
    shape = ds.id.shape
    if not shape or start < 0 or start + count > shape[0]:
        return None
    if out.dtype != ds.id.dtype or not out[:count].flags.c_contiguous:
        return None
    file = _readable_file(ds, {} if files is None else files)
    layout = None if file is None else _layout(ds, settings.engine, shape)
    chunks = None if layout is None else _chunks_of(ds, layout, start, start + count)
    if file is None or layout is None or chunks is None:
        return None
    fd, identity = file
    layout = dataclasses.replace(layout, source=identity)
    stored = _read_stored(ds, fd, chunks)
    target = out[:count].reshape(-1).view(np.uint8)
    return ChunkedRead(ds, layout, chunks, stored, (start, start + count), target, shape[0])


def read_chunked(ds: h5py.Dataset, start: int, count: int, out: npt.NDArray[Any]) -> bool:
    """Read rows ``start:start+count`` of `ds` into ``out[:count]`` without HDF5's filter
    pipeline; ``False`` when the fast path does not apply or a chunk does not decompress (the
    caller then asks HDF5, which knows edge chunks stored unfiltered and says what is wrong
    with others). A chunk that decompresses to the wrong size is a :class:`FormatError`
    (HDF5 would return whatever the buffer held)."""
    plan = plan_chunked(ds, start, count, out)
    return plan is not None and decode_chunked(plan)


def decode_chunked(plan: ChunkedRead, picks: Sequence[int] | None = None) -> bool:
    """Decode chunks `picks` (default: all) of a planned read into its target; ``False`` if
    one does not decompress, :class:`FormatError` if one decompresses to the wrong size."""
    layout, chunks = plan.layout, plan.chunks
    picks = range(len(chunks.sizes)) if picks is None else picks
    threads = fast_read_settings().threads or idle_cores()
    if layout.chunk_bytes < PARALLEL_CHUNK_MIN_BYTES:
        threads = 1  # small chunks: the Python around each costs more than threads save
    groups = _split(len(picks), threads)
    pool = _pool(threads)
    stored, span, target = plan.stored.views, plan.span, plan.target
    futures: list[Future[None]] = [
        pool.submit(_decode_span, stored, chunks, [picks[i] for i in group], layout, span, target)
        for group in groups[1:]
    ]
    errors: list[BaseException | None] = []
    try:
        _decode_span(stored, chunks, [picks[i] for i in groups[0]], layout, span, target)
    except Exception as error:
        errors.append(error)
    # every task writes into `target`: all of them end before anything is decided
    errors += [future.exception() for future in futures]
    damaged = next((e for e in errors if isinstance(e, WrongSizeError)), None)
    if damaged is not None:
        raise plan.damaged(damaged)
    return not any(errors)  # a chunk that does not decompress: HDF5 may know it (unfiltered)


def _readable_file(ds: h5py.Dataset, files: OpenFiles) -> tuple[int, tuple[int, ...]] | None:
    """The descriptor and identity of the file of `ds` if the fast path may read from it:
    open read-only (not for SWMR) with the default driver (HDF5's low-level calls: h5py's
    ``file.mode`` and ``file.driver`` cost more than a small read); kept in `files`."""
    number = ds.id.fileno
    if number not in files:
        fid = h5py.h5i.get_file_id(ds.id)
        readable = fid.get_intent() == h5py.h5f.ACC_RDONLY
        if readable and fid.get_access_plist().get_driver() == h5py.h5fd.SEC2:
            fd = int(fid.get_vfd_handle())
            files[number] = (fd, _identity(os.fstat(fd)))
        else:
            files[number] = None
    return files[number]


def _identity(status: os.stat_result) -> tuple[int, ...]:
    """What tells one version of a file from another (``utime`` cannot set the ctime)."""
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_ctime_ns, status.st_size)


def _split(n: int, parts: int) -> list[range]:
    """`n` chunks in at most `parts` runs of consecutive chunks."""
    parts = max(1, min(parts, n))
    bounds = np.linspace(0, n, parts + 1).astype(int)
    return [range(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
