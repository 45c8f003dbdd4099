"""One chunk of a dsp table → one chunk of its hit table (no file I/O here)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tierflow.errors import MismatchError
from tierflow.expr import as_data_object
from tierflow.expr._evaluate import as_value, is_awkward
from tierflow.hit._config import Aggregation, HitConfig
from tierflow.types import DataObject, Table

__all__ = ["pack_bits", "process_chunk"]


def pack_bits(aggregation: Aggregation, columns: Sequence[Any], size: int) -> DataObject:
    """Pack `columns` (bit 0 first) into the bits of one unsigned integer per row, or per
    element when a column is jagged or 2-d (per-row flags then apply to each element of the
    row).

    Each column is converted to the unsigned type first, as the anchor does, so ``True`` is
    1 and non-boolean values are truncated. The anchor packs flat columns only.

    Example
    -------
    >>> from tierflow.hit import Aggregation
    >>> pack_bits(Aggregation("q", ("a", "b")), [np.array([1, 0, 1], bool),
    ...           np.array([1, 1, 0], bool)], 3).nda
    array([3, 2, 1], dtype=uint8)
    """
    attrs = {"bit_names": ",".join(aggregation.bits)}
    if any(is_awkward(column) for column in columns):
        return as_data_object(_pack_jagged(aggregation, columns), size, attrs)
    arrays = [np.asarray(column) for column in columns]
    ndim = max(1, *(a.ndim for a in arrays))
    # a per-row flag of a 2-d column applies to each element of its row
    shaped = [_trailing(a, ndim) for a in arrays]
    try:
        shape = np.broadcast_shapes((size,) + (1,) * (ndim - 1), *(a.shape for a in shaped))
    except ValueError as error:
        raise _shape_error(aggregation, columns) from error
    dtype = aggregation.dtype
    packed = np.zeros(shape, dtype=dtype)
    for bit, values in enumerate(shaped):
        packed += values.astype(dtype) * dtype.type(1 << bit)
    return as_data_object(packed, size, attrs)


def _trailing(values: np.ndarray[Any, Any], ndim: int) -> np.ndarray[Any, Any]:
    """`values` with length-1 axes appended up to `ndim` (scalars stay scalars)."""
    if values.ndim in (0, ndim):
        return values
    reshaped: np.ndarray[Any, Any] = values.reshape(values.shape + (1,) * (ndim - values.ndim))
    return reshaped


def _pack_jagged(aggregation: Aggregation, columns: Sequence[Any]) -> Any:
    import awkward as ak

    try:
        arrays = ak.broadcast_arrays(*columns)
    except ValueError as error:
        raise _shape_error(aggregation, columns) from error
    dtype = aggregation.dtype
    packed = ak.values_astype(arrays[0], dtype)
    for bit, values in enumerate(arrays[1:], start=1):
        packed = packed + ak.values_astype(values, dtype) * dtype.type(1 << bit)
    return packed


def _shape_error(aggregation: Aggregation, columns: Sequence[Any]) -> MismatchError:
    shapes = ", ".join(
        f"{name}: {'jagged' if is_awkward(c) else np.shape(c)}"
        for name, c in zip(aggregation.bits, columns, strict=True)
    )
    return MismatchError(
        f"aggregation {aggregation.name!r}: the flag columns have different shapes ({shapes})"
    )


def process_chunk(
    table: Table,
    config: HitConfig,
    columns: Mapping[str, str],
    parameters: Mapping[str, Mapping[str, Any]],
    attrs: Mapping[str, Mapping[str, Any]],
) -> Table:
    """The hit columns of one chunk of `table`.

    Parameters
    ----------
    table
        A chunk of the input (dsp) table.
    config
        The hit config.
    columns
        Name used in the config → field of `table` (``"sub__col"`` → ``"sub/col"``); with
        ``outputs`` unset, every input column forwarded.
    parameters, attrs
        Per operation: its resolved parameters and its output attributes.

    Returns
    -------
    Table
        The output columns, in name order (as LEGEND's writers order table fields).
    """
    size = len(table)
    inputs = {name: table[field] for name, field in columns.items()}
    values: dict[str, Any] = {}
    made: dict[str, DataObject] = {}
    for op in config.operations:
        namespace = ChainMap(dict(parameters[op.name]), values, inputs)
        value = op.expression.evaluate(namespace)
        made[op.name] = as_data_object(value, size, attrs[op.name])
        values[op.name] = value
    for aggregation in config.aggregations:
        sources = [values[b] if b in values else as_value(inputs[b]) for b in aggregation.bits]
        made[aggregation.name] = pack_bits(aggregation, sources, size)
    names = config.outputs if config.outputs is not None else [*inputs, *made]
    output = {name: made[name] if name in made else inputs[name] for name in sorted(names)}
    return Table(output, size=size)
