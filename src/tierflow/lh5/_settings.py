"""Write modes and HDF5 dataset settings (filters, chunking) for LH5 objects."""

from __future__ import annotations

import contextvars
import dataclasses
import enum
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np

from tierflow.errors import ConfigError
from tierflow.options import options
from tierflow.registry import Registry

__all__ = [
    "FILTERS",
    "FastWrite",
    "WriteMode",
    "dataset_kwargs",
    "HDF5_PRESETS",
    "Hdf5Preset",
    "fast_read",
    "fast_read_settings",
    "fast_write",
    "fast_write_settings",
    "preset_settings",
]

CHUNK_TARGET_BYTES = 1 << 20
"""Aim for about 1 MiB per chunk: large enough for fast compressed reads, small enough to
append to."""


class WriteMode(str, enum.Enum):
    """What :func:`tierflow.lh5.write` does when the file or the object is already there."""

    CREATE = "create"
    """Write a new object; fail if it is there already."""
    APPEND = "append"
    """Add rows to the object (or create it); types must match what is on disk."""
    APPEND_COLUMN = "append_column"
    """Add columns to an existing table; they must have its number of rows."""
    OVERWRITE = "overwrite"
    """Replace the object if it is there."""
    OVERWRITE_FILE = "overwrite_file"
    """Replace the whole file."""

    @classmethod
    def parse(cls, mode: WriteMode | str) -> WriteMode:
        """A write mode from itself, its value or the anchor's names (``"write_safe"``, ``"w"``,
        ``"a"``, ``"o"``, ``"of"``, ``"ac"``); an unknown one names the closest.

        Example
        -------
        >>> WriteMode.parse("of")
        <WriteMode.OVERWRITE_FILE: 'overwrite_file'>
        """
        if isinstance(mode, cls):
            return mode
        text = str(mode)
        if text in _MODE_ALIASES:
            return _MODE_ALIASES[text]
        try:
            return cls(text)
        except ValueError:
            from tierflow.errors import NotFoundError

            names = [m.value for m in cls] + list(_MODE_ALIASES)
            raise NotFoundError(
                f"unknown write mode {text!r}", obj=text, candidates=names
            ) from None


_MODE_ALIASES = {
    "write_safe": WriteMode.CREATE,
    "w": WriteMode.CREATE,
    "a": WriteMode.APPEND,
    "ac": WriteMode.APPEND_COLUMN,
    "o": WriteMode.OVERWRITE,
    "u": WriteMode.OVERWRITE,
    "of": WriteMode.OVERWRITE_FILE,
}
"""The anchors' names for the write modes (legend-lh5io, pygama)."""


FILTERS: Registry[Callable[[Any], dict[str, Any]]] = Registry(
    "HDF5 compression filter", entry_point_group="tierflow.hdf5_filters"
)
FILTERS.add("gzip", lambda level: {"compression": "gzip", "compression_opts": level})
FILTERS.add("lzf", lambda _: {"compression": "lzf"})


def _zstd(level: Any) -> dict[str, Any]:
    return dict(_zstd_filter(None if level is None else int(level)))


@lru_cache(maxsize=32)
def _zstd_filter(level: int | None) -> tuple[tuple[str, Any], ...]:
    """hdf5plugin's Zstd filter settings (made once per level: hdf5plugin builds and checks
    them anew on every call, which a write of many small columns notices)."""
    import hdf5plugin

    return tuple(dict(hdf5plugin.Zstd(**({"clevel": level} if level is not None else {}))).items())


def _lz4(_: Any) -> dict[str, Any]:
    return dict(_lz4_filter())


@lru_cache(maxsize=1)
def _lz4_filter() -> tuple[tuple[str, Any], ...]:
    import hdf5plugin

    return tuple(dict(hdf5plugin.LZ4()).items())


FILTERS.add("zstd", _zstd)
FILTERS.add("lz4", _lz4)


class Hdf5Preset(str, enum.Enum):
    """Named HDF5 dataset settings for the outputs of the tiers."""

    LEGEND = "legend"
    """Shuffle + Zstd level 3, as LEGEND's production files (from p14): the tiers' default.
    Several times faster to write and read than gzip, and slightly smaller; HDF5 reads it with
    the hdf5plugin filters (which legend-lh5io loads)."""
    ANCHOR = "anchor"
    """Shuffle + gzip level 4: the anchors' layout (legend-lh5io, legend-daq2lh5, pygama),
    readable by any HDF5."""


HDF5_PRESETS: dict[Hdf5Preset, dict[str, Any]] = {
    Hdf5Preset.LEGEND: {"compression": "zstd", "compression_opts": 3, "shuffle": True},
    Hdf5Preset.ANCHOR: {"compression": "gzip", "compression_opts": 4, "shuffle": True},
}


def preset_settings(
    settings: Mapping[str, Any] | str | Hdf5Preset | None,
    default: Hdf5Preset = Hdf5Preset.LEGEND,
) -> Mapping[str, Any]:
    """Dataset settings from a preset name, explicit settings, or ``None`` (the `default`).

    Example
    -------
    >>> preset_settings("anchor")["compression"]
    'gzip'
    >>> preset_settings({"compression": "lzf"})
    {'compression': 'lzf'}
    """
    if settings is None:
        return HDF5_PRESETS[default]
    if isinstance(settings, str):
        try:
            return HDF5_PRESETS[Hdf5Preset(settings)]
        except ValueError:
            from tierflow.errors import NotFoundError

            raise NotFoundError(
                f"unknown HDF5 preset {settings!r}",
                obj=settings,
                candidates=[p.value for p in Hdf5Preset],
            ) from None
    return settings


_KNOWN_KEYS = {"compression", "compression_opts", "shuffle", "chunks", "fletcher32", "scaleoffset"}


def _resolve_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    defaults = options()
    resolved: dict[str, Any] = {
        "compression": defaults.hdf5_compression,
        "shuffle": defaults.hdf5_shuffle,
    }
    for key, value in (settings or {}).items():
        if key not in _KNOWN_KEYS:
            from tierflow.errors import NotFoundError

            raise NotFoundError(f"unknown HDF5 setting {key!r}", obj=key, candidates=_KNOWN_KEYS)
        resolved[key] = value
    return resolved


def _filter_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    compression = settings.pop("compression", None)
    level = settings.pop("compression_opts", None)
    if compression is None:
        return {}
    if isinstance(compression, Mapping):  # an hdf5plugin filter object or its dict form
        return dict(compression)
    if isinstance(compression, int):  # a registered HDF5 filter id
        return {"compression": compression, "compression_opts": level}
    try:
        return FILTERS[str(compression)](level)
    except KeyError as error:
        raise ConfigError(f"unknown HDF5 compression {compression!r}") from error


def dataset_kwargs(
    shape: tuple[int, ...], dtype: np.dtype[Any], settings: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Keyword arguments for ``h5py.Group.create_dataset`` of a growable dataset.

    Example
    -------
    >>> kw = dataset_kwargs((10, 100), np.dtype("uint16"), {"compression": "lzf"})
    >>> kw["compression"], kw["maxshape"], kw["chunks"]
    ('lzf', (None, 100), (1024, 100))
    """
    defaults = options()
    try:  # made once per combination: a write of many small columns asks again and again
        items = tuple(sorted(settings.items())) if settings else ()
        key = (shape, dtype, items, defaults.hdf5_compression, defaults.hdf5_shuffle)
        return dict(_cached_kwargs(*key))
    except TypeError:  # unhashable settings (a filter given as a mapping, chunks as a list)
        return _dataset_kwargs(shape, dtype, settings)


@lru_cache(maxsize=256)
def _cached_kwargs(
    shape: tuple[int, ...], dtype: np.dtype[Any], items: tuple[tuple[str, Any], ...], *_: Any
) -> dict[str, Any]:
    """:func:`_dataset_kwargs` by value (the last arguments: the option defaults in force)."""
    return _dataset_kwargs(shape, dtype, dict(items))


def _dataset_kwargs(
    shape: tuple[int, ...], dtype: np.dtype[Any], settings: Mapping[str, Any] | None
) -> dict[str, Any]:
    resolved = _resolve_settings(settings)
    kwargs: dict[str, Any] = {"maxshape": (None, *shape[1:])}
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * max(dtype.itemsize, 1))
    # at least 1024 rows when the first write is small, so that later appends get usable chunks
    rows = max(1, min(CHUNK_TARGET_BYTES // row_bytes, max(shape[0], 1024)))
    kwargs["chunks"] = tuple(resolved.pop("chunks", None) or (rows, *shape[1:]))
    kwargs["shuffle"] = bool(resolved.pop("shuffle", False))
    if dtype.kind == "O":  # filters on variable-length strings give no gain
        kwargs["shuffle"] = False
        resolved["compression"] = None
    kwargs |= _filter_kwargs(resolved)
    kwargs |= {k: v for k, v in resolved.items() if v is not None}
    if not kwargs.get("compression"):
        kwargs.pop("compression", None)
        kwargs.pop("compression_opts", None)
    return kwargs


@dataclasses.dataclass(frozen=True)
class FastWrite:
    """Settings of the parallel shuffle+deflate write path (see ``tierflow.lh5._chunks``)."""

    enabled: bool = True
    """Compress whole chunks in threads and write them raw when the filters allow it."""
    threads: int | None = None
    """Compression threads (default: one less than the idle cores, at least one: the thread
    that writes the chunks compresses those no thread has started)."""
    min_bytes: int = 0
    """Smaller writes go through HDF5's own filters (by default none do: the fast path is
    faster for small writes too)."""
    engine: str = "zlib"
    """The deflate implementation, from ``tierflow.lh5._chunks.DEFLATE_ENGINES``: ``"zlib"``
    stores the very bytes HDF5's gzip filter stores; ``"libdeflate"`` (package ``deflate``) and
    ``"isal"`` (package ``isal``) are several times faster and write standard zlib streams that
    every gzip-capable HDF5 reads, with other bytes (and a slightly different size)."""
    level: int | None = None
    """Compression level for the engine (default: the dataset's own gzip level)."""


_fast_write: contextvars.ContextVar[FastWrite] = contextvars.ContextVar("tierflow_fast_write")


def fast_write_settings() -> FastWrite:
    """The :class:`FastWrite` settings in force here."""
    return _fast_write.get(FastWrite())


@contextmanager
def fast_write(**changes: Any) -> Iterator[FastWrite]:
    """Change the :class:`FastWrite` settings inside a ``with`` block.

    Example
    -------
    >>> with fast_write(enabled=False):  # every write goes through HDF5's own filters
    ...     fast_write_settings().enabled
    False
    """
    with _scoped(_fast_write, fast_write_settings(), changes) as settings:
        yield settings


@dataclasses.dataclass(frozen=True)
class FastRead:
    """Settings of the parallel inflate read path (see ``tierflow.lh5._inflate``)."""

    enabled: bool = True
    """Inflate the chunks of shuffle+deflate datasets in threads instead of through HDF5."""
    threads: int | None = None
    """Inflate threads (default: the cores other work leaves idle, see
    :func:`tierflow.cores.idle_cores`)."""
    min_bytes: int = 1 << 16
    """Smaller reads go through HDF5 as usual."""
    engine: str = "auto"
    """The inflate implementation, from ``tierflow.lh5._inflate.INFLATE_ENGINES``; ``"auto"``
    is the fastest installed (libdeflate, isal, zlib). All give the same values."""


_fast_read: contextvars.ContextVar[FastRead] = contextvars.ContextVar("tierflow_fast_read")


def fast_read_settings() -> FastRead:
    """The :class:`FastRead` settings in force here."""
    return _fast_read.get(FastRead())


@contextmanager
def fast_read(**changes: Any) -> Iterator[FastRead]:
    """Change the :class:`FastRead` settings inside a ``with`` block.

    Example
    -------
    >>> with fast_read(enabled=False):  # every read goes through HDF5's own filters
    ...     fast_read_settings().enabled
    False
    """
    with _scoped(_fast_read, fast_read_settings(), changes) as settings:
        yield settings


_Settings = TypeVar("_Settings", FastRead, FastWrite)


@contextmanager
def _scoped(
    var: contextvars.ContextVar[_Settings], current: _Settings, changes: dict[str, Any]
) -> Iterator[_Settings]:
    """`current` with `changes` in force in `var` inside the block; unknown names are errors
    that suggest the known ones."""
    fields = {f.name for f in dataclasses.fields(current)}
    for name in changes:
        if name not in fields:
            from tierflow.errors import NotFoundError

            kind = type(current).__name__
            raise NotFoundError(f"no {kind} setting {name!r}", obj=name, candidates=fields)
    token = var.set(dataclasses.replace(current, **changes))
    try:
        yield var.get()
    finally:
        var.reset(token)
