"""The streaming k-way merge behind ``build_tcm``.

Each table is read in chunks (straight from its HDF5 datasets). A round takes, from every
table, the buffered hits strictly before the *horizon* — the smallest last buffered value of
the tables that still have rows on disk — so nothing that comes later can sort between them.
Those runs, concatenated in table-key order, are merged stably (ties keep table-key
order) by :func:`._kernels.merge_runs` — cut into cache-sized value ranges, each sorted by
buckets or merged pairwise in cache; several coincidence columns use numpy's lexsort — and
a numba pass (:func:`._kernels.mark_new_events`) flags where events start, carrying the
open event's first and last coincidence values from round to round. Complete events leave as
:class:`TCM` chunks; the open event waits for the next round.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow import lh5
from tierflow.errors import FormatError, NotFoundError
from tierflow.evt._slabs import read_slice
from tierflow.evt._tcm import TCM
from tierflow.evt._tcm import _Source as Source

__all__ = ["merge_sources"]


@dataclass
class _Buffer:
    """Hits of one table read but not merged yet."""

    cols: list[npt.NDArray[Any]]
    rows: npt.NDArray[np.int64]
    fields: dict[str, npt.NDArray[Any]]

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def split(self, n: int) -> _Buffer:
        """Remove and return the first `n` hits."""
        head = _Buffer(
            [c[:n] for c in self.cols], self.rows[:n], {k: v[:n] for k, v in self.fields.items()}
        )
        self.cols = [c[n:] for c in self.cols]
        self.rows = self.rows[n:]
        self.fields = {k: v[n:] for k, v in self.fields.items()}
        return head

    def extend(self, other: _Buffer) -> None:
        if len(self) == 0:
            self.cols, self.rows, self.fields = other.cols, other.rows, other.fields
            return
        self.cols = [np.concatenate([a, b]) for a, b in zip(self.cols, other.cols, strict=True)]
        self.rows = np.concatenate([self.rows, other.rows])
        self.fields = {k: np.concatenate([v, other.fields[k]]) for k, v in self.fields.items()}


def _column(source: Source, name: str, start: int, stop: int) -> npt.NDArray[Any]:
    node = source.handle[source.name].get(name)
    if isinstance(node, h5py.Dataset) and node.ndim == 1:
        return read_slice(node, start, stop)  # deflate inflated by lh5's fast reader
    if isinstance(node, h5py.Dataset):
        return np.asarray(node[start:stop])
    if node is None:
        raise NotFoundError(
            f"no column {name!r} in table {source.name!r}",
            file=source.handle.filename,
            obj=f"{source.name}/{name}",
            candidates=list(source.handle[source.name].keys()),
        )
    obj = lh5.read(f"{source.name}/{name}", source.handle, start_row=start, n_rows=stop - start)
    return np.asarray(obj.view_as("np"))


@dataclass
class _Reader:
    """Reads one table chunk by chunk, sorted by the coincidence columns."""

    source: Source
    coin_cols: list[str]
    out_fields: list[str]
    buffer_len: int
    last: tuple[Any, ...] | None = None

    @property
    def exhausted(self) -> bool:
        return self.source.next_row >= self.source.n_rows

    def read(self) -> _Buffer:
        start = self.source.next_row
        stop = min(start + self.buffer_len, self.source.n_rows)
        cols = [_column(self.source, c, start, stop) for c in self.coin_cols]
        rows = np.arange(start, stop, dtype=np.int64)
        fields = {f: _column(self.source, f, start, stop) for f in self.out_fields}
        order = _sort_order(cols)
        if order is not None:
            cols, rows = [c[order] for c in cols], rows[order]
            fields = {k: v[order] for k, v in fields.items()}
        self._check_order(cols)
        self.source.next_row = stop
        return _Buffer(cols, rows, fields)

    def _check_order(self, cols: list[npt.NDArray[Any]]) -> None:
        if len(cols[0]) == 0:
            return
        head = tuple(c[0] for c in cols)
        if self.last is not None and head < self.last:
            raise FormatError(
                f"table {self.source.name!r} is not sorted by {self.coin_cols} across chunks "
                f"(row {self.source.next_row}); raise buffer_len to at least its length",
                file=self.source.handle.filename,
                obj=self.source.name,
            )
        self.last = tuple(c[-1] for c in cols)


def _sort_order(cols: list[npt.NDArray[Any]]) -> npt.NDArray[np.int64] | None:
    """A stable order sorting the rows by `cols`, or None if they are sorted already."""
    if len(cols[0]) < 2:
        return None
    if len(cols) == 1 and bool(np.all(cols[0][1:] >= cols[0][:-1])):
        return None
    return np.lexsort(cols[::-1]).astype(np.int64)


@dataclass
class _Clusterer:
    """The event-start flags of a merged stream, with the open event carried over."""

    windows: npt.NDArray[np.float64]
    from_first: npt.NDArray[np.bool_]
    dtype: np.dtype[Any]
    state: npt.NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.windows)
        self.state = np.zeros(1, dtype=np.int64)
        self.first = np.zeros(n, dtype=self.dtype)
        self.last = np.zeros(n, dtype=self.dtype)

    def mark(self, cols: list[npt.NDArray[Any]]) -> npt.NDArray[np.bool_]:
        from tierflow.evt._kernels import mark_new_events

        typed = [np.ascontiguousarray(c, dtype=self.dtype) for c in cols]
        keys = typed[0].reshape(1, -1) if len(typed) == 1 else np.stack(typed)
        new = np.empty(keys.shape[1], dtype=np.bool_)
        mark_new_events(keys, self.windows, self.from_first, self.state, self.first, self.last, new)
        return new


@dataclass
class _Carry:
    """Merged hits whose event may still grow."""

    keys: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int64]
    new: npt.NDArray[np.bool_]
    fields: dict[str, npt.NDArray[Any]]

    def add(
        self,
        perm: npt.NDArray[np.int64],
        keys: npt.NDArray[np.int64],
        rows: npt.NDArray[np.int64],
        new: npt.NDArray[np.bool_],
        fields: dict[str, Any],
    ) -> None:
        """Append the hits ``keys[perm]``, ``rows[perm]`` (one compiled pass, after the
        carried ones), with their event-start flags `new`."""
        from tierflow.evt._kernels import gather_pairs

        n_old = len(self.keys)
        out_keys = np.empty(n_old + len(perm), dtype=np.int64)
        out_rows = np.empty_like(out_keys)
        out_keys[:n_old], out_rows[:n_old] = self.keys, self.rows
        gather_pairs(perm, keys, rows, out_keys[n_old:], out_rows[n_old:])
        self.keys, self.rows = out_keys, out_rows
        self.new = np.concatenate([self.new, new])
        taken = {k: v[perm] for k, v in fields.items()}
        if n_old:
            taken = {k: np.concatenate([self.fields[k], v]) for k, v in taken.items()}
        self.fields = taken

    def take(self, final: bool) -> TCM | None:
        """The complete events (all when `final`); the open one stays."""
        starts = np.flatnonzero(self.new)
        end = len(self.new) if final else (int(starts[-1]) if len(starts) else 0)
        if end == 0:
            return None
        starts = starts[starts < end]
        offsets = np.append(starts[1:], end).astype(np.int64)
        tcm = TCM(
            self.keys[:end], self.rows[:end], offsets, {k: v[:end] for k, v in self.fields.items()}
        )
        self.keys, self.rows, self.new = self.keys[end:], self.rows[end:], self.new[end:]
        self.fields = {k: v[end:] for k, v in self.fields.items()}
        return tcm


def _round(readers: list[_Reader], buffers: list[_Buffer]) -> list[_Buffer] | None:
    """Take from every buffer the hits that are safe to merge now (refilling as needed);
    None when everything is merged."""
    while True:
        for reader, buffer in zip(readers, buffers, strict=True):
            if len(buffer) == 0 and not reader.exhausted:
                buffer.extend(reader.read())
        open_tables = [i for i, r in enumerate(readers) if not r.exhausted]
        if not open_tables and all(len(b) == 0 for b in buffers):
            return None
        if not open_tables:
            return [b.split(len(b)) for b in buffers]
        horizon = min(buffers[i].cols[0][-1] for i in open_tables)
        counts = [int(np.searchsorted(b.cols[0], horizon, side="left")) for b in buffers]
        if sum(counts):
            return [b.split(n) for b, n in zip(buffers, counts, strict=True)]
        for i in open_tables:  # nothing below the horizon: read further where it is
            if buffers[i].cols[0][-1] == horizon:
                buffers[i].extend(readers[i].read())


def _merge_order(
    cols: list[npt.NDArray[Any]], lengths: list[int]
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[Any]]]:
    """The stable order of the concatenated sorted runs (one per table) by `cols`, and the
    columns in that order."""
    if len(cols) > 1:
        perm = np.lexsort(cols[::-1]).astype(np.int64)
        return perm, [c[perm] for c in cols]
    from tierflow.evt._kernels import merge_runs

    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    bounds = np.unique(bounds)  # empty runs merge trivially
    order, merged = merge_runs(np.ascontiguousarray(cols[0]), bounds)
    return order, [merged]


def merge_sources(
    sources: list[Source],
    coin_cols: list[str],
    out_fields: list[str],
    buffer_len: int,
    windows: npt.NDArray[np.float64],
    from_first: npt.NDArray[np.bool_],
    dtype: np.dtype[Any],
) -> Iterator[TCM]:
    """Merge the tables into events, yielding complete events chunk by chunk."""
    order = sorted(range(len(sources)), key=lambda t: (sources[t].key, t))
    readers = [_Reader(sources[t], coin_cols, out_fields, buffer_len) for t in order]
    table_keys = [sources[t].key for t in order]
    empty = np.zeros(0, dtype=np.int64)
    buffers = [_Buffer([empty.astype(dtype) for _ in coin_cols], empty, {}) for _ in readers]
    for buffer in buffers:
        buffer.fields = {f: np.zeros(0) for f in out_fields}
    clusterer = _Clusterer(windows, from_first, dtype)
    carry = _Carry(empty, empty, np.zeros(0, dtype=np.bool_), {})
    while (taken := _round(readers, buffers)) is not None:
        lengths = [len(b) for b in taken]
        cols = [np.concatenate([b.cols[c] for b in taken]) for c in range(len(coin_cols))]
        perm, sorted_cols = _merge_order(cols, lengths)
        keys = np.repeat(np.asarray(table_keys, dtype=np.int64), lengths)
        rows = np.concatenate([b.rows for b in taken])
        fields = {f: np.concatenate([b.fields[f] for b in taken]) for f in out_fields}
        carry.add(perm, keys, rows, clusterer.mark(sorted_cols), fields)
        tcm = carry.take(final=False)
        if tcm is not None:
            yield tcm
    tcm = carry.take(final=True)
    if tcm is not None:
        yield tcm
