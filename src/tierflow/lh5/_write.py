"""``write``: data objects into LH5 files, one writer per type, appends that keep offsets right.

A new file (or one being replaced) is written under a temporary name and renamed at the end,
so a failed write leaves nothing half-written behind.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from h5py import h5s

from tierflow.errors import MismatchError, NotFoundError, TierflowError
from tierflow.files import staged_path
from tierflow.lh5._chunks import FAST_KINDS, DirectChunkWriter
from tierflow.lh5._core import FileLike, open_lh5
from tierflow.lh5._lowlevel import (
    append_rows,
    create_dataset,
    create_scalar,
    created_layout,
    open_if_present,
    read_attr,
    write_attrs,
)
from tierflow.lh5._settings import WriteMode, dataset_kwargs
from tierflow.types import (
    Array,
    ArrayOfEncodedEqualSizedArrays,
    ArrayOfEqualSizedArrays,
    DataObject,
    Histogram,
    Scalar,
    Struct,
    Table,
    VectorOfEncodedVectors,
    VectorOfVectors,
)

__all__ = ["ObjectExistsError", "deferred_chunk_writes", "write"]

WRITER_ONLY_ATTRS = frozenset({"hdf5_settings", "compression"})


class ObjectExistsError(TierflowError, FileExistsError):
    """The object is in the file already and the write mode does not replace or extend it."""


@dataclass(frozen=True)
class WriteContext:
    file: str
    path: str
    mode: WriteMode
    settings: Mapping[str, Any] | None
    codecs: Mapping[str, Any]
    relative: str = ""
    fresh: bool = False
    """The group written into was made by this write: it holds nothing to clear or extend."""
    chunks: DirectChunkWriter = dataclasses.field(default_factory=DirectChunkWriter, compare=False)
    """Whole chunks compressed in parallel, written when the write call ends."""

    def child(self, name: str, fresh: bool = False) -> WriteContext:
        rel = f"{self.relative}/{name}" if self.relative else name
        path = f"{self.path.rstrip('/')}/{name}"
        return replace(self, path=path, relative=rel, fresh=fresh)

    def fail(self, kind: type[TierflowError], message: str) -> TierflowError:
        return kind(message, file=self.file, obj=self.path)


def _attrs_for_disk(obj: DataObject) -> dict[str, Any]:
    attrs = obj.getattrs(datatype=True)
    return {k: v for k, v in attrs.items() if k not in WRITER_ONLY_ATTRS and v is not None}


def merged_settings(
    obj: DataObject, settings: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """`settings` with the object's own ``attrs["hdf5_settings"]`` over them."""
    own = obj.attrs.get("hdf5_settings")
    if isinstance(own, Mapping):
        return {**(settings or {}), **own}
    return settings


def own_codec(obj: DataObject) -> Any:
    """The waveform codec an object asks for in its ``compression`` attr, or None."""
    own = obj.attrs.get("compression")
    return own if own is not None and not isinstance(own, (str, Mapping)) else None


def encoded(obj: DataObject, codec: Any) -> DataObject | None:
    """`obj` encoded with `codec` (None: `obj` is not a waveform array or vector)."""
    if isinstance(obj, ArrayOfEqualSizedArrays):
        return ArrayOfEncodedEqualSizedArrays.encode(obj, codec)
    if isinstance(obj, VectorOfVectors):
        return VectorOfEncodedVectors.encode(obj, codec)
    return None


def _as_disk_data(data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if data.dtype.kind == "U":  # HDF5 has no fixed-width unicode: variable-length UTF-8
        return data.astype(h5py.string_dtype())
    if data.dtype.kind == "b" and data.ndim > 0:  # LEGEND stores bool arrays as uint8
        return data.view(np.uint8)
    return data


def _check_appendable(ds: Any, data: np.ndarray[Any, Any], ctx: WriteContext) -> tuple[int, ...]:
    """The shape on disk, after checking that `data` can be appended as rows."""
    if not isinstance(ds, h5py.Dataset):
        on_disk = read_attr(ds, "datatype") or "a group"
        raise ctx.fail(MismatchError, f"cannot append an array to {on_disk} on disk")
    space = ds.id.get_space()
    shape: tuple[int, ...] = space.shape or ()
    limits: tuple[int, ...] = space.get_simple_extent_dims(True) or ()
    if not shape or limits[0] != h5s.UNLIMITED:
        raise ctx.fail(
            MismatchError, "the dataset on disk is not resizable: it cannot be appended to"
        )
    if shape[1:] != data.shape[1:]:
        raise ctx.fail(
            MismatchError, f"rows of shape {data.shape[1:]} do not fit {shape[1:]} on disk"
        )
    dtype = ds.id.dtype
    if (dtype.kind in "SOU") != (data.dtype.kind in "SOU"):
        raise ctx.fail(MismatchError, f"cannot append {data.dtype} values to {dtype} on disk")
    return tuple(shape)


def _write_dataset(
    group: h5py.Group, name: str, data: Any, obj: DataObject, ctx: WriteContext
) -> None:
    data = _as_disk_data(np.asarray(data))
    appending = ctx.mode is WriteMode.APPEND and not ctx.fresh
    existing = open_if_present(group, name) if appending else None
    if existing is not None:
        _append_rows(existing, data, obj, ctx)
        return
    _clear(group, name, ctx)
    ds = _new_dataset(group, name, data, obj, ctx)
    write_attrs(ds, _attrs_for_disk(obj))


def _has(group: h5py.Group, name: str) -> bool:
    """``name in group`` through the low-level API (h5py's `in` costs several times more)."""
    return name.encode() in group.id


def _append_rows(ds: Any, data: Any, obj: DataObject, ctx: WriteContext) -> None:
    shape = _check_appendable(ds, data, ctx)
    _check_datatype(ds, obj, ctx)
    old = shape[0]
    ds.id.set_extent((old + len(data), *shape[1:]))
    if len(data) and not ctx.chunks.write(ds, data, old):
        ctx.chunks.settle(ds)  # HDF5 reads the last chunk: it must be on disk
        append_rows(ds, data, old)


def _new_dataset(
    group: h5py.Group, name: str, data: Any, obj: DataObject, ctx: WriteContext
) -> h5py.Dataset:
    if data.ndim == 0:
        return create_scalar(group, name, data) or group.create_dataset(name, data=data)
    kwargs = dataset_kwargs(data.shape, data.dtype, merged_settings(obj, ctx.settings))
    if data.dtype.kind not in FAST_KINDS or not data.size:
        return group.create_dataset(name, data=data, **kwargs)
    ds = create_dataset(group, name, data, kwargs)
    layout = None if ds is None else created_layout(data, kwargs)
    if ds is None:
        ds = group.create_dataset(name, shape=data.shape, dtype=data.dtype, **kwargs)
    compressed = kwargs.get("compression") is not None
    if not (compressed and ctx.chunks.write(ds, data, 0, layout)):
        ds.id.write(h5s.ALL, h5s.ALL, np.ascontiguousarray(data))
    return ds


def _check_datatype(h5obj: Any, obj: DataObject, ctx: WriteContext) -> None:
    on_disk = read_attr(h5obj, "datatype")
    if isinstance(on_disk, bytes):
        on_disk = on_disk.decode()
    if on_disk is not None and on_disk != str(obj.datatype):
        raise ctx.fail(MismatchError, f"cannot append a {obj.datatype} to a {on_disk} on disk")


def _clear(group: h5py.Group, name: str, ctx: WriteContext) -> None:
    if ctx.fresh or not _has(group, name):
        return
    if ctx.mode is WriteMode.CREATE:
        raise ctx.fail(
            ObjectExistsError, "the object exists already (write with mode OVERWRITE or APPEND)"
        )
    del group[name]


def write_scalar(group: h5py.Group, name: str, obj: Scalar, ctx: WriteContext) -> None:
    value = obj.value
    data = (
        np.asarray(value, dtype=h5py.string_dtype())
        if isinstance(value, str)
        else np.asarray(value)
    )
    if (
        name in group and ctx.mode is WriteMode.APPEND
    ):  # a scalar has no rows: its value is replaced
        del group[name]
    _write_dataset(group, name, data, obj, replace(ctx, mode=WriteMode.OVERWRITE))


def write_array(group: h5py.Group, name: str, obj: Array, ctx: WriteContext) -> None:
    _write_dataset(group, name, obj.nda, obj, ctx)


def _group(
    group: h5py.Group, name: str, obj: DataObject, ctx: WriteContext
) -> tuple[h5py.Group, bool]:
    """The group to write `obj` into, and whether it existed (and is being appended to)."""
    appending = ctx.mode in (WriteMode.APPEND, WriteMode.APPEND_COLUMN)
    if appending and not ctx.fresh and name in group:
        existing = group[name]
        if not isinstance(existing, h5py.Group):
            raise ctx.fail(MismatchError, f"cannot append a {obj.datatype} to a dataset")
        return existing, True
    _clear(group, name, ctx)
    sub = group.create_group(name)
    write_attrs(sub, _attrs_for_disk(obj))
    return sub, False


def write_vov(group: h5py.Group, name: str, obj: VectorOfVectors, ctx: WriteContext) -> None:
    sub, existed = _group(group, name, obj, ctx)
    offsets = obj.cumulative_length.nda
    if existed:
        _check_datatype(sub, obj, ctx)
        base = _trimmed_content_length(sub, ctx.chunks)
        offsets = offsets + offsets.dtype.type(base)
    write_object(sub, "flattened_data", obj.flattened_data, ctx.child("flattened_data"))
    offsets_obj = Array(offsets, attrs=obj.cumulative_length.attrs)
    _write_dataset(sub, "cumulative_length", offsets, offsets_obj, ctx.child("cumulative_length"))


def _trimmed_content_length(group: h5py.Group, chunks: DirectChunkWriter) -> int:
    """Where appended content starts: the last offset; longer old content is cut to it first
    (each dataset's pending chunks written before it is read or cut)."""
    offsets = group["cumulative_length"]
    chunks.settle(offsets)
    end = int(offsets[-1]) if offsets.shape[0] else 0
    content = group["flattened_data"]
    if isinstance(content, h5py.Dataset) and content.shape[0] > end:
        chunks.settle(content)
        content.resize(end, axis=0)
    return end


def write_struct(group: h5py.Group, name: str, obj: Struct, ctx: WriteContext) -> None:
    sub, existed = _group(group, name, obj, ctx)
    if existed and ctx.mode is WriteMode.APPEND_COLUMN:
        _append_columns(sub, obj, ctx)
        return
    if existed and isinstance(obj, Table):
        _check_same_columns(sub, obj, ctx)
    # the largest first: their chunks are compressed while the others are made
    for field, value in sorted(obj.items(), key=lambda item: -_data_bytes(item[1])):
        write_object(sub, field, value, ctx.child(field, fresh=not existed))
    if not existed:
        return
    fields = list(sub.attrs.get("datatype", "struct{}").partition("{")[2].rstrip("}").split(","))
    merged = [f for f in fields if f] + [f for f in obj if f not in fields]
    sub.attrs["datatype"] = (
        f"{'table' if isinstance(obj, Table) else 'struct'}{{{','.join(merged)}}}"
    )


def _data_bytes(obj: DataObject) -> int:
    """About how many bytes the arrays of `obj` hold."""
    if isinstance(obj, Struct):
        return sum(_data_bytes(value) for _, value in obj.items())
    if isinstance(obj, VectorOfVectors):
        return _data_bytes(obj.flattened_data)
    nda = getattr(obj, "nda", None)
    return int(nda.nbytes) if isinstance(nda, np.ndarray) else 0


def _check_same_columns(sub: h5py.Group, obj: Table, ctx: WriteContext) -> None:
    missing = set(sub.keys()) ^ set(obj.keys())
    if missing:
        raise ctx.fail(
            MismatchError, f"appended table differs from the one on disk in {sorted(missing)}"
        )


def _append_columns(sub: h5py.Group, obj: Struct, ctx: WriteContext) -> None:
    from tierflow.lh5._core import n_rows

    existing = n_rows(ctx.path, sub.file) if len(sub) else len(obj)
    for field, value in obj.items():
        if field in sub:
            raise ctx.child(field).fail(ObjectExistsError, "the column exists already")
        if isinstance(obj, Table) and len(value) != existing:
            raise ctx.child(field).fail(
                MismatchError, f"a column of {len(value)} rows for a table of {existing}"
            )
        write_object(sub, field, value, replace(ctx.child(field), mode=WriteMode.CREATE))
    kind, _, fields = str(sub.attrs.get("datatype", "table{}")).partition("{")
    names = [f for f in fields.rstrip("}").split(",") if f] + list(obj)
    sub.attrs["datatype"] = f"{kind or 'table'}{{{','.join(names)}}}"


def write_histogram(group: h5py.Group, name: str, obj: Histogram, ctx: WriteContext) -> None:
    if ctx.mode in (WriteMode.APPEND, WriteMode.APPEND_COLUMN) and name in group:
        raise ctx.fail(MismatchError, "a histogram cannot be appended to; overwrite it")
    write_struct(group, name, obj.to_struct(), ctx)


def write_encoded(group: h5py.Group, name: str, obj: Any, ctx: WriteContext) -> None:
    sub, existed = _group(group, name, obj, ctx)
    if existed:
        _check_datatype(sub, obj, ctx)
        _check_same_codec(sub, obj, ctx)
    write_vov(sub, "encoded_data", obj.encoded_data, ctx.child("encoded_data"))
    if isinstance(obj, ArrayOfEncodedEqualSizedArrays):
        if existed and int(sub["decoded_size"][()]) != obj.decoded_size:
            raise ctx.fail(MismatchError, "appended waveforms differ in length from those on disk")
        size = Scalar(np.int64(obj.decoded_size))  # int64, as legend-lh5io writes it
        write_scalar(
            sub, "decoded_size", size, replace(ctx.child("decoded_size"), mode=WriteMode.OVERWRITE)
        )
    else:
        write_array(sub, "decoded_size", obj.decoded_size, ctx.child("decoded_size"))


def _check_same_codec(sub: h5py.Group, obj: Any, ctx: WriteContext) -> None:
    on_disk = {k: v for k, v in sub.attrs.items() if k.startswith("codec")}
    ours = {k: v for k, v in obj.attrs.items() if k.startswith("codec")}
    if {k: str(v) for k, v in on_disk.items()} != {k: str(v) for k, v in ours.items()}:
        raise ctx.fail(MismatchError, f"appending {ours} encoded data to {on_disk} on disk")


def _codec_on_disk(group: h5py.Group, name: str, ctx: WriteContext) -> Any:
    """When appending to encoded waveforms, new rows are encoded with the codec on disk."""
    if ctx.mode is not WriteMode.APPEND or name not in group:
        return None
    attrs = group[name].attrs
    if "codec" not in attrs:
        return None
    from tierflow.codecs import WaveformCodec

    return WaveformCodec.from_dict({k: v for k, v in attrs.items() if k.startswith("codec")})


def _maybe_encode(group: h5py.Group, name: str, obj: DataObject, ctx: WriteContext) -> DataObject:
    """Encode waveforms when a codec is asked for (per field, or in the ``compression`` attr)."""
    codec = ctx.codecs.get(ctx.relative)
    if codec is None:
        codec = own_codec(obj)
    if codec is None:
        codec = _codec_on_disk(group, name, ctx)
    if codec is None:
        return obj
    done = encoded(obj, codec)
    if done is not None:
        return done
    raise ctx.fail(
        MismatchError, f"a waveform codec applies to waveform arrays, not {type(obj).__name__}"
    )


Writer = Callable[[h5py.Group, str, Any, WriteContext], None]
_WRITERS: list[tuple[type, Writer]] = [
    (Histogram, write_histogram),
    (ArrayOfEncodedEqualSizedArrays, write_encoded),
    (VectorOfEncodedVectors, write_encoded),
    (VectorOfVectors, write_vov),
    (Struct, write_struct),
    (Array, write_array),
    (Scalar, write_scalar),
]


def write_object(group: h5py.Group, name: str, obj: DataObject, ctx: WriteContext) -> None:
    """Write `obj` as `name` inside `group` with the writer registered for its type."""
    if isinstance(obj, (ArrayOfEqualSizedArrays, VectorOfVectors)):
        obj = _maybe_encode(group, name, obj, ctx)
    elif ctx.relative in ctx.codecs:
        raise ctx.fail(
            MismatchError, f"a waveform codec applies to waveform arrays, not {type(obj).__name__}"
        )
    for kind, writer in _WRITERS:
        if isinstance(obj, kind):
            writer(group, name, obj, ctx)
            return
    raise ctx.fail(MismatchError, f"no LH5 writer for {type(obj).__name__}")


def _parent_group(handle: h5py.File, group: str, ctx: WriteContext) -> h5py.Group:
    path = "/" + group.strip("/")
    if path in handle and not isinstance(handle[path], h5py.Group):
        raise ctx.fail(MismatchError, f"{path!r} is a dataset, not a group")
    return handle.require_group(path) if path != "/" else handle["/"]


def write(
    obj: DataObject,
    name: str,
    file: FileLike,
    group: str = "/",
    mode: WriteMode | str = WriteMode.CREATE,
    *,
    hdf5_settings: Mapping[str, Any] | None = None,
    codecs: Mapping[str, Any] | None = None,
) -> None:
    """Write `obj` as `group/name` into the LH5 `file`.

    Parameters
    ----------
    obj
        The data object.
    name, group
        Where it goes; parent groups are made as needed.
    mode
        A :class:`WriteMode`: create (fail if present), append rows, append columns,
        overwrite the object, or overwrite the file.
    hdf5_settings
        Dataset settings for everything written: ``compression`` (``"gzip"``, ``"lzf"``,
        ``"zstd"``, an hdf5plugin filter, ``None``), ``compression_opts``, ``shuffle``, ``chunks``.
        An object's own ``attrs["hdf5_settings"]`` takes precedence.
    codecs
        Waveform codecs by field path relative to `obj`, e.g.
        ``{"waveform/values": RadwareSigcompress(codec_shift=-32768)}``.

    Example
    -------
    >>> write(Table({"x": Array([1, 2])}), "t", "out.lh5", mode=WriteMode.APPEND)  # doctest: +SKIP
    """
    mode = WriteMode.parse(mode)
    from tierflow.codecs import parse_codec

    parsed = {k.strip("/"): parse_codec(v) for k, v in (codecs or {}).items()}
    path = f"/{group.strip('/')}/{name.strip('/')}".replace("//", "/")
    if isinstance(file, h5py.File):
        ctx = WriteContext(str(file.filename), path, mode, hdf5_settings, parsed)
        deferred = _deferred.get(None)
        if deferred is None:
            _write_top(file, group, name, obj, ctx)
            return
        number = deferred.begin_write()
        try:
            write_object(
                _parent_group(file, group, ctx), name.strip("/"), obj, replace(ctx, chunks=deferred)
            )
        except Exception:  # its chunks are not written; the error goes on
            deferred.cancel(since=number)
            raise
        # the earlier writes' chunks, compressed while this one made its datasets
        deferred.flush(before=number)
        return
    target = Path(file)
    ctx = WriteContext(str(target), path, mode, hdf5_settings, parsed)
    if mode is WriteMode.OVERWRITE_FILE or not target.exists():
        _write_new_file(target, group, name, obj, replace(ctx, mode=WriteMode.CREATE))
        return
    with open_lh5(target, "a") as handle:
        _write_top(handle, group, name, obj, ctx)


def _write_top(
    handle: h5py.File, group: str, name: str, obj: DataObject, ctx: WriteContext
) -> None:
    """Write `obj`, then the chunks compressed in parallel (dropped if the write fails)."""
    with ctx.chunks:
        write_object(_parent_group(handle, group, ctx), name.strip("/"), obj, ctx)


_deferred: contextvars.ContextVar[DirectChunkWriter | None] = contextvars.ContextVar(
    "tierflow_deferred_chunks"
)


@contextmanager
def deferred_chunk_writes(*, copy: bool = True) -> Iterator[DirectChunkWriter]:
    """Overlap chunk compression with the caller's work between writes to open files.

    Inside the block, the whole chunks a :func:`write` into an open ``h5py.File`` compresses
    in parallel are written at the end of the next such write (or when the block ends), so
    they are compressed while the caller reads and processes its next chunk and while the
    next write makes its datasets. Inside the block, read the objects being written only
    after it ends (the writes themselves write a dataset's pending chunks before they read
    it); writes by path (not by open handle) are not deferred. The data written is copied
    first, unless `copy` is False: the caller then leaves the arrays it writes unchanged until
    its next write returns or the block ends.

    Example
    -------
    >>> with h5py.File("out.lh5", "w") as f, deferred_chunk_writes():  # doctest: +SKIP
    ...     for chunk in chunks:
    ...         write(chunk, "t", f, mode=WriteMode.APPEND)
    """
    writer = DirectChunkWriter(copy=copy)  # the caller may reuse its buffers meanwhile
    token = _deferred.set(writer)
    try:
        with writer:
            yield writer
    finally:
        _deferred.reset(token)


def _write_new_file(
    target: Path, group: str, name: str, obj: DataObject, ctx: WriteContext
) -> None:
    with staged_path(target) as temp, h5py.File(temp, "w") as handle:
        _write_top(handle, group, name, obj, ctx)


def delete(name: str, file: FileLike) -> None:
    """Remove the object `name` from `file`."""
    with open_lh5(file, "a") as handle:
        if name not in handle:
            raise NotFoundError(f"no object {name!r}", file=str(file), obj=name)
        del handle[name]
