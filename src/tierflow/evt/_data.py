"""Where the tiers are, and the hits of one chunk of events, channel by channel.

:class:`EventChunk` holds one chunk of the time-coincidence map and reads lower-tier
columns for the hits of a channel on demand (each column once per chunk: the contiguous row
range is read and the hits taken from it, which is much faster than HDF5 point selection).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError, MismatchError, NotFoundError, closest
from tierflow.evt._slabs import SlabCache
from tierflow.evt._tcm import TCM
from tierflow.types import Array, DataObject

__all__ = ["EventChunk", "HitSelection", "TierInfo", "make_datainfo"]

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
        fmt = self.table_fmt or "ch{}"
        channel = fmt.format(key)
        return f"{channel}/{self.group}" if self.group else channel


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
        order = np.argsort(self.tcm.table_key, kind="stable")
        keys = self.tcm.table_key[order]
        bounds = np.flatnonzero(np.diff(keys)) + 1
        starts = np.concatenate([[0], bounds]) if len(keys) else np.zeros(0, dtype=np.int64)
        stops = np.concatenate([bounds, [len(keys)]]) if len(keys) else starts
        self._groups = {int(keys[a]): order[a:b] for a, b in zip(starts, stops, strict=True)}
        rank = np.arange(len(keys), dtype=np.int64)
        rank -= np.repeat(starts, stops - starts)
        self.rank_in_channel = np.empty(len(keys), dtype=np.int64)
        """For each flat map position, its index among its channel's hits of the chunk."""
        self.rank_in_channel[order] = rank

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
            self._cache[cache_key] = _as_view(self.column_object(tier, key, name))
        return self._cache[cache_key]

    def column_object(self, tier: str, key: int, name: str) -> Any:
        """Column `name` of tier `tier` for the hits of channel `key`, as an lh5 object
        (``Array``, ``VectorOfVectors``, ...)."""
        cache_key = (tier, key, name)
        if cache_key not in self._objects:
            self._objects[cache_key] = self._read(tier, key, name)
        return self._objects[cache_key]

    def _read(self, tier: str, key: int, name: str) -> Any:
        info = self.tier(tier)
        handle = self.handles[tier]
        table = info.table(key)
        path = f"{table}/{name}"
        slabs = self.slabs.get(tier)
        if slabs is None:
            slabs = self.slabs[tier] = SlabCache(handle)
        if path not in slabs.entries:
            node = handle.get(path)
            if node is None:
                _check_path(handle, info, key, name)
            slabs.add(path, node)
        return _take_rows(slabs, path, self.hits(key).rows, info.file)

    def attrs_of(self, tier: str, keys: Sequence[int], name: str) -> dict[str, Any]:
        """Attributes of a lower-tier field, from the first channel that has it."""
        info = self.tiers.get(tier)
        if info is None or info.file is None or tier not in self.handles:
            return {}
        handle = self.handles[tier]
        for key in keys:
            path = f"{info.table(key)}/{name}"
            if path in handle:
                return {k: v for k, v in handle[path].attrs.items() if k != "datatype"}
        return {}


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


def _take_rows(slabs: SlabCache, path: str, rows: npt.NDArray[np.int64], file: Any) -> Any:
    """The rows `rows` of the object at `path` (an lh5 object)."""
    size = slabs.size(path)
    if len(rows) and (rows.max() >= size or rows.min() < 0):
        bad = int(rows.max()) if rows.max() >= size else int(rows.min())
        raise MismatchError(
            f"the time-coincidence map points at row {bad} of {path!r}, which has {size} rows",
            file=file,
            obj=path,
        )
    return slabs.take(path, rows)


def _as_view(obj: Any) -> Any:
    """numpy for arrays, awkward otherwise."""
    if isinstance(obj, Array):
        return obj.nda
    return obj.view_as("ak")


def iter_tcm(file: str, name: str, buffer_len: int) -> Iterator[TCM]:
    """The map in chunks of `buffer_len` events."""
    from tierflow.evt._tcm import read_tcm

    with h5py.File(file, "r") as handle:
        if name not in handle:
            raise NotFoundError(
                f"no time-coincidence map {name!r}",
                file=file,
                obj=name,
                candidates=list(handle.keys()),
            )
        group = handle[name]
        key = "table_key" if "table_key" in group else "array_id"
        sub = group[key]
        total = (
            sub["cumulative_length"].shape[0]
            if isinstance(sub, h5py.Group)
            else group["cumulative_length"].shape[0]
        )
        per_read = buffer_len * max(1, _TCM_SLAB // buffer_len)
        for start in range(0, total, per_read):
            slab = read_tcm(handle, name, start_row=start, n_rows=min(per_read, total - start))
            for first in range(0, len(slab), buffer_len):
                yield _events(slab, first, min(first + buffer_len, len(slab)))


_TCM_SLAB = 2**17
"""Events read from the map at a time (then handed out `buffer_len` at a time)."""


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
