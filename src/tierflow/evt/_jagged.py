"""Event-level masking of jagged evt columns on flat buffers.

SiPM configs select pulses with expressions such as ``evt.t0[evt.is_good & evt.is_physical]``
(event → hit → pulse values masked by event → hit → pulse and event → hit booleans). Going
through awkward costs far more than the arithmetic; :func:`masked_columns` does these on the
(offsets, values) buffers and gives the same object, and declines (None) anything else so
the general evaluator handles it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.types import Array, DataObject, VectorOfVectors

__all__ = ["REDUCTIONS", "kept_per_list", "masked_columns", "reduced_columns"]


@dataclass(frozen=True)
class _Jagged:
    """A 2- or 3-level jagged column as buffers: event offsets, hit offsets (3 levels
    only) and the values."""

    events: npt.NDArray[Any]
    hits: npt.NDArray[Any] | None
    values: npt.NDArray[Any]

    @classmethod
    def of(cls, obj: Any) -> _Jagged | None:
        if not isinstance(obj, VectorOfVectors):
            return None
        inner = obj.flattened_data
        if type(inner) is Array:
            return cls._checked(obj.cumulative_length.nda, None, inner.nda)
        if isinstance(inner, VectorOfVectors) and type(inner.flattened_data) is Array:
            values = inner.flattened_data.nda
            return cls._checked(obj.cumulative_length.nda, inner.cumulative_length.nda, values)
        return None

    @classmethod
    def _checked(
        cls, events: npt.NDArray[Any], hits: npt.NDArray[Any] | None, values: npt.NDArray[Any]
    ) -> _Jagged | None:
        """The buffers, when they are consistent (1-d, offsets ending at the sizes)."""
        inner = len(values) if hits is None else len(hits)
        if values.ndim != 1 or (len(events) and int(events[-1]) != inner):
            return None
        if hits is not None and len(hits) and int(hits[-1]) != len(values):
            return None
        if hits is not None and len(hits) and not len(events):
            return None
        return cls(events, hits, values)


@functools.lru_cache(maxsize=256)
def _pattern(expression: str) -> tuple[str, tuple[str, ...]] | None:
    """``(data, (mask, ...))`` for ``evt.data[evt.mask & evt.mask2 & ...]``, else None."""
    try:
        body = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(body, ast.Subscript):
        return None
    data = _evt_name(body.value)
    masks = _and_terms(body.slice)
    if data is None or masks is None:
        return None
    return data, masks


def _evt_name(node: ast.AST) -> str | None:
    is_evt = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    return node.attr if is_evt and node.value.id == "evt" else None  # type: ignore[attr-defined]


def _and_terms(node: ast.AST) -> tuple[str, ...] | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
        left, right = _and_terms(node.left), _and_terms(node.right)
        return None if left is None or right is None else left + right
    name = _evt_name(node)
    return None if name is None else (name,)


def masked_columns(expression: str, evt: Mapping[str, DataObject]) -> DataObject | None:
    """``evt.a[evt.m1 & evt.m2 ...]`` for 3-level `a` and boolean masks of 3 levels (the
    same shape) or 2 levels (one per hit, applying to all its pulses; at least one mask of
    pulses), on flat buffers; None for any other expression or columns.

    Example
    -------
    >>> masked_columns("evt.t0[evt.ok & evt.physical]", chunk.evt)  # doctest: +SKIP
    """
    found = _pattern(expression)
    if found is None or any(name not in evt for name in (found[0], *found[1])):
        return None
    data = _Jagged.of(evt[found[0]])
    if data is None or data.hits is None:
        return None
    masks = [_Jagged.of(evt[name]) for name in found[1]]
    if all(m is not None and m.hits is None for m in masks):
        return None  # masks of hits select hits, not pulses: the general path
    keep = np.ones(len(data.values), dtype=np.bool_)
    for mask in masks:
        per_pulse = _pulse_mask(data, mask)
        if per_pulse is None:
            return None
        keep &= per_pulse
    kept = _kept_ends(np.asarray(data.hits, dtype=np.int64), keep)
    inner = VectorOfVectors(flattened_data=Array(data.values[keep]), cumulative_length=Array(kept))
    events = np.asarray(data.events, dtype=np.int64)
    return VectorOfVectors(flattened_data=inner, cumulative_length=Array(events.copy()))


def _kept_ends(ends: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """The list ends (`ends`: of lists of values one after another) after keeping the values
    where `keep` is true."""
    kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    return kept_before[ends]


def kept_per_list(
    counts: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """How many values each list keeps (`counts`: values per list, one list after another;
    `keep`: for each value).

    Example
    -------
    >>> kept_per_list(np.array([2, 0, 1]), np.array([True, False, True])).tolist()
    [1, 0, 1]
    """
    return np.diff(_kept_ends(np.cumsum(counts, dtype=np.int64), keep), prepend=0)


def _pulse_mask(data: _Jagged, mask: _Jagged | None) -> npt.NDArray[np.bool_] | None:
    """`mask` for each pulse of `data`: a boolean column of the same events and hits, per
    pulse or per hit; None otherwise."""
    if mask is None or mask.values.dtype != np.bool_ or data.hits is None:
        return None
    if not np.array_equal(mask.events, data.events):
        return None
    if mask.hits is None:  # one per hit: for each of its pulses
        return np.repeat(mask.values, np.diff(data.hits, prepend=0))
    if not np.array_equal(mask.hits, data.hits):
        return None
    return mask.values


_SLOT = "__column__"
"""Stands for the one evt column of a reduction pattern."""


@functools.lru_cache(maxsize=256)
def _reduction(expression: str) -> tuple[str, str] | None:
    """``(pattern, column)`` when `expression` is one of :data:`REDUCTIONS` applied to one
    evt column (spelled ``evt.<column>``), else None."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return None
    columns = [n for n in ast.walk(tree) if _evt_name(n) is not None]
    if len(columns) != 1:
        return None
    name = _evt_name(columns[0])
    dump = ast.dump(tree).replace(ast.dump(columns[0]), ast.dump(ast.Name(_SLOT, ast.Load())))
    pattern = _PATTERNS.get(dump)
    return None if pattern is None or name is None else (pattern, name)


def _sum_hits_with_pulses(column: _Jagged) -> npt.NDArray[Any] | None:
    """``ak.sum(ak.count(x, axis=-1) > 0, axis=-1)``: hits with pulses, per event."""
    if column.hits is None:
        return None
    ends = np.asarray(column.hits, dtype=np.int64)
    has = np.diff(ends, prepend=0) > 0
    return np.diff(_kept_ends(np.asarray(column.events, dtype=np.int64), has), prepend=0)


def _sum_of_sums(column: _Jagged) -> npt.NDArray[Any] | None:
    """``ak.sum(ak.sum(x, axis=-1), axis=-1)`` of floats: summed in order, in their own
    precision, as awkward sums."""
    from tierflow.evt._kernels import segment_add

    if column.hits is None or column.values.dtype.kind != "f":
        return None
    values = np.ascontiguousarray(column.values)
    pulses = _lengths(column.hits)
    hit_sums = np.zeros(len(pulses), dtype=values.dtype)
    segment_add(values, np.repeat(np.arange(len(pulses)), pulses), hit_sums)
    hits = _lengths(column.events)
    sums = np.zeros(len(hits), dtype=values.dtype)
    segment_add(hit_sums, np.repeat(np.arange(len(hits)), hits), sums)
    return sums


def _lengths(ends: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """List lengths from list ends."""
    lengths: npt.NDArray[np.int64] = np.array(ends, dtype=np.int64)
    lengths[1:] -= ends[:-1]
    return lengths


def _first_or_zero(column: _Jagged) -> npt.NDArray[Any] | None:
    """``ak.fill_none(ak.firsts(x), 0)`` of 64-bit floats per event."""
    if column.hits is not None or column.values.dtype != np.float64:
        return None
    ends = np.asarray(column.events, dtype=np.int64)
    starts = ends - _lengths(ends)
    out = np.zeros(len(ends), dtype=np.float64)
    found = ends > starts
    out[found] = column.values[starts[found]]
    return out


REDUCTIONS = {
    "ak.sum(ak.count(__column__, axis=-1) > 0, axis=-1)": _sum_hits_with_pulses,
    "ak.sum(ak.sum(__column__, axis=-1), axis=-1)": _sum_of_sums,
    "ak.fill_none(ak.firsts(__column__), 0)": _first_or_zero,
}
"""Reductions of one jagged evt column done on its buffers, by the expression they
replace (``__column__`` standing for ``evt.<name>``)."""

_PATTERNS = {ast.dump(ast.parse(text, mode="eval")): text for text in REDUCTIONS}


def reduced_columns(expression: str, evt: Mapping[str, DataObject]) -> DataObject | None:
    """One of :data:`REDUCTIONS` of an evt column, on flat buffers; None for any other
    expression or column (the general evaluator gives the same values).

    Example
    -------
    >>> reduced_columns("ak.sum(ak.sum(evt.energy, axis=-1), axis=-1)", chunk.evt)  # doctest: +SKIP
    """
    found = _reduction(expression)
    if found is None or found[1] not in evt:
        return None
    column = _Jagged.of(evt[found[1]])
    values = None if column is None else REDUCTIONS[found[0]](column)
    return None if values is None else Array(values)
