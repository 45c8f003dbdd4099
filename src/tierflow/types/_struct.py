"""Structs (named fields), tables (columns of equal length) and waveform tables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import MismatchError, NotFoundError
from tierflow.types._array import Array, ArrayOfEqualSizedArrays
from tierflow.types._base import DataObject, RowSelection
from tierflow.types._datatype import StructType, TableType
from tierflow.types._vov import VectorOfVectors

__all__ = ["Struct", "Table", "WaveformTable"]


class Struct(DataObject, MutableMapping[str, DataObject]):
    """Named fields of any type, in insertion order.

    Example
    -------
    >>> s = Struct({"a": Array([1, 2]), "b": Struct()})
    >>> str(s.datatype)
    'struct{a,b}'
    """

    def __init__(
        self, fields: Mapping[str, DataObject] | None = None, attrs: Mapping[str, Any] | None = None
    ) -> None:
        self._fields: dict[str, DataObject] = {}
        self._init_attrs(attrs)
        for name, obj in (fields or {}).items():
            self[name] = obj

    @property
    def datatype(self) -> StructType | TableType:
        return StructType(tuple(self._fields))

    def __getitem__(self, name: str) -> DataObject:
        head, _, rest = name.partition("/")
        try:
            obj = self._fields[head]
        except KeyError:
            raise NotFoundError(
                f"no field {head!r} in this {type(self).__name__}",
                obj=head,
                candidates=self._fields,
            ) from None
        if rest:
            if not isinstance(obj, Struct):
                raise NotFoundError(f"field {head!r} has no sub-fields", obj=name)
            return obj[rest]
        return obj

    def __setitem__(self, name: str, obj: DataObject) -> None:
        if not isinstance(obj, DataObject):
            raise MismatchError(f"field {name!r} must be a data object, not {type(obj).__name__}")
        self._fields[name] = obj

    def __delitem__(self, name: str) -> None:
        del self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataObject):
            return NotImplemented
        if not isinstance(other, Struct) or not self._same_attrs(other):
            return False
        return list(self._fields) == list(other._fields) and all(
            self._fields[k] == other._fields[k] for k in self._fields
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._fields!r}, attrs={self.attrs!r})"


class Table(Struct):
    """Columns of equal length; ``len(table)`` is the number of rows (as in legend-pydataobj).

    Columns may be any data object with rows, including nested tables.

    Example
    -------
    >>> t = Table({"energy": Array([1.0, 2.0]), "channel": Array([3, 4])})
    >>> len(t), list(t)
    (2, ['energy', 'channel'])
    >>> t.take([1])["energy"].nda
    array([2.])
    """

    def __init__(
        self,
        columns: Mapping[str, DataObject] | None = None,
        size: int | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.size = size if size is not None else _common_length(columns or {})
        super().__init__(columns, attrs)

    @property
    def datatype(self) -> TableType:
        return TableType(tuple(self._fields))

    def __setitem__(self, name: str, obj: DataObject) -> None:
        if not isinstance(obj, DataObject):
            raise MismatchError(f"column {name!r} must be a data object, not {type(obj).__name__}")
        if len(self._fields) == 0 and self.size == 0:
            self.size = len(obj)
        elif len(obj) != self.size:
            raise MismatchError(f"column {name!r} has {len(obj)} rows but the table {self.size}")
        self._fields[name] = obj

    def __len__(self) -> int:
        return self.size

    @property
    def n_columns(self) -> int:
        return len(self._fields)

    def resize(self, size: int) -> None:
        """Set the number of rows of every column."""
        for column in self._fields.values():
            column.resize(size)  # type: ignore[attr-defined]
        self.size = size

    def extend(self, other: Table) -> None:
        """Add the rows of `other`, column by column (same columns)."""
        missing = set(self._fields) ^ set(other._fields)
        if missing:
            raise MismatchError(f"tables differ in columns {sorted(missing)}")
        for name, column in self._fields.items():
            column.extend(other._fields[name])  # type: ignore[attr-defined]
        self.size += len(other)

    def take(self, rows: RowSelection) -> Table:
        """A new table with only the selected rows (a slice shares memory)."""
        columns = {name: col.take(rows) for name, col in self._fields.items()}  # type: ignore[attr-defined]
        size = len(next(iter(columns.values()))) if columns else _selection_length(rows, self.size)
        return self._with_columns(columns, size)

    def _with_columns(self, columns: dict[str, DataObject], size: int) -> Table:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._fields, new.size, new.attrs = columns, size, dict(self.attrs)
        return new

    def flat_columns(self, prefix: str = "") -> dict[str, DataObject]:
        """Every leaf column, nested tables flattened to ``"outer/inner"`` names."""
        flat: dict[str, DataObject] = {}
        for name, column in self._fields.items():
            if isinstance(column, Table):
                flat |= column.flat_columns(f"{prefix}{name}/")
            else:
                flat[prefix + name] = column
        return flat

    def view_as(self, library: str, with_units: bool = False) -> Any:
        """The table as a pandas DataFrame (``"pd"``), an awkward record array (``"ak"``),
        a pyarrow Table (``"pa"``) or a dict of numpy arrays (``"np"``)."""
        from tierflow.types._views import view_table

        return view_table(self, library, with_units)


def _common_length(columns: Mapping[str, DataObject]) -> int:
    lengths = {len(col) for col in columns.values()}
    if len(lengths) > 1:
        sizes = {name: len(col) for name, col in columns.items()}
        raise MismatchError(f"table columns have unequal lengths: {sizes}")
    return lengths.pop() if lengths else 0


def _selection_length(rows: RowSelection, size: int) -> int:
    from tierflow.types._base import normalize_rows

    selection = normalize_rows(rows, size)
    return selection.stop - selection.start if isinstance(selection, slice) else len(selection)


class WaveformTable(Table):
    """Waveforms: ``t0`` (time of the first sample), ``dt`` (sampling period) and ``values``,
    equal-sized (:class:`ArrayOfEqualSizedArrays`) or jagged (:class:`VectorOfVectors`).

    Parameters
    ----------
    values
        The samples, or ``None`` to allocate `size` by `wf_len` of `dtype`.
    t0, dt
        Arrays, or one number for every waveform.
    t0_units, dt_units, values_units
        Units attached to the columns.

    Example
    -------
    >>> w = WaveformTable(values=np.zeros((2, 8), dtype="uint16"), dt=16, dt_units="ns")
    >>> w.wf_len, w.dt.nda
    (8, array([16., 16.]))
    """

    def __init__(
        self,
        values: ArrayOfEqualSizedArrays | VectorOfVectors | npt.ArrayLike | None = None,
        t0: Array | npt.ArrayLike = 0,
        dt: Array | npt.ArrayLike = 1,
        *,
        size: int | None = None,
        wf_len: int | None = None,
        dtype: npt.DTypeLike = np.float64,
        t0_units: str | None = None,
        dt_units: str | None = None,
        values_units: str | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        values = _waveform_values(values, size, wf_len, dtype, values_units)
        n = len(values)
        columns = {
            "t0": _column(t0, n, t0_units),
            "dt": _column(dt, n, dt_units),
            "values": values,
        }
        super().__init__(columns, n, attrs)

    @property
    def t0(self) -> Array:
        return self["t0"]  # type: ignore[return-value]

    @property
    def dt(self) -> Array:
        return self["dt"]  # type: ignore[return-value]

    @property  # shadows Mapping.values() on purpose: ``wf.values`` as in legend-pydataobj
    def values(self) -> ArrayOfEqualSizedArrays | VectorOfVectors:  # type: ignore[override]
        return self["values"]  # type: ignore[return-value]

    @property
    def wf_len(self) -> int | None:
        """Samples per waveform, or ``None`` when they are jagged."""
        values = self.values
        return values.nda.shape[1] if isinstance(values, ArrayOfEqualSizedArrays) else None


def _waveform_values(
    values: Any, size: int | None, wf_len: int | None, dtype: npt.DTypeLike, units: str | None
) -> ArrayOfEqualSizedArrays | VectorOfVectors:
    attrs = {"units": units} if units else None
    if isinstance(values, (ArrayOfEqualSizedArrays, VectorOfVectors)):
        if units:
            values.attrs["units"] = units
        return values
    if isinstance(values, DataObject):
        return values  # type: ignore[return-value]  # encoded waveforms
    if values is None:
        return ArrayOfEqualSizedArrays(shape=(size or 0, wf_len or 0), dtype=dtype, attrs=attrs)
    return ArrayOfEqualSizedArrays(np.asarray(values), attrs=attrs)


def _column(values: Array | npt.ArrayLike, n: int, units: str | None) -> Array:
    attrs = {"units": units} if units else None
    if isinstance(values, Array):
        if units:
            values.attrs["units"] = units
        return values
    data = np.asarray(values, dtype=np.float64 if np.ndim(values) == 0 else None)
    return Array(np.full(n, data) if data.ndim == 0 else data, attrs=attrs)
