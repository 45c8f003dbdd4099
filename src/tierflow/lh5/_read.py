"""Reading LH5 objects: one reader per node of the datatype tree, rows chosen up front.

Rows are a slice (read as one contiguous slab) or a sorted-or-not index array (read as the one
slab that covers them, then picked in memory: far faster than HDF5 point selections).
"""

from __future__ import annotations

import contextvars
import math
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import wait
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.cores import idle_cores
from tierflow.errors import DatatypeError, FormatError, NotFoundError
from tierflow.lh5._batch import DecodeBatch
from tierflow.lh5._chunks import _pool
from tierflow.lh5._inflate import plan_chunked, read_chunked
from tierflow.lh5._lowlevel import open_object, read_attr, read_attrs
from tierflow.lh5._settings import fast_read_settings
from tierflow.types import (
    Array,
    ArrayOfDetectorIDs,
    ArrayOfEncodedEqualSizedArrays,
    ArrayOfEqualSizedArrays,
    ArrayType,
    DataObject,
    ElementKind,
    ElementType,
    EncodedArrayType,
    EqualSizedArrayType,
    FixedSizeArray,
    FixedSizeArrayType,
    Histogram,
    Scalar,
    Struct,
    StructType,
    Table,
    TableType,
    VectorOfEncodedVectors,
    VectorOfVectors,
    WaveformTable,
    axis,
    parse_datatype,
)
from tierflow.types._datatype import Datatype
from tierflow.types._vov import check_offsets, gather_ranges

__all__ = ["ReadContext", "datatype_of", "inspect", "n_rows_of", "read_node", "read_rows"]

HISTOGRAM_FIELDS = frozenset({"binning", "weights", "isdensity"})
WAVEFORM_FIELDS = ("t0", "dt", "values")


@dataclass(frozen=True)
class ReadContext:
    """Where a reader is, and what it was asked for."""

    file: str
    path: str
    decompress: bool = True
    fields: tuple[str, ...] | None = None
    attrs: dict[str, Any] | None = None
    """Attributes of the object at `path` (but ``datatype``), once they have been read."""
    meta: dict[tuple[str, str], tuple[Datatype, dict[str, Any]]] | None = None
    """Type and attributes by path, shared by reads of files that do not change meanwhile
    (an iterator's pass): each object's metadata is read once, not once per chunk."""
    batch: DecodeBatch | None = None
    """Where the column being read (a numeric array of a table) may leave its chunks to be
    decoded with its table's other columns; its values are there once the batch is finished."""

    def child(self, name: str, fields: tuple[str, ...] | None = None) -> ReadContext:
        path = f"{self.path.rstrip('/')}/{name}"
        return replace(self, path=path, fields=fields, attrs=None, batch=None)

    def error(self, kind: type[Exception], message: str) -> Exception:
        return kind(message, file=self.file, obj=self.path)  # type: ignore[call-arg]


def inspect(h5obj: Any, ctx: ReadContext) -> tuple[Datatype, ReadContext]:
    """The object's type and a context holding its attributes: every attribute read once."""
    known = ctx.meta.get((ctx.file, ctx.path)) if ctx.meta is not None else None
    if known is not None:
        return known[0], replace(ctx, attrs=known[1])
    attrs = {}
    for key, value in read_attrs(h5obj).items():
        attrs[key] = value.decode() if isinstance(value, bytes) else value
    node = _node(h5obj, attrs.pop("datatype", None), ctx)
    if ctx.meta is not None:
        ctx.meta[(ctx.file, ctx.path)] = (node, attrs)
    return node, replace(ctx, attrs=attrs)


def datatype_of(h5obj: h5py.Dataset | h5py.Group, ctx: ReadContext) -> Datatype:
    """The parsed ``datatype`` attribute, or one inferred when it is missing."""
    return _node(h5obj, read_attr(h5obj, "datatype"), ctx)


@lru_cache(maxsize=4096)
def _parse_cached(text: str | bytes) -> Datatype:
    return parse_datatype(text)


def _node(h5obj: Any, text: str | bytes | None, ctx: ReadContext) -> Datatype:
    if text is None:
        if isinstance(h5obj, h5py.Group):
            return StructType(tuple(h5obj.keys()))
        element = ElementType(_element_kind(h5obj.dtype))
        return element if h5obj.ndim == 0 else ArrayType(h5obj.ndim, element)
    try:
        return _parse_cached(text)
    except DatatypeError as error:
        raise ctx.error(DatatypeError, error.message) from None


def _element_kind(dtype: np.dtype[Any]) -> ElementKind:
    if dtype.kind == "b":
        return ElementKind.BOOL
    if dtype.kind in "SOU":
        return ElementKind.STRING
    return ElementKind.COMPLEX if dtype.kind == "c" else ElementKind.REAL


def child(group: h5py.Group, name: str, ctx: ReadContext) -> Any:
    try:
        return open_object(group, name)
    except KeyError:
        raise NotFoundError(
            f"{ctx.path!r} has no {name!r}",
            file=ctx.file,
            obj=f"{ctx.path}/{name}",
            candidates=list(group.keys()),
        ) from None


def n_rows_of(h5obj: Any, node: Any, ctx: ReadContext) -> int:
    """Rows of an object on disk, read from the smallest dataset that knows."""
    if isinstance(h5obj, h5py.Dataset):
        return int(h5obj.shape[0]) if h5obj.ndim else 1
    if isinstance(node, ArrayType) and isinstance(node.element, EncodedArrayType):
        return int(child(h5obj, "decoded_size", ctx).shape[0])
    if isinstance(node, (ArrayType, EqualSizedArrayType)):
        inner = child(h5obj, "encoded_data", ctx) if "encoded_data" in h5obj else h5obj
        return int(child(inner, "cumulative_length", ctx).shape[0])
    for name in _ordered_fields(h5obj, node):
        sub = child(h5obj, name, ctx)
        if isinstance(sub, h5py.Group) and len(sub) == 0:
            continue  # a sub-table without columns has no rows of its own
        return n_rows_of(sub, datatype_of(sub, ctx.child(name)), ctx.child(name))
    return 0


def load_filter_plugins() -> bool:
    """Make the HDF5 filter plugins (Zstd, LZ4, Blosc, ...) known to HDF5; ``False`` if they were
    already. Done on the first read that needs them: LEGEND files use Zstd, plain HDF5 has no
    Zstd, and importing hdf5plugin costs too much to pay for every gzip file."""
    if "hdf5plugin" in sys.modules:
        return False
    import hdf5plugin  # noqa: F401  (registers the filters on import)

    return True


def read_rows(ds: h5py.Dataset, start: int, stop: int) -> npt.NDArray[Any]:
    """Rows ``start:stop`` of an open numeric dataset as a new array, the fastest way lh5
    knows: deflate and Zstd chunks decompressed in threads, anything else through HDF5's low
    level API (for code that manages its own HDF5 objects; :func:`~tierflow.lh5.read` reads
    data objects).

    Example
    -------
    >>> with h5py.File("run_dsp.lh5") as f:  # doctest: +SKIP
    ...     energy = read_rows(f["ch1/dsp/trapEmax"], 0, 1000)
    """
    out = np.empty((max(stop - start, 0), *ds.shape[1:]), dtype=ds.dtype)
    if len(out):
        _read_rows(ds, start, len(out), out)
    return out


def _read_rows(
    ds: h5py.Dataset,
    start: int,
    count: int,
    out: npt.NDArray[Any],
    batch: DecodeBatch | None = None,
) -> None:
    """Rows ``start:start+count`` into ``out[:count]`` (with a `batch`, once it is finished);
    loads the filter plugins if HDF5 lacks the dataset's filter."""
    if batch is not None:
        try:
            plan = plan_chunked(ds, start, count, out, batch.files)
        except OSError as error:  # the file ends before a chunk
            raise _unreadable(ds, start, count, error) from error
        if plan is not None:
            batch.add(plan, lambda: _read_checked(ds, start, count, out, fast=False))
            return
    _read_checked(ds, start, count, out)


def _read_checked(
    ds: h5py.Dataset, start: int, count: int, out: npt.NDArray[Any], fast: bool = True
) -> None:
    """:func:`_read_rows` now (`fast`: trying the fast path first)."""
    try:
        _read_rows_now(ds, start, count, out, fast)
    except OSError as error:
        if not load_filter_plugins():
            raise _unreadable(ds, start, count, error) from error
        try:
            _read_rows_now(ds, start, count, out, fast)
        except OSError as again:
            raise _unreadable(ds, start, count, again) from again


def _unreadable(ds: h5py.Dataset, start: int, count: int, error: OSError) -> FormatError:
    return FormatError(
        f"HDF5 cannot read rows {start}:{start + count} of {ds.name} ({error})",
        file=ds.file.filename,
        obj=ds.name,
    )


def _read_rows_now(
    ds: h5py.Dataset, start: int, count: int, out: npt.NDArray[Any], fast: bool = True
) -> None:
    """The read itself: shuffle+deflate chunks inflated in threads (`fast`), or HDF5 through
    the low-level API (h5py's selection objects cost more than reading a small column)."""
    if fast and read_chunked(ds, start, count, out):
        return
    if start == 0 and count == ds.shape[0] == len(out) and out.flags.c_contiguous:
        ds.id.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
        return
    shape = (count, *ds.shape[1:])
    file_space = ds.id.get_space()
    file_space.select_hyperslab((start,) + (0,) * (ds.ndim - 1), shape)
    ds.id.read(h5py.h5s.create_simple(shape), file_space, out[:count])


Shape = tuple[tuple[int, ...], np.dtype[Any]]
"""A dataset's shape and type (each h5py property asks HDF5 anew: callers that know pass it)."""


def _slab(
    ds: h5py.Dataset,
    rows: Any,
    out: npt.NDArray[Any] | None,
    batch: DecodeBatch | None = None,
    known: Shape | None = None,
) -> npt.NDArray[Any]:
    """Read the rows of a dataset, into `out` when it is given and large enough (a slice of
    rows with a `batch`: once it is finished)."""
    shape, dtype = known or (ds.shape, ds.dtype)
    n = shape[0]
    if rows is None:
        rows = slice(0, n)
    if isinstance(rows, slice):
        start, stop = rows.start or 0, min(rows.stop if rows.stop is not None else n, n)
        count = max(stop - start, 0)
        if out is None or out.shape[1:] != shape[1:] or out.dtype != dtype or len(out) < count:
            out = np.empty((count, *shape[1:]), dtype=dtype)
        if count:
            _read_rows(ds, start, count, out, batch)
        return out[:count]
    if len(rows) == 0:
        return np.empty((0, *shape[1:]), dtype=dtype)
    lo, hi = int(rows.min()), int(rows.max()) + 1
    covering = _slab(ds, slice(lo, hi), None)
    picked: npt.NDArray[Any] = np.take(covering, rows - lo, axis=0)
    if out is not None and out.dtype == picked.dtype and len(out) >= len(picked):
        out[: len(picked)] = picked
        return out[: len(picked)]
    return picked


BATCH_KINDS = frozenset({ElementKind.REAL, ElementKind.COMPLEX})
"""Arrays of these element kinds are read as they are stored: their values are not looked at
before the read ends, so they may be decoded in a batch."""


def _values(
    ds: h5py.Dataset,
    node: ElementType,
    rows: Any,
    out: Any,
    batch: DecodeBatch | None = None,
    known: Shape | None = None,
) -> npt.NDArray[Any]:
    known = known or (ds.shape, ds.dtype)
    if known[1].kind == "O":
        data = ds.asstr()[()] if rows is None else ds.asstr()[_as_selection(rows, ds)]
        return np.asarray(data, dtype=str)
    data = _slab(ds, rows, out, batch if node.kind in BATCH_KINDS else None, known)
    if node.kind is ElementKind.BOOL and data.dtype != np.bool_:
        return data.astype(np.bool_)  # bools written as uint8 by older writers
    return data


def _as_selection(rows: Any, ds: h5py.Dataset) -> Any:
    return rows if isinstance(rows, slice) else np.s_[int(rows.min()) : int(rows.max()) + 1]


def _buffer_nda(buffer: DataObject | None, kind: type) -> npt.NDArray[Any] | None:
    return buffer._buffer if isinstance(buffer, kind) and isinstance(buffer, Array) else None


def read_scalar(
    ds: h5py.Dataset, node: Datatype, ctx: ReadContext, rows: Any, buffer: Any
) -> Scalar:
    value = ds[()]  # a numpy scalar keeps its dtype, so that writing it again keeps the layout
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(node, ElementType) and node.kind is ElementKind.BOOL:
        value = np.bool_(value)
    return Scalar(value, attrs=_own_attrs(ds, ctx))


def _own_attrs(h5obj: Any, ctx: ReadContext) -> dict[str, Any]:
    """The attributes of the object being read (a copy: objects do not share them)."""
    return dict(ctx.attrs) if ctx.attrs is not None else _attrs(h5obj)


def _attrs(h5obj: Any) -> dict[str, Any]:
    attrs = {}
    for key, value in read_attrs(h5obj).items():
        if key == "datatype":
            continue
        attrs[key] = value.decode() if isinstance(value, bytes) else value
    return attrs


def read_array(ds: Any, node: Any, ctx: ReadContext, rows: Any, buffer: Any) -> Array:
    if not isinstance(ds, h5py.Dataset):
        raise ctx.error(FormatError, f"a {node} must be an HDF5 dataset, not a group")
    known = (ds.shape, ds.dtype)
    if not known[0]:
        raise ctx.error(FormatError, f"a {node} must have at least one dimension")
    element = node.leaf if isinstance(node, ArrayType) else node.element
    kind, extra = _array_class(node, element)
    data = _values(ds, element, rows, _buffer_nda(buffer, kind), ctx.batch, known)
    if type(buffer) is kind and np.may_share_memory(buffer._buffer, data):
        buffer._size, buffer.attrs = len(data), _own_attrs(ds, ctx)
        return buffer
    return kind(data, attrs=_own_attrs(ds, ctx), **extra)


def _array_class(node: Any, element: ElementType) -> tuple[type[Array], dict[str, Any]]:
    if isinstance(node, EqualSizedArrayType):
        return ArrayOfEqualSizedArrays, {"dims": (node.outer, node.inner)}
    if isinstance(node, FixedSizeArrayType):
        return FixedSizeArray, {}
    if element.kind is ElementKind.DETECTORID:
        return ArrayOfDetectorIDs, {}
    if element.kind is ElementKind.ENUM:
        return Array, {"enum": dict(element.enum)}
    return Array, {}


def read_vov(
    group: Any, node: ArrayType, ctx: ReadContext, rows: Any, buffer: Any
) -> VectorOfVectors:
    """A vector of vectors: the offsets of the rows, then the one slab of content they cover."""
    offsets_ds = child(group, "cumulative_length", ctx)
    content = child(group, "flattened_data", ctx)
    content_len = n_rows_of(content, node.element, ctx)
    offsets, inner_rows = _vov_rows(offsets_ds, rows, buffer, content_len, ctx)
    inner_buffer = buffer.flattened_data if isinstance(buffer, VectorOfVectors) else None
    inner = read_node(content, node.element, ctx.child("flattened_data"), inner_rows, inner_buffer)
    assert isinstance(inner, (Array, VectorOfVectors)), "a jagged array's content has rows"
    if isinstance(buffer, VectorOfVectors):
        if np.may_share_memory(buffer.cumulative_length._buffer, offsets):
            buffer.cumulative_length._size = len(offsets)
        else:
            buffer.cumulative_length = Array(offsets)
        buffer.flattened_data, buffer.attrs = inner, _own_attrs(group, ctx)
        return buffer
    return VectorOfVectors(
        flattened_data=inner, cumulative_length=offsets, attrs=_own_attrs(group, ctx)
    )


def _vov_rows(
    offsets_ds: h5py.Dataset, rows: Any, buffer: Any, content_len: int, ctx: ReadContext
) -> tuple[npt.NDArray[Any], Any]:
    """The offsets of the selected rows (from 0) and the rows of content they cover; the offsets
    read from disk are checked before they are used."""
    where = f" in {ctx.path!r} of {ctx.file!r}"
    n = offsets_ds.shape[0]
    rows = slice(0, n) if rows is None else rows
    if isinstance(rows, slice):
        start, stop = rows.start or 0, min(n, rows.stop if rows.stop is not None else n)
        stop = max(start, stop)
        out = buffer.cumulative_length._buffer if isinstance(buffer, VectorOfVectors) else None
        if out is not None and len(out) < stop - start:
            buffer.cumulative_length.reserve(stop - start)
            out = buffer.cumulative_length._buffer
        offsets = _slab(offsets_ds, slice(start, stop), out)
        base = int(offsets_ds[start - 1]) if start > 0 else 0
        end = int(offsets[-1]) if len(offsets) else base
        if len(offsets) and int(offsets[0]) < base:
            raise FormatError(f"cumulative_length is not monotonic{where}")
        check_offsets(offsets, content_len, where)
        if base:
            offsets -= offsets.dtype.type(base)
        return offsets, slice(base, end)
    lo = max(int(rows.min()) - 1, 0) if len(rows) else 0
    covering = _slab(offsets_ds, slice(lo, int(rows.max()) + 1 if len(rows) else 0), None)
    check_offsets(covering, content_len, where)
    stops = covering[rows - lo].astype(np.int64)
    # the row before a picked row is inside the covering slab whenever the picked row is not 0
    prev = np.where(rows > 0, covering[np.maximum(rows - 1 - lo, 0)], 0).astype(np.int64)
    offsets = np.cumsum(stops - prev).astype(offsets_ds.dtype)
    return offsets, gather_ranges(prev, stops)


def read_encoded(group: Any, node: Any, ctx: ReadContext, rows: Any, buffer: Any) -> DataObject:
    encoded_node = ArrayType(1, ArrayType(1, ElementType(ElementKind.REAL)))
    encoded = read_vov(
        child(group, "encoded_data", ctx), encoded_node, ctx.child("encoded_data"), rows, None
    )
    size_ds = child(group, "decoded_size", ctx)
    attrs = _own_attrs(group, ctx)
    if isinstance(node, EqualSizedArrayType):
        obj: Any = ArrayOfEncodedEqualSizedArrays(encoded, int(size_ds[()]), attrs=attrs)
        if ctx.decompress:
            out = buffer._buffer if isinstance(buffer, ArrayOfEqualSizedArrays) else None
            return _decode_into(obj, buffer, out)
        return obj  # type: ignore[no-any-return]
    sizes = _slab(size_ds, rows, None)
    obj = VectorOfEncodedVectors(encoded, sizes, attrs=attrs)
    return obj.decode() if ctx.decompress else obj  # type: ignore[no-any-return]


def _decode_into(obj: ArrayOfEncodedEqualSizedArrays, buffer: Any, out: Any) -> DataObject:
    fits = out is not None and out.shape[0] >= len(obj) and out.shape[1:] == (obj.decoded_size,)
    decoded = obj.decode(dtype=out.dtype if fits else None, out=out[: len(obj)] if fits else None)
    if fits:
        buffer._size, buffer.attrs = len(obj), decoded.attrs
        return buffer  # type: ignore[no-any-return]
    return decoded


def _ordered_fields(group: h5py.Group, node: Any) -> list[str]:
    """The group's real children: those the datatype names first, in its order, then the rest."""
    present = list(group.keys())
    known = set(present)
    declared = [name for name in getattr(node, "fields", ()) if name in known]
    listed = set(declared)
    return declared + [name for name in present if name not in listed]


def _selected(names: list[str], fields: tuple[str, ...] | None, ctx: ReadContext) -> dict[str, Any]:
    """Field selection: ``"col"`` or ``"table/col"``; returns name → sub-selection."""
    if fields is None:
        return dict.fromkeys(names)
    chosen: dict[str, Any] = {}
    for field in fields:
        head, _, rest = field.partition("/")
        if head not in names:
            raise NotFoundError(
                f"no field {head!r} in {ctx.path!r}",
                file=ctx.file,
                obj=f"{ctx.path}/{head}",
                candidates=names,
            )
        if rest:
            chosen.setdefault(head, ())
            if chosen[head] is not None:
                chosen[head] = (*chosen[head], rest)
        else:
            chosen[head] = None
    return chosen


def read_struct(group: Any, node: Any, ctx: ReadContext, rows: Any, buffer: Any) -> DataObject:
    names = _ordered_fields(group, node)
    if isinstance(node, StructType) and set(names) == HISTOGRAM_FIELDS and ctx.fields is None:
        return read_histogram(group, ctx)
    children = []
    for name, sub_fields in _selected(names, ctx.fields, ctx).items():
        sub, sub_ctx = open_object(group, name), ctx.child(name, sub_fields)
        old = buffer.get(name) if isinstance(buffer, Struct) and name in buffer else None
        sub_node, sub_ctx = inspect(sub, sub_ctx)
        children.append(_Child(name, sub, sub_node, sub_ctx, old))
    values = _read_children(children, rows)
    if isinstance(node, TableType):
        return _make_table(values, ctx, _own_attrs(group, ctx), buffer)
    return Struct(values, attrs=_own_attrs(group, ctx))


@dataclass(frozen=True)
class _Child:
    """A member of a struct or table, opened and inspected, to be read."""

    name: str
    h5obj: Any
    node: Datatype
    ctx: ReadContext
    buffer: Any

    def read(self, rows: Any, batch: DecodeBatch | None = None) -> DataObject:
        """Its value; with a `batch`, a numeric column's values once the batch is finished."""
        ctx = self.ctx if batch is None else replace(self.ctx, batch=batch)
        return read_node(self.h5obj, self.node, ctx, rows, self.buffer)


PARALLEL_COLUMNS_MIN_BYTES = 1 << 23
"""Columns are read in parallel when the rows asked for hold at least this much data (and
cores are idle: threads on busy cores only wait for each other). Below it, handing columns
between threads costs more than it saves: 11 columns of 38,343 rows (2.3 MB) took 17.5 ms
on one thread and 18.6 ms on two; 11 of 300,000 rows (13 MB) 21 ms and 17 ms."""


def _read_children(children: list[_Child], rows: Any) -> dict[str, DataObject]:
    """The children's values, in order; those of a table of large columns are read by the
    column threads too, so that one column's decompression overlaps another's (h5py lets
    one thread into HDF5 at a time; the chunks are inflated outside it)."""
    threads = (fast_read_settings().threads or idle_cores()) - 1
    if threads < 1 or len(children) < 2 or _data_bytes(children, rows) < PARALLEL_COLUMNS_MIN_BYTES:
        return _read_batched(children, rows)
    pool = _pool(threads, "read")  # its tasks wait for the codec pool's
    # each task runs in a copy of this context: the scoped settings (fast_read, ...) hold there
    futures = [pool.submit(contextvars.copy_context().run, child.read, rows) for child in children]
    done: dict[str, DataObject] = {}
    try:
        # this thread takes the columns no thread has started, from the last one back
        for child, future in reversed(list(zip(children, futures, strict=True))):
            if future.cancel():
                done[child.name] = child.read(rows)
        pairs = zip(children, futures, strict=True)
        return {c.name: done[c.name] if c.name in done else f.result() for c, f in pairs}
    finally:
        wait(futures)  # none may still write into a buffer when this returns or raises


def _read_batched(children: list[_Child], rows: Any) -> dict[str, DataObject]:
    """The children's values, in order, the chunks of their numeric columns decoded together
    (:mod:`tierflow.lh5._batch`)."""
    batch = DecodeBatch()
    values = {child.name: child.read(rows, batch) for child in children}
    batch.finish()
    return values


def _data_bytes(children: list[_Child], rows: Any) -> int:
    """About how many bytes the plain datasets among `children` hold in `rows`."""
    total = 0
    for child in children:
        if isinstance(child.h5obj, h5py.Dataset):
            shape = child.h5obj.id.get_space().shape or (1,)
            row_bytes = math.prod(shape[1:]) * child.h5obj.id.dtype.itemsize
            total += _count(rows, shape[0]) * row_bytes
    return total


def _count(rows: Any, n: int) -> int:
    """How many of `n` rows a selection (``None``, a slice or indices) picks."""
    if rows is None:
        return n
    if isinstance(rows, slice):
        return len(range(*rows.indices(n)))
    return len(rows)


def _make_table(
    values: dict[str, DataObject], ctx: ReadContext, attrs: dict[str, Any], buffer: Any
) -> Table:
    # a sub-table without columns has no length of its own on disk: it takes the table's
    lengths = {
        n: len(c) for n, c in values.items() if not (isinstance(c, Table) and c.n_columns == 0)
    }
    if len(set(lengths.values())) > 1:
        raise ctx.error(FormatError, f"table columns have unequal lengths {lengths}")
    size = next(iter(lengths.values()), 0)
    for column in values.values():
        if isinstance(column, Table) and column.n_columns == 0:
            column.size = size
    if isinstance(buffer, Table) and list(buffer.keys()) == list(values):
        buffer._fields, buffer.size, buffer.attrs = values, size, attrs
        return buffer
    if tuple(values) == WAVEFORM_FIELDS:
        table: Table = WaveformTable(values["values"], values["t0"], values["dt"], attrs=attrs)  # type: ignore[arg-type]
        return table
    return Table(values, size=size, attrs=attrs)


def read_histogram(group: h5py.Group, ctx: ReadContext) -> Histogram:
    binning = group["binning"]
    axes: list[axis.Axis] = []
    for name in sorted(binning.keys(), key=lambda n: int(n.rsplit("_", 1)[-1])):
        edges, closedleft = binning[name]["binedges"], bool(binning[name]["closedleft"][()])
        units = _attrs(edges).get("units")
        if isinstance(edges, h5py.Group):
            first, last, step = (float(edges[k][()]) for k in ("first", "last", "step"))
            axes.append(axis.Regular(first, last, step, closedleft, units))
        else:
            axes.append(axis.Variable(tuple(edges[()]), closedleft, units))
    weights = read_array(
        group["weights"],
        parse_datatype(group["weights"].attrs["datatype"]),
        ctx.child("weights"),
        None,
        None,
    )
    return Histogram(weights, axes, bool(group["isdensity"][()]), attrs=_own_attrs(group, ctx))


Reader = Callable[[Any, Any, ReadContext, Any, Any], DataObject]


def _reader_for(node: Datatype) -> Reader:
    if isinstance(node, ElementType):
        return read_scalar
    if isinstance(node, ArrayType):
        if isinstance(node.element, EncodedArrayType):
            return read_encoded
        return read_vov if node.is_jagged else read_array
    if isinstance(node, EqualSizedArrayType):
        return read_encoded if node.encoded else read_array
    if isinstance(node, FixedSizeArrayType):
        return read_array
    return read_struct


def read_node(h5obj: Any, node: Datatype, ctx: ReadContext, rows: Any, buffer: Any) -> DataObject:
    """Read the object `h5obj` of type `node`: `rows` of it, into `buffer` where possible."""
    if isinstance(node, ElementType) and isinstance(h5obj, h5py.Dataset) and h5obj.ndim > 0:
        node = ArrayType(h5obj.ndim, node)  # a datatype of an element on an array: trust the shape
    return _reader_for(node)(h5obj, node, ctx, rows, buffer)


def normalize_fields(fields: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if fields is None:
        return None
    return (fields,) if isinstance(fields, str) else tuple(fields)
