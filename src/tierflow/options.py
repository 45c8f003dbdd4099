"""Scoped runtime options: defaults that a block of code may change and that are restored after it.

Example
-------
>>> from tierflow.options import options, option_scope
>>> with option_scope(hdf5_compression="lzf"):
...     options().hdf5_compression
'lzf'
>>> options().hdf5_compression
'gzip'
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Options", "option_scope", "options"]


@dataclasses.dataclass(frozen=True)
class Options:
    """Runtime defaults.

    Attributes
    ----------
    hdf5_compression
        Default HDF5 compression filter for new datasets (``None`` for none).
    hdf5_shuffle
        Whether new datasets get the shuffle filter.
    read_chunk_rows
        Rows an iterator reads at a time.
    """

    hdf5_compression: str | None = "gzip"
    hdf5_shuffle: bool = True
    read_chunk_rows: int = 100_000


_current: contextvars.ContextVar[Options] = contextvars.ContextVar("tierflow_options")
_current.set(Options())


def options() -> Options:
    """The options in force here."""
    return _current.get(Options())


@contextmanager
def option_scope(**changes: Any) -> Iterator[Options]:
    """Change some options inside a ``with`` block; unknown names are an error."""
    fields = {f.name for f in dataclasses.fields(Options)}
    unknown = set(changes) - fields
    if unknown:
        from tierflow.errors import NotFoundError

        name = sorted(unknown)[0]
        raise NotFoundError(f"no option named {name!r}", obj=name, candidates=fields)
    token = _current.set(dataclasses.replace(options(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
