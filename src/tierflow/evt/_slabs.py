"""Forward-moving slab caches of lower-tier columns, shared by the chunks of ``build_evt``.

The time-coincidence map visits the rows of each channel in increasing order, chunk after
chunk. Reading only the row range of one chunk makes HDF5 decompress the same (large)
storage chunk again for every event chunk that touches it; a :class:`SlabCache` instead reads
whole storage chunks once, keeps the slab while later event chunks fall inside it, and takes
the wanted rows from memory. Only flat 1-d columns and jagged arrays of numbers are cached
(slabs of waveforms could be large); other objects are read per request.

:meth:`SlabCache.prefill` reads one field of many tables at once when each is small (one
slab): the columns of all channels of an operation in one batch of HDF5 calls, kept as
numpy arrays until a request needs an lh5 object.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow import lh5
from tierflow.evt._hdf5 import SmallField, make_calls, read_small_fields
from tierflow.evt._reader_process import MIN_BATCH, open_shared, read_shared, release
from tierflow.types import Array, VectorOfVectors

__all__ = ["SlabCache", "read_slice"]

_DEFAULT_CHUNK = 2**16
"""Rows per slab when the storage does not say (contiguous datasets)."""
_MIN_SLAB = 2**15
"""Slabs cover at least this many rows (fewer reads of small storage chunks)."""
_WHOLE_BYTES = 2**20
"""Whole datasets up to this size are read with one low-level call."""
_SLAB_BYTES = 2**22
"""Slabs of plain 1-d columns cover at least this many bytes when the column is longer: one
read of several storage chunks, decompressed in parallel (lh5's threads), costs less than a
read per storage chunk."""
_SLAB_BUDGET = 2**28
"""Bytes of such slabs for all the columns a cache holds, about: with many columns each
slab is smaller (down to one storage chunk, as for other objects)."""
_MAX_FLAT_PER_ROW = 64
"""Jagged arrays with more values per row than this are read per request (waveform-like)."""


@dataclass(frozen=True)
class _Dataset:
    """An open dataset (an identifier from :mod:`._hdf5`) with its path, shape and dtype,
    each asked of HDF5 once; `plain` when the dtype is a little-endian IEEE float or
    integer that one low-level call reads whole."""

    hid: Any
    path: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    plain: bool


@dataclass
class _Entry:
    """The slab of one object: rows ``lo:lo + len(obj)`` of an object of `size` rows."""

    path: str
    size: int
    chunk: int
    cacheable: bool
    plain: tuple[_Dataset, bool] | None = None
    """The dataset and whether it holds booleans, when it holds plain numbers or booleans
    (``array<1>{real}``, ``array<1>{bool}``: read without lh5)."""
    jagged: tuple[_Dataset, _Dataset, bool] | None = None
    """Offsets, values and whether they are booleans, for plain jagged arrays."""
    lo: int = 0
    obj: Any = None
    """The slab (an lh5 object with ``take``), or None before the first read."""
    whole: tuple[npt.NDArray[np.int64] | None, npt.NDArray[Any]] | None = None
    """The whole object read at once (list ends or None for a flat array, and values),
    before `obj` is made of it (:meth:`SlabCache.prefill`)."""


@dataclass(frozen=True)
class _Node:
    """An object: a dataset, or a group and its jagged-array datasets."""

    path: str
    hid: Any
    data: _Dataset | None = None
    """The dataset, when the object is one."""
    offsets: _Dataset | None = None
    flat: _Dataset | None = None


class _Objects:
    """The HDF5 objects of one open file that a slab cache uses, opened through the
    fastest calls available (:func:`~tierflow.evt._hdf5.make_calls`; h5py's wrappers cost
    more than reading a small column), table groups looked up once, all closed together."""

    def __init__(self, handle: h5py.File) -> None:
        self.handle = handle
        self.calls = make_calls()
        self._root = self.calls.root(handle)
        self._groups: dict[str, Any] = {}
        self._opened: list[Any] = []
        self._shared: bool | None = None
        """Whether the reader process opened the file too (and may share batches); None
        until a batch large enough to share comes (builds with few channels never ask)."""

    def node(self, path: str) -> _Node | None:
        """The object at `path` (from the root), or None."""
        hid = self._open(self._root, path)
        return None if hid is None else self._node(path, hid)

    def field(self, table: str, name: str) -> _Node | None:
        """Field `name` of the table at `table`, or None (either missing)."""
        if table not in self._groups:
            self._groups[table] = self._open(self._root, table)
        group = self._groups[table]
        hid = None if group is None else self._open(group, name)
        return None if hid is None else self._node(f"{table}/{name}", hid)

    def read_small(self, paths: Sequence[str]) -> list[SmallField | None]:
        """The small plain fields at `paths`, read whole in one batch of calls (objects
        closed at once; None where a field needs the slower paths)."""
        encoded = [path.encode() for path in paths]
        if self._shared is None and len(encoded) >= MIN_BATCH:
            self._shared = open_shared(self.handle)
        if self._shared:  # part of the batch may go to the reader process
            return read_shared(self.calls, self.handle, encoded, _WHOLE_BYTES, _MIN_SLAB)
        return read_small_fields(self.calls, self._root, encoded, _WHOLE_BYTES, _MIN_SLAB)

    def string_attributes(self, path: str) -> dict[str, str] | None:
        """The attributes of the object at `path` when all are variable-length strings."""
        hid = self.calls.open(self._root, path.encode())
        if hid is None:
            return None
        try:
            return self.calls.string_attributes(hid)
        finally:
            self.calls.close(hid)

    def datatype(self, node: _Node) -> str | None:
        """The lh5 ``datatype`` attribute of `node`."""
        return self.calls.text_attribute(node.hid, b"datatype")

    def read_whole(self, ds: _Dataset) -> npt.NDArray[Any] | None:
        """All of a plain dataset, or None when HDF5 fails (a filter to load, ...)."""
        out = np.empty(ds.shape, dtype=ds.dtype)
        if out.size and not self.calls.read(ds.hid, out):
            return None
        return out

    def close(self) -> None:
        """Close every object opened here (before the file)."""
        for hid in reversed(self._opened):
            self.calls.close(hid)
        self._opened.clear()
        self._groups.clear()
        if self._shared:
            release()  # the reader process closes its copy of the file too
            self._shared = False

    def _open(self, parent: Any, name: str) -> Any:
        hid = self.calls.open(parent, name.encode())
        if hid is not None:
            self._opened.append(hid)
        return hid

    def _node(self, path: str, hid: Any) -> _Node:
        if self.calls.is_dataset(hid):
            return _Node(path, hid, self._dataset(path, hid))
        offsets = self._child(path, hid, "cumulative_length")
        return _Node(path, hid, None, offsets, self._child(path, hid, "flattened_data"))

    def _child(self, path: str, group: Any, name: str) -> _Dataset | None:
        hid = self._open(group, name)
        if hid is None or not self.calls.is_dataset(hid):
            return None
        return self._dataset(f"{path}/{name}", hid)

    def _dataset(self, path: str, hid: Any) -> _Dataset:
        shape, dtype = self.calls.shape(hid), self.calls.plain_dtype(hid)
        if shape is None or dtype is None:  # other types: as h5py sees them
            ds = self.handle[path]
            return _Dataset(hid, path, tuple(ds.shape), ds.dtype, False)
        return _Dataset(hid, path, shape, dtype, True)


def _storage_chunk(parts: _Node, size: int, handle: h5py.File) -> int:
    """Rows per storage chunk; a small object counts as one chunk (read whole)."""
    if size <= _MIN_SLAB:
        return max(size, 1)
    ds = parts.data or parts.offsets
    chunks = None if ds is None else handle[ds.path].chunks
    return int(chunks[0]) if chunks else _DEFAULT_CHUNK


def _n_rows(parts: _Node, handle: h5py.File) -> int:
    """Rows of a dataset or jagged array, from its shape (no attribute parsing)."""
    if parts.data is not None:
        if len(parts.data.shape) >= 1:
            return int(parts.data.shape[0])
    elif parts.offsets is not None and parts.flat is not None:
        return int(parts.offsets.shape[0])
    return int(lh5.n_rows(parts.path, handle))


def _is_cacheable(parts: _Node, size: int) -> bool:
    if parts.data is not None:
        return len(parts.data.shape) == 1 and parts.data.dtype.kind in "biuf"
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
    objects: _Objects = field(init=False, repr=False)
    """The HDF5 objects opened for the entries."""
    _attrs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.objects = _Objects(self.handle)
        weakref.finalize(self, self.objects.close)  # if not closed explicitly

    def size(self, path: str) -> int:
        """Rows of the object at `path` (which must exist)."""
        return self._entry(path).size

    def take(
        self, path: str, rows: npt.NDArray[np.int64], span: tuple[int, int] | None = None
    ) -> Any:
        """The rows `rows` (in range, increasing over calls for best effect) of `path`, as
        an lh5 object (``Array``, ``VectorOfVectors``, ...); `span`: the smallest row and
        one past the largest, if known."""
        entry = self._entry(path)
        if len(rows) == 0 or not entry.cacheable:
            return _read_rows(self.handle, path, rows)
        slab = self._slab(entry, rows, span)
        if type(slab) is Array:  # rows are checked above: skip take's checks
            return Array(slab.nda[rows - entry.lo])
        return slab.take(rows - entry.lo)

    def take_read(
        self, path: str, rows: npt.NDArray[np.int64], span: tuple[int, int]
    ) -> npt.NDArray[Any] | None:
        """:meth:`take` as a numpy array, for a plain 1-d column whose slab holding `rows`
        (`span`: the smallest and one past the largest, in range) is already read; None
        otherwise (nothing is read)."""
        entry = self.entries.get(path)
        if entry is None or entry.plain is None:
            return None
        if entry.whole is not None and entry.whole[0] is None:
            if span[0] < 0 or span[1] > entry.size:
                return None
            flat: npt.NDArray[Any] = entry.whole[1][rows]
            return flat
        if type(entry.obj) is not Array:
            return None
        if span[0] < entry.lo or span[1] > entry.lo + len(entry.obj):
            return None
        values: npt.NDArray[Any] = entry.obj.nda[rows - entry.lo]
        return values

    def whole_lists(
        self, path: str, span: tuple[int, int]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any], int] | None:
        """:meth:`slab_lists` of an object already read whole (:meth:`prefill`) whose rows
        hold `span` (the smallest row wanted and one past the largest); None otherwise
        (nothing is read or checked).

        Example
        -------
        >>> ends, values, first = cache.whole_lists("ch1/hit/trigger_pos", (0, 3))  # doctest: +SKIP
        """
        entry = self.entries.get(path)
        if entry is None or entry.whole is None or span[0] < 0 or span[1] > entry.size:
            return None
        ends, values = entry.whole
        if ends is None:
            return np.arange(1, len(values) + 1, dtype=np.int64), values, 0
        return ends, values, 0

    def take_lists(
        self, path: str, rows: npt.NDArray[np.int64], span: tuple[int, int] | None = None
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
        slab = self._slab(entry, rows, span)
        local = rows - entry.lo
        if type(slab) is Array:
            return np.ones(len(rows), dtype=np.int64), slab.nda[local]
        return _lists(slab.cumulative_length.nda, slab.flattened_data.nda, local)

    def slab_lists(
        self, path: str, rows: npt.NDArray[np.int64], span: tuple[int, int] | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any], int] | None:
        """The slab holding rows `rows` of the plain array (lists of one) or plain jagged
        array of numbers at `path`, as its list ends (from 0), its values and its first
        row; None for other objects (the caller takes the rows it wants, e.g. of many
        channels at once).

        Example
        -------
        >>> ends, values, first = cache.slab_lists("ch1/hit/trigger_pos", rows)  # doctest: +SKIP
        """
        entry = self._entry(path)
        if len(rows) == 0 or (entry.plain is None and entry.jagged is None):
            return None
        if span is not None and (read := self.whole_lists(path, span)) is not None:
            return read
        slab = self._slab(entry, rows, span)
        if type(slab) is Array:
            return np.arange(1, len(slab.nda) + 1, dtype=np.int64), slab.nda, entry.lo
        ends = slab.cumulative_length.nda.astype(np.int64, copy=False)
        return ends, slab.flattened_data.nda, entry.lo

    def _slab(
        self, entry: _Entry, rows: npt.NDArray[np.int64], span: tuple[int, int] | None
    ) -> Any:
        """The slab of `entry` that holds `rows` (read when the current one does not)."""
        lo, hi = span if span is not None else (int(rows.min()), int(rows.max()) + 1)
        if entry.whole is not None:
            entry.obj, entry.whole = _whole_object(*entry.whole), None
        if entry.obj is None or lo < entry.lo or hi > entry.lo + len(entry.obj):
            self._fill(entry, lo, hi)
        assert entry.obj is not None
        return entry.obj

    def add(self, path: str) -> None:
        """Start caching the object at `path`."""
        if path in self.entries:
            return
        parts = self.objects.node(path)
        if parts is None:
            raise KeyError(path)
        self._add_parts(parts)

    def _add_parts(self, parts: _Node) -> None:
        size = _n_rows(parts, self.handle)
        chunk = _storage_chunk(parts, size, self.handle)
        entry = _Entry(parts.path, size, chunk, _is_cacheable(parts, size))
        if entry.cacheable:
            _find_plain(entry, parts, self.objects)
        self.entries[parts.path] = entry

    def lookup(self, table: str, name: str) -> str | None:
        """The path of field `name` of the table at `table`, cached (None when either is
        missing); the table's group is opened once for all its fields.

        Example
        -------
        >>> cache.lookup("ch1084803/hit", "AoE")  # doctest: +SKIP
        'ch1084803/hit/AoE'
        """
        path = f"{table}/{name}"
        if path in self.entries:
            return path
        parts = self.objects.field(table, name)
        if parts is None:
            return None
        self._add_parts(parts)
        return path

    def prefill(self, tables: Sequence[str], name: str) -> None:
        """Read field `name` of each table of `tables` whole, in one batch of HDF5 calls,
        where it is small and plain (the same slabs the first request would read, without
        one walk through the objects per table); other fields are left to that request.

        Example
        -------
        >>> cache.prefill(["ch1084803/hit", "ch1084804/hit"], "AoE")  # doctest: +SKIP
        """
        paths = [p for p in dict.fromkeys(f"{t}/{name}" for t in tables) if p not in self.entries]
        if not paths:
            return
        for path, found in zip(paths, self.objects.read_small(paths), strict=True):
            entry = None if found is None else _whole_entry(path, found)
            if entry is not None:
                self.entries[path] = entry

    def attrs(self, path: str) -> Mapping[str, Any]:
        """The attributes of the object at `path` but its ``datatype``, read once (do not
        change them)."""
        if path not in self._attrs:
            attrs = self.objects.string_attributes(path)
            if attrs is None:  # other kinds of attributes: as h5py reads them
                attrs = dict(self.handle[path].attrs)
            self._attrs[path] = {k: v for k, v in attrs.items() if k != "datatype"}
        return self._attrs[path]

    def close(self) -> None:
        """Forget the slabs and close the HDF5 objects (before the file is closed)."""
        self.entries.clear()
        self.objects.close()

    def _entry(self, path: str) -> _Entry:
        if path not in self.entries:
            self.add(path)
        return self.entries[path]

    def _fill(self, entry: _Entry, lo: int, hi: int) -> None:
        start = (lo // entry.chunk) * entry.chunk
        wide = _slab_rows(entry, len(self.entries))
        stop = max(hi, start + max(entry.chunk, _MIN_SLAB, wide))
        stop = min(-(-stop // entry.chunk) * entry.chunk, entry.size)
        entry.obj = None  # free the old slab before reading the next
        entry.lo = start
        if entry.plain is _READ or entry.jagged is _READ_JAGGED:  # read whole before
            entry.plain = entry.jagged = None  # (not reached: the slab covers every row)
        if entry.plain is not None:
            values = _read_span(self.objects, entry.plain[0], start, stop)
            entry.obj = Array(values.astype(np.bool_) if entry.plain[1] else values)
            return
        if entry.jagged is not None:
            entry.obj = _read_jagged(self.objects, entry.jagged, start, stop)
            return
        entry.obj = lh5.read(entry.path, self.handle, start_row=start, n_rows=stop - start)


def _slab_rows(entry: _Entry, n_entries: int) -> int:
    """Rows of a slab of a plain 1-d column in a cache of `n_entries` columns:
    :data:`_SLAB_BYTES`, or a share of :data:`_SLAB_BUDGET` if smaller (0 for other
    objects: their slabs are storage chunks)."""
    if entry.plain is None or entry.plain is _READ:
        return 0
    size = min(_SLAB_BYTES, _SLAB_BUDGET // max(n_entries, 1))
    return size // max(entry.plain[0].dtype.itemsize, 1)


def _whole_entry(path: str, field: SmallField) -> _Entry | None:
    """The entry of a small object read whole (:meth:`SlabCache.prefill`), holding what
    :meth:`_fill` would read (its one slab is the whole object); None when it is not plain
    or is empty, too long for one slab or inconsistent (the slower paths report it)."""
    values = field.values
    if field.offsets is None:
        kind = _PLAIN_FLAT[0] if values.dtype.kind == "f" else field.datatype
        size = len(values)
        if kind not in _PLAIN_FLAT or not 0 < size <= _MIN_SLAB:
            return None
        flat = values.astype(np.bool_) if kind == _PLAIN_FLAT[1] else values
        return _Entry(path, size, size, True, plain=_READ, whole=(None, flat))
    return _whole_jagged(path, field)


def _whole_jagged(path: str, field: SmallField) -> _Entry | None:
    offsets, values = field.offsets, field.values
    assert offsets is not None
    kind = _PLAIN_JAGGED[0] if values.dtype.kind == "f" else field.datatype
    size = len(offsets)
    if kind not in _PLAIN_JAGGED or offsets.dtype.kind not in "iu" or not 0 < size <= _MIN_SLAB:
        return None
    if len(values) > _MAX_FLAT_PER_ROW * size:
        return None  # waveform-like: read per request
    ends = offsets.astype(np.int64)
    if not 0 <= ends[-1] <= len(values):
        return None
    flat = values[: int(ends[-1])]
    flat = flat.astype(np.bool_) if kind == _PLAIN_JAGGED[1] else flat
    return _Entry(path, size, size, True, jagged=_READ_JAGGED, whole=(ends, flat))


def _whole_object(ends: npt.NDArray[np.int64] | None, values: npt.NDArray[Any]) -> Any:
    """The lh5 object of a whole object read at once (:attr:`_Entry.whole`)."""
    if ends is None:
        return Array(values)
    return VectorOfVectors(flattened_data=Array(values), cumulative_length=Array(ends))


_READ = (_Dataset(None, "", (0,), np.dtype(np.float64), False), False)
"""`_Entry.plain` of objects read whole at once (nothing left to read)."""
_READ_JAGGED = (_READ[0], _READ[0], False)
"""`_Entry.jagged` of objects read whole at once."""


def _find_plain(entry: _Entry, parts: _Node, objects: _Objects) -> None:
    """Note the datasets of `parts` when they can be read without lh5 (plain numbers)."""
    data = parts.data
    if data is not None:
        if data.dtype.kind in "iuf":
            kind = _datatype(objects, parts, data.dtype, _PLAIN_FLAT[0])
            if kind in _PLAIN_FLAT:
                entry.plain = (data, kind == _PLAIN_FLAT[1])
        return
    if parts.offsets is None or parts.flat is None:
        return
    if parts.offsets.dtype.kind in "iu" and parts.flat.dtype.kind in "iuf":
        kind = _datatype(objects, parts, parts.flat.dtype, _PLAIN_JAGGED[0])
        if kind in _PLAIN_JAGGED:
            entry.jagged = (parts.offsets, parts.flat, kind == _PLAIN_JAGGED[1])


def _datatype(objects: _Objects, node: _Node, values: np.dtype[Any], wide: str) -> str | None:
    """The lh5 datatype of `node` (a cacheable 1-d array or jagged array of `values`).

    Floating-point values can only be `wide` (``array<1>{real}`` or its jagged form), and
    their attribute, which costs more to read than a small slab, is not read; integers may
    be booleans."""
    if values.kind == "f":
        return wide
    return objects.datatype(node)


_PLAIN_FLAT = ("array<1>{real}", "array<1>{bool}")
_PLAIN_JAGGED = ("array<1>{array<1>{real}}", "array<1>{array<1>{bool}}")


def read_slice(ds: h5py.Dataset, start: int, stop: int) -> npt.NDArray[Any]:
    """Rows ``start:stop`` of a 1-d dataset (lh5's fastest path: chunks decompressed in
    threads)."""
    return lh5.read_rows(ds, start, stop)


def _read_span(objects: _Objects, ds: _Dataset, start: int, stop: int) -> npt.NDArray[Any]:
    """Rows ``start:stop`` of a 1-d dataset: a whole small plain dataset in one low-level
    read, anything else (or a failed read: a filter plugin to load, an error to name)
    through :func:`read_slice`."""
    whole = start == 0 and stop == ds.shape[0] and stop * ds.dtype.itemsize <= _WHOLE_BYTES
    values = objects.read_whole(ds) if whole and ds.plain and ds.hid is not None else None
    if values is not None:
        return values
    return read_slice(objects.handle[ds.path], start, stop)


def _read_jagged(
    objects: _Objects, parts: tuple[_Dataset, _Dataset, bool], start: int, stop: int
) -> VectorOfVectors:
    """Rows ``start:stop`` (at least one) of a jagged array, offsets from 0."""
    offsets, values, is_bool = parts
    first = max(start - 1, 0)
    ends = _read_span(objects, offsets, first, stop).astype(np.int64, copy=False)
    base = int(ends[0]) if start > 0 else 0
    ends = ends[start - first :] - base
    flat = _read_span(objects, values, base, base + int(ends[-1]))
    if is_bool:
        flat = flat.astype(np.bool_)
    return VectorOfVectors(flattened_data=Array(flat), cumulative_length=Array(ends))


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
