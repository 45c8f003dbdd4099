"""Output staging and write modes shared by build_tcm and build_evt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py

from tierflow.errors import NotFoundError
from tierflow.files import staged_path
from tierflow.lh5 import WriteMode

__all__ = ["parse_write_mode", "staged_output"]

_MODE_ALIASES = {
    "write_safe": WriteMode.CREATE,
    "w": WriteMode.CREATE,
    "o": WriteMode.OVERWRITE,
    "u": WriteMode.OVERWRITE,
    "of": WriteMode.OVERWRITE_FILE,
    "a": WriteMode.APPEND,
}
"""The anchor's names for the write modes."""


def parse_write_mode(mode: WriteMode | str) -> WriteMode:
    """A :class:`WriteMode` from itself, its value or one of the anchor's names.

    Example
    -------
    >>> parse_write_mode("of")
    <WriteMode.OVERWRITE_FILE: 'overwrite_file'>
    """
    if isinstance(mode, WriteMode):
        return mode
    if mode in _MODE_ALIASES:
        return _MODE_ALIASES[mode]
    try:
        return WriteMode(mode)
    except ValueError:
        names = [m.value for m in WriteMode] + list(_MODE_ALIASES)
        raise NotFoundError(
            f"unknown write mode {mode!r}", obj=str(mode), candidates=names
        ) from None


@contextmanager
def staged_output(outfile: str | os.PathLike[str], mode: WriteMode) -> Iterator[h5py.File]:
    """An open temporary copy of `outfile` (empty for a new file or ``overwrite_file``)
    that replaces `outfile` only when the block succeeds."""
    keep = Path(outfile).exists() and mode is not WriteMode.OVERWRITE_FILE
    with (
        staged_path(outfile, copy_existing=keep) as temp,
        h5py.File(temp, "a" if keep else "w") as handle,
    ):
        yield handle
