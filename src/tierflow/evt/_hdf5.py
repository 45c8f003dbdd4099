"""Direct calls into the HDF5 library h5py uses, for the many small objects of event building.

Event building opens a few objects per channel and field and reads each whole; with
hundreds of channels, h5py's per-call wrapping (object registration, locks, type
conversion) costs more than HDF5's own work. :func:`hdf5_calls` binds the few C functions
needed, through ctypes, to the very library instance h5py loaded (looked up from h5py's own
extension module: no second copy of HDF5), on the raw identifiers of h5py's open files.
When that is not possible (HDF5 older than 1.10, a symbol missing) it returns None and the
caller uses h5py's low-level API.

Identifiers returned here are owned by the caller, who closes them with :meth:`Calls.close`
before the file is closed.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.lh5._native import Signatures, declared

__all__ = ["Calls", "H5pyCalls", "hdf5_calls", "make_calls"]

_PHIL: Any = getattr(importlib.import_module("h5py._objects"), "phil", None)
"""The lock h5py holds around every HDF5 call (HDF5 is not thread-safe)."""
_HID = ctypes.c_int64
_SIZE = ctypes.c_size_t
_INT = ctypes.c_int
_VARIABLE = ctypes.c_size_t(-1).value
_MAX_RANK = 32

_SIGNATURES: Signatures = {
    "H5Oopen": (_HID, [_HID, ctypes.c_char_p, _HID]),
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
    "H5Aexists": (_INT, [_HID, ctypes.c_char_p]),
    "H5Aopen": (_HID, [_HID, ctypes.c_char_p, _HID]),
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
            space = self._c["H5Dget_space"](dataset)
            if space < 0:
                return None
            try:
                rank = self._c["H5Sget_simple_extent_dims"](space, self._dims, None)
            finally:
                self._c["H5Sclose"](space)
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

    def text_attribute(self, hid: int, name: bytes) -> str | None:
        """The string attribute `name` of object `hid` (None when missing or not a scalar
        string)."""
        with _PHIL:  # h5py's lock: HDF5 is called from one thread at a time
            if self._c["H5Aexists"](hid, name) <= 0:
                return None
            attr = self._c["H5Aopen"](hid, name, 0)
            if attr < 0:
                return None
            try:
                return self._read_text(attr)
            finally:
                self._c["H5Aclose"](attr)

    def _read_text(self, attr: int) -> str | None:
        if not self._scalar(attr):
            return None  # one string only: the buffers below hold one
        kind = self._c["H5Aget_type"](attr)
        try:
            if self._c["H5Tget_class"](kind) != h5py.h5t.STRING:
                return None
            memory = self._c["H5Tcopy"](h5py.h5t.C_S1.id)
            try:
                self._c["H5Tset_cset"](memory, self._c["H5Tget_cset"](kind))
                if self._c["H5Tis_variable_str"](kind) > 0:
                    return self._read_variable(attr, memory)
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

    def _read_variable(self, attr: int, memory: int) -> str | None:
        self._c["H5Tset_size"](memory, _VARIABLE)
        pointer = ctypes.c_char_p()
        if self._c["H5Aread"](attr, memory, ctypes.byref(pointer)) < 0:
            return None
        try:
            return None if pointer.value is None else pointer.value.decode()
        finally:
            self._c["H5free_memory"](pointer)

    def _scalar(self, attr: int) -> bool:
        space = self._c["H5Aget_space"](attr)
        if space < 0:
            return False
        try:
            rank = self._c["H5Sget_simple_extent_dims"](space, self._dims, None)
        finally:
            self._c["H5Sclose"](space)
        return bool(rank == 0)


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


def make_calls() -> Calls | H5pyCalls:
    """The fastest way to make the calls here: the bound C functions, else h5py's API.

    Example
    -------
    >>> calls = make_calls()
    >>> hasattr(calls, "read")
    True
    """
    return hdf5_calls() or H5pyCalls()
