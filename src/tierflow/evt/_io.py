"""Output staging shared by build_tcm and build_evt (write modes: :meth:`WriteMode.parse`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py

from tierflow.files import staged_path
from tierflow.lh5 import WriteMode

__all__ = ["staged_output"]


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
