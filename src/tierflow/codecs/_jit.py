"""The one way codec kernels are compiled: lazily, cached on disk, releasing the GIL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

__all__ = ["kernel"]

F = TypeVar("F", bound=Callable[..., Any])


def kernel(func: F) -> F:
    """Return ``numba.njit(cache=True, nogil=True)(func)``, typed as `func` for mypy.

    Nothing is compiled here: numba compiles on the first call for the argument types
    seen and caches the machine code next to the source, so later processes load it.
    """
    return cast(F, numba.njit(cache=True, nogil=True)(func))
