"""Value kinds and how operations promote them.

The typing follows numexpr, which the anchor (pygama's ``build_hit``) evaluates hit expressions
with, so that a config gives the same numbers and dtypes here:

* inputs map to a kind: bool; ``int`` (int8/16/32, uint8/16 → int32); ``long`` (int64, uint32,
  uint64 → int64); ``float`` (float16/32 → float32); ``double`` (float64); ``complex``;
* an operation works in the highest kind of its operands, in the order above, so a float32
  column times an int64 column stays float32 (NumPy would give float64);
* an integer literal that fits 32 bits is ``int``, a larger one ``long``; a float literal is
  ``double``; parameters are ``long`` or ``double``;
* true division and most functions of integers give ``double``.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

from tierflow.errors import MismatchError

__all__ = ["Kind", "dtype_of", "kind_of", "promote"]


class Kind(enum.IntEnum):
    """The kinds an expression value has, in promotion order."""

    BOOL = 0
    INT = 1
    LONG = 2
    FLOAT = 3
    DOUBLE = 4
    COMPLEX = 5

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype that holds values of this kind."""
        return _DTYPES[self]

    @property
    def is_integer(self) -> bool:
        return self in (Kind.INT, Kind.LONG)

    @property
    def is_real(self) -> bool:
        return self in (Kind.FLOAT, Kind.DOUBLE)


_DTYPES = {
    Kind.BOOL: np.dtype(np.bool_),
    Kind.INT: np.dtype(np.int32),
    Kind.LONG: np.dtype(np.int64),
    Kind.FLOAT: np.dtype(np.float32),
    Kind.DOUBLE: np.dtype(np.float64),
    Kind.COMPLEX: np.dtype(np.complex128),
}


def kind_of(dtype: np.dtype[Any]) -> Kind:
    """The kind of values of `dtype` (see the module docstring)."""
    code = dtype.kind
    if code == "b":
        return Kind.BOOL
    if code in "iu":
        wide = dtype.itemsize > 4 or (code == "u" and dtype.itemsize == 4)
        return Kind.LONG if wide else Kind.INT
    if code == "f":
        return Kind.DOUBLE if dtype.itemsize > 4 else Kind.FLOAT
    if code == "c":
        return Kind.COMPLEX
    raise MismatchError(f"expressions work on numbers and booleans, not {dtype} values")


def promote(*kinds: Kind) -> Kind:
    """The kind an operation on values of `kinds` works in."""
    return max(kinds)


def dtype_of(value: Any) -> np.dtype[Any]:
    """The element dtype of a numpy or awkward value."""
    dtype: Any = getattr(value, "dtype", None)
    if dtype is not None:
        result: np.dtype[Any] = np.dtype(dtype)
        return result
    layout = getattr(value, "layout", None)
    while layout is not None and not hasattr(layout, "dtype"):
        layout = getattr(layout, "content", None)
    if layout is None:
        found: np.dtype[Any] = np.asarray(value).dtype
        return found
    leaf: np.dtype[Any] = np.dtype(layout.dtype)
    return leaf
