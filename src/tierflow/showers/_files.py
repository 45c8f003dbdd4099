"""What both on-disk layouts share: layout and mode enums, atomic new files, the store protocol."""

from __future__ import annotations

import enum
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError, NotFoundError
from tierflow.showers._showers import IncidentParticles, Showers

__all__ = [
    "ClosingStore",
    "FileMode",
    "Layout",
    "ShowerStore",
    "atomic_h5",
    "atomic_path",
    "detect_layout",
    "open_h5",
]

CHUNK_CACHE_BYTES = 32 << 20
Self = TypeVar("Self", bound="ClosingStore")


class Layout(str, enum.Enum):
    """How showers are laid out in an HDF5 file."""

    SHOWERDATA = "showerdata"
    """showerdata's: one variable-length float32 dataset of padded-to-flat showers."""
    LH5 = "lh5"
    """tierflow's: a flat point table (one compressed column per feature) and per-shower rows."""


class FileMode(str, enum.Enum):
    """How a shower file is opened (the letters are showerdata's)."""

    READ = "r"
    WRITE = "w"
    APPEND = "a"


class ShowerStore(Protocol):
    """An open shower file of one layout."""

    layout: Layout
    path: str
    name: str
    handle: h5py.File

    @property
    def shape(self) -> tuple[int, int, int]: ...

    def __len__(self) -> int: ...

    def read(self, sel: slice | npt.NDArray[np.intp], max_points: int | None = None) -> Showers:
        """The showers `sel` (a step-1 slice or indices, any order)."""
        ...

    def read_particles(self, sel: slice | npt.NDArray[np.intp]) -> IncidentParticles: ...

    def prepare_random_access(self) -> None:
        """Get ready for many small reads (an index loaded once rather than per read)."""
        ...

    def write(self, sel: slice, showers: Showers) -> None:
        """Write `showers` as rows `sel` of the file."""
        ...

    def append(self, showers: Showers) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> ShowerStore: ...

    def __exit__(self, *exc: object) -> None: ...


class ClosingStore:
    """``with store: ...`` closes the store's file at the end."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: Self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def atomic_path(path: str | os.PathLike[str], overwrite: bool) -> Iterator[Path]:
    """A temporary path beside `path` that becomes `path` when the block ends without error."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{str(target)!r} exists already (pass overwrite=True to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(temp, 0o666 & ~mask)
    done = False
    try:
        yield Path(temp)
        os.replace(temp, target)
        done = True
    finally:
        if not done:
            Path(temp).unlink(missing_ok=True)


@contextmanager
def atomic_h5(path: str | os.PathLike[str], overwrite: bool) -> Iterator[h5py.File]:
    """A new HDF5 file written under a temporary name and renamed to `path` when complete."""
    with atomic_path(path, overwrite) as temp, h5py.File(temp, "w") as handle:
        yield handle


def open_h5(path: str | os.PathLike[str], mode: str = "r") -> h5py.File:
    """Open an HDF5 file with a chunk cache fit for shower reads; clear errors otherwise."""
    if mode == "r" and not Path(path).is_file():
        raise NotFoundError(f"no such shower file {str(path)!r}", file=path)
    import hdf5plugin  # noqa: F401  (registers the Zstd, LZ4 and Blosc filters with HDF5)

    try:
        return h5py.File(path, mode, rdcc_nbytes=CHUNK_CACHE_BYTES, rdcc_nslots=10007)
    except OSError as error:
        raise FormatError(f"cannot open as HDF5: {error}", file=path) from None


LH5_FORMAT_ATTR = "tierflow_showers"
"""The attribute (holding the layout's version) that marks tierflow's shower groups."""


def detect_layout(handle: h5py.File, name: str = "showers") -> Layout:
    """The layout of an open file: tierflow's group `name`, or showerdata's datasets."""
    obj = handle.get(name)
    if isinstance(obj, h5py.Group) and LH5_FORMAT_ATTR in obj.attrs:
        return Layout.LH5
    if isinstance(obj, h5py.Dataset) or "energies" in handle:
        return Layout.SHOWERDATA
    groups = [k for k, v in handle.items() if LH5_FORMAT_ATTR in v.attrs]
    raise NotFoundError(
        f"no showers named {name!r} (neither tierflow's nor showerdata's layout)",
        file=handle.filename,
        obj=name,
        candidates=groups,
    )


def attrs_dict(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """HDF5 attributes as plain Python values (bytes decoded, numpy scalars unwrapped)."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out
