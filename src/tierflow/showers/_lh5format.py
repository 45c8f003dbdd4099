"""tierflow's shower layout in LH5: a flat, compressed point table and one row per shower.

::

    /showers                 struct{events,hits}      attrs: tierflow_showers (layout version),
                                                      max_points, feature_names, geometry (JSON)
    /showers/hits            table{x,y,z,energy[,time]}   one row per point, one column per
                                                      feature with its own dtype and units
    /showers/events          table{energies,pdg,directions,shower_ids,num_points}
    /showers/targets/<key>   struct{values,num_points}    attrs: shape

Shower ``i`` owns hits ``sum(num_points[:i]) .. sum(num_points[:i+1])``. Every dataset is
chunked and resizable, so a file grows by appends; hits are written before events, so an
interrupted append leaves a readable file with the showers of the events table. A hits column
is compressed (Bitshuffle + LZ4 through hdf5plugin, 8,192-hit chunks of 512-hit blocks) when
that at least halves it, and stored plain otherwise (:mod:`tierflow.showers._packing`: a full
load then reads it at the speed of memory), in 65,536-hit chunks if no column is compressed;
events are always compressed. Files written before these defaults (every column compressed;
LZ4 with byte shuffle, 32,768-hit chunks; Bitshuffle's own 2,048-hit blocks) have the same
layout and version and read the same way, since HDF5 records each dataset's filters and
chunks (``tests/showers/data/v1-lz4.lh5``).

Version 2 (``tests/showers/data/v2-narrow.lh5``) stores a hits column whose values all have
few digits (the layer index, cell-centred x and y, positions in 0.1 mm) as int8 or int16 with
the attribute ``tierflow_divisor`` (:mod:`tierflow.showers._narrow`): exact, smaller, and
decoded in 0.5-0.6 of the time; readers give back float32. A file gets version 2 only if it
has such a column, so that files without one stay readable by earlier releases, which refuse
version 2 rather than misread it. An append whose values do not fit a narrow column rewrites
that column as float32.

Files open for reading decode their hits straight from the file's bytes
(:mod:`tierflow.showers._direct`): any HDF5 reader with hdf5plugin reads them too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow import lh5
from tierflow.errors import FormatError, MismatchError, NotFoundError
from tierflow.showers._direct import DirectColumns, make_direct_columns
from tierflow.showers._files import (
    LH5_FORMAT_ATTR,
    ClosingStore,
    FileMode,
    Layout,
    atomic_h5,
    open_h5,
)
from tierflow.showers._narrow import DIVISOR_ATTR, Narrow, choose_narrow, narrow_of
from tierflow.showers._packing import compresses_well
from tierflow.showers._showers import (
    FEATURES_4,
    FEATURES_5,
    IncidentParticles,
    Showers,
    offsets_of,
)
from tierflow.types import Array, ArrayOfEqualSizedArrays, Struct, Table

__all__ = [
    "FEATURE_UNITS",
    "LAYOUT_VERSION",
    "LH5Store",
    "create_lh5",
    "default_settings",
    "make_struct",
]

LAYOUT_VERSION = 2
"""The newest layout: version 2, whose hits columns may be stored as small integers
(:mod:`~tierflow.showers._narrow`). Files with no such column are written as version 1, which
earlier releases read."""
PLAIN_VERSION = 1
NARROW = True
"""Whether new files store hits columns of few digits narrowly."""
HITS_CHUNK_ROWS = 1 << 13
"""Hits per chunk: 32 KiB of float32. A random shower is decoded block by block from its
chunks (:mod:`tierflow.showers._direct`), after walking the block headers before it (the first
time its chunk is read; 4,096-hit chunks walk less, but make opening a file slower): on
20,000 showers of 100-4,000 points that took 0.7 of the time with 8,192-hit chunks than with
32,768; the places of all chunks are found when a file opens (HDF5's chunk iteration, 1 us a
chunk: 20 ms for 41 M hits)."""
PLAIN_CHUNK_ROWS = 1 << 16
"""Hits per chunk when no hits column is compressed (:mod:`~tierflow.showers._packing`): a
plain column is read at any row without walking blocks, so its chunks need only be short
enough for appends; 8x fewer than compressed ones to locate when a file opens (3 ms rather
than 30 for 41 M hits)."""
BLOCK_ROWS = 512
"""Hits per Bitshuffle block (its unit of decoding), 2 KiB of float32: a random shower is
decoded from the blocks that hold it (:mod:`tierflow.showers._direct`), so smaller blocks
decode less beyond it; 512 took 0.85 of the time of 2,048 (the filter's default) and of 256
(whose per-block costs dominate), for files 2% larger."""
EVENTS_CHUNK_ROWS = 1 << 14
FEATURE_UNITS = {"x": "mm", "y": "mm", "z": "", "energy": "GeV", "time": "ns"}
EVENT_UNITS = {"energies": "GeV"}


def default_settings() -> dict[str, Any]:
    """The HDF5 filters of new files' compressed columns: Bitshuffle with LZ4 (hdf5plugin,
    filter 32008).

    Lossless; on clustered showers it gives files 0.45 of showerdata's, against 0.55 for
    LZ4 with byte shuffle (the default before), and decodes faster (a full load took 0.7
    of the time, a random shower 0.8), because the bit planes of float32 points give LZ4
    longer matches. Blosc's LZ4 with byte shuffle decoded 1.15x faster through HDF5 for
    files 1.2x larger, and needs another package to be decoded directly: not worth it.
    """
    import hdf5plugin

    return {
        "compression": dict(hdf5plugin.Bitshuffle(nelems=BLOCK_ROWS, cname="lz4")),
        "shuffle": False,
    }


def _column(
    data: npt.NDArray[Any],
    units: str | None,
    chunk_rows: int,
    extra: Mapping[str, Any] | None = None,
    compressed: bool = True,
) -> Array:
    settings: dict[str, Any] = {"chunks": (chunk_rows, *data.shape[1:])}
    if not compressed:
        settings |= {"compression": None, "shuffle": False}
    attrs: dict[str, Any] = {"hdf5_settings": settings}
    if units:
        attrs["units"] = units
    attrs.update(extra or {})
    if data.ndim == 2:
        return ArrayOfEqualSizedArrays(data, attrs=attrs)
    return Array(data, attrs=attrs)


def feature_names(n_features: int) -> tuple[str, ...]:
    """The names of the point features: x, y, z, energy and, for 5, time."""
    return FEATURES_5 if n_features == 5 else FEATURES_4


def _hits_table(
    columns: Sequence[npt.NDArray[np.float32]],
    names: Sequence[str],
    narrows: Sequence[Narrow | None],
    choose: bool,
) -> Table:
    """The hits columns, narrow where `narrows` say; if `choose`, those that compress little
    stored plain (:mod:`~tierflow.showers._packing`), and in longer chunks if all are."""
    stored = [v if n is None else n.encode(v) for v, n in zip(columns, narrows, strict=True)]
    compressed = [not choose or compresses_well(v, HITS_CHUNK_ROWS, BLOCK_ROWS) for v in stored]
    rows = HITS_CHUNK_ROWS if any(compressed) else PLAIN_CHUNK_ROWS
    return Table(
        {
            name: _column(v, FEATURE_UNITS[name], rows, None if n is None else n.attrs(), c)
            for name, v, n, c in zip(names, stored, narrows, compressed, strict=True)
        }
    )


def make_struct(
    showers: Showers,
    attrs: Mapping[str, Any] | None = None,
    *,
    with_attrs: bool = True,
    narrows: Sequence[Narrow | None] | None = None,
    choose_compression: bool = True,
) -> Struct:
    """The LH5 struct that holds `showers`.

    `narrows`: how each hits column is stored (:mod:`~tierflow.showers._narrow`); by default
    chosen from the values (a column of values of few digits is stored narrow), and so is
    which columns are compressed (:mod:`~tierflow.showers._packing`) unless
    `choose_compression` is false (all are, with the writer's settings) or `narrows` are given
    (an append to existing columns, whose filters stay).
    """
    choose = choose_compression and narrows is None
    names = feature_names(showers.num_features)
    columns = [np.ascontiguousarray(showers.flat[:, j]) for j in range(len(names))]
    if narrows is None:
        narrows = [choose_narrow(values) if NARROW else None for values in columns]
    hits = _hits_table(columns, names, narrows, choose)
    events = Table(
        {
            "energies": _column(showers.energies[:, 0], "GeV", EVENTS_CHUNK_ROWS),
            "pdg": _column(showers.pdg, None, EVENTS_CHUNK_ROWS),
            "directions": _column(showers.directions, None, EVENTS_CHUNK_ROWS),
            "shower_ids": _column(showers.shower_ids, None, EVENTS_CHUNK_ROWS),
            "num_points": _column(showers.num_points, None, EVENTS_CHUNK_ROWS),
        }
    )
    struct_attrs: dict[str, Any] = {}
    if with_attrs:
        version = LAYOUT_VERSION if any(n is not None for n in narrows) else PLAIN_VERSION
        struct_attrs = {
            LH5_FORMAT_ATTR: version,
            "max_points": showers.max_points,
            "feature_names": json.dumps(list(names)),
            **(attrs or {}),
        }
    return Struct({"events": events, "hits": hits}, attrs=struct_attrs)


def create_lh5(
    path: str | os.PathLike[str],
    showers: Showers,
    name: str = "showers",
    *,
    overwrite: bool = False,
    hdf5_settings: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    file_attrs: Mapping[str, Any] | None = None,
) -> None:
    """A new LH5 file holding `showers` as `name` (written under a temporary name)."""
    settings_given = hdf5_settings or {}
    settings = {**default_settings(), **settings_given}
    struct = make_struct(showers, attrs, choose_compression="compression" not in settings_given)
    with atomic_h5(path, overwrite) as handle:
        lh5.write(struct, name, handle, hdf5_settings=settings)
        handle.attrs.update(dict(file_attrs or {}))


class LH5Store(ClosingStore):
    """An open file in tierflow's LH5 shower layout.

    The per-shower rows (a few bytes per shower) are read once when the file opens; a read
    then touches only the hits of the showers asked for. Open for reading, the hits are
    decoded straight from the file (:class:`~tierflow.showers._direct.DirectColumns`) once
    their chunks are located (:meth:`prepare_random_access`, or a read of 1/8 of them).
    """

    layout = Layout.LH5

    def __init__(
        self, path: str | os.PathLike[str], mode: FileMode = FileMode.READ, name: str = "showers"
    ) -> None:
        self.path = str(path)
        self.name = name
        self.handle = open_h5(path, "r" if mode is FileMode.READ else "a")
        self.mode = mode
        self.group = self.handle[name]
        self._direct: DirectColumns | None = None
        version = int(self.group.attrs.get(LH5_FORMAT_ATTR, -1))
        if version > LAYOUT_VERSION:
            raise FormatError(
                f"shower layout version {version} is newer than this tierflow reads "
                f"({LAYOUT_VERSION})",
                file=self.path,
                obj=name,
            )
        self._load_events()

    def _load_events(self) -> None:
        self.feature_names = self._feature_names()
        events = self.group["events"]
        self.events = {key: events[key][()] for key in events}
        self._energies = self.events["energies"].reshape(-1, 1)
        self.offsets = offsets_of(self.events["num_points"])
        hits = self.group["hits"]
        missing = [name for name in self.feature_names if name not in hits]
        if missing:
            raise NotFoundError(
                f"the hits table has no column {missing[0]!r}",
                file=self.path,
                obj=f"{self.name}/hits/{missing[0]}",
                candidates=list(hits),
            )
        self.columns = [_uncached(hits, name) for name in self.feature_names]
        self.narrows = [self._narrow(column) for column in self.columns]
        self.spaces = [column.id.get_space() for column in self.columns]
        n_hits = min(c.shape[0] for c in self.columns)
        if self.offsets[-1] > n_hits:
            raise FormatError(
                f"the showers need {self.offsets[-1]} hits but the hits table has {n_hits}",
                file=self.path,
                obj=f"{self.name}/hits",
            )
        self._close_direct()
        if self.mode is FileMode.READ:  # the bytes of the file do not change: read them directly
            hits_used = int(self.offsets[-1])
            divisors = [None if n is None else n.divisor for n in self.narrows]
            self._direct = make_direct_columns(
                self.path, self.handle, self.columns, hits_used, divisors
            )
        self._load_attrs()

    def _narrow(self, column: h5py.Dataset) -> Narrow | None:
        """How `column` stores its float32 values (None: as floats, which HDF5 converts)."""
        narrow = narrow_of(column.dtype, column.attrs)
        if narrow is None and column.dtype.kind in "iu":  # never guess what integers mean
            raise FormatError(
                f"a hits column of {column.dtype} without a valid {DIVISOR_ATTR!r} attribute",
                file=self.path,
                obj=column.name,
            )
        return narrow

    @property
    def attrs(self) -> h5py.AttributeManager:
        """The file's attributes (its metadata)."""
        return self.handle.attrs

    def _feature_names(self) -> list[str]:
        names = self.group.attrs.get("feature_names")
        return list(json.loads(names)) if names is not None else list(FEATURES_4)

    def _load_attrs(self) -> None:
        longest = int(self.events["num_points"].max(initial=0))
        width = max(int(self.group.attrs.get("max_points", 0)), longest)
        self.shape = (len(self), width, len(self.feature_names))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def read_hits(self, starts: npt.NDArray[Any], stops: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Hits of the row ranges ``starts[i]..stops[i]`` (increasing, not overlapping).

        Each column is decoded by HDF5 straight into one row of a ``(features, hits)``
        array, with one read per column; the hits are its transpose (Fortran-ordered), so
        a full load needs no copy and no memory beyond its result.
        """
        total = int(stops[0] - starts[0]) if len(starts) == 1 else int((stops - starts).sum())
        return self._read_hits(starts, stops, total)

    def _read_hits(
        self, starts: npt.NDArray[Any], stops: npt.NDArray[Any], total: int
    ) -> npt.NDArray[Any]:
        columns = np.empty((len(self.columns), total), dtype=np.float32)
        if self._direct is None or not self._direct.read(starts, stops, columns):
            memory = h5py.h5s.create_simple((max(total, 1),))
            for j, column in enumerate(self.columns):
                read_ranges(column, starts, stops, columns[j], self.spaces[j], memory)
                narrow = self.narrows[j]
                if narrow is not None:  # HDF5 converted the integers (exactly): divide them
                    columns[j] /= np.float32(narrow.divisor)
        hits: npt.NDArray[np.float32] = columns.T
        return hits

    def read(self, sel: slice | npt.NDArray[np.intp], max_points: int | None = None) -> Showers:
        if max_points is None and isinstance(sel, slice) and sel.stop - sel.start == 1:
            return self._read_one(sel.start)
        num_points = self.events["num_points"][sel]
        offsets = None
        if isinstance(sel, slice):
            flat = self.read_hits(
                self.offsets[sel.start : sel.start + 1], self.offsets[sel.stop : sel.stop + 1]
            )
            offsets = self.offsets[sel.start : sel.stop + 1] - self.offsets[sel.start]
        else:
            flat = self._read_picked(sel)
        showers = Showers.trusted(
            flat,
            num_points,
            self.events["energies"][sel].reshape(-1, 1),
            self.events["pdg"][sel],
            self.events["directions"][sel],
            self.events["shower_ids"][sel],
            self.shape[1],
            offsets,
        )
        if max_points is not None and max_points >= 0:
            return truncate(showers, max_points)
        return showers

    def _read_one(self, i: int) -> Showers:
        """Shower `i` (the common case of random access, with the least Python around it)."""
        bounds = self.offsets[i : i + 2]
        flat = self._read_hits(bounds[:1], bounds[1:], self.offsets.item(i + 1) - bounds.item(0))
        one, events = slice(i, i + 1), self.events
        return Showers.trusted(
            flat,
            events["num_points"][one],
            self._energies[one],
            events["pdg"][one],
            events["directions"][one],
            events["shower_ids"][one],
            self.shape[1],
            bounds - bounds[:1],
        )

    def _read_picked(self, picked: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
        unique, inverse = np.unique(picked, return_inverse=True)
        starts, stops = merge_ranges(self.offsets[unique], self.offsets[unique + 1])
        flat = self.read_hits(starts, stops)
        if len(unique) == len(picked) and np.all(unique == picked):
            return flat
        from tierflow.showers._showers import gather_rows

        local = offsets_of(self.events["num_points"][unique])
        picked_flat: npt.NDArray[Any] = flat[gather_rows(local, inverse.astype(np.intp))]
        return picked_flat

    def read_particles(self, sel: slice | npt.NDArray[np.intp]) -> IncidentParticles:
        return IncidentParticles(
            self.events["energies"][sel], self.events["pdg"][sel], self.events["directions"][sel]
        )

    def write(self, sel: slice, showers: Showers) -> None:
        if sel.start != len(self):
            raise MismatchError(
                f"tierflow's layout is written in order: showers go at row {len(self)}, "
                f"not {sel.start}",
                file=self.path,
                obj=self.name,
            )
        self.append(showers)

    def append(self, showers: Showers) -> None:
        if self.mode is FileMode.READ:
            raise MismatchError("the file is open for reading only", file=self.path)
        if showers.num_features != len(self.feature_names):
            raise MismatchError(
                f"showers of {showers.num_features} features do not fit "
                f"{len(self.feature_names)} features on disk",
                file=self.path,
                obj=self.name,
            )
        self._trim_hits()
        for j, narrow in enumerate(self.narrows):
            if narrow is not None and not narrow.fits(np.ascontiguousarray(showers.flat[:, j])):
                self._widen(j)
        struct = make_struct(showers, with_attrs=False, narrows=self.narrows)
        lh5.write(struct["hits"], f"{self.name}/hits", self.handle, mode=lh5.WriteMode.APPEND)
        lh5.write(struct["events"], f"{self.name}/events", self.handle, mode=lh5.WriteMode.APPEND)
        width = max(int(self.group.attrs.get("max_points", 0)), showers.max_points)
        self.group.attrs["max_points"] = width
        self._load_events()

    def _widen(self, j: int) -> None:
        """Store hits column `j` as float32 from now on (appended values do not fit its
        narrow storage): rewritten whole beside it, with its chunks, filters and other
        attributes, then put in its place (so that an interruption leaves the old one)."""
        old, narrow = self.columns[j], self.narrows[j]
        assert narrow is not None
        hits, name = self.group["hits"], self.feature_names[j]
        plist = old.id.get_create_plist()
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk(plist.get_chunk())
        for i in range(plist.get_nfilters()):  # the filters' own set-up fits them to float32
            code, flags, options, _ = plist.get_filter(i)
            dcpl.set_filter(code, flags, options[SET_LOCAL_OPTIONS.get(code, 0) :])
        space = h5py.h5s.create_simple((old.shape[0],), (h5py.h5s.UNLIMITED,))
        temp = f".{name}.widening"
        if temp in hits:
            del hits[temp]
        ident = h5py.h5d.create(hits.id, temp.encode(), h5py.h5t.NATIVE_FLOAT, space, dcpl=dcpl)
        new = h5py.Dataset(ident)
        new[...] = narrow.decode(old[()])
        new.attrs.update({k: v for k, v in old.attrs.items() if k != DIVISOR_ATTR})
        self._close_direct()
        del hits[name]
        hits.move(temp, name)
        self.columns[j] = _uncached(hits, name)
        self.narrows[j] = None

    def _trim_hits(self) -> None:
        """Drop hits left by an interrupted append (beyond the last shower's)."""
        end = int(self.offsets[-1])
        for column in self.columns:
            if column.shape[0] > end:
                column.resize(end, axis=0)

    def prepare_random_access(self) -> None:
        """Locate the chunks of the hits now (20 ms for 41 M hits) and map the file, so that
        reads of single showers decode them straight from the file."""
        if self._direct is not None:
            self._direct.prepare_random_access()

    def _close_direct(self) -> None:
        if self._direct is not None:
            self._direct.close()
        self._direct = None

    def close(self) -> None:
        self._close_direct()
        self.handle.close()


SET_LOCAL_OPTIONS = {32008: 3, 32001: 4}
"""Filters (Bitshuffle, Blosc) whose first options are set from the datatype when a dataset
is made, ahead of the options given: a dataset made like another is given only the rest."""


def _uncached(group: h5py.Group, name: str) -> h5py.Dataset:
    """The dataset `name` of `group`, opened without a chunk cache: chunks then decode
    straight into the result. A full load was 1.5x faster and 130 MB smaller this way; single
    showers, whose chunks are rarely read twice, took as long.

    HDF5 shares one cache among all openings of a dataset, set by the first: so the hits
    columns are opened only this way."""
    access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    access.set_chunk_cache(0, 0, 1.0)
    return h5py.Dataset(h5py.h5d.open(group.id, name.encode(), dapl=access))


def truncate(showers: Showers, max_points: int) -> Showers:
    """`showers` cut to at most `max_points` points each, num_points and width following."""
    from tierflow.showers._sdformat import _cut

    flat, kept = _cut(showers.flat, showers.num_points, max_points)
    return Showers(
        flat_points=flat,
        num_points=kept,
        energies=showers.energies,
        pdg=showers.pdg,
        directions=showers.directions,
        shower_ids=showers.shower_ids,
        max_points=max_points,
    )


def merge_ranges(
    starts: npt.NDArray[Any], stops: npt.NDArray[Any]
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Sorted ranges with the touching ones joined (empty ones dropped)."""
    keep = stops > starts
    starts, stops = starts[keep], stops[keep]
    if len(starts) < 2:
        return starts, stops
    new = np.concatenate(([True], starts[1:] != stops[:-1]))
    ends = np.concatenate((np.flatnonzero(new)[1:] - 1, [len(starts) - 1]))
    return starts[new], stops[ends]


def read_ranges(
    ds: h5py.Dataset,
    starts: npt.NDArray[Any],
    stops: npt.NDArray[Any],
    out: npt.NDArray[Any],
    space: h5py.h5s.SpaceID | None = None,
    memory: h5py.h5s.SpaceID | None = None,
) -> None:
    """Read the rows of all ranges of a 1-d dataset into `out`, with one HDF5 read
    (`space` and `memory`: the dataset's and `out`'s dataspaces, to reuse them)."""
    total = len(out)
    if total == 0:
        return
    space = space or ds.id.get_space()
    if len(starts) == 1:
        space.select_hyperslab((int(starts[0]),), (total,))
    else:
        space.select_none()
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=False):
            space.select_hyperslab((start,), (stop - start,), op=h5py.h5s.SELECT_OR)
    ds.id.read(memory or h5py.h5s.create_simple((total,)), space, out)
