"""Fast writes of shuffle+deflate and shuffle+Zstd datasets: whole chunks compressed in
threads, written raw.

HDF5 runs its filters one chunk at a time on the calling thread, so compression is the
bottleneck of every write. For a chunked dataset whose filter pipeline is exactly deflate or
Zstd (hdf5plugin's filter 32015), optionally preceded by shuffle (the LEGEND layouts), the
rows are cut into whole chunks here; each chunk is shuffled (byte transposition, as HDF5's
filter does) and compressed at the dataset's level in a thread pool (zlib and zstandard
release the GIL), and the main thread writes the results with ``write_direct_chunk``. A
chunk goes to the pool as soon as it is cut, so it is compressed while the write makes its
other datasets; the main thread compresses the chunks no pool thread has started when it
writes them.
The stored bytes are those HDF5 itself would have written (Zstd: when the ``zstandard``
package is installed, with the zstd library version of hdf5plugin's).

Anything else goes through the normal path: other filters, chunks that do not span whole
rows, non-numeric types, and the rows of an append that fill up a partial chunk. Small
writes take this path too: through HDF5's filter pipeline each cost ~35 µs more (a table of
32 columns of 246 rows: 9.4 → 8.3 ms); their chunks are compressed by the writing thread,
not the pool.
Edge chunks are written full-size, padded with zeros (the default fill value), as HDF5
writes them.

Example
-------
>>> with h5py.File("f.h5", "w") as f:  # doctest: +SKIP
...     ds = f.create_dataset("x", (10**6,), "f8", chunks=(2**17,), compression="gzip",
...                           shuffle=True, maxshape=(None,))
...     with DirectChunkWriter() as chunks:  # the chunks are written when the block ends
...         chunks.write(ds, np.random.rand(10**6), start=0)
True
"""

from __future__ import annotations

import importlib.util
import os
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any, NamedTuple

import h5py
import numpy as np

from tierflow.cores import idle_cores
from tierflow.errors import OptionalDependencyError
from tierflow.lh5._native import SMALL_FRAME_BYTES, simd_shuffle, zstd_compressor
from tierflow.lh5._settings import fast_write_settings
from tierflow.registry import Registry

__all__ = [
    "DEFLATE_ENGINES",
    "POOL_MIN_BYTES",
    "DeflatePipeline",
    "DirectChunkWriter",
    "StoredLayout",
    "chunk_pipeline",
    "deflate_pipeline",
    "plain_type",
    "shuffle_bytes",
    "stored_layout",
    "zstd_pipeline",
]

FILTER_DEFLATE = 1
FILTER_SHUFFLE = 2
FILTER_ZSTD = 32015
ZSTD_DEFAULT_LEVEL = 3
"""hdf5plugin's Zstd level when the dataset names none."""
POOL_MIN_BYTES = 1 << 16
"""Smaller chunks are compressed by the thread that writes them: handing one to the pool
costs more (the pool thread then waits for the GIL the writing thread holds in HDF5)."""
SMALL_CHUNK_BYTES = SMALL_FRAME_BYTES
"""Chunks up to this size (padded) are compressed by :func:`_compress_small`."""
FAST_KINDS = frozenset("biufc")
"""Fixed-size numeric types: their chunks are plain bytes in the file's byte order."""

Compressed = bytes | np.ndarray[Any, Any]
"""A compressed chunk: bytes, or an array of them (what the C codecs return)."""
Compress = Callable[[memoryview | bytes, int], Compressed]
"""A deflate implementation: (bytes, level) → a zlib stream (bytes or an array of them)."""

DEFLATE_ENGINES: Registry[Callable[[], Compress]] = Registry(
    "deflate engine", entry_point_group="tierflow.deflate_engines"
)
"""Name → a function returning the compressor (it imports its package on demand)."""
DEFLATE_ENGINES.add("zlib", lambda: zlib.compress)


def _optional(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise OptionalDependencyError(
            f"the {package!r} deflate engine needs the package {package!r}: pip install {package}"
        ) from error


def _libdeflate() -> Compress:
    compress: Compress = _optional("deflate", "deflate").zlib_compress
    return compress


def _isal() -> Compress:
    module = _optional("isal.isal_zlib", "isal")
    return lambda data, level: bytes(module.compress(data, min(level, 3)))


DEFLATE_ENGINES.add("libdeflate", _libdeflate)
DEFLATE_ENGINES.add("isal", _isal)

_pool_lock = threading.Lock()
_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}


def _forget_pools_after_fork() -> None:
    """A forked child has none of its parent's threads: its pools are made anew on use."""
    global _pool_lock
    _pool_lock = threading.Lock()
    _pools.clear()


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def _pool(threads: int, purpose: str = "codec") -> ThreadPoolExecutor:
    """One shared pool per purpose and thread count, made on first use (importing makes no
    threads). Tasks of one purpose may wait for those of another, never the other way."""
    key = (purpose, threads)
    with _pool_lock:
        if key not in _pools:
            _pools[key] = ThreadPoolExecutor(threads, thread_name_prefix=f"tierflow-{purpose}")
        return _pools[key]


@dataclass(frozen=True)
class DeflatePipeline:
    """The filters of a dataset the fast path can reproduce (deflate or Zstd)."""

    level: int
    """Compression level."""
    compress: Compress
    """The codec's implementation."""
    shuffle_size: int
    """Element size of the shuffle filter (0: no shuffle)."""
    chunk_rows: int
    """Rows per chunk (a chunk spans whole rows)."""


def plain_type(ds: h5py.Dataset) -> bool:
    """Whether `ds` stores a fixed-size numeric type exactly as numpy lays it out (no reduced
    precision, offset or padding, which ``ds.dtype`` does not show)."""
    dtype = ds.id.dtype
    if dtype.kind not in FAST_KINDS or dtype.fields is not None or dtype.metadata:
        return False
    return bool(ds.id.get_type() == _hdf5_type(dtype))


@lru_cache(maxsize=256)
def _hdf5_type(dtype: np.dtype[Any]) -> h5py.h5t.TypeID:
    """The HDF5 type h5py stores `dtype` as (made once per dtype)."""
    return h5py.h5t.py_create(dtype, logical=True)


@dataclass(frozen=True)
class StoredLayout:
    """What the fast path needs to know of a dataset's storage."""

    filters: tuple[tuple[int, tuple[int, ...]], ...]
    """(filter id, options) of each filter, in order."""
    itemsize: int
    chunk_rows: int


def stored_layout(ds: h5py.Dataset) -> StoredLayout | None:
    """The storage of `ds` if its chunks span whole rows of a plain numeric type (asked of
    its creation property list once: every append asks)."""
    plist = ds.id.get_create_plist()
    if plist.get_layout() != h5py.h5d.CHUNKED:
        return None
    chunks, shape = plist.get_chunk(), ds.id.shape
    if not shape or tuple(chunks[1:]) != tuple(shape[1:]) or not plain_type(ds):
        return None
    return StoredLayout(dcpl_filters(plist), ds.id.dtype.itemsize, int(chunks[0]))


def dcpl_filters(plist: h5py.h5p.PropDCID) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(filter id, options) of the filters of a dataset creation property list."""
    return tuple(
        (int(code), tuple(options))
        for code, _, options, _ in (plist.get_filter(i) for i in range(plist.get_nfilters()))
    )


def _shuffle_then(
    filters: tuple[tuple[int, tuple[int, ...]], ...], codec: int, itemsize: int
) -> tuple[int, tuple[int, ...]] | None:
    """(shuffle element size or 0, codec options) if `filters` is ``[shuffle,] codec``."""
    if [f[0] for f in filters] == [codec]:
        return 0, filters[0][1]
    if [f[0] for f in filters] == [FILTER_SHUFFLE, codec] and filters[0][1] == (itemsize,):
        return itemsize, filters[1][1]
    return None


def deflate_pipeline(
    ds: h5py.Dataset, compress: Compress = zlib.compress, level: int | None = None
) -> DeflatePipeline | None:
    """The deflate settings of `ds` if its pipeline is ``[shuffle,] deflate`` on whole-row
    chunks of a fixed-size numeric type; ``None`` otherwise. `compress` and `level` (default:
    the dataset's) are the implementation and level to write with."""
    layout = stored_layout(ds)
    return None if layout is None else _deflate(layout, compress, level)


def zstd_pipeline(ds: h5py.Dataset) -> DeflatePipeline | None:
    """The Zstd settings of `ds` if its pipeline is ``[shuffle,] zstd`` (hdf5plugin's filter)
    on whole-row chunks of a fixed-size numeric type and a Zstd library is there."""
    layout = stored_layout(ds)
    return None if layout is None else _zstd(layout)


def chunk_pipeline(
    ds: h5py.Dataset,
    compress: Compress = zlib.compress,
    level: int | None = None,
    layout: StoredLayout | None = None,
) -> DeflatePipeline | None:
    """:func:`deflate_pipeline` or :func:`zstd_pipeline`, whichever applies (`layout`: the
    dataset's storage when the caller knows it, else it is asked of HDF5)."""
    layout = layout or stored_layout(ds)
    if layout is None:
        return None
    return _deflate(layout, compress, level) or _zstd(layout)


def _deflate(layout: StoredLayout, compress: Compress, level: int | None) -> DeflatePipeline | None:
    found = _shuffle_then(layout.filters, FILTER_DEFLATE, layout.itemsize)
    if found is None:
        return None
    shuffle, options = found
    if level is None:
        level = options[0] if options else 6
    if not level:  # stored blocks: Python's zlib splits a chunk over 64 kB unlike HDF5's
        return None
    return DeflatePipeline(int(level), compress, shuffle, layout.chunk_rows)


_zstd_local = threading.local()


def _zstd_compress(data: memoryview | bytes, level: int) -> Compressed:
    """Zstd through hdf5plugin's own library when it is found (no GIL held), else one
    ``zstandard`` compressor per thread and level (threads may not share one; making one per
    chunk costs more than compressing a small chunk)."""
    native = zstd_compressor()
    if native is not None:
        if isinstance(data, bytes) and len(data) <= SMALL_FRAME_BYTES:
            return native(data, level)
        return native(np.frombuffer(data, np.uint8), level)
    compressors = _zstd_local.__dict__.setdefault("compressors", {})
    if level not in compressors:
        import zstandard

        compressors[level] = zstandard.ZstdCompressor(level=level)
    compressed: bytes = compressors[level].compress(data)
    return compressed


@lru_cache(maxsize=1)
def _zstd_available() -> bool:
    return zstd_compressor() is not None or importlib.util.find_spec("zstandard") is not None


def _zstd(layout: StoredLayout) -> DeflatePipeline | None:
    found = _shuffle_then(layout.filters, FILTER_ZSTD, layout.itemsize)
    if found is None or not _zstd_available():
        return None
    shuffle, options = found
    level = options[0] if options else ZSTD_DEFAULT_LEVEL
    return DeflatePipeline(int(level), _zstd_compress, shuffle, layout.chunk_rows)


def shuffle_bytes(
    chunk: np.ndarray[Any, Any], size: int, out: np.ndarray[Any, Any] | None = None
) -> np.ndarray[Any, Any]:
    """HDF5's shuffle filter: byte ``k`` of every element first, for ``k = 0 .. size-1``
    (into `out`, bytes of the chunk's size, when given and the SIMD shuffle is used).

    Example
    -------
    >>> shuffle_bytes(np.array([1, 2], "<u2"), 2)
    array([1, 2, 0, 0], dtype=uint8)
    """
    flat = np.ascontiguousarray(chunk).reshape(-1).view(np.uint8)
    if size <= 1:
        return flat
    simd = simd_shuffle()
    if simd is not None and len(flat) % size == 0 and len(flat) < 2**31:  # SIMD, no GIL held
        out = np.empty_like(flat) if out is None else out
        if simd(size, len(flat), flat.ctypes.data, out.ctypes.data) == len(flat):
            return out
    return np.ascontiguousarray(flat.reshape(-1, size).T).reshape(-1)


_scratch = threading.local()


def _scratch_bytes(use: str, size: int) -> np.ndarray[Any, Any]:
    """This thread's buffer for `use` (a chunk's shuffled bytes, a padded edge chunk, a
    chunk decompressed before it is un-shuffled), kept from chunk to chunk: a new buffer of a
    few 100 kB per chunk costs the kernel a page fault per 4 kB."""
    buffer: np.ndarray[Any, Any] | None = getattr(_scratch, use, None)
    if buffer is None or len(buffer) < size:
        buffer = np.empty(size, np.uint8)
        setattr(_scratch, use, buffer)
    return buffer[:size]


def _padded(chunk: np.ndarray[Any, Any], rows: int) -> np.ndarray[Any, Any]:
    """An edge chunk full-size, padded with the fill value (0), in this thread's buffer."""
    shape = (rows, *chunk.shape[1:])
    size = int(np.prod(shape, dtype=np.int64)) * chunk.dtype.itemsize
    buffer = _scratch_bytes("padded", size)
    padded: np.ndarray[Any, Any] = buffer.view(chunk.dtype).reshape(shape)
    padded[: len(chunk)] = chunk
    buffer[chunk.nbytes :] = 0  # zero bytes (a 0 assigned to a bytes array would be b"0")
    return padded


def _compress_small(chunk: np.ndarray[Any, Any], rows: int, pipe: DeflatePipeline) -> Compressed:
    """A small chunk padded and shuffled in new arrays: for a few kB, the scratch buffers'
    and the SIMD shuffle's per-call costs are most of the work."""
    padded = np.zeros(chunk.nbytes // len(chunk) * rows, np.uint8)
    padded[: chunk.nbytes] = chunk.reshape(-1).view(np.uint8)
    if pipe.shuffle_size > 1:
        return pipe.compress(padded.reshape(-1, pipe.shuffle_size).T.tobytes(), pipe.level)
    return pipe.compress(padded.tobytes(), pipe.level)


def _compress_chunk(chunk: np.ndarray[Any, Any], rows: int, pipe: DeflatePipeline) -> Compressed:
    small = chunk.nbytes * rows <= SMALL_CHUNK_BYTES * len(chunk)
    if small and chunk.nbytes and chunk.flags.c_contiguous:
        return _compress_small(chunk, rows, pipe)
    if len(chunk) < rows:
        chunk = _padded(chunk, rows)
    if not pipe.shuffle_size:
        return pipe.compress(np.ascontiguousarray(chunk).data, pipe.level)
    data = shuffle_bytes(chunk, pipe.shuffle_size, _scratch_bytes("shuffled", chunk.nbytes))
    return pipe.compress(np.ascontiguousarray(data).data, pipe.level)


class _Job:
    """One chunk to compress: queued in the pool, or done by whoever gets to it first."""

    def __init__(self, chunk: np.ndarray[Any, Any], rows: int, pipe: DeflatePipeline) -> None:
        self.args = (chunk, rows, pipe)
        self.future: Future[Compressed] | None = None
        """Its task in the pool, once :meth:`start` gave it one."""
        self.done: Compressed | None = None
        """The compressed chunk, when this thread made it."""

    def start(self, pool: ThreadPoolExecutor) -> None:
        """Queue it in `pool` (once)."""
        if self.future is None and self.done is None:
            self.future = pool.submit(_compress_chunk, *self.args)

    def help(self) -> None:
        """Compress it on this thread if no thread has started it."""
        if self.done is None and (self.future is None or self.future.cancel()):
            self.done = _compress_chunk(*self.args)

    def result(self) -> Compressed:
        self.help()  # not started: compress on this thread
        if self.done is not None:
            return self.done
        assert self.future is not None, "a job not done here was started in the pool"
        return self.future.result()

    def cancel(self) -> None:
        if self.future is not None:
            self.future.cancel()


class _Pending(NamedTuple):
    """A chunk to write: where, its compression, and the number of the write that gave it."""

    ds: h5py.Dataset
    offset: tuple[int, ...]
    job: _Job
    number: int
    key: int
    """``hash(ds.id)``: the same for every handle of the dataset, cheaper to compare."""
    edge: bool
    """A dataset's last chunk, not full: held back (not compressed) for the next rows."""

    def of(self, ds: h5py.Dataset, key: int) -> bool:
        """Whether this chunk is of `ds` (whose ``hash(ds.id)`` is `key`)."""
        return self.key == key and self.ds.id == ds.id


class _ChunkQueue:
    """The chunks given and not written yet, in order."""

    def __init__(self) -> None:
        self.chunks: list[_Pending] = []

    def add(self, chunk: _Pending) -> None:
        self.chunks.append(chunk)

    def take(self, which: Callable[[_Pending], bool]) -> list[_Pending]:
        """Remove and return the chunks `which` chooses, in order."""
        chosen = [chunk for chunk in self.chunks if which(chunk)]
        self.chunks = [chunk for chunk in self.chunks if not which(chunk)]
        return chosen

    def has(self, ds: h5py.Dataset, key: int) -> bool:
        return any(chunk.of(ds, key) for chunk in self.chunks)

    def take_edge(self, ds: h5py.Dataset, key: int, end: int) -> _Pending | None:
        """The held-back last chunk of `ds` whose rows end at row `end`, removed; or None."""
        for i, chunk in enumerate(self.chunks):
            if chunk.edge and chunk.of(ds, key):
                if chunk.offset[0] + len(chunk.job.args[0]) != end:
                    return None
                return self.chunks.pop(i)
        return None


class DirectChunkWriter:
    """Collects chunk writes of :func:`~tierflow.lh5.write` calls: each chunk is compressed
    in the pool from when it is given (small ones by the thread that writes them), the
    chunks are written in order by :meth:`flush` (on the main thread, as HDF5 needs). A
    writer shared by several calls (see ``deferred_chunk_writes``) numbers them
    (:meth:`begin_write`): each call writes the chunks of the calls before it, compressed
    while it made its own datasets."""

    def __init__(self, *, copy: bool = False) -> None:
        self.copy = copy
        """Compress copies: the caller may change its arrays before the chunks are written."""
        settings = fast_write_settings()
        self.enabled = settings.enabled
        self.threads = settings.threads
        """Compression threads (None: decided at the first write, see :meth:`write`)."""
        self.min_bytes = settings.min_bytes
        self.level = settings.level
        self.compress = DEFLATE_ENGINES[settings.engine]() if self.enabled else zlib.compress
        self._queue = _ChunkQueue()
        self._writes = 0

    def begin_write(self) -> int:
        """Number the chunks given from here on as one more write's; returns its number."""
        self._writes += 1
        return self._writes

    def write(
        self,
        ds: h5py.Dataset,
        data: np.ndarray[Any, Any],
        start: int,
        layout: StoredLayout | None = None,
    ) -> bool:
        """Write `data` as rows ``start ..`` of `ds` (already resized; `layout`: its storage,
        if known); ``False`` when the fast path does not apply and nothing was written."""
        if not self.enabled or data.nbytes < self.min_bytes:
            return False
        if layout is None and data.dtype != ds.dtype:  # a known layout is of data's type
            return False
        pipe = chunk_pipeline(ds, self.compress, self.level, layout)
        if pipe is None:
            return False
        key, rows = hash(ds.id), pipe.chunk_rows
        head = min((-start) % rows, len(data))  # rows that go into a chunk begun before
        edge = self._queue.take_edge(ds, key, start) if head else None
        if edge is not None:  # that chunk is still here: its rows and these make it up
            joined = np.concatenate([edge.job.args[0], data[:head]])
            self._add(ds, key, edge.offset[0], joined, pipe)
        elif head:  # it is on disk (or is written first): HDF5 fills it up
            self.settle(ds)
            ds[start : start + head] = data[:head]
        rest = np.array(data[head:], order="C", copy=self.copy or None)
        for first in range(0, len(rest), rows):
            self._add(ds, key, start + head + first, rest[first : first + rows], pipe)
        return True

    def _add(
        self,
        ds: h5py.Dataset,
        key: int,
        row: int,
        chunk: np.ndarray[Any, Any],
        pipe: DeflatePipeline,
    ) -> None:
        edge = len(chunk) < pipe.chunk_rows
        if edge:  # held past the caller's next write: a copy of its own
            chunk = np.array(chunk, order="C")
        offset = (row,) + (0,) * (chunk.ndim - 1)
        job = _Job(chunk, pipe.chunk_rows, pipe)
        self._queue.add(_Pending(ds, offset, job, self._writes, key, edge))
        if not edge and chunk.nbytes >= POOL_MIN_BYTES:
            if self.threads is None:
                self.threads = max(1, idle_cores() - 1)  # this thread compresses too: flush
            job.start(_pool(self.threads))

    def flush(self, before: int | None = None) -> None:
        """Write the compressed chunks, in the order they were given: all when `before` is
        None, else those of the writes numbered below `before` but a dataset's last chunk
        when it is not full (the next write to the dataset may fill it up). First the chunks
        no thread has started are compressed here, each one the pool has not taken yet (the
        calling thread helps rather than waits for one chunk while others wait)."""
        if before is None:
            self._write_out(self._queue.take(lambda chunk: True))
        else:
            self._write_out(self._queue.take(lambda c: c.number < before and not c.edge))

    def settle(self, ds: h5py.Dataset) -> None:
        """Write the pending chunks of `ds`: before its data is read or written otherwise."""
        key = hash(ds.id)
        if self._queue.has(ds, key):
            self._write_out(self._queue.take(lambda chunk: chunk.of(ds, key)))

    def cancel(self, since: int = 0) -> None:
        """Drop what is pending (of the writes numbered `since` and later), after an error.
        A chunk the failed write shared with an earlier one is dropped with it."""
        for chunk in self._queue.take(lambda chunk: chunk.number >= since):
            chunk.job.cancel()

    def _write_out(self, chosen: list[_Pending]) -> None:
        for chunk in chosen:
            chunk.job.help()
        for chunk in chosen:
            chunk.ds.id.write_direct_chunk(chunk.offset, chunk.job.result(), 0)

    def __enter__(self) -> DirectChunkWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.flush()
        else:
            self.cancel()
