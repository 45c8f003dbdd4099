"""Target datasets: per-shower point clouds a generative model learns (e.g. latent points).

showerdata keeps them as ``/<key>/{point_clouds,shape,num_points}``; tierflow's layout as
``/<name>/targets/<key>`` with flat ``values`` (one row per point) and ``num_points``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import h5py
import numpy as np
import numpy.typing as npt

from tierflow import lh5
from tierflow.errors import FormatError, MismatchError, NotFoundError
from tierflow.showers._files import Layout
from tierflow.showers._lh5format import HITS_CHUNK_ROWS, default_settings
from tierflow.showers._sdformat import VLEN_FLOAT32, dataset, read_vlen, write_vlen
from tierflow.showers._showers import offsets_of
from tierflow.types import Array, ArrayOfEqualSizedArrays, Struct

__all__ = ["TARGETS", "TargetIO"]


class TargetIO(Protocol):
    """Target datasets of one layout, in an open file."""

    def exists(self, handle: h5py.File, key: str) -> bool: ...

    def create(self, handle: h5py.File, key: str, shape: tuple[int, int, int]) -> None: ...

    def shape(self, handle: h5py.File, key: str) -> tuple[int, int, int]: ...

    def write(
        self,
        handle: h5py.File,
        key: str,
        start: int,
        flat: npt.NDArray[np.float32],
        num_points: npt.NDArray[np.int32],
    ) -> None: ...

    def read(
        self, handle: h5py.File, key: str, sel: slice
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]: ...

    def delete(self, handle: h5py.File, key: str) -> None: ...


class ShowerdataTargets:
    """showerdata's target datasets."""

    def exists(self, handle: h5py.File, key: str) -> bool:
        return key in handle

    def create(self, handle: h5py.File, key: str, shape: tuple[int, int, int]) -> None:
        group = handle.create_group(key)
        group.create_dataset("point_clouds", shape=(shape[0],), dtype=VLEN_FLOAT32)
        group.create_dataset("shape", data=np.asarray(shape, dtype=np.int32))
        group.create_dataset("num_points", shape=(shape[0],), dtype=np.int32)

    def shape(self, handle: h5py.File, key: str) -> tuple[int, int, int]:
        if key not in handle:
            targets = [k for k, v in handle.items() if isinstance(v, h5py.Group)]
            raise NotFoundError(
                f"no target dataset {key!r}", file=handle.filename, obj=key, candidates=targets
            )
        values = dataset(handle, f"{key}/shape")[()]
        return (int(values[0]), int(values[1]), int(values[2]))

    def write(
        self,
        handle: h5py.File,
        key: str,
        start: int,
        flat: npt.NDArray[np.float32],
        num_points: npt.NDArray[np.int32],
    ) -> None:
        sel = slice(start, start + len(num_points))
        write_vlen(dataset(handle, f"{key}/point_clouds"), sel, flat, num_points)
        dataset(handle, f"{key}/num_points")[sel] = num_points

    def read(
        self, handle: h5py.File, key: str, sel: slice
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
        flat, lengths = read_vlen(handle, f"{key}/point_clouds", sel, self.shape(handle, key)[2])
        return flat, lengths

    def delete(self, handle: h5py.File, key: str) -> None:
        del handle[key]


class LH5Targets:
    """Targets in tierflow's layout, under the shower group (``showers`` by default)."""

    def __init__(self, name: str = "showers") -> None:
        self.name = name

    def _path(self, key: str) -> str:
        return f"{self.name}/targets/{key}"

    def exists(self, handle: h5py.File, key: str) -> bool:
        return self._path(key) in handle

    def _struct(self, flat: npt.NDArray[Any], num_points: npt.NDArray[Any]) -> Struct:
        chunk = {"hdf5_settings": {"chunks": (HITS_CHUNK_ROWS, flat.shape[1])}}
        return Struct(
            {
                "values": ArrayOfEqualSizedArrays(flat, attrs=chunk),
                "num_points": Array(num_points, attrs={"hdf5_settings": {"chunks": (1 << 14,)}}),
            }
        )

    def create(self, handle: h5py.File, key: str, shape: tuple[int, int, int]) -> None:
        empty = np.empty((0, shape[2]), dtype=np.float32)
        struct = self._struct(empty, np.empty(0, dtype=np.int32))
        lh5.write(struct, self._path(key), handle, hdf5_settings=default_settings())
        handle[self._path(key)].attrs["shape"] = json.dumps([int(s) for s in shape])

    def shape(self, handle: h5py.File, key: str) -> tuple[int, int, int]:
        group = self._group(handle, key)
        shape = json.loads(group.attrs["shape"])
        return (int(shape[0]), int(shape[1]), int(shape[2]))

    def _group(self, handle: h5py.File, key: str) -> h5py.Group:
        if not self.exists(handle, key):
            targets = handle.get(f"{self.name}/targets")
            raise NotFoundError(
                f"no target dataset {key!r}",
                file=handle.filename,
                obj=key,
                candidates=list(targets) if isinstance(targets, h5py.Group) else [],
            )
        return handle[self._path(key)]

    def write(
        self,
        handle: h5py.File,
        key: str,
        start: int,
        flat: npt.NDArray[np.float32],
        num_points: npt.NDArray[np.int32],
    ) -> None:
        group = self._group(handle, key)
        if start != group["num_points"].shape[0]:
            raise MismatchError(
                f"target rows are written in order: the next is {group['num_points'].shape[0]}, "
                f"not {start}",
                file=handle.filename,
                obj=self._path(key),
            )
        struct = self._struct(flat, num_points)
        lh5.write(struct, self._path(key), handle, mode=lh5.WriteMode.APPEND)

    def read(
        self, handle: h5py.File, key: str, sel: slice
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
        group = self._group(handle, key)
        num_points = group["num_points"][()]
        offsets = offsets_of(num_points)
        values = group["values"]
        start, stop, _ = sel.indices(len(num_points))
        stop = max(start, stop)
        lo, hi = int(offsets[start]), int(offsets[stop])
        if values.shape[0] < offsets[-1]:
            raise FormatError(
                "the target has fewer values than its num_points need",
                file=handle.filename,
                obj=self._path(key),
            )
        flat = values[lo:hi] if hi > lo else np.empty((0, values.shape[1]), np.float32)
        return np.asarray(flat, dtype=np.float32), num_points[start:stop].astype(np.int32)

    def delete(self, handle: h5py.File, key: str) -> None:
        del handle[self._path(key)]


TARGETS: dict[Layout, TargetIO] = {
    Layout.SHOWERDATA: ShowerdataTargets(),
    Layout.LH5: LH5Targets(),
}
"""The target datasets of each layout."""
