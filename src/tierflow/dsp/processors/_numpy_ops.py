# mypy: allow-untyped-calls, allow-untyped-defs
"""Elementwise arithmetic and reductions from numpy, called the chain's way (outputs last)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["amax", "amin", "elementwise", "round_to_nearest", "where"]


def elementwise(ufunc: np.ufunc) -> Callable[..., None]:
    """A processor body calling `ufunc` with its last argument as the output."""

    def call(*args: np.ndarray) -> None:
        ufunc(*args[:-1], out=args[-1])

    call.__name__ = ufunc.__name__
    call.__doc__ = f"numpy.{ufunc.__name__}, written into the last argument."
    return call


def amax(w: np.ndarray, axis: np.ndarray, out: np.ndarray) -> None:
    """Maximum of each row (NaN if the row holds one)."""
    np.amax(w, axis=-1, out=out)


def amin(w: np.ndarray, axis: np.ndarray, out: np.ndarray) -> None:
    """Minimum of each row (NaN if the row holds one)."""
    np.amin(w, axis=-1, out=out)


def where(condition: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """`a` where `condition` holds, else `b`."""
    np.copyto(out, np.where(condition, a, b), casting="unsafe")


def _to_nearest(func: Callable[[Any], Any]) -> Callable[..., None]:
    def call(value: np.ndarray, to_nearest: np.ndarray, out: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):
            np.copyto(out, to_nearest * func(value / to_nearest), casting="unsafe")

    call.__name__ = f"{func.__name__}_to_nearest"
    call.__doc__ = (
        f"`value` to a multiple of `to_nearest` by numpy.{func.__name__} (NaN stays NaN)."
    )
    return call


round_to_nearest = _to_nearest(np.rint)
floor_to_nearest = _to_nearest(np.floor)
ceil_to_nearest = _to_nearest(np.ceil)
trunc_to_nearest = _to_nearest(np.trunc)


def __getattr__(name: str) -> Callable[..., None]:
    """``ufunc_<name>``: the elementwise body for ``numpy.<name>``."""
    if name.startswith("ufunc_") and isinstance(getattr(np, name[6:], None), np.ufunc):
        return elementwise(getattr(np, name[6:]))
    raise AttributeError(name)
