"""Direct calls into the HDF5 library h5py uses, for the many small objects of event building.

Event building opens a few objects per channel and field and reads each whole; with
hundreds of channels, h5py's per-call wrapping (object registration, locks, type
conversion) costs more than HDF5's own work. :func:`hdf5_calls` binds the few C functions
needed, through ctypes, to the very library instance h5py loaded (looked up from h5py's own
extension module: no second copy of HDF5), on the raw identifiers of h5py's open files.
When that is not possible (HDF5 older than 1.10, a symbol missing) it returns None and the
caller uses h5py's low-level API.

:func:`read_small_fields` reads one field of many tables (one column of every SiPM channel,
say) whole, in one batch under h5py's lock: each object opened, read and closed at once,
the types of a field's datasets compared first with the last type found, jagged arrays of
floating-point numbers opened by their datasets' paths once one of them was found, and
string attributes read in as few calls as lh5's own allow.

Identifiers returned here are owned by the caller, who closes them with :meth:`Calls.close`
before the file is closed.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.lh5._native import Signatures, declared

__all__ = ["Calls", "H5pyCalls", "SmallField", "hdf5_calls", "make_calls", "read_small_fields"]

_BY_NAME = 0  # H5_INDEX_NAME
_INCREASING = 0  # H5_ITER_INC
_PHIL: Any = getattr(importlib.import_module("h5py._objects"), "phil", None)
"""The lock h5py holds around every HDF5 call (HDF5 is not thread-safe)."""
_HID = ctypes.c_int64
_SIZE = ctypes.c_size_t
_INT = ctypes.c_int
_VARIABLE = ctypes.c_size_t(-1).value
_MAX_RANK = 32

_SIGNATURES: Signatures = {
    "H5Oopen": (_HID, [_HID, ctypes.c_char_p, _HID]),
    "H5Dopen2": (_HID, [_HID, ctypes.c_char_p, _HID]),
    "H5Oclose": (_INT, [_HID]),
    "H5Iget_type": (_INT, [_HID]),
    "H5Dget_space": (_HID, [_HID]),
    "H5Dget_type": (_HID, [_HID]),
    "H5Dread": (_INT, [_HID, _HID, _HID, _HID, _HID, ctypes.c_void_p]),
    "H5Sget_simple_extent_dims": (_INT, [_HID, ctypes.c_void_p, ctypes.c_void_p]),
    "H5Sclose": (_INT, [_HID]),
    "H5Tget_class": (_INT, [_HID]),
    "H5Tget_size": (_SIZE, [_HID]),
    "H5Tget_order": (_INT, [_HID]),
    "H5Tget_precision": (_SIZE, [_HID]),
    "H5Tget_sign": (_INT, [_HID]),
    "H5Tget_cset": (_INT, [_HID]),
    "H5Tequal": (_INT, [_HID, _HID]),
    "H5Tis_variable_str": (_INT, [_HID]),
    "H5Tcopy": (_HID, [_HID]),
    "H5Tset_size": (_INT, [_HID, _SIZE]),
    "H5Tset_cset": (_INT, [_HID, _INT]),
    "H5Tclose": (_INT, [_HID]),
    "H5Aopen": (_HID, [_HID, ctypes.c_char_p, _HID]),
    "H5Aopen_by_idx": (_HID, [_HID, ctypes.c_char_p, _INT, _INT, ctypes.c_uint64, _HID, _HID]),
    "H5Aget_name": (ctypes.c_ssize_t, [_HID, _SIZE, ctypes.c_char_p]),
    "H5Aget_type": (_HID, [_HID]),
    "H5Aget_space": (_HID, [_HID]),
    "H5Aread": (_INT, [_HID, _HID, ctypes.c_void_p]),
    "H5Aclose": (_INT, [_HID]),
    "H5free_memory": (_INT, [ctypes.c_void_p]),
}


class Calls:
    """The bound HDF5 functions, with the few operations event building needs.

    Example
    -------
    >>> calls = hdf5_calls()  # doctest: +SKIP
    >>> group = calls.open(handle.id.id, b"ch1084803/hit")  # doctest: +SKIP
    """

    def __init__(self, lib: ctypes.CDLL) -> None:
        """`lib`: HDF5 with the types of ``_SIGNATURES`` declared (:func:`hdf5_calls`)."""
        self._c: dict[str, Any] = {name: getattr(lib, name) for name in _SIGNATURES}
        self._ieee = {size: kind.id for size, kind in _IEEE.items()}
        self._dims = (ctypes.c_uint64 * _MAX_RANK)()
        self._attributes = _Attributes(self._c, self._dims)
        self._batch = _Batch(self._c, self._dims, self._attributes, self._plain)

    def root(self, handle: h5py.File) -> int:
        """The identifier of an open file (its root group)."""
        return int(handle.id.id)

    def open(self, parent: int, name: bytes) -> int | None:
        """Object `name` (a path from `parent`), or None when there is none."""
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            hid: int = self._c["H5Oopen"](parent, name, 0)
            return hid if hid >= 0 else None

    def close(self, hid: int) -> None:
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            self._c["H5Oclose"](hid)

    def is_dataset(self, hid: int) -> bool:
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            return bool(self._c["H5Iget_type"](hid) == h5py.h5i.DATASET)

    def shape(self, dataset: int) -> tuple[int, ...] | None:
        """The dataset's shape (None for a null or too high dataspace)."""
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            rank = _rank(self._c, self._c["H5Dget_space"](dataset), self._dims)
            if rank < 0 or rank > _MAX_RANK:
                return None
            return tuple(int(self._dims[i]) for i in range(rank))

    def plain_dtype(self, dataset: int) -> np.dtype[Any] | None:
        """The numpy dtype of a little-endian IEEE float or integer dataset, else None."""
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            kind = self._c["H5Dget_type"](dataset)
            if kind < 0:
                return None
            try:
                return self._plain(kind)
            finally:
                self._c["H5Tclose"](kind)

    def _plain(self, kind: int) -> np.dtype[Any] | None:
        cls = self._c["H5Tget_class"](kind)
        if cls not in (h5py.h5t.FLOAT, h5py.h5t.INTEGER) or not np.little_endian:
            return None
        size = int(self._c["H5Tget_size"](kind))
        order = self._c["H5Tget_order"](kind)
        if order != h5py.h5t.ORDER_LE or self._c["H5Tget_precision"](kind) != 8 * size:
            return None
        if cls == h5py.h5t.FLOAT:
            standard = self._ieee.get(size)
            if standard is None or self._c["H5Tequal"](kind, standard) <= 0:
                return None
            return np.dtype(f"<f{size}")
        if size not in (1, 2, 4, 8):
            return None
        signed = self._c["H5Tget_sign"](kind) != h5py.h5t.SGN_NONE
        return np.dtype(f"<{'i' if signed else 'u'}{size}")

    def read(self, dataset: int, out: npt.NDArray[Any]) -> bool:
        """Read the whole dataset into `out` (C-contiguous, its shape and a plain dtype);
        False when HDF5 fails (e.g. a filter it cannot apply)."""
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            memory = _memory_type(out.dtype)
            status = self._c["H5Dread"](dataset, memory.id, 0, 0, 0, out.ctypes.data)
            return bool(status >= 0)

    def read_small_fields(
        self, parent: int, paths: Sequence[bytes], max_bytes: int, max_rows: int | None = None
    ) -> list[SmallField | None]:
        """:func:`read_small_fields` with the lock taken once and the fewest calls."""
        limit = _Limit(max_bytes, _NO_LIMIT if max_rows is None else max_rows)
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            return self._batch.read(parent, paths, limit)

    def text_attribute(self, hid: int, name: bytes) -> str | None:
        """The string attribute `name` of object `hid` (None when missing or not a scalar
        string)."""
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            return self._attributes.text(hid, name)

    def string_attributes(self, hid: int) -> dict[str, str] | None:
        """All attributes of object `hid` in name order (as h5py lists them) when each is
        one variable-length string (h5py reads those as ``str``), else None."""
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            return self._attributes.strings(hid)


class _Attributes:
    """String attributes through the bound functions (for :class:`Calls`)."""

    def __init__(self, c: dict[str, Any], dims: Any) -> None:
        self._c, self._dims = c, dims
        self._variable: dict[int, Any] = {}

    def text(self, hid: int, name: bytes) -> str | None:
        """:meth:`Calls.text_attribute` (the caller holds the lock)."""
        attr = self._c["H5Aopen"](hid, name, 0)  # fails quietly when missing
        if attr < 0:
            return None
        try:
            return self._read_text(attr)
        finally:
            self._c["H5Aclose"](attr)

    def datatype(self, hid: int) -> str | None:
        """The ``datatype`` attribute, in fewer calls when it is one variable-length
        string (as lh5 writes it), else as :meth:`text_attribute` reads it."""
        c = self._c
        attr = c["H5Aopen"](hid, b"datatype", 0)  # fails quietly when missing
        if attr < 0:
            return None
        try:
            kind = c["H5Aget_type"](attr)
            try:
                variable = c["H5Tget_class"](kind) == h5py.h5t.STRING and (
                    c["H5Tis_variable_str"](kind) > 0
                )
                cset = c["H5Tget_cset"](kind) if variable else -1
            finally:
                c["H5Tclose"](kind)
            if variable and self._scalar(attr):
                return self._read_variable(attr, self._strings(cset))
            return self._read_text(attr)
        finally:
            c["H5Aclose"](attr)

    def strings(self, hid: int) -> dict[str, str] | None:
        """:meth:`Calls.string_attributes` (the caller holds the lock)."""
        out: dict[str, str] = {}
        while True:
            attr = self._c["H5Aopen_by_idx"](hid, b".", _BY_NAME, _INCREASING, len(out), 0, 0)
            if attr < 0:
                return out  # no more
            try:
                name, value = self._attribute_name(attr), self._variable_text(attr)
            finally:
                self._c["H5Aclose"](attr)
            if name is None or value is None:
                return None
            out[name] = value

    def _attribute_name(self, attr: int) -> str | None:
        size = 256
        while True:
            buffer = ctypes.create_string_buffer(size)
            length = self._c["H5Aget_name"](attr, size, buffer)
            if length < 0:
                return None
            if length < size:
                return buffer.value.decode()
            size = length + 1

    def _variable_text(self, attr: int) -> str | None:
        """The value of a scalar variable-length string attribute, else None."""
        if not self._scalar(attr):
            return None
        kind = self._c["H5Aget_type"](attr)
        try:
            if self._c["H5Tget_class"](kind) != h5py.h5t.STRING:
                return None
            if self._c["H5Tis_variable_str"](kind) <= 0:
                return None  # h5py reads fixed-length strings as bytes
            return self._read_variable(attr, self._strings(self._c["H5Tget_cset"](kind)))
        finally:
            self._c["H5Tclose"](kind)

    def _read_text(self, attr: int) -> str | None:
        if not self._scalar(attr):
            return None  # one string only: the buffers below hold one
        kind = self._c["H5Aget_type"](attr)
        try:
            if self._c["H5Tget_class"](kind) != h5py.h5t.STRING:
                return None
            if self._c["H5Tis_variable_str"](kind) > 0:  # lh5 writes these
                return self._read_variable(attr, self._strings(self._c["H5Tget_cset"](kind)))
            memory = self._c["H5Tcopy"](h5py.h5t.C_S1.id)
            try:
                self._c["H5Tset_cset"](memory, self._c["H5Tget_cset"](kind))
                size = int(self._c["H5Tget_size"](kind)) + 1  # and the terminating null
                self._c["H5Tset_size"](memory, size)
                buffer = ctypes.create_string_buffer(size)
                if self._c["H5Aread"](attr, memory, buffer) < 0:
                    return None
                return buffer.raw.split(b"\0", 1)[0].decode()
            finally:
                self._c["H5Tclose"](memory)
        finally:
            self._c["H5Tclose"](kind)

    def _strings(self, cset: int) -> int:
        """The memory type of variable-length strings of character set `cset` (made once)."""
        if cset not in self._variable:
            kind = h5py.h5t.C_S1.copy()
            kind.set_size(h5py.h5t.VARIABLE)
            kind.set_cset(cset)
            self._variable[cset] = kind  # kept: its identifier is used directly
        return int(self._variable[cset].id)

    def _read_variable(self, attr: int, memory: int) -> str | None:
        pointer = ctypes.c_char_p()
        if self._c["H5Aread"](attr, memory, ctypes.byref(pointer)) < 0:
            return None
        try:
            return None if pointer.value is None else pointer.value.decode()
        finally:
            self._c["H5free_memory"](pointer)

    def _scalar(self, attr: int) -> bool:
        return _rank(self._c, self._c["H5Aget_space"](attr), self._dims) == 0


class _Batch:
    """:meth:`Calls.read_small_fields`: whole small fields of many tables, each object
    opened, read and closed at once, in the fewest calls."""

    def __init__(
        self,
        c: dict[str, Any],
        dims: Any,
        attributes: _Attributes,
        plain: Callable[[int], np.dtype[Any] | None],
    ) -> None:
        self._c, self._dims, self._attributes, self._plain = c, dims, attributes, plain
        self._access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
        self._access.set_chunk_cache(1, 0, 1.0)  # datasets read whole once: no chunk cache
        self._last: dict[int, tuple[Any, np.dtype[Any]]] = {}

    def read(self, parent: int, paths: Sequence[bytes], limit: _Limit) -> list[SmallField | None]:
        """The fields at `paths` (:func:`read_small_fields`; the caller holds the lock)."""
        out: list[SmallField | None] = []
        jagged = False  # the fields of tables alike are alike: try the last one's layout
        for path in paths:
            found = self._jagged_numbers(parent, path, limit) if jagged else None
            if found is None:
                found = self._small_field(parent, path, limit)
            jagged = found is not None and found.offsets is not None and found.datatype is None
            out.append(found)
        return out

    def _jagged_numbers(self, parent: int, path: bytes, limit: _Limit) -> SmallField | None:
        """:meth:`_small_field` of a jagged array of floating-point numbers, its datasets
        opened by their paths (its group is not opened: floats need no attribute); None
        for anything else."""
        offsets = self._small_child(parent, path + b"/cumulative_length", limit, _OFFSETS)
        if offsets is None:
            return None
        values = self._small_child(parent, path + b"/flattened_data", limit.values(), _USUAL)
        if values is None or values.dtype.kind != "f":
            return None
        return SmallField(values, offsets, None)

    def _small_field(self, parent: int, path: bytes, limit: _Limit) -> SmallField | None:
        c = self._c
        hid = c["H5Oopen"](parent, path, 0)
        if hid < 0:
            return None
        try:
            if c["H5Iget_type"](hid) == h5py.h5i.DATASET:
                values = self._small(hid, limit)
                if values is None:
                    return None
                return SmallField(values, None, self._int_kind(hid, values))
            offsets = self._small_child(hid, b"cumulative_length", limit, _OFFSETS)
            values = (
                None
                if offsets is None
                else self._small_child(hid, b"flattened_data", limit.values(), _USUAL)
            )
            if offsets is None or values is None:
                return None
            return SmallField(values, offsets, self._int_kind(hid, values))
        finally:
            c["H5Oclose"](hid)

    def _int_kind(self, hid: int, values: npt.NDArray[Any]) -> str | None:
        return self._attributes.datatype(hid) if values.dtype.kind in "iu" else None

    def _small_child(
        self, group: int, name: bytes, limit: _Limit, usual: _Usual
    ) -> npt.NDArray[Any] | None:
        dataset = self._c["H5Dopen2"](group, name, self._access.id)
        if dataset < 0:
            return None
        try:
            return self._small(dataset, limit, usual)
        finally:
            self._c["H5Oclose"](dataset)

    def _small(
        self, dataset: int, limit: _Limit, usual: _Usual | None = None
    ) -> npt.NDArray[Any] | None:
        """A whole 1-d dataset of plain numbers within `limit`, else None (`usual`: the
        types to try first)."""
        c = self._c
        rank = _rank(c, c["H5Dget_space"](dataset), self._dims)
        kind = c["H5Dget_type"](dataset) if rank == 1 else -1
        if kind < 0:
            return None
        try:
            dtype = self._matched(kind, _USUAL if usual is None else usual)
        finally:
            c["H5Tclose"](kind)
        n = int(self._dims[0])
        if dtype is None or not limit.admits(n, dtype):
            return None
        out = np.empty(n, dtype=dtype)
        address = _address(out) if n else 0
        if n and c["H5Dread"](dataset, _memory_type(dtype).id, 0, 0, 0, address) < 0:
            return None
        return out

    def _matched(self, kind: int, usual: _Usual) -> np.dtype[Any] | None:
        """:meth:`_plain`, trying the `usual` types first, the last one found for them
        first of all (a field of many tables has one type: one comparison for most)."""
        last = self._last.get(id(usual))
        if last is not None and self._c["H5Tequal"](kind, last[0].id) > 0:
            return last[1]
        for standard, dtype in usual:
            if standard is not (last and last[0]) and self._c["H5Tequal"](kind, standard.id) > 0:
                self._last[id(usual)] = (standard, dtype)
                return dtype
        return self._plain(kind)


def _rank(c: dict[str, Any], space: int, dims: Any) -> int:
    """The rank of dataspace `space` (its extent into `dims`), which is closed here; -1 for
    an invalid one."""
    if space < 0:
        return -1
    try:
        return int(c["H5Sget_simple_extent_dims"](space, dims, None))
    finally:
        c["H5Sclose"](space)


def _address(out: npt.NDArray[Any]) -> int:
    """Where the data of `out` (writable, not empty) are (cheaper than ``out.ctypes``)."""
    return ctypes.addressof(ctypes.c_char.from_buffer(out))  # type: ignore[arg-type]


@functools.lru_cache(maxsize=64)
def _memory_type(dtype: np.dtype[Any]) -> Any:
    """h5py's memory type for `dtype` (kept alive here: its identifier is used directly)."""
    return h5py.h5t.py_create(dtype)


@functools.lru_cache(maxsize=1)
def hdf5_calls() -> Calls | None:
    """The bound HDF5 functions, or None when they cannot be bound safely.

    Example
    -------
    >>> calls = hdf5_calls()
    >>> calls is None or hasattr(calls, "open")
    True
    """
    if h5py.version.hdf5_version_tuple < (1, 10, 0) or _PHIL is None:
        return None  # identifiers were 32-bit; or no lock to share with h5py
    lib = declared(h5py.h5o.__file__, _SIGNATURES)  # resolves in h5py's own HDF5
    return None if lib is None else Calls(lib)


class H5pyCalls:
    """:class:`Calls` through h5py's low-level API (identifiers are h5py objects, closed
    when dropped), for when the C functions cannot be bound."""

    def open(self, parent: Any, name: bytes) -> Any:
        try:
            return h5py.h5o.open(parent, name)
        except KeyError:
            return None

    def close(self, hid: Any) -> None:
        """Nothing to do: h5py closes an object when its last reference goes."""

    def is_dataset(self, hid: Any) -> bool:
        return isinstance(hid, h5py.h5d.DatasetID)

    def shape(self, dataset: Any) -> tuple[int, ...] | None:
        return tuple(dataset.shape)

    def plain_dtype(self, dataset: Any) -> np.dtype[Any] | None:
        kind = dataset.get_type()
        cls = kind.get_class()
        if cls not in (h5py.h5t.FLOAT, h5py.h5t.INTEGER) or not np.little_endian:
            return None
        size = kind.get_size()
        if kind.get_order() != h5py.h5t.ORDER_LE or kind.get_precision() != 8 * size:
            return None
        if cls == h5py.h5t.FLOAT:
            standard = _IEEE.get(size)
            return np.dtype(f"<f{size}") if standard and kind.equal(standard) else None
        if size not in (1, 2, 4, 8):
            return None
        signed = kind.get_sign() != h5py.h5t.SGN_NONE
        return np.dtype(f"<{'i' if signed else 'u'}{size}")

    def read(self, dataset: Any, out: npt.NDArray[Any]) -> bool:
        try:
            dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, out, mtype=_memory_type(out.dtype))
        except OSError:
            return False
        return True

    def string_attributes(self, hid: Any) -> dict[str, str] | None:
        """None: h5py's attribute reading is used instead."""
        return None

    def text_attribute(self, hid: Any, name: bytes) -> str | None:
        try:
            attr = h5py.h5a.open(hid, name)
        except KeyError:
            return None
        kind = attr.get_type()
        if kind.get_class() != h5py.h5t.STRING or attr.shape != ():
            return None
        if kind.is_variable_str():
            text = np.empty((), dtype=h5py.string_dtype())
        else:
            text = np.empty((), dtype=f"S{kind.get_size()}")
        attr.read(text)
        value = text[()]
        return value.decode() if isinstance(value, bytes) else str(value)

    def root(self, handle: h5py.File) -> Any:
        return handle.id


_IEEE = {2: h5py.h5t.IEEE_F16LE, 4: h5py.h5t.IEEE_F32LE, 8: h5py.h5t.IEEE_F64LE}
_Usual = Sequence[tuple[Any, np.dtype[Any]]]
_USUAL: _Usual = [
    (h5py.h5t.IEEE_F64LE, np.dtype("<f8")),
    (h5py.h5t.STD_I64LE, np.dtype("<i8")),
    (h5py.h5t.STD_U8LE, np.dtype("<u1")),
    (h5py.h5t.IEEE_F32LE, np.dtype("<f4")),
]
"""Types of most evt inputs, most common first (values, offsets, booleans)."""
_OFFSETS: _Usual = [_USUAL[1], _USUAL[0], *_USUAL[2:]]
"""The same, for the offsets of jagged arrays."""


def make_calls() -> Calls | H5pyCalls:
    """The fastest way to make the calls here: the bound C functions, else h5py's API.

    Example
    -------
    >>> calls = make_calls()
    >>> hasattr(calls, "read")
    True
    """
    return hdf5_calls() or H5pyCalls()


@dataclass(frozen=True)
class SmallField:
    """A whole field of a table, read at once: a plain 1-d dataset (`offsets` None) or a
    jagged array (its offsets and values), with the lh5 ``datatype`` attribute when the
    values are integers (booleans are stored as integers)."""

    values: npt.NDArray[Any]
    offsets: npt.NDArray[Any] | None
    datatype: str | None


def read_small_fields(
    calls: Calls | H5pyCalls,
    parent: Any,
    paths: Sequence[bytes],
    max_bytes: int,
    max_rows: int | None = None,
) -> list[SmallField | None]:
    """The fields at `paths` (from `parent`) read whole, each object closed once read;
    None for a field that is missing, not a 1-d dataset or plain jagged array of
    little-endian numbers, or larger than `max_bytes` or, but for the values of jagged
    arrays, `max_rows` (left to slower, checking paths).

    Example
    -------
    >>> calls = make_calls()
    >>> read_small_fields(calls, calls.root(handle), [b"ch1/hit/AoE"], 2**20)  # doctest: +SKIP
    [SmallField(values=array([...]), offsets=None, datatype='array<1>{real}')]
    """
    if isinstance(calls, Calls):
        return calls.read_small_fields(parent, paths, max_bytes, max_rows)
    limit = _Limit(max_bytes, _NO_LIMIT if max_rows is None else max_rows)
    return [_small_field(calls, parent, path, limit) for path in paths]


@dataclass(frozen=True)
class _Limit:
    """The largest dataset :func:`read_small_fields` reads."""

    bytes: int
    rows: int

    def admits(self, n: int, dtype: np.dtype[Any]) -> bool:
        return n <= self.rows and n * dtype.itemsize <= self.bytes

    def values(self) -> _Limit:
        """The limit for the values of a jagged array (bytes only)."""
        return _Limit(self.bytes, _NO_LIMIT)


_NO_LIMIT = 2**62


def _small_field(calls: Any, parent: Any, path: bytes, limit: _Limit) -> SmallField | None:
    hid = calls.open(parent, path)
    if hid is None:
        return None
    try:
        if calls.is_dataset(hid):
            values = _small_dataset(calls, hid, limit)
            if values is None:
                return None
            return SmallField(values, None, _int_kind(calls, hid, values))
        offsets = _small_child(calls, hid, b"cumulative_length", limit)
        values = (
            None if offsets is None else _small_child(calls, hid, b"flattened_data", limit.values())
        )
        if offsets is None or values is None:
            return None
        return SmallField(values, offsets, _int_kind(calls, hid, values))
    finally:
        calls.close(hid)


def _int_kind(calls: Any, hid: Any, values: npt.NDArray[Any]) -> str | None:
    """The ``datatype`` attribute of `hid` when `values` are integers (else not read)."""
    return calls.text_attribute(hid, b"datatype") if values.dtype.kind in "iu" else None


def _small_child(calls: Any, group: Any, name: bytes, limit: _Limit) -> npt.NDArray[Any] | None:
    hid = calls.open(group, name)
    if hid is None:
        return None
    try:
        return _small_dataset(calls, hid, limit) if calls.is_dataset(hid) else None
    finally:
        calls.close(hid)


def _small_dataset(calls: Any, hid: Any, limit: _Limit) -> npt.NDArray[Any] | None:
    shape = calls.shape(hid)
    dtype = None if shape is None or len(shape) != 1 else calls.plain_dtype(hid)
    if shape is None or dtype is None or not limit.admits(shape[0], dtype):
        return None
    out = np.empty(shape, dtype=dtype)
    if out.size and not calls.read(hid, out):
        return None
    return out
