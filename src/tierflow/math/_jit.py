"""Lazy access to the numba kernels: nothing here imports numba until a kernel is first used."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

__all__ = ["get_kernel", "get_nll_kernel", "kernel"]

F = TypeVar("F", bound=Callable[..., Any])


def kernel(func: F) -> F:
    """``numba.njit(cache=True, nogil=True)(func)``; numba compiles on the first call only."""
    import numba

    return cast(F, numba.njit(cache=True, nogil=True)(func))


@cache
def get_kernel(name: str) -> Callable[..., Any]:
    """The kernel `name` of :mod:`tierflow.math._kernels` (imported, not compiled, on first use)."""
    module = importlib.import_module("tierflow.math._kernels")
    return cast(Callable[..., Any], getattr(module, name))


@cache
def get_nll_kernel(name: str) -> Callable[..., Any]:
    """The fused likelihood kernel `name` of :mod:`tierflow.math._nllkernels`."""
    module = importlib.import_module("tierflow.math._nllkernels")
    return cast(Callable[..., Any], getattr(module, name))
