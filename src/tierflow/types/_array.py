"""Scalars and (growable) n-dimensional arrays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import MismatchError
from tierflow.types._base import DataObject, RowSelection, arrays_equal, element_of, normalize_rows
from tierflow.types._datatype import (
    ArrayType,
    ElementKind,
    ElementType,
    EqualSizedArrayType,
    FixedSizeArrayType,
)

__all__ = ["Array", "ArrayOfDetectorIDs", "ArrayOfEqualSizedArrays", "FixedSizeArray", "Scalar"]


class Scalar(DataObject):
    """One value: a number, a bool, a complex number or a string.

    Example
    -------
    >>> Scalar(2.5, attrs={"units": "keV"}).datatype.kind.value
    'real'
    """

    def __init__(self, value: Any, attrs: Mapping[str, Any] | None = None) -> None:
        if isinstance(value, bytes):
            value = value.decode()
        self.value = value
        self._init_attrs(attrs)

    @property
    def datatype(self) -> ElementType:
        if isinstance(self.value, str):
            return ElementType(ElementKind.STRING)
        return element_of(np.asarray(self.value).dtype)

    def __len__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scalar) or not self._same_attrs(other):
            return NotImplemented if not isinstance(other, DataObject) else False
        return arrays_equal(self.value, other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Scalar({self.value!r}, attrs={self.attrs!r})"


class Array(DataObject):
    """An n-dimensional array whose first axis is rows; it grows in place.

    The rows in use are ``nda``; the buffer behind it may be longer (its `capacity`), so that
    appending and refilling a read buffer do not reallocate every time.

    Parameters
    ----------
    data
        The values; copied only if they are not already a numpy array.
    shape, dtype, fill
        Allocate instead of wrapping `data`: `fill` ``None`` leaves the memory uninitialised.
    attrs
        Attributes (units, description, ...).
    enum
        Names of integer codes, making this an ``enum{...}`` array.

    Example
    -------
    >>> a = Array([1, 2, 3], attrs={"units": "ns"})
    >>> a.append(4); a.nda
    array([1, 2, 3, 4])
    >>> str(a.datatype)
    'array<1>{real}'
    """

    def __init__(
        self,
        data: npt.ArrayLike | None = None,
        *,
        shape: tuple[int, ...] | None = None,
        dtype: npt.DTypeLike | None = None,
        fill: Any = None,
        attrs: Mapping[str, Any] | None = None,
        enum: Mapping[str, int] | None = None,
    ) -> None:
        if data is None:
            if shape is None:
                shape = (0,)
            data = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        buffer = np.asarray(data, dtype=dtype)
        if buffer.ndim == 0:
            raise MismatchError(f"{type(self).__name__} needs at least one dimension, not a scalar")
        self._buffer = buffer
        self._size = len(buffer)
        self._enum = tuple(enum.items()) if enum else ()
        self._init_attrs(attrs)

    @property
    def nda(self) -> npt.NDArray[Any]:
        """The rows in use, as a numpy array (a view: writing to it writes to this object)."""
        return self._buffer[: self._size]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._buffer.dtype

    @property
    def capacity(self) -> int:
        """Rows the buffer holds before it must grow."""
        return len(self._buffer)

    @property
    def element(self) -> ElementType:
        """The element type written into the ``datatype``."""
        if self._enum:
            return ElementType(ElementKind.ENUM, self._enum)
        return element_of(self.dtype)

    @property
    def datatype(self) -> ArrayType | FixedSizeArrayType | EqualSizedArrayType:
        return ArrayType(self._buffer.ndim, self.element)

    def __len__(self) -> int:
        return self._size

    def reserve(self, capacity: int) -> None:
        """Make room for `capacity` rows without changing the length."""
        if capacity > len(self._buffer):
            grown = np.empty((capacity, *self._buffer.shape[1:]), dtype=self._buffer.dtype)
            grown[: self._size] = self._buffer[: self._size]
            self._buffer = grown

    def resize(self, size: int) -> None:
        """Set the number of rows; new rows are uninitialised, the buffer grows geometrically."""
        if size > len(self._buffer):
            self.reserve(max(size, 2 * len(self._buffer)))
        self._size = size

    def append(self, value: Any) -> None:
        """Add one row at the end."""
        self.resize(self._size + 1)
        self._buffer[self._size - 1] = value

    def extend(self, other: Array | npt.ArrayLike) -> None:
        """Add the rows of `other` at the end."""
        values = other.nda if isinstance(other, Array) else np.asarray(other)
        start = self._size
        self.resize(start + len(values))
        self._buffer[start : self._size] = values

    def take(self, rows: RowSelection) -> Array:
        """A new object of the same type with only the selected rows."""
        new = self._like(self.nda[normalize_rows(rows, self._size)])
        return new

    def _like(self, data: npt.NDArray[Any]) -> Array:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._buffer, new._size, new.attrs = data, len(data), dict(self.attrs)
        return new

    def __getitem__(self, key: Any) -> Any:
        return self.nda[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self.nda[key] = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataObject):
            return NotImplemented
        if not isinstance(other, Array) or not self._same_attrs(other):
            return False
        return self._enum == other._enum and arrays_equal(self.nda, other.nda)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.nda!r}, attrs={self.attrs!r})"

    def view_as(self, library: str, with_units: bool = False) -> Any:
        """This array as a ``"np"`` (numpy), ``"ak"`` (awkward), ``"pd"`` (pandas) or ``"pa"``
        (pyarrow) object, sharing memory where the library allows."""
        from tierflow.types._views import view_array

        return view_array(self, library, with_units)


class FixedSizeArray(Array):
    """An array whose length is fixed by the writer (``fixedsize_array<n>{...}``)."""

    @property
    def datatype(self) -> FixedSizeArrayType:
        return FixedSizeArrayType(self._buffer.ndim, self.element)


class ArrayOfEqualSizedArrays(Array):
    """Rows that are each an array of the same shape, e.g. waveforms of one length.

    Parameters
    ----------
    dims
        ``(outer, inner)`` dimensions; by default ``(1, ndim - 1)``.

    Example
    -------
    >>> w = ArrayOfEqualSizedArrays(np.zeros((3, 100), dtype="uint16"))
    >>> str(w.datatype)
    'array_of_equalsized_arrays<1,1>{real}'
    """

    def __init__(
        self,
        data: npt.ArrayLike | None = None,
        *,
        dims: tuple[int, int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        if self._buffer.ndim < 2:
            raise MismatchError("an ArrayOfEqualSizedArrays needs at least two dimensions")
        self.dims = dims or (1, self._buffer.ndim - 1)

    @property
    def datatype(self) -> EqualSizedArrayType:
        return EqualSizedArrayType(self.dims[0], self.dims[1], self.element)

    def to_vov(self, lengths: npt.ArrayLike | None = None) -> Any:
        """These rows as a :class:`VectorOfVectors`, each cut to its entry of `lengths`."""
        from tierflow.types._vov import VectorOfVectors

        return VectorOfVectors.from_padded(self.nda, lengths, attrs=self.attrs)


class ArrayOfDetectorIDs(Array):
    """Detector IDs (uint32 codes, ``array<1>{detectorid}``)."""

    def __init__(self, data: npt.ArrayLike | None = None, **kwargs: Any) -> None:
        kwargs["dtype"] = np.uint32
        super().__init__(data, **kwargs)

    @property
    def element(self) -> ElementType:
        return ElementType(ElementKind.DETECTORID)
