"""Decoders: a declarative schema of decoded values, and rows decoded in blocks.

A decoder declares what it decodes (:class:`DecodedValue`: name, dtype, shape, units,
datatype, codec, HDF5 settings); the declaration drives buffer allocation and the LH5 layout.
It turns a batch of packets into a :class:`RowBlock` (columns of many rows at once plus the
key of each row); it never touches files.
"""

from __future__ import annotations

import abc
import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from tierflow.types import (
    Array,
    ArrayOfEqualSizedArrays,
    DataObject,
    Table,
    VectorOfVectors,
    WaveformTable,
)

__all__ = ["DataDecoder", "DecodedValue", "Jagged", "Kind", "RowBlock", "make_table"]


class Kind(str, enum.Enum):
    """How a decoded value is laid out in LH5."""

    ARRAY = "array"
    """One number per row."""
    EQUAL_SIZED = "equal_sized"
    """A fixed-length vector per row (``array_of_equalsized_arrays``)."""
    JAGGED = "jagged"
    """A vector of varying length per row (``array<1>{array<1>{real}}``)."""
    WAVEFORM = "waveform"
    """A waveform table (``t0``, ``dt``, ``values``)."""


@dataclass(frozen=True)
class DecodedValue:
    """One decoded field: its dtype, layout, units and storage settings.

    Example
    -------
    >>> DecodedValue("energy", "uint32", units="adc").kind
    <Kind.ARRAY: 'array'>
    """

    name: str
    dtype: str
    kind: Kind = Kind.ARRAY
    length: int = 0
    units: str | None = None
    description: str | None = None
    dt: float = 1.0
    dt_units: str = "ns"
    t0_units: str = "ns"
    dt_dtype: str = "float32"
    codec: Any = None
    hdf5_settings: Mapping[str, Any] | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> DecodedValue:
        """A copy with some settings changed."""
        return replace(self, **changes)


@dataclass
class Jagged:
    """A jagged column of a block: flat content and the length of every row."""

    flat: npt.NDArray[Any]
    lengths: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.lengths.size)

    def take(self, rows: npt.NDArray[np.intp]) -> Jagged:
        """The rows `rows`, in that order."""
        ends = np.cumsum(self.lengths)
        starts = ends - self.lengths
        lens = self.lengths[rows]
        idx = np.repeat(starts[rows] - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
        idx += np.arange(int(lens.sum()))
        return Jagged(self.flat[idx], lens)


Column = npt.NDArray[Any] | Jagged


@dataclass
class RowBlock:
    """Decoded rows of one decoder: columns by field name and the key of every row.

    Waveform fields are 2-D arrays of samples; ``t0``/``dt`` come from the decoder's schema
    unless the block has ``<name>/t0`` or ``<name>/dt`` columns.
    """

    keys: npt.NDArray[Any]
    columns: dict[str, Column]

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, rows: npt.NDArray[np.intp]) -> RowBlock:
        """The rows `rows` of every column."""
        return RowBlock(
            self.keys[rows],
            {
                k: v.take(rows) if isinstance(v, Jagged) else v[rows]
                for k, v in self.columns.items()
            },
        )

    @staticmethod
    def concat(blocks: Sequence[RowBlock]) -> RowBlock:
        """Blocks one after the other (same columns)."""
        if len(blocks) == 1:
            return blocks[0]
        keys = np.concatenate([b.keys for b in blocks])
        cols: dict[str, Column] = {}
        for name, first in blocks[0].columns.items():
            parts = [b.columns[name] for b in blocks]
            if isinstance(first, Jagged):
                jparts: list[Any] = parts
                cols[name] = Jagged(
                    np.concatenate([p.flat for p in jparts]),
                    np.concatenate([p.lengths for p in jparts]),
                )
            else:
                cols[name] = np.concatenate(parts)  # type: ignore[arg-type]
        return RowBlock(keys, cols)

    @property
    def nbytes(self) -> int:
        """Memory held by the columns."""
        return sum(
            c.flat.nbytes if isinstance(c, Jagged) else c.nbytes for c in self.columns.values()
        )


def _attrs(value: DecodedValue) -> dict[str, Any]:
    attrs = dict(value.attrs)
    if value.units is not None:
        attrs["units"] = value.units
    if value.description is not None:
        attrs["description"] = value.description
    if value.hdf5_settings is not None:
        attrs["hdf5_settings"] = dict(value.hdf5_settings)
    return attrs


def _make_column(value: DecodedValue, block: RowBlock) -> DataObject:
    data = block.columns[value.name]
    n = len(block)
    if value.kind is Kind.JAGGED:
        assert isinstance(data, Jagged)
        return VectorOfVectors(
            flattened_data=data.flat.astype(value.dtype, copy=False),
            cumulative_length=np.cumsum(data.lengths, dtype=np.int64),
            attrs=_attrs(value),
        )
    assert isinstance(data, np.ndarray)
    if value.kind is Kind.EQUAL_SIZED:
        return ArrayOfEqualSizedArrays(data.astype(value.dtype, copy=False), attrs=_attrs(value))
    if value.kind is Kind.WAVEFORM:
        values_attrs = {k: v for k, v in _attrs(value).items() if k not in ("units", "description")}
        if value.codec is not None:
            values_attrs["compression"] = value.codec
        t0 = block.columns.get(f"{value.name}/t0", np.zeros(n))
        dt = block.columns.get(f"{value.name}/dt", np.full(n, value.dt))
        return WaveformTable(
            values=ArrayOfEqualSizedArrays(
                data.astype(value.dtype, copy=False), attrs=values_attrs
            ),
            t0=Array(np.asarray(t0, dtype=np.float32), attrs={"units": value.t0_units}),
            dt=Array(np.asarray(dt, dtype=value.dt_dtype), attrs={"units": value.dt_units}),
        )
    return Array(data.astype(value.dtype, copy=False), attrs=_attrs(value))


def make_table(values: Mapping[str, DecodedValue], block: RowBlock) -> Table:
    """The LH5 table of `block`, laid out as `values` declare.

    Example
    -------
    >>> blk = RowBlock(np.zeros(2), {"e": np.array([1, 2])})
    >>> make_table({"e": DecodedValue("e", "uint16")}, blk)["e"].nda.dtype
    dtype('uint16')
    """
    cols = {
        name: _make_column(v, block) for name, v in sorted(values.items()) if name in block.columns
    }
    return Table(cols, size=len(block))


@functools.cache
def _default_values(cls: type[DataDecoder]) -> dict[str, DecodedValue]:
    """`cls`'s default fields by name, made once (a DAQ file's many decoders are made anew
    for every file; the values are frozen, each decoder copies the mapping)."""
    return {v.name: v for v in cls.default_values()}


class DataDecoder(abc.ABC):
    """Decodes one kind of packet of one DAQ format into rows.

    Subclasses set :attr:`name` (the anchor's decoder name, used in out_spec) and
    :attr:`decoded_values`, and implement :meth:`decode`.
    """

    name: ClassVar[str] = ""
    decoded_values: dict[str, DecodedValue]

    def __init__(self) -> None:
        self.decoded_values = dict(_default_values(type(self)))

    @classmethod
    @abc.abstractmethod
    def default_values(cls) -> list[DecodedValue]:
        """The fields this decoder decodes."""

    def key_lists(self) -> list[list[Any]]:
        """Lists of keys (e.g. channels) this decoder offers; ``[[None]]`` if it has none."""
        return [[None]]

    def get_decoded_values(self, key: Any = None) -> dict[str, DecodedValue]:
        """The fields decoded for `key` (the same for every key unless overridden)."""
        return self.decoded_values

    def max_rows_in_packet(self) -> int:
        """Rows one packet can make at most."""
        return 1

    def make_table(self, block: RowBlock, key: Any = None) -> Table:
        """The LH5 table of decoded rows."""
        return make_table(self.get_decoded_values(key), block)
