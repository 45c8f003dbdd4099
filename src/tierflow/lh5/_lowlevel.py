"""HDF5's low-level API where h5py's high-level one costs most of a small read or write:
datasets and attributes made with cached property lists, attributes read, objects opened.

h5py's ``create_dataset`` and ``attrs[...] = ...`` build a new creation property list, type
and dataspace for every object and validate every option again; for the small tables of a
raw or hit file (tens of columns of a few hundred rows) that is most of the time a write
takes. Here the property list of each combination of settings, each type and the scalar
dataspace are made once and reused: HDF5 copies them into every object it creates. The
objects made are those h5py makes with the same settings (same types, filters, chunks,
no creation times, names encoded as h5py encodes them); anything this module does not
build (other filters, fill values, strings) returns ``None`` and goes through h5py.

Example
-------
>>> with h5py.File("f.h5", "w") as f:  # doctest: +SKIP
...     ds = create_dataset(f, "x", np.arange(10.0), {"chunks": (10,), "maxshape": (None,)})
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt
from h5py import h5a, h5d, h5g, h5o, h5p, h5s, h5t, h5z

from tierflow.lh5._chunks import FAST_KINDS, StoredLayout, dcpl_filters

__all__ = [
    "append_rows",
    "create_dataset",
    "create_scalar",
    "created_layout",
    "open_if_present",
    "open_object",
    "read_attr",
    "read_attrs",
    "write_attrs",
]

_SETTINGS = frozenset({"chunks", "maxshape", "shuffle", "compression", "compression_opts"})
_STRING = h5py.string_dtype()
_UTF8 = h5py.check_string_dtype(_STRING)


@lru_cache(maxsize=256)
def _dcpl(
    chunks: tuple[int, ...], shuffle: bool, compression: str | int | None, options: tuple[int, ...]
) -> h5p.PropDCID | None:
    """The dataset creation property list of these settings (``None``: not built here)."""
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    if shuffle:
        dcpl.set_shuffle()
    if compression == "gzip":
        dcpl.set_deflate(options[0] if options else 4)
    elif isinstance(compression, int) and not isinstance(compression, bool):
        if not h5z.filter_avail(compression):
            return None  # h5py gives the error message
        dcpl.set_filter(compression, h5z.FLAG_OPTIONAL, options)
    elif compression is not None:
        return None
    dcpl.set_obj_track_times(False)
    return dcpl


@lru_cache(maxsize=1)
def _scalar_dcpl() -> h5p.PropDCID:
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    return dcpl


def create_scalar(group: h5py.Group, name: str, value: npt.NDArray[Any]) -> h5py.Dataset | None:
    """A new scalar dataset holding `value` (a 0-d array: a number or a variable-length
    string), or ``None`` for what only h5py builds."""
    if value.ndim != 0 or "/" in name or value.dtype.fields is not None:
        return None
    string = h5py.check_string_dtype(value.dtype) == _UTF8
    if not string and (value.dtype.kind not in FAST_KINDS or value.dtype.metadata):
        return None
    kind = _type(_STRING) if string else _type(value.dtype)
    dsid = h5d.create(group.id, name.encode(), kind, _scalar_space(), dcpl=_scalar_dcpl())
    dsid.write(h5s.ALL, h5s.ALL, value)
    return h5py.Dataset(dsid)


@lru_cache(maxsize=256)
def _type(dtype: np.dtype[Any]) -> h5t.TypeID:
    return h5t.py_create(dtype, logical=True)


def _options(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),)


def create_dataset(
    group: h5py.Group, name: str, data: npt.NDArray[Any], settings: Mapping[str, Any]
) -> h5py.Dataset | None:
    """A new chunked dataset `name` of `group` shaped and typed like `data` (not written), or
    ``None`` when `settings` (:func:`~tierflow.lh5._settings.dataset_kwargs`) ask for
    something only h5py builds."""
    if data.ndim == 0 or data.dtype.kind not in FAST_KINDS or data.dtype.fields is not None:
        return None
    if data.dtype.metadata:  # an enum or another special type: h5py knows how to make it
        return None
    if "/" in name:  # h5py makes the groups on the way
        return None
    if not settings.keys() <= _SETTINGS or settings.get("chunks") is None:
        return None
    chunks = tuple(int(c) for c in settings["chunks"])
    maxshape = settings.get("maxshape") or data.shape
    if len(chunks) != data.ndim or len(maxshape) != data.ndim:
        return None
    compression = settings.get("compression")
    options = _options(settings.get("compression_opts"))
    dcpl = _dcpl(chunks, bool(settings.get("shuffle")), compression, options)
    if dcpl is None:
        return None
    limits = tuple(h5s.UNLIMITED if m is None else int(m) for m in maxshape)
    space = h5s.create_simple(data.shape, limits)
    # names are UTF-8 bytes on a default link list, as h5py's create_dataset makes them
    dsid = h5d.create(group.id, name.encode(), _type(data.dtype), space, dcpl=dcpl)
    return h5py.Dataset(dsid)


def created_layout(data: npt.NDArray[Any], settings: Mapping[str, Any]) -> StoredLayout | None:
    """The storage of the dataset :func:`create_dataset` made for `data` with `settings`
    (known without asking HDF5: a plain type, the chunks and filters of a cached list)."""
    chunks = tuple(int(c) for c in settings["chunks"])
    options = _options(settings.get("compression_opts"))
    key = (chunks, bool(settings.get("shuffle")), settings.get("compression"), options)
    filters = _filters(*key)
    if filters is None or chunks[1:] != data.shape[1:]:
        return None
    # HDF5 sets the shuffle filter's element size when it makes the dataset
    size = data.dtype.itemsize
    filters = tuple(
        (code, (size,) if code == h5z.FILTER_SHUFFLE else opts) for code, opts in filters
    )
    return StoredLayout(filters, size, chunks[0])


@lru_cache(maxsize=256)
def _filters(
    chunks: tuple[int, ...], shuffle: bool, compression: str | int | None, options: tuple[int, ...]
) -> tuple[tuple[int, tuple[int, ...]], ...] | None:
    dcpl = _dcpl(chunks, shuffle, compression, options)
    return None if dcpl is None else dcpl_filters(dcpl)


@lru_cache(maxsize=1)
def _scalar_space() -> h5s.SpaceID:
    return h5s.create(h5s.SCALAR)


def write_attrs(h5obj: h5py.HLObject, attrs: Mapping[str, Any]) -> None:
    """Set the attributes of `h5obj`: strings (the most of LEGEND's) made here as h5py makes
    them (scalar variable-length UTF-8), anything else through h5py."""
    for key, value in attrs.items():
        if not isinstance(value, str) or not key.isascii():
            h5obj.attrs[key] = value
            continue
        encoded = key.encode("ascii")
        if h5a.exists(h5obj.id, encoded):
            h5a.delete(h5obj.id, encoded)
        attr = h5a.create(h5obj.id, encoded, _type(_STRING), _scalar_space())
        attr.write(np.array(value, dtype=_STRING))


def read_attrs(h5obj: h5py.HLObject) -> dict[str, Any]:
    """The attributes of `h5obj` in h5py's order; scalar variable-length strings (the most of
    LEGEND's) are read here (h5py's high-level reads cost twice as much), anything else
    through h5py: the values are h5py's."""
    oid = h5obj.id
    found: dict[str, Any] = {}
    for index in range(h5a.get_num_attrs(oid)):
        attr = h5a.open(oid, index=index)
        found[attr.name.decode("utf-8", "surrogateescape")] = _attr_value(h5obj, attr, attr.name)
    return found


def read_attr(h5obj: h5py.HLObject, name: str) -> Any:
    """The attribute `name` of `h5obj` as h5py reads it, or ``None`` when there is none."""
    encoded = name.encode()
    if not h5a.exists(h5obj.id, encoded):
        return None
    return _attr_value(h5obj, h5a.open(h5obj.id, encoded), encoded)


def _attr_value(h5obj: h5py.HLObject, attr: h5a.AttrID, name: bytes) -> Any:
    kind = attr.get_type()
    if attr.shape == () and kind.get_class() == h5t.STRING and kind.is_variable_str():
        value = np.empty((), dtype=_STRING)
        attr.read(value)
        return bytes(value[()]).decode("utf-8", "surrogateescape")  # as h5py does
    return h5obj.attrs[name]


def open_object(group: h5py.Group, name: str) -> h5py.Dataset | h5py.Group:
    """``group[name]`` without the file object h5py makes for every dataset it opens;
    ``KeyError`` when there is no such object."""
    oid = h5o.open(group.id, name.encode())
    if isinstance(oid, h5d.DatasetID):
        return h5py.Dataset(oid)
    if isinstance(oid, h5g.GroupID):
        return h5py.Group(oid)
    return group[name]  # a named type: h5py's own wrapper


def open_if_present(group: h5py.Group, name: str) -> h5py.Dataset | h5py.Group | None:
    """:func:`open_object`, or ``None`` when `group` has no `name`."""
    try:
        return open_object(group, name)
    except KeyError:
        return None


def append_rows(ds: h5py.Dataset, data: npt.NDArray[Any], start: int) -> None:
    """Write `data` as rows ``start ..`` of `ds` (already resized to hold them)."""
    if data.dtype.kind not in FAST_KINDS or ds.id.dtype.kind not in FAST_KINDS:
        ds[start : start + len(data)] = data  # strings: h5py converts them
        return
    disk = ds.id.dtype
    if data.dtype != disk:  # converted as h5py's ds[...] = data converts (numpy's casting)
        data = data.astype(disk)
    file_space = ds.id.get_space()
    file_space.select_hyperslab((start,) + (0,) * (data.ndim - 1), data.shape)
    ds.id.write(h5s.create_simple(data.shape), file_space, np.ascontiguousarray(data))
