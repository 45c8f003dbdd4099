"""showerdata's layout, read and written dataset for dataset as showerdata 0.7.0 does.

::

    /showers      (n,)   vlen float32   each shower's num_points x n_features values, flattened
    /energies     (n, 1) float32        /directions (n, 3) float32
    /pdg          (n,)   int32          /shower_ids (n,) int32      /num_points (n,) int32
    /shape        (3,)   int64 (save) or int32 (create_empty_file): n, max_points, n_features
    /<target>/point_clouds, /<target>/shape (int32), /<target>/num_points
    attrs: showerdata_version
"""

from __future__ import annotations

import os
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError, MismatchError, NotFoundError
from tierflow.showers._files import ClosingStore, FileMode, Layout, atomic_h5, open_h5
from tierflow.showers._showers import IncidentParticles, Showers, offsets_of

__all__ = ["SHOWERDATA_VERSION", "ShowerdataStore", "read_vlen", "write_showerdata", "write_vlen"]

SHOWERDATA_VERSION = "0.7.0"
"""The showerdata version whose layout this writes (recorded as ``showerdata_version``)."""
VLEN_FLOAT32 = h5py.vlen_dtype(np.dtype(np.float32))
VLEN_BLOCK = 1024
"""Showers read at a time from the vlen dataset in a large read."""
PER_SHOWER = {
    "energies": ((1,), np.float32),
    "directions": ((3,), np.float32),
    "pdg": ((), np.int32),
    "shower_ids": ((), np.int32),
    "num_points": ((), np.int32),
}


def dataset(handle: h5py.File, key: str) -> h5py.Dataset:
    """The dataset `key`; a missing one names the closest existing keys."""
    obj = handle.get(key)
    if not isinstance(obj, h5py.Dataset):
        parent, _, _leaf = key.rpartition("/")
        group = handle.get(parent or "/")
        raise NotFoundError(
            f"no dataset {key!r} in this showerdata file",
            file=handle.filename,
            obj=key,
            candidates=list(group.keys()) if isinstance(group, h5py.Group) else [],
        )
    return obj


def _sorted_read(ds: h5py.Dataset, sel: slice | npt.NDArray[np.intp]) -> Any:
    """``ds[sel]``; index arrays in any order, with repeats (h5py wants them increasing)."""
    if isinstance(sel, slice):
        return ds[sel]
    if len(sel) == 0:
        return ds[0:0]
    unique, inverse = np.unique(sel, return_inverse=True)
    return ds[unique][inverse]


def read_vlen(
    handle: h5py.File,
    key: str,
    sel: slice | npt.NDArray[np.intp],
    n_features: int,
    expected: npt.NDArray[Any] | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Flat points and points per shower of the vlen dataset `key`.

    With `expected` (the stored points per shower of a slice), the result is allocated once
    and filled VLEN_BLOCK showers at a time, so a full load needs little memory beyond it.
    """
    ds = dataset(handle, key)
    if expected is None or not isinstance(sel, slice):
        return _split_rows(_sorted_read(ds, sel), n_features, handle.filename, key)
    bounds = offsets_of(np.asarray(expected)) * n_features
    values = np.empty(int(bounds[-1]), dtype=np.float32)
    for lo in range(0, len(expected), VLEN_BLOCK):
        hi = min(lo + VLEN_BLOCK, len(expected))
        rows = ds[sel.start + lo : sel.start + hi]
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        if not np.array_equal(lengths, np.diff(bounds[lo : hi + 1])):
            raise FormatError(
                "num_points disagrees with the stored point clouds", file=handle.filename, obj=key
            )
        if len(rows):
            np.concatenate(rows, out=values[bounds[lo] : bounds[hi]])
    return values.reshape(-1, n_features), np.asarray(expected, dtype=np.int32)


def _split_rows(
    rows: Any, n_features: int, filename: str, key: str
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    if np.any(lengths % n_features):
        raise FormatError(
            f"a shower's length is not a multiple of {n_features} features",
            file=filename,
            obj=key,
        )
    flat = np.concatenate(rows) if len(rows) else np.empty(0, np.float32)
    return flat.reshape(-1, n_features), (lengths // n_features).astype(np.int32)


def _cut(
    flat: npt.NDArray[np.float32], num_points: npt.NDArray[np.int32], max_points: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Keep the first `max_points` points of every shower; num_points follows."""
    kept = np.minimum(num_points, max_points).astype(np.int32)
    if np.array_equal(kept, num_points):
        return flat, num_points
    offsets = offsets_of(num_points)
    position = np.arange(len(flat)) - np.repeat(offsets[:-1], num_points)
    return flat[position < np.repeat(kept, num_points)], kept


def write_vlen(
    ds: h5py.Dataset, sel: slice, flat: npt.NDArray[np.float32], num_points: npt.ArrayLike
) -> None:
    """Write showers as flattened float32 rows `sel` of the vlen dataset `ds`."""
    offsets = offsets_of(np.asarray(num_points))
    values = flat.reshape(-1)
    width = flat.shape[1] if flat.ndim == 2 else 1
    rows = np.empty(len(offsets) - 1, dtype=VLEN_FLOAT32)  # object array typed as vlen
    for i in range(len(rows)):
        rows[i] = values[offsets[i] * width : offsets[i + 1] * width]
    if len(rows):  # written as is: h5py would turn rows of equal length into a 2-d array
        ds.write_direct(rows, dest_sel=np.s_[sel.start : sel.stop])


def write_showerdata(showers: Showers, handle: h5py.File, shape_dtype: Any = np.int64) -> None:
    """Every dataset of showerdata's ``Showers.save`` into an open, empty file."""
    ds = handle.create_dataset("showers", shape=(len(showers),), dtype=VLEN_FLOAT32)
    write_vlen(ds, slice(0, len(showers)), showers.flat, showers.num_points)
    handle.create_dataset("energies", data=showers.energies)
    handle.create_dataset("directions", data=showers.directions)
    handle.create_dataset("pdg", data=showers.pdg)
    handle.create_dataset("shower_ids", data=showers.shower_ids)
    handle.create_dataset("shape", data=np.asarray(showers.shape, dtype=shape_dtype))
    handle.create_dataset("num_points", data=showers.num_points)
    handle.attrs["showerdata_version"] = SHOWERDATA_VERSION


def create_showerdata(
    path: str | os.PathLike[str], shape: tuple[int, int, int], shape_dtype: Any = np.int32
) -> None:
    """An empty file of `shape` as showerdata's ``create_empty_file`` makes it (its ``save``
    records the shape as int64)."""
    with atomic_h5(path, overwrite=True) as handle:
        n = int(shape[0])
        handle.create_dataset("showers", shape=(n,), dtype=VLEN_FLOAT32)
        for key, (tail, dtype) in PER_SHOWER.items():
            handle.create_dataset(key, shape=(n, *tail), dtype=dtype)
        handle.create_dataset("shape", data=np.asarray(shape, dtype=shape_dtype))
        handle.attrs["showerdata_version"] = SHOWERDATA_VERSION


class ShowerdataStore(ClosingStore):
    """An open file in showerdata's layout.

    Example
    -------
    >>> store = ShowerdataStore("showers.h5")  # doctest: +SKIP
    >>> store.read(slice(0, 10)).num_points  # doctest: +SKIP
    """

    layout = Layout.SHOWERDATA

    def __init__(
        self, path: str | os.PathLike[str], mode: FileMode = FileMode.READ, name: str = "showers"
    ) -> None:
        self.path = str(path)
        self.key = self.name = name
        self.handle = open_h5(path, "r" if mode is FileMode.READ else "a")
        self.mode = mode
        self._rows: dict[str, Any] = {}
        """Per-shower datasets read whole on first use, when the file is open to read only:
        a random shower then costs one HDF5 read (its points) instead of six."""

    def _per_shower(self, key: str, sel: slice | npt.NDArray[np.intp]) -> Any:
        if self.mode is not FileMode.READ:
            return _sorted_read(dataset(self.handle, key), sel)
        if key not in self._rows:
            self._rows[key] = dataset(self.handle, key)[()]
        return self._rows[key][sel]

    @property
    def attrs(self) -> h5py.AttributeManager:
        """The file's attributes (its metadata)."""
        return self.handle.attrs

    @property
    def shape(self) -> tuple[int, int, int]:
        if "shape" in self._rows:
            cached: tuple[int, int, int] = self._rows["shape"]
            return cached
        shape = dataset(self.handle, "shape")[()]
        if shape.shape != (3,) or shape.dtype.kind not in "iu":
            raise FormatError("'shape' must hold 3 integers", file=self.path, obj="shape")
        found = (int(shape[0]), int(shape[1]), int(shape[2]))
        if self.mode is FileMode.READ:
            self._rows["shape"] = found
        return found

    def __len__(self) -> int:
        if "shape" in self._rows:
            return self.shape[0]
        if "shape" not in self.handle:  # a file of incident particles only
            return int(dataset(self.handle, "energies").shape[0])
        return self.shape[0]

    def prepare_random_access(self) -> None:
        """Nothing to do: the per-shower rows were read when the file opened."""

    def read(self, sel: slice | npt.NDArray[np.intp], max_points: int | None = None) -> Showers:
        _n, width, n_features = self.shape
        stored = self._per_shower("num_points", sel).astype(np.int32)
        flat, lengths = read_vlen(self.handle, self.key, sel, n_features, stored)
        if not np.array_equal(stored, lengths):
            raise FormatError(
                "num_points disagrees with the stored point clouds",
                file=self.path,
                obj="num_points",
            )
        if max_points is not None and max_points >= 0:
            flat, lengths = _cut(flat, lengths, max_points)
            width = max_points
        particles = self.read_particles(sel)
        return Showers(
            flat_points=flat,
            num_points=lengths,
            energies=particles.energies,
            pdg=particles.pdg,
            directions=particles.directions,
            shower_ids=self._per_shower("shower_ids", sel),
            max_points=width,
        )

    def read_particles(self, sel: slice | npt.NDArray[np.intp]) -> IncidentParticles:
        return IncidentParticles(
            self._per_shower("energies", sel).astype(np.float32),
            self._per_shower("pdg", sel).astype(np.int32),
            self._per_shower("directions", sel).astype(np.float32),
        )

    def write(self, sel: slice, showers: Showers) -> None:
        n, width, n_features = self.shape
        if showers.num_features != n_features:
            raise MismatchError(
                f"showers of {showers.num_features} features do not fit a file of {n_features}",
                file=self.path,
            )
        if int(showers.num_points.max(initial=0)) > width:
            raise MismatchError(
                f"a shower of {int(showers.num_points.max())} points does not fit a file "
                f"of at most {width} points per shower",
                file=self.path,
            )
        if sel.stop > n or sel.stop - sel.start != len(showers):
            raise IndexError(
                f"rows {sel.start}..{sel.stop} for {len(showers)} showers do not fit "
                f"{n} rows of {self.path!r}"
            )
        write_vlen(dataset(self.handle, self.key), sel, showers.flat, showers.num_points)
        for key in PER_SHOWER:
            data = showers.num_points if key == "num_points" else getattr(showers, key)
            dataset(self.handle, key)[sel] = data

    def append(self, showers: Showers) -> None:
        raise MismatchError(
            "showerdata's layout has a fixed number of showers: it cannot be appended to "
            "(write tierflow's LH5 layout, or make the file large enough first)",
            file=self.path,
        )

    def close(self) -> None:
        self.handle.close()
