"""Polynomials, coefficients lowest order first (``numpy.polynomial`` convention)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.math._base import as_array
from tierflow.math._jit import get_kernel

__all__ = ["poly"]


def poly(x: ArrayLike, coeffs: ArrayLike) -> NDArray[np.float64]:
    """Evaluate ``sum_i coeffs[i] * x**i`` (numba, Horner scheme).

    Example
    -------
    >>> poly([0.0, 2.0], [1.0, 0.0, 3.0]).tolist()
    [1.0, 13.0]
    """
    return get_kernel("poly")(as_array(x), as_array(coeffs))  # type: ignore[no-any-return]
