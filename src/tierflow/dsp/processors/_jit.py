# mypy: allow-untyped-calls, allow-untyped-defs
"""The one way processor kernels are compiled: lazily, cached on disk, releasing the GIL.

Only the kernel modules import this (and numba); they are imported the first time a chain
uses one of their processors, so ``import tierflow.dsp`` compiles nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

__all__ = ["has_nan", "kernel"]

F = TypeVar("F", bound=Callable[..., Any])


def kernel(func: F) -> F:
    """``numba.njit`` with the disk cache, no GIL and numpy's division semantics (no raising)."""
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(func))


@kernel
def has_nan(w: np.ndarray) -> bool:
    """Whether the 1-d array `w` holds a NaN."""
    for i in range(w.shape[0]):  # noqa: SIM110  (numba compiles loops, not generators)
        if np.isnan(w[i]):
            return True
    return False
