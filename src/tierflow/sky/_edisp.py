"""Energy-dispersion kernels per sky pixel, mixed from kernels at the IRF's offset nodes.

gammapy evaluates the migration density at every pixel's offset (bilinear in true energy and
offset), accumulates it over migra, normalises by the total and differences the accumulated
density between reco-energy edges. Between two offset nodes the density is a linear mix
``(1 - t) D_i + t D_(i+1)`` of the node densities, so its running sum, its total and the
differences between interpolated running sums are the same mix of the nodes' values: the
unnormalised kernels and totals are computed once per offset node and mixed per pixel, and
only the division by the total is done per pixel. Pixels where gammapy extrapolates (offsets
outside the nodes but inside the axis edges, where the density may be clipped at 0) go through
the direct evaluation; pixels beyond the edges get 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tierflow.sky._interp import _weights, interp_along
from tierflow.sky._irf import IRF

__all__ = ["edisp_kernels", "edisp_kernels_direct"]


def _node_terms(
    edisp: IRF,
    offsets: NDArray[np.float64],
    energy_true: NDArray[np.float64],
    edges: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unnormalised kernels ``(n_true, n_reco, n)`` and totals ``(n_true, n)`` at `offsets`."""
    migra = edisp.axis("migra")
    dens = edisp.evaluate({"energy_true": energy_true, "migra": migra.center}, {"offset": offsets})
    cum = np.cumsum(dens * migra.bin_width.reshape((-1,) + (1,) * (dens.ndim - 2)), axis=1)
    total = cum[:, -1].copy()
    cum = np.concatenate([np.zeros_like(cum[:, :1]), cum], axis=1)
    kernels = np.empty((energy_true.size, edges.size - 1, *cum.shape[2:]))
    for j, et in enumerate(energy_true):
        m = np.clip(edges / et, migra.edges[0], migra.edges[-1])
        kernels[j] = np.diff(interp_along(cum[j], migra.edges, m, 0), axis=0)
    return kernels, total


def _normalise(kernels: NDArray[np.float64], total: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.nan_to_num(kernels / np.maximum(total, 0.0)[:, None])
    return np.clip(out, 0.0, np.inf)


def edisp_kernels_direct(
    edisp: IRF,
    offsets: NDArray[np.float64],
    energy_true: NDArray[np.float64],
    edges: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Kernels ``(n_true, n_reco) + offsets.shape`` evaluating the density at each offset."""
    kernels, total = _node_terms(edisp, offsets.ravel(), energy_true, edges)
    out = _normalise(kernels, total)
    return out.reshape(out.shape[:2] + offsets.shape)


def edisp_kernels(
    edisp: IRF,
    offsets: NDArray[np.float64],
    energy_true: NDArray[np.float64],
    edges: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Kernels ``(n_true, n_reco) + offsets.shape`` (unthresholded), mixed from offset nodes.

    Equal to :func:`edisp_kernels_direct` up to rounding.

    Examples
    --------
    >>> k = edisp_kernels(edisp, offsets, e_true, energy.edges)  # doctest: +SKIP
    """
    flat = np.asarray(offsets, dtype=np.float64).ravel()
    axis = edisp.axis("offset")
    nodes = axis.nodes
    if nodes.size < 2 or flat.size <= 2 * nodes.size:
        return edisp_kernels_direct(edisp, np.asarray(offsets, np.float64), energy_true, edges)
    node_k, node_t = _node_terms(edisp, nodes, energy_true, edges)
    out = np.zeros((energy_true.size, edges.size - 1, flat.size))
    mixed = (flat >= nodes[0]) & (flat <= nodes[-1])
    i, t = _weights(nodes, flat[mixed])
    k = node_k[..., i] * (1.0 - t) + node_k[..., i + 1] * t
    total = node_t[:, i] * (1.0 - t) + node_t[:, i + 1] * t
    out[..., mixed] = _normalise(k, total)
    direct = ~mixed & ~axis.outside(flat)
    if direct.any():
        out[..., direct] = edisp_kernels_direct(edisp, flat[direct], energy_true, edges)
    return out.reshape(out.shape[:2] + np.shape(offsets))
