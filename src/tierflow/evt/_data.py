"""Where the tiers are, and the hits of one chunk of events, channel by channel.

:class:`EventChunk` holds one chunk of the time-coincidence map and reads lower-tier
columns for the hits of a channel on demand (each column once per chunk: the contiguous row
range is read and the hits taken from it, which is much faster than HDF5 point selection).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Union

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError, MismatchError, NotFoundError, closest
from tierflow.evt._slabs import SlabCache
from tierflow.evt._tcm import TCM
from tierflow.types import Array, DataObject

__all__ = ["EventChunk", "HitSelection", "TierInfo", "group_hits", "make_datainfo"]

PathLike = Union[str, "os.PathLike[str]"]
SPECIAL_TIERS = ("tcm", "evt")


@dataclass(frozen=True)
class TierInfo:
    """A tier: its file, the group of its tables and the channel-name format (``ch{}``)."""

    name: str
    file: str | None
    group: str | None = None
    table_fmt: str | None = None

    def table(self, key: int) -> str:
        """The HDF5 path of channel `key`'s table (``ch1084803/hit``)."""
        return _table_path(self.table_fmt or "ch{}", self.group, key)


@functools.lru_cache(maxsize=8192)  # asked for every channel of every field and chunk
def _table_path(fmt: str, group: str | None, key: int) -> str:
    channel = fmt.format(key)
    return f"{channel}/{group}" if group else channel


def make_datainfo(datainfo: Mapping[str, Sequence[Any]]) -> dict[str, TierInfo]:
    """Tier name → :class:`TierInfo` from the anchor's ``{"hit": (file, group, fmt), ...}``."""
    out: dict[str, TierInfo] = {}
    for name, spec in datainfo.items():
        parts = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
        parts += [None] * (3 - len(parts))
        file = None if parts[0] is None else os.fspath(parts[0])
        out[name] = TierInfo(name, file, parts[1], parts[2])
    if "tcm" not in out or out["tcm"].file is None:
        raise ConfigError("datainfo needs a 'tcm' entry: (file, group)", obj="tcm")
    for info in out.values():
        if info.table_fmt is not None and len(re.findall(r"{([^}]*)}", info.table_fmt)) != 1:
            raise ConfigError(
                f"table format {info.table_fmt!r} needs exactly one {{}}", obj=info.name
            )
    return out


@functools.lru_cache(maxsize=4096)  # asked for every channel of every operation and chunk
def channel_key(channel: str, table_fmt: str) -> int | None:
    """The table key in a channel name (``ch1084803`` with ``ch{}`` → 1084803)."""
    pre, _, rest = table_fmt.partition("{")
    post = rest.partition("}")[2]
    if not channel.startswith(pre) or not channel.endswith(post):
        return None
    core = channel[len(pre) : len(channel) - len(post) if post else None]
    return int(core) if core.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class HitSelection:
    """The hits of one channel in a chunk, in the order of the map."""

    key: int
    positions: npt.NDArray[np.int64]
    """Flat positions in the chunk's map (``tcm.index``)."""
    rows: npt.NDArray[np.int64]
    """Rows in the channel's tables (``tcm.row_in_table``)."""
    events: npt.NDArray[np.int64]
    """The event (within the chunk) of each hit."""

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @functools.cached_property
    def span(self) -> tuple[int, int]:
        """The smallest row and one past the largest ((0, 0) without hits)."""
        if len(self.rows) == 0:
            return 0, 0
        return int(self.rows.min()), int(self.rows.max()) + 1


@dataclass
class EventChunk:
    """One chunk of events: its map, the evt columns computed so far, lower-tier columns."""

    tiers: Mapping[str, TierInfo]
    tcm: TCM
    handles: Mapping[str, h5py.File]
    evt: dict[str, DataObject] = field(default_factory=dict)
    slabs: dict[str, SlabCache] = field(default_factory=dict)
    """Slab caches by tier; pass the same dict to every chunk of a run to share them."""
    _cache: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    _objects: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)
    """Results that event functions share within the chunk (keyed by the function)."""
    _selections: dict[int, HitSelection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n_events = len(self.tcm)
        self.event_of_hit = self.tcm.event_of_hit
        self._groups, self.rank_in_channel = group_hits(self.tcm.table_key)
        """For each flat map position, its index among its channel's hits of the chunk."""

    @property
    def present_keys(self) -> list[int]:
        """The table keys of the channels with hits in the chunk, ascending."""
        return list(self._groups)

    @property
    def hit_fmt(self) -> str:
        info = self.tiers.get("hit") or next((t for t in self.tiers.values() if t.table_fmt), None)
        return info.table_fmt if info and info.table_fmt else "ch{}"

    def key_of(self, channel: str) -> int | None:
        return channel_key(channel, self.hit_fmt)

    def hits(self, key: int) -> HitSelection:
        """The hits of the channel with table key `key`."""
        if key not in self._selections:
            positions = self._groups.get(key, np.zeros(0, dtype=np.int64))
            self._selections[key] = HitSelection(
                key, positions, self.tcm.row_in_table[positions], self.event_of_hit[positions]
            )
        return self._selections[key]

    def tier(self, name: str) -> TierInfo:
        info = self.tiers.get(name)
        if info is None or info.file is None:
            known = [t for t, i in self.tiers.items() if i.file and t not in SPECIAL_TIERS]
            raise NotFoundError(f"no tier {name!r} in the inputs", obj=name, candidates=known)
        return info

    def column(self, tier: str, key: int, name: str) -> Any:
        """Column `name` of tier `tier` for the hits of channel `key` (numpy or awkward)."""
        cache_key = (tier, key, name)
        if cache_key not in self._cache:
            found = self._read_column(tier, key, name)
            if found is None:
                found = _as_view(self.column_object(tier, key, name))
            self._cache[cache_key] = found
        return self._cache[cache_key]

    def _read_column(self, tier: str, key: int, name: str) -> npt.NDArray[Any] | None:
        """Column `name` for the hits of `key` from a slab already read (e.g. prefetched),
        when it is a plain array and the hits are within its rows; else None."""
        slabs, info = self.slabs.get(tier), self.tiers.get(tier)
        hits = self.hits(key)
        if slabs is None or info is None or len(hits) == 0 or hits.span[0] < 0:
            return None
        return slabs.take_read(f"{info.table(key)}/{name}", hits.rows, hits.span)

    def column_object(self, tier: str, key: int, name: str) -> Any:
        """Column `name` of tier `tier` for the hits of channel `key`, as an lh5 object
        (``Array``, ``VectorOfVectors``, ...)."""
        cache_key = (tier, key, name)
        if cache_key not in self._objects:
            self._objects[cache_key] = self._read(tier, key, name)
        return self._objects[cache_key]

    def prefetch(self, tier: str, keys: Sequence[int], name: str) -> None:
        """Read field `name` of tier `tier` for the channels `keys` that have hits, all in
        one batch where it is small and plain (a hint: later requests find it read; missing
        tables or fields are reported by those requests)."""
        info = self.tiers.get(tier)
        if info is None or info.file is None or tier in SPECIAL_TIERS or tier not in self.handles:
            return
        tables = [info.table(k) for k in keys if k in self._groups]  # those with hits
        if tables:
            self._slab_cache(tier).prefill(tables, name)

    def column_lists(
        self, tier: str, key: int, name: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None:
        """The lengths and concatenated values of column `name` of tier `tier` for the hits
        of channel `key`, when it is a plain array (lists of one) or plain jagged array of
        numbers (else None: use :meth:`column_object`)."""
        if (tier, key, name) in self._objects or len(self.hits(key)) == 0:
            return None
        slabs, path = self._slabs_of(tier, key, name)
        hits = self.hits(key)
        _check_rows(slabs, path, hits, self.tier(tier).file)
        return slabs.take_lists(path, hits.rows, hits.span)

    def column_slab(
        self, tier: str, key: int, name: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any], int] | None:
        """The slab of column `name` of tier `tier` that holds the hits of channel `key`:
        list ends (from 0), values and the slab's first row
        (:meth:`~tierflow.evt._slabs.SlabCache.slab_lists`), when it is a plain array or
        plain jagged array of numbers and the channel has hits (else None)."""
        hits = self.hits(key)
        if len(hits) == 0:
            return None
        slabs, info = self.slabs.get(tier), self.tiers.get(tier)
        if slabs is not None and info is not None:  # already read whole: no more checks
            read = slabs.whole_lists(f"{info.table(key)}/{name}", hits.span)
            if read is not None:
                return read
        slabs, path = self._slabs_of(tier, key, name)
        _check_rows(slabs, path, hits, self.tier(tier).file)
        return slabs.slab_lists(path, hits.rows, hits.span)

    def _read(self, tier: str, key: int, name: str) -> Any:
        slabs, path = self._slabs_of(tier, key, name)
        hits = self.hits(key)
        _check_rows(slabs, path, hits, self.tier(tier).file)
        return slabs.take(path, hits.rows, hits.span if len(hits) else None)

    def _slabs_of(self, tier: str, key: int, name: str) -> tuple[SlabCache, str]:
        """The slab cache of tier `tier` and the path of channel `key`'s field `name` in it
        (checked to exist)."""
        info = self.tier(tier)
        slabs = self._slab_cache(tier)
        path = slabs.lookup(info.table(key), name)
        if path is None:
            _check_path(self.handles[tier], info, key, name)
            raise AssertionError("unreachable")  # _check_path raises
        return slabs, path

    def attrs_of(self, tier: str, keys: Sequence[int], name: str) -> dict[str, Any]:
        """Attributes of a lower-tier field, from the first channel that has it."""
        info = self.tiers.get(tier)
        if info is None or info.file is None or tier not in self.handles:
            return {}
        slabs = self._slab_cache(tier)
        for key in keys:
            path = slabs.lookup(info.table(key), name)
            if path is not None:
                return dict(slabs.attrs(path))
        return {}

    def _slab_cache(self, tier: str) -> SlabCache:
        slabs = self.slabs.get(tier)
        if slabs is None:
            slabs = self.slabs[tier] = SlabCache(self.handles[tier])
        return slabs


def group_hits(
    table_key: npt.NDArray[Any],
) -> tuple[dict[int, npt.NDArray[np.int64]], npt.NDArray[np.int64]]:
    """The flat map positions of each table key (keys ascending, positions in map order),
    and each position's index among its key's positions (a compiled counting sort).

    Example
    -------
    >>> groups, rank = group_hits(np.array([12, 11, 12]))
    >>> {k: v.tolist() for k, v in groups.items()}, rank.tolist()
    ({11: [1], 12: [0, 2]}, [0, 0, 1])
    """
    from tierflow.evt._kernels import group_by_code, key_codes

    keys = np.ascontiguousarray(table_key, dtype=np.int64)
    codes = np.empty(len(keys), dtype=np.int64)
    distinct = key_codes(keys, codes)
    by_key = np.argsort(distinct)
    rank_of_code = np.empty(len(distinct), dtype=np.int64)
    rank_of_code[by_key] = np.arange(len(distinct))
    order = np.empty(len(keys), dtype=np.int64)
    rank = np.empty(len(keys), dtype=np.int64)
    bounds = group_by_code(codes, rank_of_code, order, rank)
    groups = {int(distinct[c]): order[bounds[g] : bounds[g + 1]] for g, c in enumerate(by_key)}
    return groups, rank


def _check_path(handle: h5py.File, info: TierInfo, key: int, name: str) -> None:
    """Raise (naming the closest tables or fields) when channel `key`'s table or its field
    `name` is missing."""
    table = info.table(key)
    if table not in handle:
        channel = (info.table_fmt or "ch{}").format(key)
        near = closest(channel, handle.keys())
        hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
        # not a KeyError: expressions would report it as an unknown column
        raise ConfigError(
            f"no table for channel {channel!r} in the {info.name} tier{hint}",
            file=info.file,
            obj=channel,
        )
    if f"{table}/{name}" not in handle:
        raise NotFoundError(
            f"no field {name!r} in {table!r}",
            file=info.file,
            obj=name,
            candidates=list(handle[table].keys()),
        )


def _check_rows(slabs: SlabCache, path: str, hits: HitSelection, file: Any) -> None:
    """Raise when the map points past the rows of the object at `path`."""
    size = slabs.size(path)
    lo, hi = hits.span
    if len(hits) and (hi > size or lo < 0):
        bad = hi - 1 if hi > size else lo
        raise MismatchError(
            f"the time-coincidence map points at row {bad} of {path!r}, which has {size} rows",
            file=file,
            obj=path,
        )


def _as_view(obj: Any) -> Any:
    """numpy for arrays, awkward otherwise."""
    if isinstance(obj, Array):
        return obj.nda
    return obj.view_as("ak")


def iter_tcm(
    file: str | h5py.File,
    name: str,
    buffer_len: int,
    events: tuple[int, int | None] = (0, None),
) -> Iterator[TCM]:
    """The map in chunks of `buffer_len` events, over the events ``events[0]:events[1]``
    (the start a multiple of `buffer_len`: the chunks are those of a whole-map pass);
    `file`: a path, or a file open for reading (left open)."""
    from tierflow.evt._tcm import read_tcm

    with _opened(file) as handle:
        total = count_events(handle, name)
        first, stop = events[0], total if events[1] is None else min(events[1], total)
        if first % buffer_len:
            raise ValueError(f"event range starts at {first}, not a multiple of {buffer_len}")
        per_read = _events_per_read(handle, name, total, buffer_len)
        for start in range(first, stop, per_read):
            slab = read_tcm(handle, name, start_row=start, n_rows=min(per_read, stop - start))
            for at in range(0, len(slab), buffer_len):
                yield _events(slab, at, min(at + buffer_len, len(slab)))


def count_events(file: str | h5py.File, name: str) -> int:
    """Number of events in the time-coincidence map `name` of `file` (a path, or a file
    open for reading)."""
    with _opened(file) as handle:
        size = _offsets_size(handle, name)
        if size is not None:
            return size
        if name not in handle:
            raise NotFoundError(
                f"no time-coincidence map {name!r}",
                file=handle.filename,
                obj=name,
                candidates=list(handle.keys()),
            )
        return _map_size(handle[name])


@contextmanager
def _opened(file: str | h5py.File) -> Iterator[h5py.File]:
    """The file at path `file`, opened for reading and closed after; or `file` itself, an
    open file, left open."""
    if isinstance(file, h5py.File):
        yield file
        return
    with h5py.File(file, "r") as handle:
        yield handle


def _offsets_size(handle: h5py.File, name: str) -> int | None:
    """Events in a map of the current layout, from its offsets' shape (None otherwise)."""
    from tierflow.evt._hdf5 import make_calls

    calls = make_calls()
    hid = calls.open(calls.root(handle), f"{name}/table_key/cumulative_length".encode())
    if hid is None:
        return None
    try:
        shape = calls.shape(hid) if calls.is_dataset(hid) else None
    finally:
        calls.close(hid)
    return int(shape[0]) if shape is not None and len(shape) == 1 else None


def _map_size(group: h5py.Group) -> int:
    sub = group["table_key" if "table_key" in group else "array_id"]
    offsets = (
        sub["cumulative_length"] if isinstance(sub, h5py.Group) else group["cumulative_length"]
    )
    return int(offsets.shape[0])


_TCM_SLAB = 2**17
"""Events read from the map at a time (then handed out `buffer_len` at a time) when the
number of hits is not known."""
_TCM_SLAB_HITS = 2**22
"""Hits read from the map at a time, about (fewer, larger reads decode each storage chunk
once and in parallel; two int64 columns of this many hits take 64 MiB)."""


def _events_per_read(handle: h5py.File, name: str, total: int, buffer_len: int) -> int:
    """Events to read from the map at a time: about :data:`_TCM_SLAB_HITS` hits at the
    map's mean hits per event (from its shapes), a multiple of `buffer_len`."""
    events = _TCM_SLAB
    if total <= events:
        return buffer_len * max(1, events // buffer_len)  # one read whatever the hits
    flat = handle.get(f"{name}/table_key/flattened_data")
    if total > 0 and isinstance(flat, h5py.Dataset) and flat.ndim == 1:
        per_event = max(flat.shape[0] / total, 1.0)
        events = max(int(_TCM_SLAB_HITS / per_event), _TCM_SLAB)
    return buffer_len * max(1, events // buffer_len)


def _events(tcm: TCM, first: int, stop: int) -> TCM:
    """Events ``first:stop`` of `tcm`, with offsets from the start of the selection."""
    if first == 0 and stop == len(tcm):
        return tcm
    offsets = tcm.cumulative_length
    lo = int(offsets[first - 1]) if first else 0
    hi = int(offsets[stop - 1]) if stop else 0
    return TCM(
        tcm.table_key[lo:hi],
        tcm.row_in_table[lo:hi],
        offsets[first:stop] - lo,
        {k: v[lo:hi] for k, v in tcm.extra.items()},
    )
