"""The base of every data object: attributes, datatype, and how rows are selected."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from tierflow.types._datatype import Datatype, ElementKind, ElementType

__all__ = ["DataObject", "RowSelection", "arrays_equal", "element_of", "normalize_rows"]

RowSelection = Union[slice, Sequence[int], npt.NDArray[Any]]
"""Rows to take: a slice, a list or array of indices, or a boolean mask."""

RESERVED_ATTRS = frozenset({"datatype"})


def element_of(dtype: np.dtype[Any]) -> ElementType:
    """The LH5 element type that stores values of a numpy `dtype`."""
    kind = {
        "b": ElementKind.BOOL,
        "c": ElementKind.COMPLEX,
        "S": ElementKind.STRING,
        "U": ElementKind.STRING,
        "O": ElementKind.STRING,
    }.get(dtype.kind, ElementKind.REAL)
    return ElementType(kind)


def normalize_rows(rows: RowSelection, length: int) -> slice | npt.NDArray[np.intp]:
    """Turn a row selection into a slice with step 1 or a sorted-or-not index array.

    Boolean masks must have one entry per row; indices may be negative.
    """
    if isinstance(rows, slice):
        start, stop, step = rows.indices(length)
        if step == 1:
            return slice(start, max(start, stop))
        return np.arange(start, stop, step, dtype=np.intp)
    index = np.asarray(rows)
    if index.dtype == bool:
        if index.shape != (length,):
            raise IndexError(f"a row mask needs {length} entries, not {index.shape}")
        return np.flatnonzero(index)
    if index.size == 0:
        return np.empty(0, dtype=np.intp)
    if index.dtype.kind not in "iu":
        raise IndexError(f"rows must be a slice, a mask or integers, not {index.dtype}")
    index = index.astype(np.intp, copy=False).ravel()
    if index.min() < -length or index.max() >= length:
        raise IndexError(f"row index out of range for {length} rows")
    return np.where(index < 0, index + length, index)


class DataObject(abc.ABC):
    """A typed data object with attributes (units, description, ...) and an LH5 ``datatype``."""

    attrs: dict[str, Any]

    def _init_attrs(self, attrs: Mapping[str, Any] | None) -> None:
        attrs = dict(attrs or {})
        for key in RESERVED_ATTRS & attrs.keys():
            del attrs[key]
        self.attrs = attrs

    @property
    @abc.abstractmethod
    def datatype(self) -> Datatype:
        """The LH5 type of this object."""

    @property
    def units(self) -> str | None:
        """The ``units`` attribute, if any."""
        units = self.attrs.get("units")
        return None if units is None else str(units)

    def getattrs(self, datatype: bool = False) -> dict[str, Any]:
        """The attributes, with the ``datatype`` string first if asked for."""
        head = {"datatype": str(self.datatype)} if datatype else {}
        return head | self.attrs

    @abc.abstractmethod
    def __len__(self) -> int: ...

    def _same_attrs(self, other: DataObject) -> bool:
        return type(self) is type(other) and _attrs_equal(self.attrs, other.attrs)


def arrays_equal(a: npt.ArrayLike, b: npt.ArrayLike) -> bool:
    """Same shape and values; NaN equals NaN (two objects holding the same data are equal)."""
    a, b = np.asarray(a), np.asarray(b)
    nan_aware = a.dtype.kind in "fc" and b.dtype.kind in "fc"
    return bool(np.array_equal(a, b, equal_nan=nan_aware))


def _attrs_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(arrays_equal(a[k], b[k]) for k in a)
