"""A new LH5 file written without the HDF5 library: the object tree is kept here, chunks are
compressed in threads and appended to the file as they are cut, and the metadata (object
headers, chunk B-trees, a global heap of strings, the superblock) is written once at the end.

Why: through HDF5, each object of a file costs 50 to 150 µs to make (a dataset, an attribute, a
link), and each append to a chunked dataset reads and rewrites its metadata. A raw-tier file
of a small DAQ file is made of tens to hundreds of objects written a few hundred rows at a
time: that bookkeeping, not decoding or compression, was most of its time. Here an object is
a Python record until :meth:`FileImage.close`, and a row append is a list append.

The file is an ordinary HDF5 file (see :mod:`~tierflow.lh5._h5format` for the structures):
h5py reads it, appends to it and adds objects to it as to any other. The datasets have the
chunks, filters and types the HDF5 path gives them (the same :func:`dataset_kwargs`), and the
stored chunk bytes are those that path writes; one exception: a dataset that never filled a
chunk is one chunk of its own rows (the image knows its last rows at close, HDF5 does not at
creation), unless the settings ask for chunks. What is not written here (filters other than
shuffle, deflate and Zstd; variable-length string arrays; enum, complex or compound types) is
refused by :meth:`FileImage.supports` before anything changes: the caller then closes the
image and goes on through h5py, in the same file.

Example
-------
>>> with FileImage("raw.lh5") as image:  # doctest: +SKIP
...     for table in tables:
...         image.write(table, "ch0/raw", mode=WriteMode.APPEND)
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Union

import numpy as np

from tierflow.cores import idle_cores
from tierflow.errors import MismatchError
from tierflow.lh5 import _h5format as fmt
from tierflow.lh5._chunks import (
    DEFLATE_ENGINES,
    FILTER_DEFLATE,
    FILTER_SHUFFLE,
    FILTER_ZSTD,
    POOL_MIN_BYTES,
    Compress,
    DeflatePipeline,
    StoredLayout,
    _deflate,
    _Job,
    _padded,
    _pool,
    _zstd,
    shuffle_bytes,
)
from tierflow.lh5._settings import WriteMode, dataset_kwargs, fast_write_settings
from tierflow.lh5._write import (
    WRITER_ONLY_ATTRS,
    ObjectExistsError,
    _attrs_for_disk,
    _data_bytes,
    encoded,
    merged_settings,
    own_codec,
)
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

__all__ = ["FileImage"]

_NUMERIC = frozenset("biuf")


@dataclass
class _Group:
    attrs: dict[str, Any] = field(default_factory=dict)
    children: dict[str, _Node] = field(default_factory=dict)


@dataclass
class _Scalar:
    value: np.ndarray[Any, Any] | str
    attrs: dict[str, Any] = field(default_factory=dict)


class _Raw:
    """An unfiltered chunk: its bytes as they are (the interface of a compression job)."""

    def __init__(self, chunk: np.ndarray[Any, Any], rows: int, shuffle: bool) -> None:
        full = _padded(chunk, rows) if len(chunk) < rows else chunk
        size = chunk.dtype.itemsize
        self.data = (shuffle_bytes(full, size) if shuffle else full.reshape(-1)).tobytes()

    def result(self) -> bytes:
        return self.data


class _Chunked:
    """A chunked dataset: the chunks written so far, and the rows of the last, partial one."""

    def __init__(
        self, first: np.ndarray[Any, Any], settings: Mapping[str, Any] | None, engine: _Engine
    ) -> None:
        kwargs = dataset_kwargs(first.shape, first.dtype, settings)
        self.dtype = first.dtype
        self.chunks = tuple(int(c) for c in kwargs["chunks"])
        self.chunks_given = bool(settings and settings.get("chunks"))
        """Chunks the settings asked for (kept whatever the rows)."""
        self.filters, self.pipe = _pipeline(kwargs, first.dtype.itemsize, engine)
        self.attrs: dict[str, Any] = {}
        self.row_shape = first.shape[1:]
        self.cut = 0
        """Rows in chunks already given to the file."""
        self.tail = first[:0].copy()
        self.entries: list[fmt.ChunkEntry] = []

    @property
    def rows(self) -> int:
        return self.cut + len(self.tail)

    def add_rows(self, data: np.ndarray[Any, Any], copy: bool) -> list[tuple[int, Any]]:
        """Append `data`; returns (first row, job) of each chunk it completes."""
        rows = self.chunks[0]
        if data.dtype != self.dtype:  # converted as h5py converts (numpy's casting)
            data = data.astype(self.dtype)
        jobs: list[tuple[int, Any]] = []
        if len(self.tail):  # the partial chunk: these rows make it up (or add to it)
            head = min(rows - len(self.tail), len(data))
            joined = np.concatenate([self.tail, data[:head]], dtype=self.dtype)  # byte order kept
            data = data[head:]
            if len(joined) < rows:
                self.tail = joined
                return jobs
            jobs.append((self.cut, self._job(joined)))
            self.cut += rows
        full = len(data) // rows * rows
        for start in range(0, full, rows):
            chunk = data[start : start + rows]
            jobs.append((self.cut + start, self._job(chunk.copy() if copy else chunk)))
        self.cut += full
        self.tail = data[full:].copy()
        return jobs

    def finish(self) -> tuple[int, Any] | None:
        """The job of the last, partial chunk (written padded, as HDF5 does), if any.

        A dataset that never filled a chunk gets one chunk of its own rows: no padding to
        compress and store, as h5py chooses for a dataset written once (the anchors' files).
        """
        if not len(self.tail):
            return None
        if self.cut == 0 and not self.chunks_given:
            self.chunks = (len(self.tail), *self.chunks[1:])
        start, job = self.cut, self._job(self.tail)
        self.cut += len(self.tail)
        self.tail = self.tail[:0]
        return start, job

    def _job(self, chunk: np.ndarray[Any, Any]) -> Any:
        if self.pipe is None:
            return _Raw(chunk, self.chunks[0], shuffle=bool(self.filters))
        return _Job(chunk, self.chunks[0], self.pipe)


_Node = Union[_Group, _Scalar, _Chunked]


def _filters(kwargs: Mapping[str, Any], itemsize: int) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """The (filter, client values) of a dataset made with `kwargs`, as HDF5 records them."""
    found: list[tuple[int, tuple[int, ...]]] = []
    if kwargs.get("shuffle"):
        found.append((FILTER_SHUFFLE, (itemsize,)))
    compression, opts = kwargs.get("compression"), kwargs.get("compression_opts")
    values = () if opts is None else tuple(opts) if isinstance(opts, (tuple, list)) else (opts,)
    if compression == "gzip":
        found.append((FILTER_DEFLATE, values or (4,)))
    elif compression == FILTER_ZSTD:
        found.append((FILTER_ZSTD, tuple(int(v) for v in values)))
    elif compression is not None:
        raise _UnsupportedError(f"filter {compression!r}")
    return tuple(found)


class _Engine(NamedTuple):
    """The deflate implementation and level of the :class:`FastWrite` settings in force."""

    compress: Compress
    level: int | None


_ZLIB = _Engine(zlib.compress, None)
Filters = tuple[tuple[int, tuple[int, ...]], ...]


def _pipeline(
    kwargs: Mapping[str, Any], itemsize: int, engine: _Engine = _ZLIB
) -> tuple[Filters, DeflatePipeline | None]:
    """The filters of a dataset made with `kwargs` and the pipeline that writes its chunks
    (None: no filters, or shuffle alone); `_UnsupportedError` if no pipeline here makes them."""
    opts = kwargs.get("compression_opts")
    key = (kwargs.get("compression"), opts if not isinstance(opts, list) else tuple(opts))
    return _cached_pipeline(
        *key, bool(kwargs.get("shuffle")), itemsize, kwargs["chunks"][0], engine
    )


@lru_cache(maxsize=256)
def _cached_pipeline(
    compression: Any, opts: Any, shuffle: bool, itemsize: int, rows: int, engine: _Engine
) -> tuple[Filters, DeflatePipeline | None]:
    kwargs = {"compression": compression, "compression_opts": opts, "shuffle": shuffle}
    filters = _filters(kwargs, itemsize)
    if not filters or filters == ((FILTER_SHUFFLE, (itemsize,)),):
        return filters, None
    layout = StoredLayout(filters, itemsize, int(rows))
    pipe = _deflate(layout, engine.compress, engine.level) or _zstd(layout)
    if pipe is None:
        raise _UnsupportedError(f"filters {filters}")
    return filters, pipe


class _UnsupportedError(Exception):
    """Something :class:`FileImage` does not write (h5py does)."""


def _attr_ok(value: Any) -> bool:
    return isinstance(value, (str, bool, int, float, np.bool_, np.integer, np.floating))


def _array_ok(nda: Any) -> bool:
    if not isinstance(nda, np.ndarray) or nda.ndim < 1 or nda.dtype.fields is not None:
        return False
    return nda.dtype.kind in _NUMERIC or (nda.dtype.kind == "S" and nda.dtype.itemsize > 0)


def _supported(obj: DataObject, settings: Mapping[str, Any] | None) -> bool:
    """Whether every part of `obj` is written here (checked before anything is written)."""
    own_attrs = obj.attrs
    if not all(
        _attr_ok(v) for k, v in own_attrs.items() if k not in WRITER_ONLY_ATTRS and v is not None
    ):
        return False
    settings = merged_settings(obj, settings)
    if isinstance(obj, Histogram):
        return _supported(obj.to_struct(), settings)
    if isinstance(obj, (ArrayOfEncodedEqualSizedArrays, VectorOfEncodedVectors)):
        size = obj.decoded_size
        return _supported(obj.encoded_data, settings) and (
            not isinstance(size, DataObject) or _supported(size, settings)
        )
    if isinstance(obj, (ArrayOfEqualSizedArrays, VectorOfVectors)) and own_codec(obj) is not None:
        return _settings_ok(settings)  # encoded: byte content and integer sizes
    if isinstance(obj, VectorOfVectors):
        return _supported(obj.flattened_data, settings) and _supported(
            obj.cumulative_length, settings
        )
    if isinstance(obj, Struct):
        return all(_supported(value, settings) for _, value in obj.items())
    if isinstance(obj, Array):
        return _array_ok(obj.nda) and _settings_ok(settings, obj.nda.shape, obj.nda.dtype)
    if isinstance(obj, Scalar):
        return isinstance(obj.value, str) or np.asarray(obj.value).dtype.kind in "biuf"
    return False


def _settings_ok(
    settings: Mapping[str, Any] | None,
    shape: tuple[int, ...] = (1,),
    dtype: np.dtype[Any] | None = None,
) -> bool:
    dtype = np.dtype("u1") if dtype is None else dtype
    try:
        _pipeline(dataset_kwargs(shape, dtype, settings), max(dtype.itemsize, 1))
    except _UnsupportedError:
        return False
    return True


class FileImage:
    """A new LH5 file being written (see the module's text); :meth:`close` makes it whole.

    Parameters
    ----------
    path
        The file made (replaced if it exists).
    hdf5_settings
        Dataset settings for everything written (as :func:`~tierflow.lh5.write`'s).
    copy
        Copy the rows written; when False, the caller leaves the arrays it writes unchanged
        until its next write returns or the image is closed (their chunks are compressed
        meanwhile).

    Example
    -------
    >>> with FileImage("out.lh5") as image:  # doctest: +SKIP
    ...     image.write(Table({"x": Array([1.0, 2.0])}), "t")
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        hdf5_settings: Mapping[str, Any] | None = None,
        *,
        copy: bool = True,
    ) -> None:
        self.path = os.fspath(path)
        self.settings = hdf5_settings
        self.copy = copy
        self.root = _Group()
        self._file = open(self.path, "wb")  # noqa: SIM115 - open until close()
        self._file.write(b"\0" * fmt.SUPERBLOCK_SIZE)  # the superblock goes here at the end
        self._end = fmt.SUPERBLOCK_SIZE
        self._pending: list[tuple[_Chunked, tuple[int, ...], Any, int]] = []
        self._writes = 0
        settings = fast_write_settings()
        self.engine = _Engine(DEFLATE_ENGINES[settings.engine](), settings.level)
        # as DirectChunkWriter's: this thread compresses too (chunks no pool thread started)
        self._pool = _pool(settings.threads or max(1, idle_cores() - 1))

    def supports(self, obj: DataObject) -> bool:
        """Whether :meth:`write` writes `obj` (False: write it through h5py)."""
        return _supported(obj, self.settings)

    def write(
        self, obj: DataObject, name: str, group: str = "/", mode: WriteMode = WriteMode.APPEND
    ) -> None:
        """Write `obj` as `group/name`: appended to rows written before (``APPEND``),
        replacing them (``OVERWRITE``), or new (``CREATE``: it must not be there)."""
        parent = self.group(group)
        *parents, leaf = [p for p in name.strip("/").split("/") if p]
        for part in parents:
            parent = _child_group(parent, part)
        if mode is WriteMode.CREATE and leaf in parent.children:
            raise ObjectExistsError(
                f"{group.rstrip('/')}/{name} was written already (write with mode OVERWRITE "
                "or APPEND)"
            )
        self._writes += 1
        _write_node(self, parent, leaf, obj, mode, self.settings)
        # the chunks of earlier writes: compressed while this one was made
        self._write_out(before=self._writes)

    def group(self, path: str) -> _Group:
        """The group at `path`, made with its parents if needed."""
        node = self.root
        for part in (p for p in path.strip("/").split("/") if p):
            node = _child_group(node, part)
        return node

    def mark_structs(self, group: str, name: str) -> None:
        """Give the groups of an ``a/b`` `name` the ``struct{...}`` datatype of their members."""
        node = self.group(group)
        for part in name.strip("/").split("/")[:-1]:
            node = _child_group(node, part)
            node.attrs["datatype"] = "struct{" + ",".join(sorted(node.children)) + "}"

    def _submit(self, ds: _Chunked, first_row: int, job: Any) -> None:
        """Queue a chunk: compressed in the pool from now if large, written when the write
        after this one ends."""
        offset = (first_row,) + (0,) * len(ds.row_shape)
        if isinstance(job, _Job) and job.args[0].nbytes >= POOL_MIN_BYTES:
            job.start(self._pool)
        self._pending.append((ds, offset, job, self._writes))

    def _compress_pending(self) -> None:
        """Compress the chunks not yet written: small ones on this thread first (in the pool,
        a small chunk's Python steps would contend for the GIL with this thread's), then the
        large ones the pool has not started, from the last."""
        jobs = [job for _, _, job, _ in self._pending if isinstance(job, _Job)]
        for job in jobs:
            if job.future is None:
                job.help()
        for job in reversed(jobs):
            job.help()

    def _write_out(self, before: int | None = None) -> None:
        keep = []
        for ds, offset, job, number in self._pending:
            if before is not None and number >= before:
                keep.append((ds, offset, job, number))
                continue
            data = job.result()
            size = len(data) if isinstance(data, bytes) else int(data.nbytes)
            self._file.write(data)
            ds.entries.append(fmt.ChunkEntry(offset, self._end, size))
            self._end += size
        self._pending = keep

    def close(self) -> None:
        """Write the last chunks and the metadata; the file is then a whole HDF5 file."""
        if self._file.closed:
            return
        try:
            for ds in _datasets(self.root):
                last = ds.finish()
                if last is not None:
                    self._submit(ds, *last)
            self._compress_pending()
            self._write_out()
            root = _Metadata(self._end).lay_out(self.root)
            self._file.write(root.data)
            self._file.seek(0)
            self._file.write(fmt.superblock(root.eof, root.address))
        finally:
            self._file.close()

    def discard(self) -> None:
        """Stop, and remove the file (its pending chunks are dropped)."""
        for _, _, job, _ in self._pending:
            if isinstance(job, _Job):
                job.cancel()
        self._pending = []
        self._file.close()
        Path(self.path).unlink(missing_ok=True)

    def __enter__(self) -> FileImage:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Made whole, or removed if the block failed."""
        if kind is None:
            self.close()
        else:
            self.discard()


def _child_group(parent: _Group, name: str) -> _Group:
    node = parent.children.get(name)
    if node is None:
        node = parent.children[name] = _Group()
    if not isinstance(node, _Group):
        raise MismatchError(f"{name!r} is a dataset, not a group")
    return node


def _datasets(group: _Group) -> Iterator[_Chunked]:
    for node in group.children.values():
        if isinstance(node, _Chunked):
            yield node
        elif isinstance(node, _Group):
            yield from _datasets(node)


# ---- the LH5 types, each written into the tree -------------------------------------------


def _write_node(
    image: FileImage,
    parent: _Group,
    name: str,
    obj: DataObject,
    mode: WriteMode,
    settings: Mapping[str, Any] | None,
) -> None:
    settings = merged_settings(obj, settings)
    codec = own_codec(obj)
    if codec is not None:
        obj = encoded(obj, codec) or obj
    for kind, writer in _WRITERS:
        if isinstance(obj, kind):
            writer(image, parent, name, obj, mode, settings)
            return
    raise _UnsupportedError(type(obj).__name__)


def _group_for(parent: _Group, name: str, obj: DataObject, mode: WriteMode) -> tuple[_Group, bool]:
    """The group `obj` goes into, and whether it held rows already (appended to)."""
    node = parent.children.get(name)
    if isinstance(node, _Group) and mode is WriteMode.APPEND:
        on_disk = node.attrs.get("datatype")
        if (
            on_disk is not None
            and isinstance(
                obj, (VectorOfVectors, ArrayOfEncodedEqualSizedArrays, VectorOfEncodedVectors)
            )
            and on_disk != str(obj.datatype)
        ):
            raise MismatchError(f"cannot append a {obj.datatype} to a {on_disk}")
        return node, True
    if node is not None and mode is WriteMode.APPEND:
        raise MismatchError(f"cannot append a {obj.datatype} to a dataset")
    node = parent.children[name] = _Group(attrs=_attrs_for_disk(obj))
    return node, False


def _write_struct(
    image: FileImage, parent: _Group, name: str, obj: Any, mode: WriteMode, settings: Any
) -> None:
    if isinstance(obj, Histogram):
        obj = obj.to_struct()
        mode = WriteMode.OVERWRITE
    group, existed = _group_for(parent, name, obj, mode)
    if existed and isinstance(obj, Table) and set(group.children) != set(obj.keys()):
        differ = sorted(set(group.children) ^ set(obj.keys()))
        raise MismatchError(f"appended table differs from the one written in {differ}")
    for field_name, value in sorted(obj.items(), key=lambda item: -_data_bytes(item[1])):
        _write_node(
            image, group, field_name, value, mode if existed else WriteMode.CREATE, settings
        )
    if existed and not isinstance(obj, Table):
        kind, _, fields = str(group.attrs.get("datatype", "struct{}")).partition("{")
        names = [f for f in fields.rstrip("}").split(",") if f]
        names += [f for f in obj if f not in names]
        group.attrs["datatype"] = f"{kind}{{{','.join(names)}}}"


def _write_vov(
    image: FileImage, parent: _Group, name: str, obj: Any, mode: WriteMode, settings: Any
) -> None:
    group, existed = _group_for(parent, name, obj, mode)
    offsets = obj.cumulative_length.nda
    if existed:
        offsets = offsets + offsets.dtype.type(_rows(group.children["flattened_data"]))
    _write_node(image, group, "flattened_data", obj.flattened_data, mode, settings)
    column = Array(offsets, attrs=obj.cumulative_length.attrs)
    _write_node(image, group, "cumulative_length", column, mode, settings)


def _rows(node: _Node) -> int:
    """Rows of a written object (a vector's: its offsets')."""
    if isinstance(node, _Chunked):
        return node.rows
    if isinstance(node, _Group) and "cumulative_length" in node.children:
        return _rows(node.children["cumulative_length"])
    raise MismatchError("the content of a vector on disk is not an array or a vector")


def _write_encoded(
    image: FileImage, parent: _Group, name: str, obj: Any, mode: WriteMode, settings: Any
) -> None:
    group, existed = _group_for(parent, name, obj, mode)
    if existed:
        ours = {k: str(v) for k, v in _attrs_for_disk(obj).items() if k.startswith("codec")}
        on_disk = {k: str(v) for k, v in group.attrs.items() if k.startswith("codec")}
        if ours != on_disk:
            raise MismatchError(f"appending {ours} encoded data to {on_disk}")
    _write_vov(image, group, "encoded_data", obj.encoded_data, mode, settings)
    if isinstance(obj, ArrayOfEncodedEqualSizedArrays):
        old = group.children.get("decoded_size")
        if existed and isinstance(old, _Scalar) and int(np.asarray(old.value)) != obj.decoded_size:
            raise MismatchError("appended waveforms differ in length from those written")
        size = Scalar(np.int64(obj.decoded_size))  # int64, as legend-lh5io writes it
        _write_scalar(image, group, "decoded_size", size, WriteMode.OVERWRITE, settings)
    else:
        _write_node(image, group, "decoded_size", obj.decoded_size, mode, settings)


def _write_array(
    image: FileImage, parent: _Group, name: str, obj: Any, mode: WriteMode, settings: Any
) -> None:
    data = np.asarray(obj.nda)
    if data.dtype.kind == "b":  # LEGEND stores bool arrays as uint8
        data = data.view(np.uint8)
    node = parent.children.get(name)
    if node is None or mode is not WriteMode.APPEND:
        node = parent.children[name] = _Chunked(data, settings, image.engine)
        node.attrs = _attrs_for_disk(obj)
    elif not isinstance(node, _Chunked):
        raise MismatchError(f"cannot append an array to {node.attrs.get('datatype', 'a group')}")
    elif node.row_shape != data.shape[1:]:
        raise MismatchError(f"rows of shape {data.shape[1:]} do not fit {node.row_shape} written")
    elif node.attrs.get("datatype") not in (None, str(obj.datatype)):
        raise MismatchError(f"cannot append a {obj.datatype} to a {node.attrs['datatype']}")
    elif (node.dtype.kind == "S") != (data.dtype.kind == "S"):
        raise MismatchError(f"cannot append {data.dtype} values to {node.dtype} written")
    for first_row, job in node.add_rows(data, image.copy):
        image._submit(node, first_row, job)


def _write_scalar(
    image: FileImage, parent: _Group, name: str, obj: Any, mode: WriteMode, settings: Any
) -> None:
    value = obj.value if isinstance(obj.value, str) else np.asarray(obj.value)
    parent.children[name] = _Scalar(value, _attrs_for_disk(obj))


_WRITERS: list[tuple[type, Any]] = [
    (Histogram, _write_struct),
    (ArrayOfEncodedEqualSizedArrays, _write_encoded),
    (VectorOfEncodedVectors, _write_encoded),
    (VectorOfVectors, _write_vov),
    (Struct, _write_struct),
    (Array, _write_array),
    (Scalar, _write_scalar),
]


# ---- the metadata, laid out at the end of the file -----------------------------------------


@dataclass
class _LaidOut:
    data: bytes
    address: int
    """Of the root group's object header."""
    eof: int


class _Metadata:
    """Object headers, chunk B-trees, strings and scalar values, laid out from `start`."""

    _HEAP_OBJECTS = 4096  # per collection (HDF5 numbers a collection's objects in 16 bits)

    def __init__(self, start: int) -> None:
        self.start = start
        self.parts: list[bytes] = []
        self.size = 0
        self.strings: list[tuple[int, int]] = []  # (collection, index) of each string, in order
        self.next_string = 0

    def _put(self, data: bytes) -> int:
        address = self.start + self.size
        self.parts.append(data)
        self.size += len(data)
        return address

    def lay_out(self, root: _Group) -> _LaidOut:
        strings = list(_strings(root))
        for first in range(0, len(strings), self._HEAP_OBJECTS):
            batch = strings[first : first + self._HEAP_OBJECTS]
            address = self._put(fmt.global_heap(batch))
            self.strings += [(address, i) for i in range(1, len(batch) + 1)]
        address = self._group(root)
        return _LaidOut(b"".join(self.parts), address, self.start + self.size)

    def _string(self, text: str) -> bytes:
        """The 16-byte reference to the next string of the heap (strings are met in the order
        :func:`_strings` gave them)."""
        collection, index = self.strings[self.next_string]
        self.next_string += 1
        return struct.pack("<IQI", len(text.encode("utf-8")), collection, index)

    def _attributes(self, attrs: Mapping[str, Any]) -> list[tuple[int, bytes, int]]:
        scalar = fmt.dataspace_message((), None)
        messages = []
        for key, value in attrs.items():
            if isinstance(value, str):
                kind, raw = fmt.datatype_message(fmt.VLEN_STRING), self._string(value)
            else:
                number = np.asarray(value)
                kind, raw = fmt.datatype_message(number.dtype), number.tobytes()
            messages.append((fmt.ATTRIBUTE, fmt.attribute_message(key, kind, scalar, raw), 0))
        return messages

    def _node(self, node: _Node) -> int:
        if isinstance(node, _Group):
            return self._group(node)
        if isinstance(node, _Scalar):
            return self._scalar(node)
        return self._dataset(node)

    def _group(self, group: _Group) -> int:
        links = [(name, self._node(child)) for name, child in group.children.items()]
        messages = fmt.group_messages()
        messages += [(fmt.LINK, fmt.link_message(name, address), 0) for name, address in links]
        return self._put(fmt.object_header(messages + self._attributes(group.attrs)))

    def _scalar(self, node: _Scalar) -> int:
        string = isinstance(node.value, str)
        if isinstance(node.value, str):
            kind, raw = fmt.datatype_message(fmt.VLEN_STRING), self._string(node.value)
        else:
            kind, raw = fmt.datatype_message(node.value.dtype), node.value.tobytes()
        address = self._put(raw + b"\0" * (-len(raw) % 8))
        messages = [
            (fmt.DATASPACE, fmt.dataspace_message((), None), 0),
            (fmt.DATATYPE, kind, fmt.CONSTANT),
            (fmt.FILL_VALUE, fmt.fill_value_message(False, vlen=string), fmt.CONSTANT),
            (fmt.LAYOUT, fmt.contiguous_layout_message(address, len(raw)), 0),
        ]
        return self._put(fmt.object_header(messages + self._attributes(node.attrs)))

    def _dataset(self, ds: _Chunked) -> int:
        itemsize = ds.dtype.itemsize
        btree = fmt.UNDEFINED
        if ds.entries:
            nodes = fmt.chunk_btree_nodes(ds.entries, itemsize, self.start + self.size)
            btree = self._put(b"".join(nodes))
        shape = (ds.rows, *ds.row_shape)
        messages = [
            (fmt.DATASPACE, fmt.dataspace_message(shape, (None, *ds.row_shape)), 0),
            (fmt.DATATYPE, fmt.datatype_message(ds.dtype), fmt.CONSTANT),
            (fmt.FILL_VALUE, fmt.fill_value_message(chunked=True), fmt.CONSTANT),
        ]
        if ds.filters:
            messages.append(
                (fmt.FILTER_PIPELINE, fmt.filter_pipeline_message(ds.filters), fmt.CONSTANT)
            )
        messages.append((fmt.LAYOUT, fmt.chunked_layout_message(btree, ds.chunks, itemsize), 0))
        return self._put(fmt.object_header(messages + self._attributes(ds.attrs)))


def _strings(group: _Group) -> Iterator[bytes]:
    """Every string of the tree, in the order :class:`_Metadata` lays them out: a group's
    children first, then its own attributes."""
    for child in group.children.values():
        if isinstance(child, _Group):
            yield from _strings(child)
            continue
        if isinstance(child, _Scalar) and isinstance(child.value, str):
            yield child.value.encode("utf-8")
        yield from (v.encode("utf-8") for v in child.attrs.values() if isinstance(v, str))
    yield from (v.encode("utf-8") for v in group.attrs.values() if isinstance(v, str))
