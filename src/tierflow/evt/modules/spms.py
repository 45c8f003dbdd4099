"""SiPM event functions: pulse data gathered per event and channel, TCM data of SiPM hits,
pulse masks by amplitude and time window.

Gathered pulse data are 3-level jagged arrays: event → SiPM hit (in map order) → pulse.
NaN pulses (padding of the hit tier) are dropped, as the anchor drops them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError, NotFoundError
from tierflow.evt._data import EventChunk
from tierflow.evt._functions import register_evt_function
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
    keys = [k for c in channels if (k := chunk.key_of(c)) is not None]
    positions = np.flatnonzero(np.isin(chunk.tcm.table_key, keys))
    return positions, keys


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


def _pulses(
    chunk: EventChunk, channels: Sequence[str], observable: str
) -> tuple[Any, dict[str, Any]]:
    """Per event and SiPM hit, the pulses' `observable` (``tier.field``, tier ``hit`` by
    default), NaN dropped; and the field's attributes."""
    import awkward as ak

    tier, _, field = observable.rpartition(".")
    tier = tier or "hit"
    positions, keys = _selected(chunk, channels)
    parts, where = [], []
    for key in keys:
        hits = chunk.hits(key)
        if len(hits) == 0:
            continue
        data = ak.Array(chunk.column(tier, key, field))
        if data.ndim == 1:
            data = ak.unflatten(data, 1)
        parts.append(ak.drop_none(ak.nan_to_none(data), axis=-1))
        where.append(hits.positions)
    if parts:
        per_hit = ak.concatenate(parts)[np.argsort(np.concatenate(where), kind="stable")]
    else:
        per_hit = ak.Array(np.zeros((0, 0)))
    attrs = chunk.attrs_of(tier, keys, field)
    return ak.unflatten(_widen(per_hit), _counts(chunk, positions)), attrs


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
    t0, _ = _pulses(chunk, channels, t0_observable)
    mask = t0 == t0  # True where defined
    if a_thr_pe is not None:
        amp, _ = _pulses(chunk, channels, energy_observable)
        mask = mask & (amp > a_thr_pe)
    if t_loc_ns is not None and dt_range_ns is not None:
        if not isinstance(dt_range_ns, (tuple, list)) or len(dt_range_ns) != 2:
            raise ConfigError(f"dt_range_ns must be a pair, not {dt_range_ns!r}")
        t_loc = _as_ak(t_loc_ns)
        if isinstance(t_loc, ak.Array):
            if t_loc.ndim != 1:
                raise ConfigError("t_loc_ns must be a number or one value per event")
            t_loc = ak.fill_none(ak.nan_to_none(t_loc), t_loc_default_ns)
        mask = mask & (t0 < t_loc + dt_range_ns[1]) & (t0 > t_loc + dt_range_ns[0])
    return _to_vov(mask)


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
    data, attrs = _pulses(chunk, channels, observable)
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
    data = ak.unflatten(np.asarray(source[positions], dtype=np.int64), _counts(chunk, positions))
    if drop_empty:
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
        data = data[ak.sum(mask, axis=-1) > 0]
    return _to_vov(data)


for _name, _func in (
    ("gather_pulse_data", gather_pulse_data),
    ("gather_tcm_data", gather_tcm_data),
    ("make_pulse_data_mask", make_pulse_data_mask),
):
    register_evt_function("spms", _name, _func)
