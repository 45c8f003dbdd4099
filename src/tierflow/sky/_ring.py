"""Adaptive ring background: per pixel, the thinnest ring whose exposure ratio is small enough."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import ConfigError
from tierflow.sky._dataset import MapDataset
from tierflow.sky._stats import convolve, make_ring_kernel

__all__ = ["make_map_adaptive_ring_background"]


def make_map_adaptive_ring_background(
    ds: MapDataset,
    exclusion: NDArray[np.bool_] | None,
    r_in: float,
    widths: Sequence[float] | NDArray[np.float64],
    alpha_max: float,
) -> dict[str, NDArray[Any]]:
    """Ring background with a ring width chosen per pixel (gammapy's adaptive ring, in width).

    Rings of inner radius `r_in` and increasing `widths` (deg) are tried in turn; each pixel
    takes the first whose alpha = acceptance / acceptance_off is at most `alpha_max`, or the
    widest ring. Returns the keys of :func:`~tierflow.sky.make_map_ring_background` plus
    ``ring_width`` (deg per pixel).

    Examples
    --------
    >>> from tierflow import sky
    >>> geom = sky.WcsGeom.create((0, 0), 0.1, 4, axes=[sky.Axis.from_energy_bounds(1, 10, 1)])
    >>> ds = sky.MapDataset("x", geom, (slice(0, 40), slice(0, 40)), geom.axes[0],
    ...                     counts=np.ones(geom.data_shape, np.float32),
    ...                     background=np.ones(geom.data_shape))
    >>> out = make_map_adaptive_ring_background(ds, None, 0.3, [0.1, 0.3], 0.03)
    >>> float(out["ring_width"][20, 20])
    0.3
    """
    if ds.counts is None or ds.background is None:
        raise ConfigError("adaptive ring needs counts and background", obj=ds.name)
    widths = np.sort(np.asarray(widths, dtype=np.float64))
    if widths.size == 0 or widths[0] <= 0:
        raise ConfigError(f"adaptive ring: widths must be positive, got {widths}", obj="widths")
    binsz = ds.geom.binsz
    counts, bkg = ds.counts.sum(axis=0), ds.background.sum(axis=0)
    keep = np.ones(counts.shape, bool) if exclusion is None else exclusion
    shape = counts.shape
    counts_off, acceptance_off = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    ring_width = np.full(shape, np.nan)
    unset = np.ones(shape, bool)
    for k, width in enumerate(widths):
        kernel = make_ring_kernel(r_in / binsz, width / binsz)
        c_off = convolve(counts * keep, kernel).astype(np.float32)
        a_off = convolve(bkg * keep, kernel).astype(np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            good = bkg / a_off <= alpha_max
        take = unset & (good | (k == widths.size - 1))
        counts_off[take], acceptance_off[take], ring_width[take] = c_off[take], a_off[take], width
        unset &= ~take
    mask = ds._mask().any(axis=0) & ~(acceptance_off <= 0)
    return {
        "counts": counts,
        "counts_off": counts_off,
        "acceptance": bkg,
        "acceptance_off": acceptance_off,
        "mask_safe": mask,
        "ring_width": ring_width,
    }
