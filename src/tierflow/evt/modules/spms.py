"""SiPM event functions: pulse data gathered per event and channel, TCM data of SiPM hits,
pulse masks by amplitude and time window.

Gathered pulse data are 3-level jagged arrays: event → SiPM hit (in map order) → pulse.
NaN pulses (padding of the hit tier) are dropped, as the anchor drops them.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError, NotFoundError
from tierflow.evt._data import EventChunk
from tierflow.evt._functions import register_evt_function
from tierflow.evt._jagged import kept_per_list
from tierflow.types import Array, DataObject, VectorOfVectors

__all__ = ["Layout", "gather_pulse_data", "gather_tcm_data", "make_pulse_data_mask"]


class Layout(str, enum.Enum):
    """Output layouts of :func:`gather_pulse_data`."""

    SPARSE = "sparse"
    """Only the channels with a hit in the event."""
    NON_SPARSE = "non_sparse"
    """The same as sparse here: hits without pulses give empty lists."""
    DROP_EMPTY = "drop_empty"
    """Like sparse, without hits that have no pulses."""


def _layout(value: str) -> Layout:
    try:
        return Layout(value)
    except ValueError:
        raise NotFoundError(
            f"unknown out_layout {value!r}", obj=value, candidates=[m.value for m in Layout]
        ) from None


def _selected(
    chunk: EventChunk, channels: Sequence[str]
) -> tuple[npt.NDArray[np.int64], list[int]]:
    """Flat map positions of the hits of `channels` (map order) and their table keys."""
    memo_key = ("spms._selected", tuple(channels))
    if memo_key not in chunk.memo:
        keys = [k for c in channels if (k := chunk.key_of(c)) is not None]
        chunk.memo[memo_key] = np.flatnonzero(np.isin(chunk.tcm.table_key, keys)), keys
    found: tuple[npt.NDArray[np.int64], list[int]] = chunk.memo[memo_key]
    return found


def _counts(chunk: EventChunk, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.bincount(chunk.event_of_hit[positions], minlength=chunk.n_events)


def _widen(array: Any) -> Any:
    """Floats as float64, integers as int64 (the anchor's data pass through Python lists)."""
    import awkward as ak

    kind = ak.type(array).content
    while hasattr(kind, "content"):
        kind = kind.content
    name = str(kind)
    if name.startswith("float"):
        return ak.values_astype(array, np.float64)
    if name.startswith(("int", "uint")):
        return ak.values_astype(array, np.int64)
    return array


@dataclass(frozen=True)
class _Pulses:
    """Pulses as flat buffers: hits per event, pulses per hit, the pulses' values."""

    events: npt.NDArray[np.int64]
    hits: npt.NDArray[np.int64]
    values: npt.NDArray[Any]
    attrs: dict[str, Any]

    def same_shape(self, obj: Any) -> bool:
        """Whether `obj` is an event → hit → pulse jagged array of this shape."""
        if not isinstance(obj, VectorOfVectors) or len(obj) != len(self.events):
            return False
        inner = obj.flattened_data
        return (
            isinstance(inner, VectorOfVectors)
            and type(inner.flattened_data) is Array
            and np.array_equal(obj.cumulative_length.nda, np.cumsum(self.events))
            and np.array_equal(inner.cumulative_length.nda, np.cumsum(self.hits))
        )

    def pulse_events(self) -> npt.NDArray[np.int64]:
        """The event of each pulse."""
        hit_event = np.repeat(np.arange(len(self.events), dtype=np.int64), self.events)
        return np.repeat(hit_event, self.hits)

    def nested(self, values: npt.NDArray[Any], attrs: Mapping[str, Any] | None) -> DataObject:
        """`values` (one per pulse, or those kept with new pulse counts) as the event →
        hit → pulse jagged array :func:`_to_vov` makes of the awkward form."""
        return _nested(self.events, self.hits, values, attrs)


def _nested(
    events: npt.NDArray[np.int64],
    hits: npt.NDArray[np.int64],
    values: npt.NDArray[Any],
    attrs: Mapping[str, Any] | None,
) -> DataObject:
    inner = VectorOfVectors(flattened_data=Array(values), cumulative_length=np.cumsum(hits))
    return VectorOfVectors(
        flattened_data=inner, cumulative_length=np.cumsum(events), attrs=dict(attrs or {})
    )


def _pulses(
    chunk: EventChunk, channels: Sequence[str], observable: str
) -> tuple[Any, dict[str, Any]]:
    """Per event and SiPM hit, the pulses' `observable` (``tier.field``, tier ``hit`` by
    default), NaN dropped, floats as float64 and integers as int64; and the field's
    attributes."""
    import awkward as ak

    memo_key = ("spms._pulses", observable, tuple(channels))
    if memo_key in chunk.memo:  # masks and gathers of one chunk read the same pulses
        return chunk.memo[memo_key]  # type: ignore[no-any-return]
    flat = _flat(chunk, channels, observable)
    if flat is not None:
        per_hit = ak.unflatten(flat.values, flat.hits)
        result = ak.unflatten(per_hit, flat.events), flat.attrs
    else:
        tier, field = _observable(observable)
        positions, keys = _selected(chunk, channels)
        per_hit = _awkward_pulses(chunk, keys, tier, field)
        result = ak.unflatten(per_hit, _counts(chunk, positions)), chunk.attrs_of(tier, keys, field)
    chunk.memo[memo_key] = result
    return result


def _observable(observable: str) -> tuple[str, str]:
    tier, _, field = observable.rpartition(".")
    return tier or "hit", field


def _flat(chunk: EventChunk, channels: Sequence[str], observable: str) -> _Pulses | None:
    """:func:`_pulses` as flat buffers, or None when a channel's column is not a flat or
    plain jagged array of numbers (or their kinds differ)."""
    memo_key = ("spms._flat", observable, tuple(channels))
    if memo_key not in chunk.memo:
        tier, field = _observable(observable)
        positions, keys = _selected(chunk, channels)
        lists = _flat_lists(chunk, keys, tier, field)
        chunk.memo[memo_key] = (
            None
            if lists is None
            else _Pulses(_counts(chunk, positions), *lists, chunk.attrs_of(tier, keys, field))
        )
    found: _Pulses | None = chunk.memo[memo_key]
    return found


def _flat_pulses(chunk: EventChunk, keys: Sequence[int], tier: str, field: str) -> Any:
    """:func:`_pulses` per hit in map order, built from flat numpy buffers; None when a
    channel's column is not a flat or plain jagged array of numbers (or kinds differ)."""
    import awkward as ak

    lists = _flat_lists(chunk, keys, tier, field)
    return None if lists is None else ak.unflatten(lists[1], lists[0])


def _flat_lists(
    chunk: EventChunk, keys: Sequence[int], tier: str, field: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None:
    """Pulses per hit (map order) and their values, for :func:`_flat_pulses`."""
    batched = _slab_lists(chunk, keys, tier, field)
    return batched if batched is not None else _channel_lists(chunk, keys, tier, field)


@dataclass(frozen=True)
class _Slabs:
    """The slabs of many channels' column, one after another: list starts and ends into
    the concatenated values, and where each channel's rows start."""

    keys: tuple[int, ...]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    values: npt.NDArray[Any]
    row_base: npt.NDArray[np.int64]
    """Index of each channel's first slab row in `starts` and `ends`, minus its first row."""

    def dropping_nan(self) -> _Slabs:
        """Without NaN values (lists shortened)."""
        if self.values.dtype.kind != "f":
            return self
        keep = ~np.isnan(self.values)
        if keep.all():
            return self
        kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept_before[1:])
        return dataclasses.replace(
            self,
            starts=kept_before[self.starts],
            ends=kept_before[self.ends],
            values=self.values[keep],
        )


def _slab_lists(
    chunk: EventChunk, keys: Sequence[int], tier: str, field: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None:
    """:func:`_channel_lists` in one pass over all channels' hits: their slabs are joined
    and the hits taken in map order (None when a channel's column is not plain)."""
    slabs = _join_slabs(chunk, keys, tier, field)
    if slabs is None:
        return None
    slabs = slabs.dropping_nan()
    positions, channel = _channel_of_hits(chunk, slabs.keys)
    rows = slabs.row_base[channel] + chunk.tcm.row_in_table[positions]
    starts = slabs.starts[rows]
    counts = slabs.ends[rows] - starts
    new_starts = np.cumsum(counts) - counts
    take = np.repeat(starts - new_starts, counts) + np.arange(int(counts.sum()))
    return counts, slabs.values[take]


def _join_slabs(chunk: EventChunk, keys: Sequence[int], tier: str, field: str) -> _Slabs | None:
    """The slabs holding the hits of the channels `keys` that have hits, joined, values
    widened to float64/int64 (None when one is not a plain column of numbers, or kinds
    differ)."""
    found, ends, values, firsts = [], [], [], []
    wanted = list(dict.fromkeys(keys))
    chunk.prefetch(tier, wanted, field)
    for key in wanted:
        slab = chunk.column_slab(tier, key, field)
        if slab is None:
            if len(chunk.hits(key)):
                return None
            continue
        slab = _trimmed(*slab, chunk.hits(key).span)
        found.append(key)
        ends.append(slab[0])  # lists of a slab are consecutive from its start
        values.append(slab[1])
        firsts.append(slab[2])
    kinds = {_widened_dtype(v.dtype) for v in values}
    if not values or len(kinds) > 1 or None in kinds:
        return None
    n_lists = np.array([len(e) for e in ends], dtype=np.int64)
    n_values = np.array([len(v) for v in values], dtype=np.int64)
    value_base = np.cumsum(n_values) - n_values
    list_base = np.cumsum(n_lists) - n_lists
    joined_ends = np.concatenate(ends) + np.repeat(value_base, n_lists)
    starts = np.empty_like(joined_ends)
    starts[1:] = joined_ends[:-1]
    starts[list_base] = value_base  # each slab's first list starts at its first value
    return _Slabs(
        tuple(found),
        starts,
        joined_ends,
        np.concatenate(values, dtype=kinds.pop(), casting="unsafe"),  # as astype
        list_base - np.array(firsts, dtype=np.int64),
    )


def _trimmed(
    ends: npt.NDArray[np.int64], values: npt.NDArray[Any], first: int, span: tuple[int, int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any], int]:
    """The lists of rows ``span[0]:span[1]`` of a slab (list ends from 0, values, first
    row), as a slab of its own: a slab may hold many chunks' rows, and joining all of it
    for every chunk would copy each value once per chunk."""
    lo, hi = max(span[0] - first, 0), min(span[1] - first, len(ends))
    if lo == 0 and hi == len(ends):
        return ends, values, first
    start = int(ends[lo - 1]) if lo > 0 else 0
    stop = int(ends[hi - 1]) if hi > 0 else 0
    return ends[lo:hi] - start, values[start:stop], first + lo


def _widened_dtype(dtype: np.dtype[Any]) -> np.dtype[Any] | None:
    """float64 for floats, int64 for integers, bool for booleans; None for others."""
    return _WIDE.get(dtype.kind)


_WIDE = {
    "f": np.dtype(np.float64),
    "i": np.dtype(np.int64),
    "u": np.dtype(np.int64),
    "b": np.dtype(np.bool_),
}


def _channel_of_hits(
    chunk: EventChunk, keys: tuple[int, ...]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The map positions of the hits of the channels `keys`, in map order, and the index
    in `keys` of each hit's channel (found once per chunk)."""
    memo_key = ("spms._channel_of_hits", keys)
    if memo_key not in chunk.memo:
        table_key = chunk.tcm.table_key
        positions = np.flatnonzero(np.isin(table_key, keys))
        wanted = np.array(keys, dtype=np.int64)
        by_key = np.argsort(wanted)
        channel = by_key[np.searchsorted(wanted[by_key], table_key[positions])]
        chunk.memo[memo_key] = positions, channel
    found: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] = chunk.memo[memo_key]
    return found


def _channel_lists(
    chunk: EventChunk, keys: Sequence[int], tier: str, field: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None:
    """:func:`_flat_lists` channel by channel (any column :func:`_channel_pulses` reads)."""
    first: dict[int, int] = {}  # where each channel's hits start in the concatenation
    counts, values = [], []
    n_hits = 0
    for key in dict.fromkeys(keys):
        hits = chunk.hits(key)
        if len(hits) == 0:
            continue
        lists = chunk.column_lists(tier, key, field)
        if lists is not None:
            got = _clean_pulses(*lists)
        else:
            got = _channel_pulses(chunk.column_object(tier, key, field))
        if got is None:
            return None
        first[key] = n_hits
        n_hits += len(hits)
        counts.append(got[0])
        values.append(got[1])
    if not values or len({v.dtype for v in values}) > 1:
        return None
    return _reorder(np.concatenate(counts), np.concatenate(values), _map_order(chunk, first))


def _map_order(chunk: EventChunk, first: Mapping[int, int]) -> npt.NDArray[np.int64]:
    """For the hits of the channels `first` (key → start of its hits in a concatenation
    channel by channel), in map order, their index in that concatenation (the same for
    every observable of a chunk: found once)."""
    memo_key = ("spms._map_order", tuple(first.items()))
    if memo_key not in chunk.memo:
        chunk.memo[memo_key] = _find_map_order(chunk, first)
    found: npt.NDArray[np.int64] = chunk.memo[memo_key]
    return found


def _find_map_order(chunk: EventChunk, first: Mapping[int, int]) -> npt.NDArray[np.int64]:
    positions = np.flatnonzero(np.isin(chunk.tcm.table_key, list(first)))
    keys = np.fromiter(first, dtype=np.int64, count=len(first))
    starts = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    by_key = np.argsort(keys)
    channel = by_key[np.searchsorted(keys[by_key], chunk.tcm.table_key[positions])]
    order: npt.NDArray[np.int64] = starts[channel] + chunk.rank_in_channel[positions]
    return order


def _reorder(
    counts: npt.NDArray[np.int64], flat: npt.NDArray[Any], order: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """The lists (`counts` values each, one after another in `flat`) taken in `order`."""
    starts = np.cumsum(counts) - counts
    counts = counts[order]
    new_starts = np.cumsum(counts) - counts
    take = np.repeat(starts[order] - new_starts, counts) + np.arange(int(counts.sum()))
    return counts, flat[take]


def _channel_pulses(
    obj: Any,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None:
    """Pulses per hit (counts) and their values, NaN dropped, widened to float64/int64."""
    if isinstance(obj, VectorOfVectors):
        inner = obj.flattened_data
        if not isinstance(inner, Array) or inner.nda.ndim != 1:
            return None
        flat = inner.nda
        counts = np.diff(obj.cumulative_length.nda, prepend=0).astype(np.int64)
    elif type(obj) is Array and obj.nda.ndim == 1:
        flat, counts = obj.nda, np.ones(len(obj), dtype=np.int64)
    else:
        return None
    return _clean_pulses(counts, flat)


def _clean_pulses(
    counts: npt.NDArray[np.int64], flat: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None:
    """Pulses per hit and their values, NaN dropped, widened to float64/int64 (None for
    values that are not numbers)."""
    if flat.dtype.kind not in "biuf":
        return None
    if flat.dtype.kind == "f":
        flat = flat.astype(np.float64, copy=False)
        keep = ~np.isnan(flat)
        if not keep.all():
            hit = np.repeat(np.arange(len(counts)), counts)
            counts = np.bincount(hit[keep], minlength=len(counts)).astype(np.int64)
            flat = flat[keep]
    elif flat.dtype.kind in "iu":
        flat = flat.astype(np.int64)
    return counts, flat


def _awkward_pulses(chunk: EventChunk, keys: Sequence[int], tier: str, field: str) -> Any:
    """:func:`_pulses` per hit in map order, through awkward (any column layout)."""
    import awkward as ak

    parts, where = [], []
    for key in keys:
        hits = chunk.hits(key)
        if len(hits) == 0:
            continue
        data = ak.Array(chunk.column(tier, key, field))
        if data.ndim == 1:
            data = ak.from_regular(ak.unflatten(data, 1))
        parts.append(ak.drop_none(ak.nan_to_none(data), axis=-1))
        where.append(hits.positions)
    if parts:
        per_hit = ak.concatenate(parts)[np.argsort(np.concatenate(where), kind="stable")]
    else:
        per_hit = ak.Array(np.zeros((0, 0)))
    return _widen(per_hit)


def _to_vov(array: Any, attrs: Mapping[str, Any] | None = None) -> DataObject:
    from tierflow.expr import as_data_object

    return as_data_object(array, len(array), attrs=dict(attrs or {}))


def _as_ak(obj: Any) -> Any:
    import awkward as ak

    if isinstance(obj, VectorOfVectors):
        return obj.view_as("ak")
    if isinstance(obj, Array):
        return ak.Array(obj.nda)
    return obj


def make_pulse_data_mask(
    chunk: EventChunk,
    channels: Sequence[str],
    channel_mapping: Mapping[str, Any] | None = None,
    *,
    a_thr_pe: float | None = None,
    t_loc_ns: Any = None,
    dt_range_ns: Sequence[float] | None = None,
    t_loc_default_ns: float | None = None,
    out_layout: str = "sparse",
    t0_observable: str = "hit.trigger_pos",
    energy_observable: str = "hit.energy_in_pe",
) -> DataObject:
    """A 3-level boolean mask of SiPM pulses: amplitude above `a_thr_pe` and arrival time in
    ``(t_loc_ns + dt_range_ns[0], t_loc_ns + dt_range_ns[1])`` (`t_loc_ns` a number or a
    per-event column, NaN replaced by `t_loc_default_ns`).

    Example
    -------
    >>> # in a config: pygama.evt.modules.spms.make_pulse_data_mask(<...>, a_thr_pe=0.5,
    >>> #     t_loc_ns=48000, dt_range_ns=(-1000, 5000))
    """
    import awkward as ak

    if _layout(out_layout) is Layout.DROP_EMPTY:
        raise ConfigError("make_pulse_data_mask supports the sparse and non_sparse layouts")
    if dt_range_ns is not None and (
        not isinstance(dt_range_ns, (tuple, list)) or len(dt_range_ns) != 2
    ):
        raise ConfigError(f"dt_range_ns must be a pair, not {dt_range_ns!r}")
    window = None if t_loc_ns is None or dt_range_ns is None else (t_loc_ns, dt_range_ns)
    fast = _flat_mask(chunk, channels, (t0_observable, energy_observable), a_thr_pe, window)
    if fast is not None:
        return fast
    t0, _ = _pulses(chunk, channels, t0_observable)
    mask = t0 == t0  # True where defined
    if a_thr_pe is not None:
        amp, _ = _pulses(chunk, channels, energy_observable)
        mask = mask & (amp > a_thr_pe)
    if t_loc_ns is not None and dt_range_ns is not None:
        t_loc = _as_ak(t_loc_ns)
        if isinstance(t_loc, ak.Array):
            if t_loc.ndim != 1:
                raise ConfigError("t_loc_ns must be a number or one value per event")
            t_loc = ak.fill_none(ak.nan_to_none(t_loc), t_loc_default_ns)
        mask = mask & (t0 < t_loc + dt_range_ns[1]) & (t0 > t_loc + dt_range_ns[0])
    return _to_vov(mask)


def _flat_mask(
    chunk: EventChunk,
    channels: Sequence[str],
    observables: tuple[str, str],
    a_thr_pe: float | None,
    window: tuple[Any, Sequence[float]] | None,
) -> DataObject | None:
    """:func:`make_pulse_data_mask` on flat buffers (None where it needs awkward: pulses
    of other layouts, amplitudes shaped unlike the times, a per-event `t_loc_ns` with NaN
    and no default)."""
    t0 = _flat(chunk, channels, observables[0])
    if t0 is None:
        return None
    mask = t0.values == t0.values  # True where defined
    if a_thr_pe is not None:
        amp = _flat(chunk, channels, observables[1])
        if amp is None or not np.array_equal(amp.hits, t0.hits):
            return None
        mask &= amp.values > a_thr_pe
    if window is not None:
        t_loc = _pulse_t_loc(t0, window[0])
        if t_loc is None:
            return None
        mask &= (t0.values < t_loc + window[1][1]) & (t0.values > t_loc + window[1][0])
    return t0.nested(mask, None)


def _pulse_t_loc(t0: _Pulses, t_loc: Any) -> Any:
    """`t_loc` (a number, or one value per event without NaN) for each pulse; None
    otherwise."""
    if isinstance(t_loc, (int, float)) and not isinstance(t_loc, bool):
        return t_loc
    if type(t_loc) is not Array or t_loc.nda.ndim != 1 or t_loc.nda.dtype.kind not in "iuf":
        return None
    per_event = t_loc.nda
    if len(per_event) != len(t0.events) or np.isnan(per_event).any():
        return None
    return per_event[t0.pulse_events()]


def _flat_gather(data: _Pulses, pulse_mask: Any, layout: Layout) -> DataObject | None:
    """:func:`gather_pulse_data` on flat buffers (None where it needs awkward: masks that
    are not booleans shaped like the pulses, the drop_empty layout)."""
    if layout is Layout.DROP_EMPTY:
        return None
    if pulse_mask is None:
        return data.nested(data.values, data.attrs)
    if not data.same_shape(pulse_mask):
        return None
    keep = pulse_mask.flattened_data.flattened_data.nda
    if keep.dtype != np.bool_:
        return None
    return _nested(data.events, kept_per_list(data.hits, keep), data.values[keep], data.attrs)


def gather_pulse_data(
    chunk: EventChunk,
    channels: Sequence[str],
    channel_mapping: Mapping[str, Any] | None = None,
    *,
    observable: str,
    pulse_mask: Any = None,
    a_thr_pe: float | None = None,
    t_loc_ns: Any = None,
    dt_range_ns: Sequence[float] | None = None,
    t_loc_default_ns: float | None = None,
    out_layout: str = "sparse",
    energy_observable: str = "hit.energy_in_pe",
    t0_observable: str = "hit.trigger_pos",
) -> DataObject:
    """SiPM pulse data as event → hit → pulse, optionally masked by `pulse_mask` or by a mask
    made from `a_thr_pe`, `t_loc_ns`, `dt_range_ns` (see :func:`make_pulse_data_mask`).

    Example
    -------
    >>> # pygama.evt.modules.spms.gather_pulse_data(<...>, observable='hit.energy_in_pe')
    """
    import awkward as ak

    layout = _layout(out_layout)
    if pulse_mask is None and any(v is not None for v in (a_thr_pe, t_loc_ns, dt_range_ns)):
        pulse_mask = make_pulse_data_mask(
            chunk,
            channels,
            channel_mapping,
            a_thr_pe=a_thr_pe,
            t_loc_ns=t_loc_ns,
            dt_range_ns=dt_range_ns,
            t_loc_default_ns=t_loc_default_ns,
            energy_observable=energy_observable,
            t0_observable=t0_observable,
        )
    flat = _flat(chunk, channels, observable)
    fast = None if flat is None else _flat_gather(flat, pulse_mask, layout)
    if fast is not None:
        return fast
    data, attrs = _pulses(chunk, channels, observable)
    if pulse_mask is not None:
        data = data[_as_ak(pulse_mask)]
    if layout is Layout.DROP_EMPTY:
        data = data[ak.count(data, axis=-1) > 0]
    return _to_vov(data, attrs)


_TCM_FIELDS = {
    "table_key": "table_key",
    "id": "table_key",
    "row_in_table": "row_in_table",
    "idx": "row_in_table",
    "index": "index",
}


def gather_tcm_data(
    chunk: EventChunk,
    channels: Sequence[str],
    channel_mapping: Mapping[str, Any] | None = None,
    *,
    tcm_field: str = "table_key",
    pulse_mask: Any = None,
    a_thr_pe: float | None = None,
    t_loc_ns: Any = None,
    dt_range_ns: Sequence[float] | None = None,
    t_loc_default_ns: float | None = None,
    drop_empty: bool = False,
) -> DataObject:
    """The map's `tcm_field` (``table_key`` or ``row_in_table``) of the SiPM hits, per event;
    with `drop_empty`, only hits with at least one pulse left by the mask.

    Example
    -------
    >>> # pygama.evt.modules.spms.gather_tcm_data(<...>, tcm_field='row_in_table')
    """
    import awkward as ak

    if tcm_field not in _TCM_FIELDS:
        raise NotFoundError(
            f"unknown tcm_field {tcm_field!r}", obj=tcm_field, candidates=list(_TCM_FIELDS)
        )
    positions, _ = _selected(chunk, channels)
    source = {
        "table_key": chunk.tcm.table_key,
        "row_in_table": chunk.tcm.row_in_table,
        "index": np.arange(len(chunk.tcm.table_key)),
    }[_TCM_FIELDS[tcm_field]]
    values = np.asarray(source[positions], dtype=np.int64)
    if not drop_empty:  # what _to_vov makes of the awkward form, without awkward
        return VectorOfVectors(
            flattened_data=Array(values), cumulative_length=np.cumsum(_counts(chunk, positions))
        )
    if pulse_mask is None:
        pulse_mask = make_pulse_data_mask(
            chunk,
            channels,
            channel_mapping,
            a_thr_pe=a_thr_pe,
            t_loc_ns=t_loc_ns,
            dt_range_ns=dt_range_ns,
            t_loc_default_ns=t_loc_default_ns,
        )
    mask = _as_ak(pulse_mask)
    if mask.ndim != 3:
        raise ConfigError("pulse_mask must be 3-dimensional (event, hit, pulse)")
    data = ak.unflatten(values, _counts(chunk, positions))
    return _to_vov(data[ak.sum(mask, axis=-1) > 0])


for _name, _func in (
    ("gather_pulse_data", gather_pulse_data),
    ("gather_tcm_data", gather_tcm_data),
    ("make_pulse_data_mask", make_pulse_data_mask),
):
    register_evt_function("spms", _name, _func)
