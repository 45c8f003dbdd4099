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
from functools import lru_cache
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError
from tierflow.lh5._chunks import FAST_KINDS, FILTER_DEFLATE, FILTER_SHUFFLE, FILTER_ZSTD, _pool
from tierflow.lh5._settings import fast_read_settings
from tierflow.registry import Registry

__all__ = ["INFLATE_ENGINES", "inflate_engine", "read_chunked", "unshuffle_into"]

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
    whole = count == elements and len(data) == size * elements
    simd = _simd_unshuffle() if whole and out.flags.c_contiguous else None
    if simd is not None and data.flags.c_contiguous:
        done = simd(size, len(data), data.ctypes.data, out.ctypes.data)
        if done == len(data):
            return
    out.reshape(count, size)[:] = data.reshape(size, elements)[:, :count].T


@lru_cache(maxsize=1)
def _simd_unshuffle() -> Any:
    """``blosc2_unshuffle(typesize, nbytes, src, dest)`` from hdf5plugin's Blosc2 plugin (found
    without importing hdf5plugin), checked on a sample; ``None`` when it is not usable."""
    import ctypes
    import glob

    spec = importlib.util.find_spec("hdf5plugin")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(next(iter(spec.submodule_search_locations)), "plugins")
    try:
        library = ctypes.CDLL(sorted(glob.glob(os.path.join(folder, "*h5blosc2*")))[0])
        function = library.blosc2_unshuffle
    except (IndexError, OSError, AttributeError):
        return None
    function.restype = ctypes.c_int32
    function.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p]
    sample = np.arange(24, dtype=np.uint8)  # 8 elements of 3 bytes, shuffled
    result = np.zeros(24, np.uint8)
    function(3, 24, sample.ctypes.data, result.ctypes.data)
    return function if np.array_equal(result, sample.reshape(3, 8).T.reshape(-1)) else None


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
    source: tuple[int, ...] = ()
    """The file's identity (device, inode, modification time, size)."""

    @property
    def chunk_bytes(self) -> int:
        return self.chunk_rows * self.row_bytes


def _zstd_decompress(data: memoryview, size: int) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)


def _decompressor(code: int, inflate: Inflate) -> Inflate | None:
    if code == FILTER_DEFLATE:
        return inflate
    if code == FILTER_ZSTD and importlib.util.find_spec("zstandard") is not None:
        return _zstd_decompress
    return None


def _layout(ds: h5py.Dataset, inflate: Inflate) -> _Layout | None:
    """The chunk layout of `ds` if the fast path can read it."""
    if ds.chunks is None or ds.ndim == 0 or tuple(ds.chunks[1:]) != tuple(ds.shape[1:]):
        return None
    if ds.dtype.kind not in FAST_KINDS or ds.dtype.fields is not None:
        return None
    plist = ds.id.get_create_plist()
    codes = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    shuffle = ds.dtype.itemsize if codes[:1] == [FILTER_SHUFFLE] else 0
    decompress = _decompressor(codes[-1], inflate) if len(codes) == 1 + bool(shuffle) else None
    if decompress is None:
        return None
    row_bytes = int(np.prod(ds.shape[1:], dtype=np.int64)) * ds.dtype.itemsize
    return _Layout(int(ds.chunks[0]), row_bytes, shuffle, decompress)


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


_partial = _PartialChunks(32 << 20)


def _decode_whole(stored: memoryview, layout: _Layout, out: npt.NDArray[np.uint8]) -> None:
    """Decompress and un-shuffle one chunk into `out` (its full size in bytes)."""
    data = np.frombuffer(layout.inflate(stored, layout.chunk_bytes), np.uint8)
    if len(data) != layout.chunk_bytes:
        raise OSError(f"a chunk inflated to {len(data)} bytes, not {layout.chunk_bytes}")
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
    slab: memoryview,
    base: int,
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
        where = int(chunks.offsets[k]) - base
        stored = slab[where : where + int(chunks.sizes[k])]
        target = out[(lo - start) * layout.row_bytes : (hi - start) * layout.row_bytes]
        _decode_chunk(stored, layout, target, lo - row0, (*layout.source, where + base))


def _read_slab(ds: h5py.Dataset, chunks: _Chunks) -> tuple[memoryview, int]:
    """The stored bytes of `chunks` and the file offset they start at: one read of the span
    they cover (chunks of a column are usually written one after the other)."""
    base = int(chunks.offsets.min())
    end = int((chunks.offsets + chunks.sizes).max())
    handle = ds.file.id.get_vfd_handle()
    slab = os.pread(handle, end - base, base)
    if len(slab) != end - base:
        raise OSError(f"{ds.file.filename}: read {len(slab)} of {end - base} bytes of {ds.name}")
    return memoryview(slab), base


def read_chunked(ds: h5py.Dataset, start: int, count: int, out: npt.NDArray[Any]) -> bool:
    """Read rows ``start:start+count`` of `ds` into ``out[:count]`` without HDF5's filter
    pipeline; ``False`` (nothing read) when the fast path does not apply."""
    settings = fast_read_settings()
    row_bytes = out.itemsize * math.prod(out.shape[1:])
    if not settings.enabled or count * row_bytes < max(settings.min_bytes, 1):
        return False  # checked first: small reads must not pay for the checks below
    if out.dtype != ds.dtype or not out[:count].flags.c_contiguous:
        return False
    file = ds.file
    if file.mode != "r" or file.driver != "sec2":
        return False
    layout = _layout(ds, inflate_engine(settings.engine))
    if layout is None:
        return False
    status = os.fstat(file.id.get_vfd_handle())
    source = (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)
    layout = dataclasses.replace(layout, source=source)
    chunks = _chunks_of(ds, layout, start, start + count)
    if chunks is None:
        return False
    slab, base = _read_slab(ds, chunks)
    target = out[:count].reshape(-1).view(np.uint8)
    span = (start, start + count)
    groups = _split(len(chunks.sizes), settings.threads or os.cpu_count() or 1)
    pool = _pool(len(groups))
    futures: list[Future[None]] = [
        pool.submit(_decode_span, slab, base, chunks, group, layout, span, target)
        for group in groups[1:]
    ]
    try:
        _decode_span(slab, base, chunks, groups[0], layout, span, target)
    except Exception as error:
        for future in futures:  # they write into `target`: let them finish first
            future.exception()
        raise _corrupt(ds, layout, error) from error
    for future in futures:
        failure = future.exception()
        if failure is not None:
            raise _corrupt(ds, layout, failure) from failure
    return True


def _corrupt(ds: h5py.Dataset, layout: _Layout, error: BaseException) -> FormatError:
    return FormatError(
        f"a chunk of {ds.name} does not decompress to the {layout.chunk_bytes} bytes of "
        f"{layout.chunk_rows} rows ({error})",
        file=ds.file.filename,
        obj=ds.name,
    )


def _split(n: int, parts: int) -> list[range]:
    """`n` chunks in at most `parts` runs of consecutive chunks."""
    parts = max(1, min(parts, n))
    bounds = np.linspace(0, n, parts + 1).astype(int)
    return [range(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
