"""``read``: one object from one or many LH5 files, rows and fields chosen, into a buffer."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Union

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError, MismatchError, NotFoundError
from tierflow.lh5._read import (
    ReadContext,
    datatype_of,
    inspect,
    n_rows_of,
    normalize_fields,
    read_node,
)
from tierflow.types import DataObject
from tierflow.types._base import normalize_rows

__all__ = ["FileLike", "n_rows", "open_lh5", "read", "read_as", "resolve"]

FileLike = Union[str, os.PathLike[str], h5py.File]


@contextmanager
def open_lh5(file: FileLike, mode: str = "r") -> Iterator[h5py.File]:
    """An open HDF5 file: `file` itself if it is open already, else opened (and closed after)."""
    if isinstance(file, h5py.File):
        yield file
        return
    path = Path(file)
    if mode == "r" and not path.is_file():
        raise NotFoundError(f"no such LH5 file {str(path)!r}", file=path)
    try:
        handle = h5py.File(path, mode)
    except OSError as error:
        raise FormatError(f"cannot open as HDF5: {error}", file=path) from None
    with handle:
        yield handle


def _file_name(handle: h5py.File) -> str:
    return str(handle.filename)


def resolve(handle: h5py.File, name: str) -> Any:
    """The HDF5 object at `name`; a missing one names its closest existing siblings."""
    path = "/" + name.strip("/")
    try:
        return handle[path]
    except KeyError:
        pass  # find the first missing part, to name what is there instead
    parent_path, _, leaf = path.rpartition("/")
    parent_path = parent_path or "/"
    if parent_path != "/" and parent_path not in handle:
        resolve(handle, parent_path)  # raises for the first missing part
    parent = handle[parent_path]
    if leaf not in parent:
        raise NotFoundError(
            f"no object {path!r}",
            file=_file_name(handle),
            obj=path,
            candidates=list(parent.keys()) if isinstance(parent, h5py.Group) else [],
        )
    return parent[leaf]


def n_rows(name: str, file: FileLike) -> int:
    """The number of rows of the object `name` in `file`."""
    with open_lh5(file) as handle:
        h5obj = resolve(handle, name)
        ctx = ReadContext(_file_name(handle), "/" + name.strip("/"))
        return n_rows_of(h5obj, datatype_of(h5obj, ctx), ctx)


def _as_file_list(files: FileLike | Sequence[FileLike]) -> list[FileLike]:
    if isinstance(files, (str, os.PathLike, h5py.File)):
        return [files]
    return list(files)


def read(
    name: str,
    files: FileLike | Sequence[FileLike],
    *,
    start_row: int = 0,
    n_rows: int | None = None,
    rows: Sequence[int] | npt.NDArray[Any] | None = None,
    fields: Sequence[str] | str | None = None,
    obj: DataObject | None = None,
    decompress: bool = True,
) -> Any:
    """Read the object `name` from one file, or from many files as one.

    Parameters
    ----------
    name
        HDF5 path of the object, e.g. ``"ch1084803/raw"``.
    files
        A path or open ``h5py.File``, or a list of them whose rows are read one after another.
    start_row, n_rows
        A contiguous range of rows (over all files together).
    rows
        Instead: row indices, or a boolean mask with one entry per row.
    fields
        For tables and structs: the fields to read (``"col"`` or ``"subtable/col"``).
    obj
        An object read earlier, whose buffers are filled again instead of allocating new ones.
    decompress
        Decode waveform-codec encoded arrays (default) or return them encoded.

    Returns
    -------
    DataObject
        The object (`obj` itself when it could be refilled).

    Example
    -------
    >>> e = read("ch1084803/dsp/trapEmax", "dsp.lh5", start_row=100, n_rows=10)  # doctest: +SKIP
    """
    file_list = _as_file_list(files)
    field_sel = normalize_fields(fields)
    if len(file_list) == 1:
        with open_lh5(file_list[0]) as handle:
            base = ReadContext(_file_name(handle), "/" + name.strip("/"), decompress, field_sel)
            return read_one(handle, base, start_row, n_rows, rows, obj)
    return _read_many(name, file_list, start_row, n_rows, rows, field_sel, obj, decompress)


def read_one(
    handle: h5py.File,
    ctx: ReadContext,
    start_row: int,
    count: int | None,
    rows: Any,
    obj: Any,
    total: int | None = None,
) -> Any:
    """Read the object at ``ctx.path`` of an open file (the worker behind :func:`read`;
    `total`: its number of rows, when the caller knows it)."""
    h5obj = resolve(handle, ctx.path)
    node, ctx = inspect(h5obj, ctx)
    if start_row == 0 and count is None and rows is None:
        selection = None  # with no selection, each field of a struct keeps its own length
    else:
        total = n_rows_of(h5obj, node, ctx) if total is None else total
        selection = _selection(total, start_row, count, rows)
    return read_node(h5obj, node, ctx, selection, obj)


def read_as(
    name: str,
    files: FileLike | Sequence[FileLike],
    library: str,
    with_units: bool = False,
    **kwargs: Any,
) -> Any:
    """Read like :func:`read`, then view the object as ``"pd"``, ``"ak"``, ``"pa"`` or ``"np"``.

    Example
    -------
    >>> frame = read_as("ch1104000/dsp", "dsp.lh5", "pd", fields=["cuspEmax"])  # doctest: +SKIP
    """
    obj = read(name, files, **kwargs)
    if not hasattr(obj, "view_as"):
        raise MismatchError(f"a {type(obj).__name__} has no {library!r} view", obj=name)
    return obj.view_as(library, with_units=with_units)


def _selection(total: int, start: int, count: int | None, rows: Any) -> Any:
    if rows is not None:
        return normalize_rows(np.asarray(rows), total)
    stop = total if count is None else min(total, start + count)
    return slice(min(start, total), max(min(start, total), stop))


def _read_many(
    name: str,
    files: list[FileLike],
    start: int,
    count: int | None,
    rows: Any,
    fields: tuple[str, ...] | None,
    obj: DataObject | None,
    decompress: bool,
) -> Any:
    sizes = np.array([n_rows(name, f) for f in files], dtype=np.int64)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    wanted = _selection(int(bounds[-1]), start, count, rows)
    result: Any = None
    for i, file in enumerate(files):
        local = _local_rows(wanted, int(bounds[i]), int(bounds[i + 1]))
        if local is None:
            continue
        part = read(
            name,
            file,
            rows=local if not isinstance(local, slice) else None,
            start_row=local.start if isinstance(local, slice) else 0,
            n_rows=(local.stop - local.start) if isinstance(local, slice) else None,
            fields=fields,
            obj=obj if result is None else None,
            decompress=decompress,
        )
        result = part if result is None else _extend(result, part, file)
    if result is None:  # nothing selected: an empty object of the right type
        return read(name, files[0], n_rows=0, fields=fields, obj=obj, decompress=decompress)
    return result


def _local_rows(wanted: Any, lo: int, hi: int) -> Any:
    if isinstance(wanted, slice):
        start, stop = max(wanted.start, lo), min(wanted.stop, hi)
        return slice(start - lo, stop - lo) if stop > start else None
    local = wanted[(wanted >= lo) & (wanted < hi)] - lo
    return local if len(local) else None


def _extend(result: Any, part: Any, file: FileLike) -> Any:
    if not hasattr(result, "extend"):
        raise MismatchError(
            f"cannot concatenate {type(result).__name__} objects across files", file=str(file)
        )
    result.extend(part)
    return result
