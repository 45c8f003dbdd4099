"""``ShowerDataFile``: an open shower file to read, write and append, as in showerdata."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import h5py

from tierflow.errors import MismatchError
from tierflow.showers._api import _layout_for_new, create_empty_file, open_store
from tierflow.showers._files import FileMode, Layout
from tierflow.showers._showers import Index, Showers, normalize_index

__all__ = ["ShowerDataFile"]


class ShowerDataFile:
    """An open shower file of either layout; a context manager.

    Parameters
    ----------
    path
        The file.
    mode
        ``"r"`` read, ``"a"`` read and write, ``"w"`` a new file of `shape` (replacing one there).
    shape
        For ``"w"``: ``(n_showers, max_points, n_features)``.
    layout
        For ``"w"``: :class:`Layout`; default by the file's suffix (``.lh5``: tierflow's).

    Example
    -------
    >>> with ShowerDataFile("showers.h5") as f:  # doctest: +SKIP
    ...     first, picked = f[0], f[np.array([5, 2, 9])]
    >>> with ShowerDataFile("new.lh5", "w", shape=(0, 4000, 4)) as f:  # doctest: +SKIP
    ...     f.append(first)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: FileMode | str = "r",
        shape: tuple[int, int, int] | None = None,
        *,
        layout: Layout | str | None = None,
        name: str = "showers",
    ) -> None:
        self.path = path
        file_mode = FileMode(mode)
        if file_mode is FileMode.WRITE:
            if shape is None:
                raise MismatchError("a shape is needed to open a new file for writing")
            create_empty_file(path, shape, layout=_layout_for_new(path, layout), name=name)
            file_mode = FileMode.APPEND
        self.store = open_store(path, file_mode, name)
        self.mode = file_mode
        if file_mode is FileMode.READ:
            self.store.prepare_random_access()

    @property
    def layout(self) -> Layout:
        """The file's layout."""
        return self.store.layout

    @property
    def attrs(self) -> h5py.AttributeManager:
        """The file's attributes (its metadata), read and written in place."""
        return self.store.handle.attrs

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_showers, max_points, n_features)``."""
        return self.store.shape

    @property
    def num_showers(self) -> int:
        """The number of showers."""
        return len(self.store)

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, index: Index) -> Showers:
        if type(index) is int and 0 <= index < len(self.store):  # the usual random access
            return self.store.read(slice(index, index + 1))
        return self.store.read(normalize_index(index, len(self)))

    def __setitem__(self, index: Index, data: Showers) -> None:
        if self.mode is FileMode.READ:
            raise MismatchError("the file is open for reading only", file=self.path)
        length = len(self) if self.layout is Layout.SHOWERDATA else len(self) + len(data)
        sel = normalize_index(index, length)
        if not isinstance(sel, slice):
            raise IndexError("showers are written to a contiguous range of rows")
        self.store.write(sel, data)

    def append(self, data: Showers) -> None:
        """Add showers at the end (tierflow's layout)."""
        self.store.append(data)

    def __iter__(self) -> Iterator[Showers]:
        return (self[i] for i in range(len(self)))

    def iter_batches(self, batch_size: int = 1000) -> Iterator[Showers]:
        """The showers in batches of `batch_size`."""
        for start in range(0, len(self), batch_size):
            yield self.store.read(slice(start, min(start + batch_size, len(self))))

    def close(self) -> None:
        """Close the file."""
        self.store.close()

    def __enter__(self) -> ShowerDataFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
