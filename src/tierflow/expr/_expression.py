"""Compiled expressions, evaluation into data objects, and ordering by dependency."""

from __future__ import annotations

import functools
import graphlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tierflow.errors import ConfigError, MismatchError
from tierflow.expr._compile import CompiledTree, compile_tree
from tierflow.expr._evaluate import evaluate_tree, is_awkward
from tierflow.types import Array, ArrayOfEqualSizedArrays, DataObject, VectorOfVectors

__all__ = ["Expression", "as_data_object", "compile_expr", "order_by_dependency"]


@dataclass(frozen=True)
class Expression:
    """A checked expression, compiled once and evaluated on whole columns many times.

    Use :func:`compile_expr` to make one.

    Attributes
    ----------
    text
        The expression as written.
    names
        Column and parameter names it reads, in order of first use; nested columns read as
        ``sub__col`` and columns of other tiers as ``tier.field`` keep those spellings.

    Example
    -------
    >>> import numpy as np
    >>> e = compile_expr("a * energy**2 + where(energy > 1, b, 0)")
    >>> e.names
    ('a', 'energy', 'b')
    >>> e.evaluate({"energy": np.array([0.5, 2.0]), "a": 2.0, "b": 1.0})
    array([0.5, 9. ])
    """

    text: str
    names: tuple[str, ...]
    _compiled: CompiledTree = field(repr=False, compare=False)

    def evaluate(self, namespace: Mapping[str, Any]) -> Any:
        """The value (numpy or awkward array, or a numpy scalar) with names from `namespace`.

        `namespace` maps names to numpy arrays, awkward arrays, tierflow arrays or numbers;
        it may be any mapping, e.g. one that reads columns lazily."""
        return evaluate_tree(self.text, self._compiled, namespace)

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=1024)
def compile_expr(text: str) -> Expression:
    """Parse and check `text`; the result is cached, so compiling twice is free.

    Raises
    ------
    ExpressionError
        For anything outside the language, with the expression and a pointer at the culprit.

    Example
    -------
    >>> compile_expr("(tp_0_est > 4e4) & (tp_0_est < 6e4)").names
    ('tp_0_est',)
    """
    compiled = compile_tree(text)
    return Expression(text.strip(), compiled.names, compiled)


def as_data_object(value: Any, size: int, attrs: Mapping[str, Any] | None = None) -> DataObject:
    """An evaluated value as a column of `size` rows: a scalar is repeated; 1-d numpy data
    gives an :class:`Array`, 2-d an :class:`ArrayOfEqualSizedArrays`, jagged awkward data a
    :class:`VectorOfVectors`."""
    if is_awkward(value):
        return _from_awkward(value, attrs)
    data = np.asarray(value)
    if data.ndim == 0:
        return Array(np.full(size, data), attrs=attrs)
    if len(data) != size:
        raise MismatchError(f"an expression gave {len(data)} rows for a table of {size}")
    if data.ndim == 1:
        return Array(data, attrs=attrs)
    return ArrayOfEqualSizedArrays(data, attrs=attrs)


def _from_awkward(value: Any, attrs: Mapping[str, Any] | None) -> DataObject:
    import awkward as ak

    if value.ndim == 1:
        return Array(_fill_missing(ak.to_numpy(value, allow_missing=True)), attrs=attrs)
    layout = ak.to_layout(ak.to_packed(value))
    return _vov_from_layout(layout, attrs)


def _fill_missing(data: Any) -> Any:
    if isinstance(data, np.ma.MaskedArray):
        fill = np.nan if data.dtype.kind == "f" else 0
        return data.filled(fill)
    return data


def _vov_from_layout(layout: Any, attrs: Mapping[str, Any] | None) -> Array | VectorOfVectors:
    import awkward as ak

    if isinstance(layout, ak.contents.NumpyArray):
        return Array(np.asarray(layout.data))
    if not isinstance(layout, (ak.contents.ListOffsetArray, ak.contents.ListArray)):
        layout = ak.to_layout(ak.fill_none(ak.Array(layout), np.nan))
        return _vov_from_layout(layout, attrs)
    layout = layout.to_ListOffsetArray64(True)
    offsets = np.asarray(layout.offsets.data)
    inner = _vov_from_layout(layout.content, None)
    return VectorOfVectors(flattened_data=inner, cumulative_length=offsets[1:], attrs=attrs)


def order_by_dependency(expressions: Mapping[str, Expression]) -> list[str]:
    """Names of `expressions` (outputs → expression) so that each comes after those it uses.

    An expression that uses its own name reads the input column of that name. Independent
    expressions keep their given order.

    Raises
    ------
    ConfigError
        On a cycle, naming its members in order.

    Example
    -------
    >>> order_by_dependency({"b": compile_expr("a + 1"), "a": compile_expr("x * 2")})
    ['a', 'b']
    """
    position = {name: i for i, name in enumerate(expressions)}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name, expression in expressions.items():
        sorter.add(name, *(n for n in expression.names if n in position and n != name))
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        cycle = " → ".join(error.args[1][::-1])
        raise ConfigError(f"the expressions depend on each other in a cycle: {cycle}") from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return order
