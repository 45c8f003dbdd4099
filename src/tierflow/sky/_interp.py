"""Multilinear interpolation on regular grids, one axis at a time.

Multilinear interpolation is a tensor product, so interpolating along one axis after the other
gives what ``scipy.interpolate.RegularGridInterpolator`` gives in one go (up to rounding), but an
IRF that depends on energy and offset can be interpolated along energy once on its small grid and
then along offset per sky pixel. Outside the nodes the interpolation extrapolates linearly from
the outermost interval, as scipy does with ``fill_value=None``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["interp_along", "interp_pairs", "log_scale", "log_unscale"]


def _weights(
    nodes: NDArray[np.float64], x: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    n = nodes.size
    i = np.clip(np.searchsorted(nodes, x) - 1, 0, n - 2)
    t = (x - nodes[i]) / (nodes[i + 1] - nodes[i])
    return i, t


def interp_along(
    values: NDArray[np.floating], nodes: NDArray[np.float64], x: NDArray[np.float64], axis: int
) -> NDArray[np.float64]:
    """Interpolate `values` linearly along `axis` at the points `x` (1-D).

    The output has ``len(x)`` in place of the axis. An axis with one node is constant.

    Examples
    --------
    >>> interp_along(np.array([0.0, 10.0]), np.array([0.0, 1.0]), np.array([0.25, 2.0]), 0)
    array([ 2.5, 20. ])
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape == nodes.shape and np.array_equal(x, nodes):  # at the nodes: nothing to do
        return np.asarray(values, dtype=np.float64)
    if nodes.size == 1:
        return np.repeat(np.asarray(values, dtype=np.float64), x.size, axis=axis)
    i, t = _weights(nodes, x)
    shape = [1] * values.ndim
    shape[axis] = x.size
    tt = t.reshape(shape)
    lo = np.take(values, i, axis=axis).astype(np.float64, copy=False)
    hi = np.take(values, i + 1, axis=axis).astype(np.float64, copy=False)
    return lo * (1.0 - tt) + hi * tt


def interp_pairs(
    values: NDArray[np.floating],
    nodes: tuple[NDArray[np.float64], NDArray[np.float64]],
    points: tuple[NDArray[np.float64], NDArray[np.float64]],
) -> NDArray[np.float64]:
    """Bilinear interpolation over the last two axes of `values` at paired points.

    ``values[..., a, b]`` is evaluated at ``(points[0][k], points[1][k])``; the output has shape
    ``values.shape[:-2] + points[0].shape``.
    """
    ia, ta = _weights(nodes[0], np.ravel(points[0]))
    ib, tb = _weights(nodes[1], np.ravel(points[1]))
    v = np.asarray(values, dtype=np.float64)
    out = (
        v[..., ia, ib] * ((1 - ta) * (1 - tb))
        + v[..., ia + 1, ib] * (ta * (1 - tb))
        + v[..., ia, ib + 1] * ((1 - ta) * tb)
        + v[..., ia + 1, ib + 1] * (ta * tb)
    )
    return out.reshape(v.shape[:-2] + np.shape(points[0]))


def log_scale(values: NDArray[np.floating]) -> NDArray[np.floating]:
    """Log of values clipped at the smallest normal number of their dtype (gammapy's LogScale).

    The log is taken in the dtype of the values, as gammapy does for float32 IRFs.
    """
    arr = np.asarray(values)
    tiny = np.finfo(arr.dtype).tiny if np.issubdtype(arr.dtype, np.floating) else 1.1754944e-38
    return np.log(np.clip(arr, tiny, np.inf))  # type: ignore[no-any-return]


def log_unscale(values: NDArray[np.floating]) -> NDArray[np.float64]:
    """Inverse of :func:`log_scale`: values at the underflow limit become exactly 0."""
    out = np.exp(np.asarray(values, dtype=np.float64))
    tiny = np.finfo(np.float64).tiny
    return np.where(np.abs(out) - tiny <= tiny, 0.0, out)
