"""Forward-moving slab caches of lower-tier columns, shared by the chunks of ``build_evt``.

The time-coincidence map visits the rows of each channel in increasing order, chunk after
chunk. Reading only the row range of one chunk makes HDF5 decompress the same (large)
storage chunk again for every event chunk that touches it; a :class:`SlabCache` instead reads
whole storage chunks once, keeps the slab while later event chunks fall inside it, and takes
the wanted rows from memory. Only flat 1-d columns and jagged arrays of numbers are cached
(slabs of waveforms could be large); other objects are read per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow import lh5
from tierflow.types import Array, VectorOfVectors

__all__ = ["SlabCache", "read_slice"]

_DEFAULT_CHUNK = 2**16
"""Rows per slab when the storage does not say (contiguous datasets)."""
_MIN_SLAB = 2**15
"""Slabs cover at least this many rows (fewer reads of small storage chunks)."""
_MAX_FLAT_PER_ROW = 64
"""Jagged arrays with more values per row than this are read per request (waveform-like)."""


@dataclass
class _Entry:
    """The slab of one object: rows ``lo:lo + len(obj)`` of an object of `size` rows."""

    path: str
    size: int
    chunk: int
    cacheable: bool
    plain: tuple[h5py.Dataset, bool] | None = None
    """The dataset and whether it holds booleans, when it holds plain numbers or booleans
    (``array<1>{real}``, ``array<1>{bool}``: read without lh5)."""
    jagged: tuple[h5py.Dataset, h5py.Dataset, bool] | None = None
    """Offsets, values and whether they are booleans, for plain jagged arrays."""
    lo: int = 0
    obj: Any = None
    """The slab (an lh5 object with ``take``), or None before the first read."""


@dataclass(frozen=True)
class _Node:
    """An object's HDF5 node and, for a group, its jagged-array datasets (each looked up
    once: HDF5 lookups cost more than reading a small slab)."""

    node: h5py.Dataset | h5py.Group
    offsets: h5py.Dataset | None = None
    flat: h5py.Dataset | None = None

    @classmethod
    def of(cls, node: h5py.Dataset | h5py.Group) -> _Node:
        if isinstance(node, h5py.Dataset):
            return cls(node)
        return cls(node, _child(node, b"cumulative_length"), _child(node, b"flattened_data"))


def _child(group: h5py.Group, name: bytes) -> h5py.Dataset | None:
    """Dataset `name` of `group`, or None (a low-level open: half the cost of ``get``)."""
    try:
        oid = h5py.h5o.open(group.id, name)
    except KeyError:
        return None
    return h5py.Dataset(oid) if isinstance(oid, h5py.h5d.DatasetID) else None


def _storage_chunk(parts: _Node) -> int:
    ds = parts.node if isinstance(parts.node, h5py.Dataset) else parts.offsets
    if ds is not None and ds.chunks:
        return int(ds.chunks[0])
    return _DEFAULT_CHUNK


def _n_rows(parts: _Node, path: str, handle: h5py.File) -> int:
    """Rows of a dataset or jagged array, from its shape (no attribute parsing)."""
    node = parts.node
    if isinstance(node, h5py.Dataset) and len(node.shape) >= 1:
        return int(node.shape[0])
    if parts.offsets is not None and parts.flat is not None:
        return int(parts.offsets.shape[0])
    return int(lh5.n_rows(path, handle))


def _is_cacheable(parts: _Node, size: int) -> bool:
    if isinstance(parts.node, h5py.Dataset):
        return len(parts.node.shape) == 1 and parts.node.dtype.kind in "biuf"
    flat = parts.flat
    if flat is None or parts.offsets is None:
        return False
    small = flat.shape[0] <= _MAX_FLAT_PER_ROW * max(size, 1)
    return len(flat.shape) == 1 and flat.dtype.kind in "biuf" and small


@dataclass
class SlabCache:
    """Row slabs of the objects of one open file, keyed by HDF5 path.

    Example
    -------
    >>> cache = SlabCache(handle)  # doctest: +SKIP
    >>> cache.take("ch1084803/hit/AoE", np.array([3, 5, 9]))  # doctest: +SKIP
    """

    handle: h5py.File
    entries: dict[str, _Entry] = field(default_factory=dict)

    def size(self, path: str) -> int:
        """Rows of the object at `path` (which must exist)."""
        return self._entry(path).size

    def take(self, path: str, rows: npt.NDArray[np.int64]) -> Any:
        """The rows `rows` (in range, increasing over calls for best effect) of `path`, as
        an lh5 object (``Array``, ``VectorOfVectors``, ...)."""
        entry = self._entry(path)
        if len(rows) == 0 or not entry.cacheable:
            return _read_rows(self.handle, path, rows)
        slab = self._slab(entry, rows)
        if type(slab) is Array:  # rows are checked above: skip take's checks
            return Array(slab.nda[rows - entry.lo])
        return slab.take(rows - entry.lo)

    def take_lists(
        self, path: str, rows: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None:
        """The lengths and the concatenated values of rows `rows` of the plain array (lists
        of one) or plain jagged array of numbers at `path`, read like :meth:`take` but
        without making lh5 objects; None for other objects.

        Example
        -------
        >>> lengths, values = cache.take_lists("ch1/hit/energy_in_pe", rows)  # doctest: +SKIP
        """
        entry = self._entry(path)
        if len(rows) == 0 or (entry.plain is None and entry.jagged is None):
            return None
        slab = self._slab(entry, rows)
        local = rows - entry.lo
        if type(slab) is Array:
            return np.ones(len(rows), dtype=np.int64), slab.nda[local]
        return _lists(slab.cumulative_length.nda, slab.flattened_data.nda, local)

    def _slab(self, entry: _Entry, rows: npt.NDArray[np.int64]) -> Any:
        """The slab of `entry` that holds `rows` (read when the current one does not)."""
        lo, hi = int(rows.min()), int(rows.max()) + 1
        if entry.obj is None or lo < entry.lo or hi > entry.lo + len(entry.obj):
            self._fill(entry, lo, hi)
        assert entry.obj is not None
        return entry.obj

    def add(self, path: str, node: h5py.Dataset | h5py.Group | None = None) -> None:
        """Start caching the object at `path` (`node`: the object, if already looked up)."""
        if path in self.entries:
            return
        parts = _Node.of(self.handle[path] if node is None else node)
        size = _n_rows(parts, path, self.handle)
        entry = _Entry(path, size, _storage_chunk(parts), _is_cacheable(parts, size))
        if entry.cacheable:
            _find_plain(entry, parts)
        self.entries[path] = entry

    def _entry(self, path: str) -> _Entry:
        if path not in self.entries:
            self.add(path)
        return self.entries[path]

    def _fill(self, entry: _Entry, lo: int, hi: int) -> None:
        start = (lo // entry.chunk) * entry.chunk
        stop = max(hi, start + max(entry.chunk, _MIN_SLAB))
        stop = min(-(-stop // entry.chunk) * entry.chunk, entry.size)
        entry.obj = None  # free the old slab before reading the next
        entry.lo = start
        if entry.plain is not None:
            values = read_slice(entry.plain[0], start, stop)
            entry.obj = Array(values.astype(np.bool_) if entry.plain[1] else values)
            return
        if entry.jagged is not None:
            entry.obj = _read_jagged(*entry.jagged, start, stop)
            return
        entry.obj = lh5.read(entry.path, self.handle, start_row=start, n_rows=stop - start)


def _find_plain(entry: _Entry, parts: _Node) -> None:
    """Note the datasets of `parts` when they can be read without lh5 (plain numbers)."""
    node = parts.node
    if isinstance(node, h5py.Dataset):
        if node.dtype.kind in "iuf":
            kind = _datatype(node, node.dtype, _PLAIN_FLAT[0])
            if kind in _PLAIN_FLAT:
                entry.plain = (node, kind == _PLAIN_FLAT[1])
        return
    if parts.offsets is None or parts.flat is None:
        return
    if parts.offsets.dtype.kind in "iu" and parts.flat.dtype.kind in "iuf":
        kind = _datatype(node, parts.flat.dtype, _PLAIN_JAGGED[0])
        if kind in _PLAIN_JAGGED:
            entry.jagged = (parts.offsets, parts.flat, kind == _PLAIN_JAGGED[1])


def _datatype(node: h5py.Dataset | h5py.Group, values: np.dtype[Any], wide: str) -> str | None:
    """The lh5 datatype of `node` (a cacheable 1-d array or jagged array of `values`).

    Floating-point values can only be `wide` (``array<1>{real}`` or its jagged form), and
    their attribute, which costs more to read than a small slab, is not read; integers may
    be booleans."""
    if values.kind == "f":
        return wide
    return _text(node.attrs.get("datatype"))


_PLAIN_FLAT = ("array<1>{real}", "array<1>{bool}")
_PLAIN_JAGGED = ("array<1>{array<1>{real}}", "array<1>{array<1>{bool}}")


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def read_slice(ds: h5py.Dataset, start: int, stop: int) -> npt.NDArray[Any]:
    """Rows ``start:stop`` of a 1-d dataset (lh5's fastest path: chunks decompressed in
    threads)."""
    return lh5.read_rows(ds, start, stop)


def _read_jagged(
    offsets_ds: h5py.Dataset, values_ds: h5py.Dataset, is_bool: bool, start: int, stop: int
) -> VectorOfVectors:
    """Rows ``start:stop`` (at least one) of a jagged array, offsets from 0."""
    first = max(start - 1, 0)
    ends = read_slice(offsets_ds, first, stop).astype(np.int64, copy=False)
    base = int(ends[0]) if start > 0 else 0
    ends = ends[start - first :] - base
    values = read_slice(values_ds, base, base + int(ends[-1]))
    if is_bool:
        values = values.astype(np.bool_)
    return VectorOfVectors(flattened_data=Array(values), cumulative_length=Array(ends))


def _lists(
    ends: npt.NDArray[Any], flat: npt.NDArray[Any], rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Lengths and concatenated values of lists `rows` of a jagged array (`ends`, `flat`)."""
    stops = ends[rows].astype(np.int64, copy=False)
    starts = np.where(rows > 0, ends[np.maximum(rows - 1, 0)], 0).astype(np.int64, copy=False)
    counts = stops - starts
    if len(rows) == int(rows[-1]) - int(rows[0]) + 1 and bool(np.all(np.diff(rows) == 1)):
        return counts, flat[int(starts[0]) : int(stops[-1])]  # consecutive rows: one slice
    total = int(counts.sum())
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return counts, flat[shift + np.arange(total, dtype=np.int64)]


def _read_rows(handle: h5py.File, path: str, rows: npt.NDArray[np.int64]) -> Any:
    if len(rows) == 0:
        return lh5.read(path, handle, start_row=0, n_rows=0)
    lo, hi = int(rows.min()), int(rows.max()) + 1
    obj = lh5.read(path, handle, start_row=lo, n_rows=hi - lo)
    contiguous = hi - lo == len(rows) and not np.any(np.diff(rows) != 1)
    return obj if contiguous else obj.take(rows - lo)
