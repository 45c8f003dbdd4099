"""Jagged arrays: flat content plus cumulative lengths, nested to any depth."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError, MismatchError
from tierflow.types._array import Array, ArrayOfEqualSizedArrays
from tierflow.types._base import DataObject, RowSelection, arrays_equal, normalize_rows
from tierflow.types._datatype import ArrayType

__all__ = ["VectorOfVectors", "check_offsets", "gather_ranges"]

Content = Union[Array, "VectorOfVectors"]
OFFSET_DTYPE = np.dtype(np.uint32)


def gather_ranges(starts: npt.NDArray[Any], stops: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """Indices ``starts[0]..stops[0]-1, starts[1]..stops[1]-1, ...`` without a Python loop."""
    lengths = (stops - starts).astype(np.intp)
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.intp)
    shift = np.repeat(starts.astype(np.intp) - np.cumsum(lengths) + lengths, lengths)
    return shift + np.arange(total, dtype=np.intp)


def check_offsets(
    cumulative_length: npt.NDArray[Any], content_length: int, where: str = ""
) -> None:
    """Raise :class:`FormatError` unless offsets are non-decreasing and within the content."""
    if len(cumulative_length) == 0:
        return
    offsets = cumulative_length.astype(np.int64, copy=False)
    if offsets[0] < 0 or np.any(offsets[1:] < offsets[:-1]):
        raise FormatError(f"cumulative_length is not monotonic{where}")
    if offsets[-1] > content_length:
        raise FormatError(
            f"cumulative_length ends at {offsets[-1]} but the flattened data has only "
            f"{content_length} entries{where}"
        )


class VectorOfVectors(DataObject):
    """A vector of vectors of different lengths, stored flat with cumulative lengths.

    Parameters
    ----------
    data
        Rows to copy in: a list of lists (any depth) or of numpy arrays.
    flattened_data, cumulative_length
        Or the buffers themselves (numpy arrays or data objects); `flattened_data` may itself be
        a :class:`VectorOfVectors` for deeper nesting.
    dtype
        Element dtype when building from `data`.
    attrs
        Attributes (units, description, ...).

    Example
    -------
    >>> v = VectorOfVectors([[1, 2], [], [3]])
    >>> v.cumulative_length.nda
    array([2, 2, 3], dtype=uint32)
    >>> v[0]
    array([1, 2])
    >>> str(VectorOfVectors([[[1.0], [2.0, 3.0]]]).datatype)
    'array<1>{array<1>{array<1>{real}}}'
    """

    def __init__(
        self,
        data: Sequence[Any] | None = None,
        *,
        flattened_data: Content | npt.ArrayLike | None = None,
        cumulative_length: Array | npt.ArrayLike | None = None,
        dtype: npt.DTypeLike | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        if data is not None:
            flattened_data, cumulative_length = _buffers_from_rows(data, dtype)
        if cumulative_length is None:
            cumulative_length = np.empty(0, dtype=OFFSET_DTYPE)
        if flattened_data is None:
            flattened_data = np.empty(0, dtype=dtype if dtype is not None else np.float64)
        self.cumulative_length = _as_array(cumulative_length)
        self.flattened_data: Content = (
            flattened_data
            if isinstance(flattened_data, (Array, VectorOfVectors))
            else Array(flattened_data)
        )
        self._init_attrs(attrs)

    @classmethod
    def from_padded(
        cls,
        padded: npt.NDArray[Any],
        lengths: npt.ArrayLike | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> VectorOfVectors:
        """Rows of a 2-d array, each cut to its entry of `lengths` (default: whole rows)."""
        n_rows, width = padded.shape[:2]
        if lengths is None:
            lengths = np.full(n_rows, width)
        lengths = np.asarray(lengths)
        mask = np.arange(width) < lengths[:, None]
        cumulative = np.cumsum(np.minimum(lengths, width), dtype=OFFSET_DTYPE)
        return cls(flattened_data=padded[mask], cumulative_length=cumulative, attrs=attrs)

    @property
    def datatype(self) -> ArrayType:
        return ArrayType(1, self.flattened_data.datatype)  # type: ignore[arg-type]

    @property
    def depth(self) -> int:
        """1 for a vector of vectors, 2 for a vector of vectors of vectors, ..."""
        inner = self.flattened_data
        return 1 + inner.depth if isinstance(inner, VectorOfVectors) else 1

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of the innermost values."""
        return self.flattened_data.dtype

    @property
    def lengths(self) -> npt.NDArray[Any]:
        """The length of every row."""
        return np.diff(self.cumulative_length.nda, prepend=self.cumulative_length.dtype.type(0))

    def __len__(self) -> int:
        return len(self.cumulative_length)

    def _bounds(self, row: int) -> tuple[int, int]:
        offsets = self.cumulative_length.nda
        return (int(offsets[row - 1]) if row > 0 else 0), int(offsets[row])

    def __getitem__(self, row: int) -> Any:
        """Row `row` as a numpy array (a view), or as a data object when nested."""
        if not isinstance(row, (int, np.integer)):
            raise TypeError("index a VectorOfVectors with an integer; use take() for many rows")
        row = int(row) + (len(self) if row < 0 else 0)
        start, stop = self._bounds(row)
        if isinstance(self.flattened_data, VectorOfVectors):
            return self.flattened_data.take(slice(start, stop))
        return self.flattened_data.nda[start:stop]

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def take(self, rows: RowSelection) -> VectorOfVectors:
        """A new VectorOfVectors with only the selected rows."""
        selection = normalize_rows(rows, len(self))
        offsets = self.cumulative_length.nda
        starts = np.concatenate(([0], offsets[:-1])).astype(np.int64)
        if isinstance(selection, slice):
            if selection.stop <= selection.start:
                inner = self.flattened_data.take(slice(0, 0))
                return self._like(inner, offsets[:0])
            lo, hi = int(starts[selection.start]), int(offsets[selection.stop - 1])
            inner = self.flattened_data.take(slice(lo, hi))
            return self._like(inner, offsets[selection] - offsets.dtype.type(lo))
        picked_starts, picked_stops = starts[selection], offsets[selection].astype(np.int64)
        inner = self.flattened_data.take(gather_ranges(picked_starts, picked_stops))
        return self._like(inner, np.cumsum(picked_stops - picked_starts).astype(offsets.dtype))

    def _like(self, inner: Content, offsets: npt.NDArray[Any]) -> VectorOfVectors:
        return type(self)(flattened_data=inner, cumulative_length=offsets, attrs=dict(self.attrs))

    def resize(self, size: int) -> None:
        """Set the number of rows; new rows are empty."""
        old = len(self)
        end = int(self.cumulative_length.nda[-1]) if old else 0
        self.cumulative_length.resize(size)
        if size > old:
            self.cumulative_length.nda[old:] = end
        else:
            self.flattened_data.resize(int(self.cumulative_length.nda[-1]) if size else 0)

    def append(self, row: Any) -> None:
        """Add one row at the end."""
        self.flattened_data.extend(row)
        self.cumulative_length.append(len(self.flattened_data))

    def extend(self, other: VectorOfVectors) -> None:
        """Add the rows of `other` at the end."""
        base = len(self.flattened_data)
        self.flattened_data.extend(other.flattened_data)  # type: ignore[arg-type]
        if len(self.flattened_data) > np.iinfo(self.cumulative_length.dtype).max:
            self.cumulative_length = Array(self.cumulative_length.nda.astype(np.uint64))
        start = len(self)
        self.cumulative_length.resize(start + len(other))
        self.cumulative_length.nda[start:] = other.cumulative_length.nda + base

    def reserve(self, rows: int, values: int) -> None:
        """Make room for `rows` rows holding `values` flat entries in all."""
        self.cumulative_length.reserve(rows)
        if isinstance(self.flattened_data, Array):
            self.flattened_data.reserve(values)

    def to_aoesa(self, width: int | None = None, fill: Any = 0) -> ArrayOfEqualSizedArrays:
        """Rows padded with `fill` (or cut) to `width` (default: the longest row)."""
        if isinstance(self.flattened_data, VectorOfVectors):
            raise MismatchError("only a vector of vectors of depth 1 pads to a 2-d array")
        lengths = self.lengths.astype(np.int64)
        width = int(lengths.max(initial=0)) if width is None else width
        starts = self.cumulative_length.nda.astype(np.int64) - lengths
        valid = np.arange(width) < lengths[:, None]
        padded = np.full((len(self), width), fill, dtype=self.dtype)
        padded[valid] = self.flattened_data.nda[(starts[:, None] + np.arange(width))[valid]]
        return ArrayOfEqualSizedArrays(padded, attrs=self.attrs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataObject):
            return NotImplemented
        if not isinstance(other, VectorOfVectors) or not self._same_attrs(other):
            return False
        return bool(
            arrays_equal(self.cumulative_length.nda, other.cumulative_length.nda)
            and self.flattened_data == other.flattened_data
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = [self[i] for i in range(min(len(self), 5))]
        more = ", ..." if len(self) > 5 else ""
        return f"VectorOfVectors({shown}{more}, attrs={self.attrs!r})"

    def view_as(self, library: str, with_units: bool = False) -> Any:
        """This jagged array as an awkward (``"ak"``), pandas (``"pd"``) or pyarrow (``"pa"``)
        object, or as a padded numpy array (``"np"``)."""
        from tierflow.types._views import view_vov

        return view_vov(self, library, with_units)


def _as_array(values: Array | npt.ArrayLike) -> Array:
    if isinstance(values, Array):
        return values
    values = np.asarray(values)
    if values.dtype.kind not in "iu":
        raise MismatchError(f"cumulative_length must hold integers, not {values.dtype}")
    return Array(values)


def _buffers_from_rows(rows: Sequence[Any], dtype: npt.DTypeLike | None) -> tuple[Content, Array]:
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    cumulative = Array(np.cumsum(lengths).astype(OFFSET_DTYPE))
    items = [item for row in rows for item in row]
    if items and _is_sequence(items[0]):
        return VectorOfVectors(items, dtype=dtype), cumulative
    if len(rows) and all(isinstance(row, np.ndarray) for row in rows):
        flat = np.concatenate(rows).astype(dtype, copy=False) if dtype else np.concatenate(rows)
        return Array(flat), cumulative
    flat = np.asarray(items, dtype=dtype if dtype is not None else None)
    if not items and dtype is None:
        flat = flat.astype(np.float64)
    return Array(flat), cumulative


def _is_sequence(item: Any) -> bool:
    return isinstance(item, (list, tuple)) or (isinstance(item, np.ndarray) and item.ndim > 0)
