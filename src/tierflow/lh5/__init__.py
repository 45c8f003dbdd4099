"""The LH5 file format (LEGEND HDF5): read, write, list, show and iterate over data objects.

Example
-------
>>> from tierflow import lh5
>>> from tierflow.types import Table, Array
>>> lh5.write(Table({"x": Array([1, 2])}), "t", "out.lh5")  # doctest: +SKIP
>>> lh5.read("t/x", "out.lh5").nda  # doctest: +SKIP
array([1, 2])
"""

from __future__ import annotations

from tierflow.lh5._core import n_rows, read, read_as
from tierflow.lh5._image import FileImage
from tierflow.lh5._iterator import Chunk, LH5Iterator
from tierflow.lh5._read import load_filter_plugins, read_rows
from tierflow.lh5._settings import (
    FILTERS,
    HDF5_PRESETS,
    FastRead,
    FastWrite,
    Hdf5Preset,
    WriteMode,
    fast_read,
    fast_write,
    preset_settings,
)
from tierflow.lh5._tools import ls, show
from tierflow.lh5._write import ObjectExistsError, deferred_chunk_writes, delete, write

__all__ = [
    "FILTERS",
    "HDF5_PRESETS",
    "Chunk",
    "FastRead",
    "FastWrite",
    "FileImage",
    "Hdf5Preset",
    "LH5Iterator",
    "ObjectExistsError",
    "WriteMode",
    "deferred_chunk_writes",
    "delete",
    "fast_read",
    "fast_write",
    "load_filter_plugins",
    "ls",
    "n_rows",
    "preset_settings",
    "read",
    "read_as",
    "read_rows",
    "show",
    "write",
]
