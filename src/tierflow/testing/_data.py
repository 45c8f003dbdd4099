"""Locate ``../shared``: the real public test data and the anchors' reference outputs."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["find_shared", "find_testdata"]


def find_shared(start: Path | None = None) -> Path | None:
    """The ``shared`` folder beside the project (or above `start`), or ``None`` when absent.

    ``TIERFLOW_SHARED`` overrides the search.
    """
    if "TIERFLOW_SHARED" in os.environ:
        path = Path(os.environ["TIERFLOW_SHARED"])
        return path if path.is_dir() else None
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):  # the project's checkout sits beside shared/
        candidate = folder.parent / "shared"
        if (candidate / "testdata").is_dir():
            return candidate
    return None


def find_testdata(start: Path | None = None) -> Path | None:
    """The ``shared/testdata`` folder (``TIERFLOW_TESTDATA`` overrides), or ``None``."""
    if "TIERFLOW_TESTDATA" in os.environ:
        path = Path(os.environ["TIERFLOW_TESTDATA"])
        return path if path.is_dir() else None
    shared = find_shared(start)
    return None if shared is None else shared / "testdata"
