"""``build_tcm``: group the hits of many tables into events by coincidence of their columns.

Each input table is read in chunks; a streaming k-way merge (:mod:`._merge`: sorted runs
merged in cache-sized blocks, event starts flagged by a numba pass) interleaves the tables in
the order of the coincidence columns, so memory stays bounded and events that straddle
chunk boundaries come out whole.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Union

import h5py
import numpy as np
import numpy.typing as npt

from tierflow import lh5
from tierflow.allocator import retain_freed_memory
from tierflow.errors import ConfigError, FormatError, MismatchError, NotFoundError
from tierflow.evt._io import staged_output
from tierflow.lh5 import WriteMode
from tierflow.types import Array, Table, VectorOfVectors

__all__ = ["TCM", "WindowRef", "build_tcm", "check_tcm_rows", "read_tcm", "table_keys_of"]

PathLike = Union[str, "os.PathLike[str]"]
HashFunc = Union[str, Callable[[str], int], None]


class WindowRef(str, enum.Enum):
    """What a hit is compared with to decide whether it joins the open event."""

    LAST = "last"
    """The previous hit: the window slides, an event grows until a gap wider than it."""
    FIRST = "first"
    """The first hit of the event: events are at most one window wide."""


@dataclass(frozen=True)
class TCM:
    """A time-coincidence map in memory: for each event, the tables and rows of its hits.

    Attributes
    ----------
    table_key, row_in_table
        Flat arrays, one entry per hit, events one after another.
    cumulative_length
        End of each event in the flat arrays.
    """

    table_key: npt.NDArray[np.int64]
    row_in_table: npt.NDArray[np.int64]
    cumulative_length: npt.NDArray[np.int64]
    extra: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.cumulative_length.shape[0])

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        """Start of each event in the flat arrays."""
        out = np.zeros(len(self), dtype=np.int64)
        out[1:] = self.cumulative_length[:-1]
        return out

    @property
    def event_of_hit(self) -> npt.NDArray[np.int64]:
        """The event each flat entry belongs to."""
        counts = np.diff(self.cumulative_length, prepend=0)
        return np.repeat(np.arange(len(self), dtype=np.int64), counts)

    def to_table(self, attrs: dict[str, Any] | None = None) -> Table:
        """The map as an LH5 table with jagged ``table_key`` and ``row_in_table`` columns."""
        columns = {
            "table_key": _vov(self.table_key, self.cumulative_length),
            "row_in_table": _vov(self.row_in_table, self.cumulative_length),
        }
        for name, values in self.extra.items():
            columns[name] = _vov(values, self.cumulative_length)
        return Table(columns, size=len(self), attrs=attrs)


def _vov(values: npt.NDArray[Any], offsets: npt.NDArray[np.int64]) -> VectorOfVectors:
    return VectorOfVectors(flattened_data=Array(values), cumulative_length=Array(offsets))


_LAYOUTS = (
    ("table_key", "row_in_table"),
    ("array_id", "array_idx"),
)
"""Names of the key and row columns in the current layout and in pygama < 2.1."""


def read_tcm(
    file: PathLike | h5py.File,
    name: str = "hardware_tcm_1",
    *,
    start_row: int = 0,
    n_rows: int | None = None,
) -> TCM:
    """Read a time-coincidence map, in the current layout (jagged ``table_key`` and
    ``row_in_table``) or an older one (jagged ``array_id``/``array_idx``, or flat ones with a
    ``cumulative_length`` column).

    Example
    -------
    >>> tcm = read_tcm("tier_tcm.lh5", "hardware_tcm_1")  # doctest: +SKIP
    >>> tcm.table_key[: tcm.cumulative_length[0]]  # doctest: +SKIP
    array([1084803, 1084804, 1121600])
    """
    with ExitStack() as stack:
        handle = file if isinstance(file, h5py.File) else stack.enter_context(h5py.File(file, "r"))
        small = _read_small_map(handle, name, start_row, n_rows)
        if small is not None:
            return small
        if name not in handle:
            raise NotFoundError(
                f"no time-coincidence map {name!r}",
                file=handle.filename,
                obj=name,
                candidates=list(handle.keys()),
            )
        group = handle[name]
        for key_name, row_name in _LAYOUTS:
            if key_name in group and row_name in group:
                return _read_layout(handle, name, key_name, row_name, start_row, n_rows)
        raise FormatError(
            "not a time-coincidence map: it has neither table_key/row_in_table nor "
            f"array_id/array_idx (it has {sorted(group.keys())})",
            file=handle.filename,
            obj=name,
        )


def _read_layout(
    handle: h5py.File, name: str, key: str, row: str, start: int, count: int | None
) -> TCM:
    group = handle[name]
    if isinstance(group[key], h5py.Group):  # jagged columns
        plain = _read_plain_jagged(group[key], group[row], start, count)
        if plain is not None:
            return plain
        table = lh5.read(name, handle, start_row=start, n_rows=count, fields=[key, row])
        keys, rows = table[key], table[row]
        offsets = np.asarray(keys.cumulative_length.nda, dtype=np.int64)
        first = _first_offset(keys)
        return TCM(
            np.asarray(keys.flattened_data.nda, dtype=np.int64),
            np.asarray(rows.flattened_data.nda, dtype=np.int64),
            offsets - first,
        )
    flat_offsets = np.asarray(group["cumulative_length"][...], dtype=np.int64)
    stop = len(flat_offsets) if count is None else min(len(flat_offsets), start + count)
    lo = int(flat_offsets[start - 1]) if start > 0 else 0
    hi = int(flat_offsets[stop - 1]) if stop > 0 else 0
    return TCM(
        np.asarray(group[key][lo:hi], dtype=np.int64),
        np.asarray(group[row][lo:hi], dtype=np.int64),
        flat_offsets[start:stop] - lo,
    )


_SMALL_MAP_BYTES = 2**20
"""Maps whose columns are at most this large are read whole in one batch of HDF5 calls."""


def _read_small_map(handle: h5py.File, name: str, start: int, count: int | None) -> TCM | None:
    """Rows ``start:start+count`` of a small map in the current layout (jagged columns of
    plain integers), its columns read whole (:func:`~tierflow.evt._hdf5.read_small_fields`)
    and the rows taken in memory; None otherwise (or when inconsistent: the general path
    reports it)."""
    from tierflow.evt._hdf5 import make_calls, read_small_fields

    calls = make_calls()
    paths = [f"{name}/{column}".encode() for column in _LAYOUTS[0]]
    keys, rows = read_small_fields(calls, calls.root(handle), paths, _SMALL_MAP_BYTES)
    if keys is None or rows is None or keys.offsets is None or rows.offsets is None:
        return None
    if any(a.dtype.kind not in "iu" for a in (keys.offsets, keys.values, rows.values)):
        return None
    every_end = keys.offsets.astype(np.int64, copy=False)
    stop = len(every_end) if count is None else min(len(every_end), start + count)
    if stop <= start:
        empty = np.zeros(0, dtype=np.int64)
        return TCM(empty, empty, empty)
    lo = int(every_end[start - 1]) if start > 0 else 0
    ends = every_end[start:stop]
    hi = int(ends[-1])
    if not 0 <= lo <= hi <= min(len(keys.values), len(rows.values)):
        return None
    return TCM(
        keys.values[lo:hi].astype(np.int64, copy=False),
        rows.values[lo:hi].astype(np.int64, copy=False),
        ends - lo,
    )


def _read_plain_jagged(
    keys: h5py.Group, rows: h5py.Group, start: int, count: int | None
) -> TCM | None:
    """The map's rows ``start:start+count`` straight from the datasets of two jagged columns
    of plain integers sharing their offsets (read once); None for any other layout."""
    from tierflow.evt._slabs import read_slice

    parts = [keys.get("cumulative_length"), keys.get("flattened_data"), rows.get("flattened_data")]
    if not all(isinstance(p, h5py.Dataset) and p.ndim == 1 and p.dtype.kind in "iu" for p in parts):
        return None
    offsets_ds, keys_ds, rows_ds = parts
    total = int(offsets_ds.shape[0])
    stop = total if count is None else min(total, start + count)
    if stop <= start:
        empty = np.zeros(0, dtype=np.int64)
        return TCM(empty, empty, empty)
    first = max(start - 1, 0)
    ends = read_slice(offsets_ds, first, stop).astype(np.int64, copy=False)
    lo = int(ends[0]) if start > 0 else 0
    ends = ends[start - first :]
    hi = int(ends[-1])
    return TCM(
        read_slice(keys_ds, lo, hi).astype(np.int64, copy=False),
        read_slice(rows_ds, lo, hi).astype(np.int64, copy=False),
        ends - lo,
    )


def _first_offset(vov: VectorOfVectors) -> int:
    """Where the read rows start in the full content (0: the reader rebases offsets)."""
    offsets = vov.cumulative_length.nda
    if len(offsets) == 0:
        return 0
    return int(offsets[-1]) - len(vov.flattened_data)


def table_keys_of(tables: Sequence[str], hash_func: HashFunc = r"\d+") -> list[int]:
    """The integer key of each table name: the first match of the regular expression
    `hash_func`, a function's result, or the position in `tables` for ``None``.

    Example
    -------
    >>> table_keys_of(["ch1084803/raw", "ch1084804/raw"])
    [1084803, 1084804]
    """
    if hash_func is None:
        return list(range(len(tables)))
    if callable(hash_func):
        return [int(hash_func(t)) for t in tables]
    pattern = re.compile(hash_func)
    keys = []
    for table in tables:
        match = pattern.search(table)
        if match is None:
            raise ConfigError(f"hash_func {hash_func!r} finds no key in {table!r}", obj=table)
        keys.append(int(match.group()))
    return keys


@dataclass
class _Source:
    """One input table and the state of its reading."""

    handle: h5py.File
    name: str
    key: int
    n_rows: int
    next_row: int = 0
    last: npt.NDArray[Any] | None = None


def _list_sources(
    input_tables: Sequence[tuple[PathLike, str | Sequence[str]]],
    hash_func: HashFunc,
    stack: ExitStack,
) -> tuple[list[_Source], list[str]]:
    sources: list[_Source] = []
    names: list[str] = []
    for filename, patterns in input_tables:
        handle = stack.enter_context(h5py.File(filename, "r"))
        pattern_list = [patterns] if isinstance(patterns, str) else list(patterns)
        here = [t for p in pattern_list for t in lh5.ls(handle, p)]
        if not here:
            raise NotFoundError(
                f"no table matches {pattern_list}",
                file=str(filename),
                obj=pattern_list[0],
                candidates=lh5.ls(handle, "*/*") + lh5.ls(handle),
            )
        for table, key in zip(here, table_keys_of(here, hash_func), strict=True):
            sources.append(_Source(handle, table, key, lh5.n_rows(table, handle)))
        names.extend(here)
    return sources, names


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _key_dtype(sources: list[_Source], coin_cols: list[str]) -> np.dtype[Any]:
    """The common dtype of the coincidence columns (checking that every table has them)."""
    dtypes = []
    for source in sources:
        for col in coin_cols:
            ds = source.handle[source.name].get(col)
            if not isinstance(ds, h5py.Dataset):
                raise NotFoundError(
                    f"no coincidence column {col!r} in table {source.name!r}",
                    file=source.handle.filename,
                    obj=f"{source.name}/{col}",
                    candidates=list(source.handle[source.name].keys()),
                )
            dtypes.append(ds.dtype)
    return np.result_type(*dtypes) if dtypes else np.dtype(np.float64)


def _make_windows(
    coin_cols: list[str], coin_windows: Any, window_refs: Any
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    windows = _as_list(coin_windows)
    refs = _as_list(window_refs)
    if len(windows) == 1:
        windows = windows * len(coin_cols)
    if len(refs) == 1:
        refs = refs * len(coin_cols)
    if len(windows) != len(coin_cols) or len(refs) != len(coin_cols):
        raise ConfigError(
            f"coin_cols, coin_windows and window_refs need the same length, got "
            f"{len(coin_cols)}, {len(windows)} and {len(refs)}"
        )
    try:
        parsed = [WindowRef(r) for r in refs]
    except ValueError:
        bad = next(r for r in refs if r not in {w.value for w in WindowRef})
        raise NotFoundError(
            f"unknown window reference {bad!r}",
            obj=str(bad),
            candidates=[w.value for w in WindowRef],
        ) from None
    from_first = np.array([r is WindowRef.FIRST for r in parsed], dtype=np.bool_)
    return np.asarray(windows, dtype=np.float64), from_first


def build_tcm(
    input_tables: Sequence[tuple[PathLike, str | Sequence[str]]],
    coin_cols: str | Sequence[str],
    hash_func: HashFunc = r"\d+",
    coin_windows: float | Sequence[float] = 0,
    window_refs: str | WindowRef | Sequence[str | WindowRef] = "last",
    out_file: PathLike | None = None,
    out_name: str = "tcm",
    wo_mode: WriteMode | str = WriteMode.CREATE,
    buffer_len: int | None = None,
    out_fields: str | Sequence[str] | None = None,
    *,
    hdf5_settings: Mapping[str, Any] | str | None = None,
) -> Table | None:
    r"""Build a time-coincidence map: which hits of which tables make one event.

    Hits of all tables are ordered by the coincidence columns (then by table key); a hit
    starts a new event when, in any column, it is more than the window away from the last
    hit (``window_refs="last"``) or the first hit (``"first"``) of the open event.

    Parameters
    ----------
    input_tables
        ``(file, pattern or patterns)`` pairs; each glob (``"ch*/raw"``) names tables.
    coin_cols
        The coincidence column(s), e.g. ``"timestamp"``; each table must be sorted by them.
    hash_func
        Regular expression whose first match in a table name is its key (default: the first
        integer), a function of the name, or ``None`` for the position within its file.
    coin_windows, window_refs
        Window width and reference per column (one value applies to all).
    out_file, out_name, wo_mode
        Where to write the map (the file appears only when complete); without `out_file`
        the map is returned.
    buffer_len
        Rows read per table at a time.
    out_fields
        Columns of the input tables copied into the map as jagged columns.
    hdf5_settings
        Dataset settings for the output, or a preset name (:class:`~tierflow.lh5.Hdf5Preset`):
        by default ``"legend"``, shuffle + Zstd as LEGEND's production files; ``"anchor"`` is
        the anchors' shuffle + gzip.

    Returns
    -------
    Table or None
        The map (``table_key``, ``row_in_table``, `out_fields`) when `out_file` is None.

    Example
    -------
    >>> build_tcm([("raw.lh5", "ch*/raw")], "timestamp", out_file="tcm.lh5",
    ...           out_name="hardware_tcm_1")  # doctest: +SKIP
    """
    retain_freed_memory()
    lh5.load_filter_plugins()  # inputs may use Zstd, read here through h5py
    from tierflow.evt._merge import merge_sources

    cols = [str(c) for c in _as_list(coin_cols)]
    fields = [] if out_fields is None else [str(f) for f in _as_list(out_fields)]
    windows, from_first = _make_windows(cols, coin_windows, window_refs)
    mode = WriteMode.parse(wo_mode)
    with ExitStack() as stack:
        sources, names = _list_sources(input_tables, hash_func, stack)
        if buffer_len is None:
            buffer_len = int(np.clip(2**23 // max(len(sources), 1), 1024, 2**17))
        dtype = _key_dtype(sources, cols)
        chunks = merge_sources(sources, cols, fields, int(buffer_len), windows, from_first, dtype)
        attrs = {"tables": str(names), "hash_func": str(hash_func)}
        if out_file is None:
            return _concat(list(chunks), attrs, fields)
        with staged_output(out_file, mode) as handle:
            settings = lh5.preset_settings(hdf5_settings)
            _write_chunks(chunks, handle, out_name, (mode, settings), attrs, fields)
    return None


def _write_chunks(
    chunks: Iterator[TCM],
    handle: h5py.File,
    out_name: str,
    how: tuple[WriteMode, Mapping[str, Any]],
    attrs: dict[str, Any],
    fields: list[str],
) -> None:
    mode, settings = how
    first_mode = WriteMode.OVERWRITE if mode is WriteMode.OVERWRITE_FILE else mode
    wrote = False
    for chunk in chunks:
        table = chunk.to_table(attrs)
        next_mode = WriteMode.APPEND if wrote else first_mode
        lh5.write(table, out_name, handle, mode=next_mode, hdf5_settings=settings)
        wrote = True
    if not wrote:
        lh5.write(_empty(attrs, fields), out_name, handle, mode=first_mode, hdf5_settings=settings)


def _empty(attrs: dict[str, Any], fields: list[str]) -> Table:
    empty = np.zeros(0, dtype=np.int64)
    return TCM(empty, empty, empty, {f: empty for f in fields}).to_table(attrs)


def _concat(chunks: list[TCM], attrs: dict[str, Any], fields: list[str]) -> Table:
    if not chunks:
        return _empty(attrs, fields)
    offsets = []
    base = 0
    for chunk in chunks:
        offsets.append(chunk.cumulative_length + base)
        base += len(chunk.table_key)
    tcm = TCM(
        np.concatenate([c.table_key for c in chunks]),
        np.concatenate([c.row_in_table for c in chunks]),
        np.concatenate(offsets),
        {f: np.concatenate([c.extra[f] for c in chunks]) for f in fields},
    )
    return tcm.to_table(attrs)


def check_tcm_rows(tcm: TCM, n_rows_by_key: dict[int, int], where: str) -> None:
    """Raise if the map points past the end of a table (or at a table that is not there)."""
    for key in np.unique(tcm.table_key):
        rows = tcm.row_in_table[tcm.table_key == key]
        size = n_rows_by_key.get(int(key))
        if size is None:
            continue
        if len(rows) and (rows.max() >= size or rows.min() < 0):
            bad = int(rows.max()) if rows.max() >= size else int(rows.min())
            raise MismatchError(
                f"the time-coincidence map points at row {bad} of table key {int(key)}, "
                f"which has {size} rows",
                obj=where,
            )
