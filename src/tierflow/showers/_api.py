"""showerdata's functions, over both layouts: save, load, targets, shapes and metadata."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import MismatchError
from tierflow.showers._files import (
    FileMode,
    Layout,
    ShowerStore,
    atomic_h5,
    attrs_dict,
    detect_layout,
    open_h5,
)
from tierflow.showers._lh5format import LH5Store, create_lh5
from tierflow.showers._sdformat import ShowerdataStore, create_showerdata, write_showerdata
from tierflow.showers._showers import IncidentParticles, Showers, _kept_rows
from tierflow.showers._targets import TARGETS

__all__ = [
    "STORES",
    "add_metadata",
    "add_target_dataset",
    "create_empty_file",
    "get_file_length",
    "get_file_shape",
    "layout_of",
    "load",
    "load_inc_particles",
    "load_metadata",
    "load_target",
    "open_store",
    "save",
    "save_batch",
    "save_target",
    "save_target_batch",
]

PathLike = str | os.PathLike[str]

STORES: dict[Layout, type[ShowerdataStore] | type[LH5Store]] = {
    Layout.SHOWERDATA: ShowerdataStore,
    Layout.LH5: LH5Store,
}
"""The class that opens each layout."""


def layout_of(path: PathLike, name: str = "showers") -> Layout:
    """The layout of the shower file `path` (read from the file, not its name)."""
    with open_h5(path) as handle:
        return detect_layout(handle, name)


def _layout_for_new(path: PathLike, layout: Layout | str | None) -> Layout:
    """`layout`, or for ``None``: tierflow's for a ``.lh5`` file, showerdata's otherwise."""
    if layout is not None:
        return Layout(layout)
    return Layout.LH5 if Path(path).suffix == ".lh5" else Layout.SHOWERDATA


def open_store(
    path: PathLike, mode: FileMode | str = FileMode.READ, name: str = "showers"
) -> ShowerStore:
    """An open shower file of either layout (found from its content)."""
    mode = FileMode(mode)
    return STORES[layout_of(path, name)](path, mode, name)


def save(
    data: Showers | IncidentParticles,
    path: PathLike,
    overwrite: bool = False,
    *,
    layout: Layout | str | None = None,
    name: str = "showers",
    hdf5_settings: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write showers (or incident particles alone) to a new file.

    Parameters
    ----------
    data
        The showers or particles.
    path
        The file; it appears only once complete.
    overwrite
        Replace an existing file (otherwise :class:`FileExistsError`).
    layout
        :class:`Layout` ``"showerdata"`` or ``"lh5"``; default: ``"lh5"`` for a ``.lh5`` file,
        showerdata's otherwise (so that showerdata opens it).
    hdf5_settings
        For the LH5 layout: compression settings for every column. By default the hits
        columns that Bitshuffle with LZ4 at least halves are compressed with it, the others
        stored plain (faster to load); ``{"compression": dict(hdf5plugin.Bitshuffle())}``
        compresses all of them, for the smallest files.
    metadata
        File attributes to record.

    Example
    -------
    >>> s = Showers(flat_points=np.ones((3, 4)), num_points=[3], energies=[50.0], pdg=22)
    >>> save(s, "one.lh5")  # doctest: +SKIP
    """
    if isinstance(data, IncidentParticles):
        data = Showers(
            flat_points=np.empty((0, 4), np.float32),
            num_points=np.zeros(len(data), np.int32),
            energies=data.energies,
            pdg=data.pdg,
            directions=data.directions,
        )
    if _layout_for_new(path, layout) is Layout.LH5:
        create_lh5(
            path, data, name, overwrite=overwrite, hdf5_settings=hdf5_settings, file_attrs=metadata
        )
        return
    with atomic_h5(path, overwrite) as handle:
        write_showerdata(data, handle)
        handle.attrs.update(dict(metadata or {}))


def _rows(store: ShowerStore, start: int, stop: int | None) -> slice:
    begin, end, _ = slice(start, stop).indices(len(store))
    return slice(begin, max(begin, end))


def load(
    path: PathLike,
    start: int = 0,
    stop: int | None = None,
    max_points: int | None = -1,
    *,
    name: str = "showers",
) -> Showers:
    """Showers ``start..stop`` of a file of either layout.

    Parameters
    ----------
    max_points
        Keep at most this many points per shower (``-1`` or ``None``: all); the showers'
        ``num_points`` and padded width follow the cut.

    Example
    -------
    >>> showers = load("showers-4f.h5", stop=100)  # doctest: +SKIP
    """
    with open_store(path, name=name) as store:
        return store.read(_rows(store, start, stop), max_points)


def load_inc_particles(
    path: PathLike, start: int = 0, stop: int | None = None, *, name: str = "showers"
) -> IncidentParticles:
    """The incident particles ``start..stop`` of a file, without reading any points."""
    with open_store(path, name=name) as store:
        return store.read_particles(_rows(store, start, stop))


def get_file_shape(path: PathLike, *, name: str = "showers") -> tuple[int, int, int]:
    """``(n_showers, max_points, n_features)`` of a shower file."""
    with open_store(path, name=name) as store:
        return store.shape


def get_file_length(path: PathLike, *, name: str = "showers") -> int:
    """The number of showers (or incident particles) in a file."""
    with open_store(path, name=name) as store:
        return len(store)


def create_empty_file(
    path: PathLike,
    shape: tuple[int, int, int],
    overwrite: bool = True,
    *,
    layout: Layout | str | None = None,
    name: str = "showers",
) -> None:
    """A file ready for :func:`save_batch`: showerdata's holds ``shape[0]`` empty showers;
    tierflow's starts empty and grows by appends (its width is ``shape[1]``)."""
    if Path(path).exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists already (pass overwrite=True)")
    if _layout_for_new(path, layout) is Layout.SHOWERDATA:
        create_showerdata(path, shape)
        return
    empty = Showers(
        flat_points=np.empty((0, shape[2]), np.float32),
        num_points=np.empty(0, np.int32),
        max_points=shape[1],
    )
    create_lh5(path, empty, name, overwrite=True)


def save_batch(data: Showers, path: PathLike, start: int = 0, *, name: str = "showers") -> None:
    """Write `data` as showers ``start..start+len(data)`` of a file made by
    :func:`create_empty_file` (in tierflow's layout, `start` must be the current length)."""
    with open_store(path, FileMode.APPEND, name) as store:
        store.write(slice(start, start + len(data)), data)


def _flat_target(
    data: npt.NDArray[Any], num_points: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    if data.ndim != 3:
        raise MismatchError(
            f"a target must be (n_showers, max_points, n_features), not shape {data.shape}"
        )
    num_points = np.asarray(num_points).reshape(-1).astype(np.int32)
    if len(num_points) != len(data):
        raise MismatchError(f"{len(num_points)} num_points for {len(data)} target showers")
    if np.any(num_points < 0) or np.any(num_points > data.shape[1]):
        raise MismatchError(f"num_points must lie in [0, {data.shape[1]}]")
    mask = np.arange(data.shape[1]) < num_points[:, None]
    return np.ascontiguousarray(data[mask], dtype=np.float32), num_points


def _shower_num_points(path: PathLike, sel: slice) -> npt.NDArray[np.int32]:
    with open_store(path) as store:
        if isinstance(store, LH5Store):
            return np.asarray(store.events["num_points"][sel], dtype=np.int32)
        return np.asarray(store.handle["num_points"][sel], dtype=np.int32)


def save_target(
    data: npt.NDArray[Any],
    path: PathLike,
    num_points: npt.ArrayLike | None = None,
    name: str = "target",
    overwrite: bool = False,
) -> None:
    """Store a padded target ``(n, max_points, n_features)`` as dataset `name` of a shower
    file; `num_points` defaults to the showers'."""
    data = np.asarray(data)
    if num_points is None:
        num_points = _shower_num_points(path, slice(0, len(data)))
    flat, lengths = _flat_target(data, np.asarray(num_points))
    with open_h5(path, "a") as handle:
        io = TARGETS[detect_layout(handle)]
        if io.exists(handle, name):
            if not overwrite:
                raise FileExistsError(f"target {name!r} exists in {str(path)!r} (overwrite=True)")
            io.delete(handle, name)
        io.create(handle, name, (len(data), data.shape[1], data.shape[2]))
        io.write(handle, name, 0, flat, lengths)


def add_target_dataset(
    path: PathLike, shape: tuple[int, int, int], key: str = "target", exists_ok: bool = False
) -> None:
    """An empty target dataset of `shape`, to fill with :func:`save_target_batch`."""
    with open_h5(path, "a") as handle:
        io = TARGETS[detect_layout(handle)]
        if io.exists(handle, key):
            if exists_ok:
                return
            raise FileExistsError(f"target {key!r} exists in {str(path)!r}")
        io.create(handle, key, shape)


def save_target_batch(
    data: npt.NDArray[Any],
    path: PathLike,
    num_points: npt.ArrayLike | None = None,
    start: int = 0,
    key: str = "target",
) -> None:
    """Write target showers ``start..start+len(data)`` (see :func:`add_target_dataset`)."""
    data = np.asarray(data)
    if num_points is None:
        num_points = _shower_num_points(path, slice(start, start + len(data)))
    flat, lengths = _flat_target(data, np.asarray(num_points))
    with open_h5(path, "a") as handle:
        TARGETS[detect_layout(handle)].write(handle, key, start, flat, lengths)


def load_target(
    path: PathLike,
    key: str = "target",
    start: int = 0,
    stop: int | None = None,
    max_points: int | None = -1,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """A target, padded ``(n, max_points, n_features)``, and its points per shower (cut to
    `max_points` when that is given)."""
    with open_h5(path) as handle:
        io = TARGETS[detect_layout(handle)]
        shape = io.shape(handle, key)
        flat, lengths = io.read(handle, key, slice(start, stop))
    width = shape[1] if max_points is None or max_points < 0 else int(max_points)
    kept = np.minimum(lengths, width).astype(np.int32)
    if not np.array_equal(kept, lengths):
        flat = flat[_kept_rows(lengths, kept)]
    padded = np.zeros((len(kept), width, shape[2]), dtype=np.float32)
    padded[np.arange(width) < kept[:, None]] = flat
    return padded, kept


def load_metadata(path: PathLike) -> dict[str, Any]:
    """The file's attributes as a dict."""
    with open_h5(path) as handle:
        return attrs_dict(handle.attrs)


def add_metadata(path: PathLike, metadata: Mapping[str, Any]) -> None:
    """Record `metadata` as file attributes."""
    with open_h5(path, "a") as handle:
        handle.attrs.update(dict(metadata))
