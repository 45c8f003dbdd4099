"""Aggregators: how the values of the hits of an event become one evt column.

Each aggregation mode of a config (``first_at``, ``last_at``, ``sum``, ``any``, ``all``,
``gather``, ``keep_at_ch``, ``keep_at_idx``, ``function``) is an entry of
:data:`AGGREGATORS`: a function ``(chunk, operation, config) -> DataObject``. They evaluate
the operation's expression once per channel on all of the channel's hits of the chunk, then
combine with vectorised numpy (or numba) over the whole chunk.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError, MismatchError, NotFoundError
from tierflow.evt._config import EvtConfig, KeepAtCh, Operation
from tierflow.evt._data import SPECIAL_TIERS, EventChunk, HitSelection
from tierflow.expr import as_data_object, compile_expr
from tierflow.expr._evaluate import is_awkward
from tierflow.registry import Registry
from tierflow.types import Array, DataObject, VectorOfVectors

__all__ = ["AGGREGATORS", "HitNamespace", "evaluate_at_channel", "make_full"]

Aggregator = Any
AGGREGATORS: Registry[Aggregator] = Registry(
    "aggregation mode", entry_point_group="tierflow.evt_aggregators"
)

_TCM_COLUMNS = ("tcm.table_key", "tcm.row_in_table", "tcm.index")


class HitNamespace(Mapping[str, Any]):
    """Names an expression may use for the hits of one channel: ``tier.field`` columns,
    ``tcm.table_key``/``tcm.row_in_table``/``tcm.index``, evt columns at the hits' events
    (``evt.x`` or ``x``) and parameters."""

    def __init__(
        self, chunk: EventChunk, hits: HitSelection, parameters: Mapping[str, Any]
    ) -> None:
        self.chunk, self.hits, self.parameters = chunk, hits, parameters

    def __getitem__(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        tier, dot, field = name.partition(".")
        if name == "tcm.table_key":
            return np.full(len(self.hits), self.hits.key, dtype=np.int64)
        if name == "tcm.row_in_table":
            return self.hits.rows
        if name == "tcm.index":
            return self.hits.positions
        if (dot and tier == "evt") or (not dot and name in self.chunk.evt):
            return _at_events(self.chunk.evt[field if dot else name], self.hits.events)
        if dot and tier in self.chunk.tiers and tier not in SPECIAL_TIERS:
            return self.chunk.column(tier, self.hits.key, field)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self.parameters
        yield from _TCM_COLUMNS
        yield from (f"evt.{n}" for n in self.chunk.evt)
        for tier, info in self.chunk.tiers.items():
            if tier in SPECIAL_TIERS or tier not in self.chunk.handles:
                continue
            group = self.chunk.handles[tier].get(info.table(self.hits.key))
            if group is not None:
                yield from (f"{tier}.{f}" for f in group)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _at_events(obj: DataObject, events: npt.NDArray[np.int64]) -> Any:
    if isinstance(obj, VectorOfVectors):
        return obj.view_as("ak")[events]
    if isinstance(obj, Array):
        return obj.nda[events]
    raise MismatchError(f"cannot use a {type(obj).__name__} per hit")


def evaluate_at_channel(
    chunk: EventChunk, hits: HitSelection, text: str, parameters: Mapping[str, Any]
) -> npt.NDArray[Any]:
    """The value of expression `text` for each hit in `hits`, as a 1-d numpy array (the
    same array for the same expression on the same channel of a chunk: do not change it)."""
    memo_key = None if parameters else ("evaluate_at_channel", _canonical(text), hits.key)
    if memo_key is not None and memo_key in chunk.memo:
        cached: npt.NDArray[Any] = chunk.memo[memo_key]
        return cached
    result = _evaluate(chunk, hits, text, parameters)
    if memo_key is not None:
        chunk.memo[memo_key] = result
    return result


@functools.lru_cache(maxsize=1024)
def _canonical(text: str) -> str:
    """One spelling of an expression (``a>25`` and ``a > 25`` evaluate once per chunk)."""
    try:
        return ast.dump(ast.parse(text.strip(), mode="eval"))
    except SyntaxError:
        return text  # compile_expr reports it


def _evaluate(
    chunk: EventChunk, hits: HitSelection, text: str, parameters: Mapping[str, Any]
) -> npt.NDArray[Any]:
    value = compile_expr(text).evaluate(HitNamespace(chunk, hits, parameters))
    if is_awkward(value):
        import awkward as ak

        if value.ndim != 1:
            raise ConfigError(
                f"expression {text!r} must give one value per hit, not a jagged array: "
                "reduce it with ak.sum, ak.firsts, ..."
            )
        value = ak.to_numpy(value)
    value = np.asarray(value)
    if value.ndim == 0:
        return np.full(len(hits), value)
    if value.ndim != 1:
        raise ConfigError(f"expression {text!r} must give one value per hit")
    return value


def make_full(n: int, fill: Any, dtype: Any) -> npt.NDArray[Any]:
    """``np.full(n, fill)`` in `dtype` when `fill` casts safely into it (the anchor's rule)."""
    if np.can_cast(np.array(fill).dtype, dtype):
        return np.full(n, fill, dtype=dtype)
    return np.full(n, fill)


def _channels(chunk: EventChunk, op: Operation) -> Iterator[tuple[str, HitSelection, bool]]:
    """(channel, its hits, whether it is excluded) for the operation's channels in order."""
    for channel in op.channels:
        key = chunk.key_of(channel)
        if key is None:
            raise NotFoundError(
                f"operation {op.name!r}: channel {channel!r} does not match "
                f"the table format {chunk.hit_fmt!r}",
                obj=channel,
            )
        yield channel, chunk.hits(key), channel in op.exclude


def _query_mask(chunk: EventChunk, op: Operation, hits: HitSelection) -> npt.NDArray[np.bool_]:
    if op.query is None:
        return np.ones(len(hits), dtype=np.bool_)
    return evaluate_at_channel(chunk, hits, op.query, op.parameters).astype(np.bool_)


def _sorter_field(text: str | None, op: Operation) -> tuple[str, str]:
    match = re.fullmatch(r"\s*(\w+)\.(\w+)\s*", text or "")
    if match is None:
        raise ConfigError(
            f"operation {op.name!r}: the sorter must be 'tier.field', not {text!r}", obj=op.name
        )
    return match.group(1), match.group(2)


def _first_or_last(chunk: EventChunk, op: Operation, is_first: bool) -> DataObject:
    from tierflow.evt._kernels import first_or_last_where, put_chosen

    tier, field = _sorter_field(op.mode_arg, op)
    results: list[npt.NDArray[Any]] = []
    best = np.full(chunk.n_events, np.inf if is_first else -np.inf)
    chosen = np.full(chunk.n_events, -1, dtype=np.int64)
    offset = 0
    for _, hits, skip in _channels(chunk, op):
        if skip:
            continue
        res = evaluate_at_channel(chunk, hits, op.expression, op.parameters)
        sort = np.asarray(chunk.column(tier, hits.key, field), dtype=np.float64)
        valid = _query_mask(chunk, op, hits)
        if not len(res) == len(sort) == len(valid) == len(hits):
            raise MismatchError(f"operation {op.name!r}: one value per hit expected")
        first_or_last_where(sort, hits.events, valid, best, chosen, offset, is_first)
        results.append(res)
        offset += len(res)
    dtype = results[0].dtype if results else np.float64
    out = make_full(chunk.n_events, op.initial, dtype)
    if not results:
        return Array(out)
    res = np.concatenate(results)
    if _compiled_copy(res.dtype, out.dtype):
        put_chosen(chosen, res, out)
    else:
        found = chosen >= 0
        out[found] = res[chosen[found]]
    return Array(out)


def _scalar(chunk: EventChunk, op: Operation, reduce: str) -> DataObject:
    out: npt.NDArray[Any] | None = None
    for _, hits, skip in _channels(chunk, op):
        if skip:
            continue
        res = evaluate_at_channel(chunk, hits, op.expression, op.parameters)
        mask = _query_mask(chunk, op, hits)
        if out is None:
            out = make_full(chunk.n_events, op.initial, res.dtype if reduce == "sum" else bool)
        if reduce == "sum":
            if res.dtype == np.bool_:
                res = res.astype(np.int64)
            if out.dtype == np.bool_:
                out = out.astype(np.int64)
            _add_where(out, hits.events, res, mask)
        else:
            _reduce_bool(out, res.astype(np.bool_)[mask], hits.events[mask], reduce)
    if out is None:
        out = make_full(chunk.n_events, op.initial, np.float64)
    return Array(out)


def _add_at(out: npt.NDArray[Any], events: npt.NDArray[np.int64], values: npt.NDArray[Any]) -> None:
    """``np.add.at(out, events, values)`` (same order of additions), compiled."""
    from tierflow.evt._kernels import segment_add

    if out.dtype.kind not in "iuf" or not np.can_cast(values.dtype, out.dtype, "safe"):
        np.add.at(out, events, values)  # numpy's casting rules and errors
        return
    segment_add(values.astype(out.dtype, copy=False), events, out)


def _add_where(
    out: npt.NDArray[Any],
    events: npt.NDArray[np.int64],
    values: npt.NDArray[Any],
    mask: npt.NDArray[np.bool_],
) -> None:
    """``_add_at(out, events[mask], values[mask])`` without taking the rows."""
    from tierflow.evt._kernels import segment_add_where

    safe = out.dtype.kind in "iuf" and np.can_cast(values.dtype, out.dtype, "safe")
    if not safe or not len(values) == len(events) == len(mask):
        _add_at(out, events[mask], values[mask])
        return
    segment_add_where(values.astype(out.dtype, copy=False), events, mask, out)


def _reduce_bool(
    out: npt.NDArray[Any], values: npt.NDArray[np.bool_], events: npt.NDArray[np.int64], how: str
) -> None:
    from tierflow.evt._kernels import segment_reduce_all, segment_reduce_any

    (segment_reduce_any if how == "any" else segment_reduce_all)(values, events, out)


def _target_positions(
    chunk: EventChunk, events: npt.NDArray[np.int64], wanted: npt.NDArray[Any], by_index: bool
) -> npt.NDArray[np.int64]:
    """For each (event, wanted) pair the flat map position of the hit it means, or -1: the
    hit at index `wanted` of that event (`by_index`) or the event's first hit of table key
    `wanted`."""
    n_hits = len(chunk.tcm.table_key)
    if by_index:
        idx = np.asarray(wanted, dtype=np.int64)
        ok = (idx >= 0) & (idx < n_hits)
        ok[ok] &= chunk.event_of_hit[idx[ok]] == events[ok]
        return np.where(ok, idx, -1)
    keys = np.asarray(wanted).astype(np.int64, copy=False)
    out = np.full(len(keys), -1, dtype=np.int64)
    for key in chunk.present_keys:
        sel = np.flatnonzero(keys == key)
        if len(sel) == 0:
            continue
        hits = chunk.hits(key)  # its events are sorted: the first match is the first hit
        at = np.minimum(np.searchsorted(hits.events, events[sel]), len(hits) - 1)
        hit = hits.events[at] == events[sel]
        out[sel[hit]] = hits.positions[at[hit]]
    return out


def _first_hit_per_event(chunk: EventChunk, wanted: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """For each event the flat map position of its first hit of table key ``wanted[event]``,
    or -1 (:func:`_target_positions` for one key per event, in one pass over the hits)."""
    from tierflow.evt._kernels import first_hit_of_key

    keys = np.asarray(wanted).astype(np.int64, copy=False)
    out = np.full(chunk.n_events, -1, dtype=np.int64)
    table_key = np.asarray(chunk.tcm.table_key, dtype=np.int64)
    first_hit_of_key(table_key, chunk.event_of_hit, keys, out)
    return out


def _keep_at(chunk: EventChunk, op: Operation, by_index: bool, config: EvtConfig) -> DataObject:
    name = (op.mode_arg or "").removeprefix("evt.")
    if name not in chunk.evt:
        raise NotFoundError(
            f"operation {op.name!r}: no evt column {name!r} (yet)",
            obj=name,
            candidates=list(chunk.evt),
        )
    comp = chunk.evt[name]
    if isinstance(comp, VectorOfVectors):
        flat = np.asarray(comp.flattened_data.view_as("np"))
        events = np.repeat(
            np.arange(len(comp), dtype=np.int64), np.diff(comp.cumulative_length.nda, prepend=0)
        )
    elif isinstance(comp, Array):
        if not by_index and config.keep_at_ch is KeepAtCh.ANCHOR:
            return Array(_anchor_keep_at_ch(chunk, op, comp.nda))
        flat, events = comp.nda, np.arange(chunk.n_events, dtype=np.int64)
    else:
        raise MismatchError(f"operation {op.name!r}: {name!r} must be an array or jagged array")
    if isinstance(comp, Array) and not by_index:
        targets = _first_hit_per_event(chunk, flat)
    else:
        targets = _target_positions(chunk, events, flat, by_index)
    out, dtype = _values_at(chunk, op, targets)
    if isinstance(comp, VectorOfVectors):
        if dtype is not None:
            out = out.astype(dtype)
        return VectorOfVectors(
            flattened_data=Array(out), cumulative_length=np.array(comp.cumulative_length.nda)
        )
    return Array(out)


def _anchor_keep_at_ch(chunk: EventChunk, op: Operation, ids: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The anchor's keep_at_ch (see :class:`KeepAtCh`): each channel named somewhere in `ids`
    writes its values into every event it has a hit in."""
    out = make_full(chunk.n_events, op.initial, type(op.initial))
    wanted = {c for c in op.channels if c not in op.exclude}
    for key in np.unique(np.asarray(ids).astype(np.int64)):
        channel = chunk.hit_fmt.format(int(key))
        hits = chunk.hits(int(key))
        if len(hits) == 0:
            continue
        if channel in wanted:
            out[hits.events] = evaluate_at_channel(chunk, hits, op.expression, op.parameters)
        else:
            out[hits.events] = op.initial
    return out


def _values_at(
    chunk: EventChunk, op: Operation, targets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[Any], Any]:
    """The expression's value at each target hit (flat map position; -1: none), evaluated
    on the channels that own a target; the initial value elsewhere."""
    from tierflow.evt._kernels import owns_any, put_owned

    out = np.full(len(targets), op.initial, dtype=np.array(op.initial).dtype)
    dtype = None
    table_key = np.asarray(chunk.tcm.table_key, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    for _, hits, skip in _channels(chunk, op):
        if skip or len(hits) == 0 or not owns_any(targets, table_key, hits.key):
            continue
        res = evaluate_at_channel(chunk, hits, op.expression, op.parameters)
        dtype = res.dtype if dtype is None else dtype
        if _compiled_copy(res.dtype, out.dtype):
            put_owned(targets, table_key, chunk.rank_in_channel, hits.key, res, out)
            continue
        inside = np.flatnonzero((targets >= 0) & (table_key[np.maximum(targets, 0)] == hits.key))
        out[inside] = res[chunk.rank_in_channel[targets[inside]]]
    return out, dtype


def _compiled_copy(source: np.dtype[Any], target: np.dtype[Any]) -> bool:
    """Whether a compiled loop copies values of `source` into `target` as numpy would: the
    same numeric dtype or a safe cast between numbers."""
    numeric = source.kind in "biuf" and target.kind in "biuf"
    return numeric and (source == target or np.can_cast(source, target, "safe"))


def _gather(chunk: EventChunk, op: Operation) -> DataObject:
    batched = _gather_at_once(chunk, op)
    if batched is not None:
        return batched
    dtype = None
    sorter = _parse_sort(op)
    parts, channels = [], []
    for _, hits, skip in _channels(chunk, op):
        if skip:
            res = np.full(len(hits), op.initial)
        else:
            res = evaluate_at_channel(chunk, hits, op.expression, op.parameters)
            dtype = res.dtype if dtype is None else dtype
        mask = _query_mask(chunk, op, hits)
        if res.dtype.kind in "fc":
            mask &= ~np.isnan(res)
        parts.append((res, hits.events, mask))
        channels.append((hits, skip))
    grouped = _gather_unsorted(chunk.n_events, parts, dtype) if sorter is None else None
    if grouped is not None:
        return grouped
    values, events, channel_index, sort_values = [], [], [], []
    for i, ((res, event, mask), (hits, skip)) in enumerate(zip(parts, channels, strict=True)):
        values.append(res[mask])
        events.append(event[mask])
        if sorter is not None:
            channel_index.append(np.full(int(mask.sum()), i))
            sort = (
                np.full(len(hits), np.nan) if skip else chunk.column(sorter[1], hits.key, sorter[2])
            )
            sort_values.append(np.asarray(sort, dtype=np.float64)[mask])
    return _make_jagged(chunk.n_events, values, events, channel_index, sort_values, sorter, dtype)


def _gather_unsorted(
    n_events: int,
    parts: list[tuple[npt.NDArray[Any], npt.NDArray[np.int64], npt.NDArray[np.bool_]]],
    dtype: Any,
) -> VectorOfVectors | None:
    """The jagged array of :func:`_gather` without a sorter from the (values, events, kept)
    of each channel in one compiled pass, for numbers; None otherwise."""
    if not parts or n_events == 0:
        return None
    if any(not len(v) == len(e) == len(k) for v, e, k in parts):
        return None  # the general path reports it
    value = np.concatenate([v for v, _, _ in parts])
    if value.dtype.kind not in "biuf":
        return None
    from tierflow.evt._kernels import counting_sort

    event = np.concatenate([e for _, e, _ in parts]).astype(np.int64, copy=False)
    keep = np.concatenate([k for _, _, k in parts])
    flat = np.empty_like(value)
    ends = np.empty(n_events, dtype=np.int64)
    flat = flat[: counting_sort(value, event, keep, n_events, flat, ends)]
    if dtype is not None:
        flat = flat.astype(dtype)
    return VectorOfVectors(flattened_data=Array(flat), cumulative_length=ends)


def _gather_at_once(chunk: EventChunk, op: Operation) -> DataObject | None:
    """:func:`_gather` with the expression evaluated once on all channels' hits, for an
    elementwise expression of lower-tier columns that are 1-d arrays of one dtype per name
    (no query, sort, parameters or excluded channel with hits); None otherwise."""
    if op.query is not None or op.sort is not None or op.parameters:
        return None
    if not _elementwise(op.expression):
        return None
    names = compile_expr(op.expression).names
    columns: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in names}
    events = []
    _prefetch(chunk, op, names)
    fields = [(name, *name.partition(".")[::2]) for name in names]  # (name, tier, field)
    if any(tier not in chunk.tiers or tier in SPECIAL_TIERS for _, tier, _ in fields):
        return None
    for _, hits, skip in _channels(chunk, op):
        if skip and len(hits):
            return None
        if skip:
            continue
        for name, tier, field in fields:
            column = chunk.column(tier, hits.key, field)
            if not isinstance(column, np.ndarray) or column.ndim != 1:
                return None
            columns[name].append(column)
        events.append(hits.events)
    joined = {}
    for name, parts in columns.items():
        if not parts or len({p.dtype for p in parts}) != 1:
            return None
        joined[name] = np.concatenate(parts)
    value = np.asarray(compile_expr(op.expression).evaluate(joined))
    event = np.concatenate(events)
    if value.ndim != 1 or len(value) != len(event):
        return None
    if value.dtype.kind in "fc":
        keep = ~np.isnan(value)
        value, event = value[keep], event[keep]
    return _make_jagged(chunk.n_events, [value], [event], [], [], None, value.dtype)


def _prefetch(chunk: EventChunk, op: Operation, names: Any) -> None:
    """Read the lower-tier columns `names` (``tier.field``) of the operation's channels in
    one batch each (:meth:`EventChunk.prefetch`)."""
    keys = [k for c in op.channels if c not in op.exclude and (k := chunk.key_of(c)) is not None]
    for name in names:
        tier, _, field = name.partition(".")
        chunk.prefetch(tier, keys, field)


_ELEMENTWISE = (
    ast.Expression,
    ast.Attribute,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.UnaryOp,
    ast.BinOp,
    ast.Compare,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
)


@functools.lru_cache(maxsize=1024)
def _elementwise(text: str) -> bool:
    """Whether `text` is built only of ``tier.field`` names, numbers and operators (its
    value for hits of many channels is the values for each channel, one after another)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return False
    dotted = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ELEMENTWISE):
            return False
        if isinstance(node, ast.Attribute):
            if not isinstance(node.value, ast.Name):
                return False
            dotted.add(id(node.value))
        if isinstance(node, ast.Constant) and type(node.value) not in (int, float, bool):
            return False
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    return bool(names) and all(id(n) in dotted for n in names)


def _parse_sort(op: Operation) -> tuple[bool, str, str] | None:
    if op.sort is None:
        return None
    how, _, field = op.sort.partition(":")
    if how not in ("ascend_by", "descend_by"):
        raise NotFoundError(
            f"operation {op.name!r}: unknown sort {how!r}",
            obj=how,
            candidates=["ascend_by", "descend_by"],
        )
    tier, name = _sorter_field(field, op)
    return how == "descend_by", tier, name


def _make_jagged(
    n_events: int,
    values: list[npt.NDArray[Any]],
    events: list[npt.NDArray[np.int64]],
    channel_index: list[npt.NDArray[Any]],
    sort_values: list[npt.NDArray[np.float64]],
    sorter: tuple[bool, str, str] | None,
    dtype: Any,
) -> VectorOfVectors:
    if not values:
        return VectorOfVectors(
            flattened_data=Array(np.zeros(0)), cumulative_length=np.zeros(n_events, dtype=np.int64)
        )
    value = np.concatenate(values)
    event = np.concatenate(events)
    if sorter is None and value.dtype.kind in "biuf" and n_events > 0:
        return _grouped_by_event(value, event, n_events, dtype)
    if sorter is None:  # channels are concatenated in order: a stable sort by event
        order = _stable_order(event, n_events)
    else:
        sort = np.concatenate(sort_values)
        keys = [np.concatenate(channel_index), -sort if sorter[0] else sort, event]
        order = np.lexsort(keys)
    flat = value[order]
    if dtype is not None:
        flat = flat.astype(dtype)
    lengths = np.bincount(event, minlength=n_events)
    return VectorOfVectors(flattened_data=Array(flat), cumulative_length=np.cumsum(lengths))


def _grouped_by_event(
    value: npt.NDArray[Any], event: npt.NDArray[np.int64], n_events: int, dtype: Any
) -> VectorOfVectors:
    """The jagged array of `value` grouped by `event` (``0 <= event < n_events``), in order
    within each event: :func:`_stable_order` and the lengths in one compiled pass."""
    from tierflow.evt._kernels import counting_sort

    flat = np.empty_like(value)
    ends = np.empty(n_events, dtype=np.int64)
    keep = np.ones(len(value), dtype=np.bool_)
    counting_sort(value, np.asarray(event, dtype=np.int64), keep, n_events, flat, ends)
    if dtype is not None:
        flat = flat.astype(dtype)
    return VectorOfVectors(flattened_data=Array(flat), cumulative_length=ends)


def _stable_order(event: npt.NDArray[np.int64], n_events: int) -> npt.NDArray[np.intp]:
    """``np.argsort(event, kind="stable")``, as a radix sort when the events fit 16 bits."""
    if n_events <= 2**16 and len(event):
        return np.argsort(event.astype(np.uint16), kind="stable")
    return np.argsort(event, kind="stable")


def _function(chunk: EventChunk, op: Operation, config: EvtConfig) -> DataObject:
    from tierflow.evt._functions import EVT_FUNCTIONS

    assert op.call is not None
    kwargs = dict(op.call.constants)
    for key, ref in op.call.references.items():
        name = ref.removeprefix("evt.")
        if name in op.parameters:
            kwargs[key] = op.parameters[name]
        elif name in chunk.evt:
            kwargs[key] = chunk.evt[name]
        else:
            raise NotFoundError(
                f"operation {op.name!r}: argument {key}={ref} names no evt column or parameter",
                obj=name,
                candidates=list(chunk.evt) + list(op.parameters),
            )
    channels = [c for c in op.channels if c not in op.exclude]
    result = EVT_FUNCTIONS[op.call.name](chunk, channels, config.channel_mapping, **kwargs)
    return result if isinstance(result, DataObject) else as_data_object(result, chunk.n_events)


AGGREGATORS.add("first_at", lambda chunk, op, config: _first_or_last(chunk, op, True))
AGGREGATORS.add("last_at", lambda chunk, op, config: _first_or_last(chunk, op, False))
AGGREGATORS.add("sum", lambda chunk, op, config: _scalar(chunk, op, "sum"))
AGGREGATORS.add("any", lambda chunk, op, config: _scalar(chunk, op, "any"))
AGGREGATORS.add("all", lambda chunk, op, config: _scalar(chunk, op, "all"))
AGGREGATORS.add("keep_at_ch", lambda chunk, op, config: _keep_at(chunk, op, False, config))
AGGREGATORS.add("keep_at_idx", lambda chunk, op, config: _keep_at(chunk, op, True, config))
AGGREGATORS.add("gather", lambda chunk, op, config: _gather(chunk, op))
AGGREGATORS.add("function", _function)
