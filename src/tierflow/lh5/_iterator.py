"""Chunked iteration over one object in many files (and many objects per file), reusing buffers."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import MismatchError
from tierflow.lh5._core import FileLike, n_rows, open_lh5, read_one
from tierflow.lh5._read import ReadContext, normalize_fields
from tierflow.options import options
from tierflow.types import DataObject, Table

__all__ = ["Chunk", "LH5Iterator"]


@dataclass(frozen=True)
class Chunk:
    """One chunk of rows: `data` is the iterator's buffer, refilled at the next step."""

    data: Any
    first_entry: int
    """Index of the chunk's first row among all rows of all sources (before selection)."""
    entries: npt.NDArray[np.int64] | None
    """Global indices of the rows, when an entry list or mask chose them."""
    file: str
    name: str

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class _Source:
    file: str
    name: str
    first: int
    count: int
    handle: h5py.File | None = None
    """The file, when the caller gave it open."""


class LH5Iterator:
    """Iterate over `name` in `files` in chunks of `buffer_len` rows, one buffer reused throughout.

    Parameters
    ----------
    files
        LH5 files, read one after another (paths, or ``h5py.File`` objects the caller keeps
        open throughout).
    names
        The object to read in every file, or several (e.g. one table per channel).
    buffer_len
        Rows per chunk (default from :func:`tierflow.options.options`).
    fields
        Columns to read.
    entries, mask
        Global row indices, or a boolean mask over all rows: only those rows are read.
    friend
        Another iterator over the same rows (e.g. the hit tier beside the dsp tier) whose columns
        are added to every chunk.

    Example
    -------
    >>> for chunk in LH5Iterator(["dsp1.lh5", "dsp2.lh5"], "ch1084803/dsp",
    ...                          fields=["trapEmax"], buffer_len=50_000):  # doctest: +SKIP
    ...     total += chunk.data["trapEmax"].nda.sum()
    """

    def __init__(
        self,
        files: FileLike | Sequence[FileLike],
        names: str | Sequence[str],
        *,
        buffer_len: int | None = None,
        fields: Sequence[str] | None = None,
        entries: npt.ArrayLike | None = None,
        mask: npt.ArrayLike | None = None,
        friend: LH5Iterator | None = None,
    ) -> None:
        file_list = [files] if isinstance(files, (str, os.PathLike, h5py.File)) else list(files)
        name_list = [names] if isinstance(names, str) else list(names)
        self.buffer_len = buffer_len or options().read_chunk_rows
        self.fields = fields
        self._fields = normalize_fields(fields)
        self._meta: dict[Any, Any] = {}
        self.friend = friend
        self._sources = self._index(file_list, name_list)
        self.n_entries = sum(s.count for s in self._sources)
        self._selected = self._selection(entries, mask)
        if friend is not None:
            self._check_friend(friend)

    def _check_friend(self, friend: LH5Iterator) -> None:
        """A friend reads the same rows: as many per source, chunked the same way."""
        ours = [s.count for s in self._sources]
        theirs = [s.count for s in friend._sources]
        if ours != theirs or friend.buffer_len != self.buffer_len:
            raise MismatchError(
                f"a friend iterator must have the same rows per source and buffer_len: "
                f"{theirs} rows by {friend.buffer_len} for {ours} by {self.buffer_len}"
            )
        if friend._selected is not None:
            raise MismatchError("select entries on the main iterator; its friend follows")
        friend._selected = self._selected

    @staticmethod
    def _index(files: list[Any], names: list[str]) -> list[_Source]:
        sources, first = [], 0
        for file in files:
            given = file if isinstance(file, h5py.File) else None
            path = str(file.filename) if given is not None else str(file)
            with open_lh5(file) as handle:
                for name in names:
                    count = n_rows(name, handle)
                    sources.append(_Source(path, name, first, count, given))
                    first += count
        return sources

    def _selection(self, entries: Any, mask: Any) -> npt.NDArray[np.int64] | None:
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.n_entries,):
                raise MismatchError(f"a mask of {mask.shape} for {self.n_entries} rows")
            return np.flatnonzero(mask).astype(np.int64)
        if entries is not None:
            return np.unique(np.asarray(entries, dtype=np.int64))
        return None

    def __len__(self) -> int:
        """Rows the iteration yields in all."""
        return self.n_entries if self._selected is None else len(self._selected)

    def _plan(self) -> Iterator[tuple[_Source, slice | npt.NDArray[np.int64]]]:
        """The (source, local rows) of every chunk, in order."""
        for source in self._sources:
            if self._selected is None:
                for start in range(0, source.count, self.buffer_len):
                    yield source, slice(start, min(start + self.buffer_len, source.count))
                continue
            lo, hi = np.searchsorted(self._selected, [source.first, source.first + source.count])
            local = self._selected[lo:hi] - source.first
            for start in range(0, len(local), self.buffer_len):
                yield source, local[start : start + self.buffer_len]

    def __iter__(self) -> Iterator[Chunk]:
        # metadata is read once per pass: files are not expected to change while iterated
        self._meta.clear()
        buffer: DataObject | None = None
        friend_buffer: DataObject | None = None
        with ExitStack() as stack:
            handles: dict[str, h5py.File] = {}

            def handle(source: _Source) -> h5py.File:
                if source.handle is not None:
                    return source.handle
                if source.file not in handles:
                    handles[source.file] = stack.enter_context(open_lh5(source.file))
                return handles[source.file]

            friend_plan = self.friend._plan() if self.friend is not None else None
            for source, rows in self._plan():
                buffer = self._read(handle(source), source, rows, buffer)
                if friend_plan is not None and self.friend is not None:
                    friend_source, friend_rows = next(friend_plan)
                    friend_buffer = self.friend._read(
                        handle(friend_source), friend_source, friend_rows, friend_buffer
                    )
                    buffer = _join(buffer, friend_buffer)
                entries = None if isinstance(rows, slice) else rows + source.first
                first = source.first + (rows.start if isinstance(rows, slice) else int(rows[0]))
                yield Chunk(buffer, first, entries, source.file, source.name)

    def _read(
        self, handle: h5py.File, source: _Source, rows: Any, buffer: DataObject | None
    ) -> Any:
        path = "/" + source.name.strip("/")
        ctx = ReadContext(source.file, path, fields=self._fields, meta=self._meta)
        total = source.count
        if isinstance(rows, slice):
            return read_one(handle, ctx, rows.start, rows.stop - rows.start, None, buffer, total)
        return read_one(handle, ctx, 0, None, rows, buffer, total)


def _join(table: DataObject, friend: DataObject) -> DataObject:
    """Put the friend's columns beside the table's; the friend's win on equal names."""
    if not isinstance(table, Table) or not isinstance(friend, Table):
        raise MismatchError("friend iteration needs tables on both sides")
    for name, column in friend.items():
        table._fields[name] = column
    return table
