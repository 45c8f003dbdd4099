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
    """Pack `columns` (bit 0 first) into the bits of one unsigned integer per row.

    Each column is converted to the unsigned type first, as the anchor does, so ``True`` is
    1 and non-boolean values are truncated.

    Example
    -------
    >>> from tierflow.hit import Aggregation
    >>> pack_bits(Aggregation("q", ("a", "b")), [np.array([1, 0, 1], bool),
    ...           np.array([1, 1, 0], bool)], 3).nda
    array([3, 2, 1], dtype=uint8)
    """
    dtype = aggregation.dtype
    packed = np.zeros(size, dtype=dtype)
    for bit, (name, column) in enumerate(zip(aggregation.bits, columns, strict=True)):
        if is_awkward(column) or np.ndim(column) > 1:
            raise MismatchError(f"aggregation {aggregation.name!r}: column {name!r} is not flat")
        values = np.broadcast_to(np.asarray(column), (size,)).astype(dtype)
        packed += values * dtype.type(1 << bit)
    return as_data_object(packed, size, {"bit_names": ",".join(aggregation.bits)})


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
