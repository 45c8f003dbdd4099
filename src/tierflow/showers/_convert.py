"""Conversion between showerdata's layout and tierflow's, in batches, targets included."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import h5py
import numpy as np

from tierflow.showers._api import _layout_for_new, open_store
from tierflow.showers._files import FileMode, Layout, ShowerStore, atomic_path, open_h5
from tierflow.showers._lh5format import LH5Store, create_lh5
from tierflow.showers._progress import make_progress
from tierflow.showers._sdformat import SHOWERDATA_VERSION, ShowerdataStore, create_showerdata
from tierflow.showers._showers import Showers
from tierflow.showers._targets import TARGETS

__all__ = ["convert", "create_store", "target_keys", "transform_file"]


def create_store(
    path: str | os.PathLike[str],
    layout: Layout,
    shape: tuple[int, int, int],
    name: str = "showers",
    shape_dtype: Any = np.int64,
) -> ShowerStore:
    """A new, empty file of `layout` for showers of `shape`, open for writing."""
    if layout is Layout.SHOWERDATA:
        create_showerdata(path, shape, shape_dtype)
        return ShowerdataStore(path, FileMode.APPEND, name)
    empty = Showers(
        flat_points=np.empty((0, shape[2]), np.float32),
        num_points=np.empty(0, np.int32),
        max_points=shape[1],
    )
    create_lh5(path, empty, name, overwrite=True)
    return LH5Store(path, FileMode.APPEND, name)


def target_keys(store: ShowerStore) -> list[str]:
    """The names of a file's target datasets."""
    handle: h5py.File = store.handle
    if store.layout is Layout.LH5:
        group = handle.get(f"{store.name}/targets")
        return list(group) if isinstance(group, h5py.Group) else []
    return [
        key for key, obj in handle.items() if isinstance(obj, h5py.Group) and "point_clouds" in obj
    ]


def _copy_targets(source: ShowerStore, target: ShowerStore, batch_size: int) -> None:
    src_io, dst_io = TARGETS[source.layout], TARGETS[target.layout]
    src, dst = source.handle, target.handle
    for key in target_keys(source):
        shape = src_io.shape(src, key)
        dst_io.create(dst, key, shape)
        for start in range(0, shape[0], batch_size):
            flat, lengths = src_io.read(src, key, slice(start, start + batch_size))
            dst_io.write(dst, key, start, flat, lengths)


def convert(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    layout: Layout | str | None = None,
    *,
    overwrite: bool = False,
    batch_size: int = 10_000,
    progress: bool | None = False,
    name: str = "showers",
) -> None:
    """Copy a shower file into `layout` (default: by `output`'s suffix), batch by batch,
    with its targets, observables and metadata; the output appears only when complete.

    Example
    -------
    >>> convert("showers-4f.h5", "showers-4f.lh5")  # doctest: +SKIP
    """
    out_layout = _layout_for_new(output, layout)
    with open_store(source, name=name) as src, atomic_path(output, overwrite) as temp:
        bar = make_progress(len(src), "convert", progress)
        with create_store(temp, out_layout, src.shape, name) as dst:
            for start in range(0, len(src), batch_size):
                batch = src.read(slice(start, min(start + batch_size, len(src))))
                dst.write(slice(start, start + len(batch)), batch)
                bar.update(len(batch))
            _copy_targets(src, dst, batch_size)
        bar.close()
        _copy_extras(src.handle, temp, out_layout)


def _copy_extras(src: h5py.File, temp: os.PathLike[str], layout: Layout) -> None:
    with open_h5(temp, "a") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        if layout is Layout.SHOWERDATA:
            dst.attrs["showerdata_version"] = SHOWERDATA_VERSION
        elif "showerdata_version" in dst.attrs:
            del dst.attrs["showerdata_version"]
        if "observables" in src:
            src.copy(src["observables"], dst, "observables")


def transform_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    function: Callable[[Showers], Showers],
    *,
    layout: Layout | str | None = None,
    overwrite: bool = False,
    batch_size: int = 10_000,
    progress: bool | None = False,
    file_attrs: Mapping[str, Any] | None = None,
) -> None:
    """Write ``function(batch)`` for every batch of `source` to `output` (atomically).

    Example
    -------
    >>> transform_file("in.h5", "clustered.lh5", cluster)  # doctest: +SKIP
    """
    out_layout = _layout_for_new(output, layout)
    with open_store(source) as src, atomic_path(output, overwrite) as temp:
        bar = make_progress(len(src), "showers", progress)
        with create_store(temp, out_layout, src.shape, shape_dtype=np.int32) as dst:
            for start in range(0, len(src), batch_size):
                batch = function(src.read(slice(start, min(start + batch_size, len(src)))))
                dst.write(slice(start, start + len(batch)), batch)
                bar.update(len(batch))
            dst.handle.attrs.update(dict(file_attrs or {}))
        bar.close()
