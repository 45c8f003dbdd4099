"""Processing of showers: clustering onto a cell grid, hit filters, shifts for incident angles.

Every function works on the flat points (no padding) and keeps each shower's hits in order;
the arithmetic is float32 in showerdata's order, so results agree with it bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tierflow.showers._geometry import DetectorGeometry, get_ILD_geometry, make_geometry
from tierflow.showers._showers import Showers

__all__ = ["cluster", "filter_showers", "grid_shifts", "shift_showers"]


def _with_points(
    showers: Showers, flat: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_]
) -> Showers:
    """`showers` with points `flat[keep]`; each shower keeps its hits that pass."""
    passed = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    counts = (passed[showers.offsets[1:]] - passed[showers.offsets[:-1]]).astype(np.int32)
    return Showers(
        flat_points=flat[keep],
        num_points=counts,
        energies=showers.energies.copy(),
        pdg=showers.pdg.copy(),
        directions=showers.directions.copy(),
        shower_ids=showers.shower_ids.copy(),
        max_points=showers.max_points,
    )


def grid_shifts(
    n_showers: int, geometry: DetectorGeometry, rng: np.random.Generator | int | None
) -> npt.NDArray[np.float32]:
    """Random grid shifts ``(n, 2 parts, 2 axes)`` in ``[-cell/2, cell/2)`` per shower and part."""
    generator = np.random.default_rng(rng)
    cells = np.array([geometry.ecal_cell_size, geometry.hcal_cell_size], dtype=np.float32)
    unit = generator.random((n_showers, 2, 2), dtype=np.float32)
    half = cells[None, :, None] / np.float32(2)
    shifts: npt.NDArray[np.float32] = (unit * cells[None, :, None] - half).astype(np.float32)
    return shifts


def cluster(
    showers: Showers,
    random_shift: bool = True,
    detector_config: DetectorGeometry | str | None = None,
    processes: int = 1,
    *,
    rng: np.random.Generator | int | None = None,
) -> Showers:
    """Sum the hits of each shower into the cells of a square grid, per layer.

    ECAL and HCAL hits (split at ``num_layers_ecal - 0.5`` in z) are clustered with their own
    cell sizes; a cell's energy is the sum, its time the earliest, its position the cell
    centre. Hits of zero energy are dropped, as by showerdata.

    Parameters
    ----------
    showers
        The showers.
    random_shift
        Shift the grid by a random fraction of a cell, per shower and part.
    detector_config
        The geometry or its registered name (default ILD).
    processes
        More than 1: spread the showers over the cores (numba threads).
    rng
        Seed or generator of the random shifts.

    Example
    -------
    >>> s = Showers(flat_points=[[1, 1, 0, 1.0], [2, 2, 0, 2.0]], num_points=[2],
    ...             energies=[5.0], pdg=22)
    >>> cluster(s, random_shift=False).flat.tolist()
    [[2.5, 2.5, 0.0, 3.0]]
    """
    from tierflow.showers._kernels import cluster_kernel

    geometry = make_geometry(detector_config) if detector_config else get_ILD_geometry()
    if random_shift:
        shifts = grid_shifts(len(showers), geometry, rng)
    else:
        shifts = np.zeros((len(showers), 2, 2), dtype=np.float32)
    cells = np.array([geometry.ecal_cell_size, geometry.hcal_cell_size], dtype=np.float32)
    out, counts = cluster_kernel(processes > 1)(
        np.ascontiguousarray(showers.flat),
        showers.offsets,
        np.float32(geometry.num_layers_ecal - 0.5),
        cells,
        shifts,
    )
    keep = np.arange(len(out)) - np.repeat(showers.offsets[:-1], showers.num_points)
    keep_mask = keep < np.repeat(counts, showers.num_points)
    return _with_points(showers, out, keep_mask)


def filter_showers(
    shower_data: Showers,
    radius: float = float("inf"),
    ecal_threshold: float = 0.0,
    hcal_threshold: float = 0.0,
    num_layers_ecal: int = 30,
) -> Showers:
    """Keep the hits inside a cylinder of `radius` (mm) and above the ECAL / HCAL energy
    thresholds (GeV, inclusive).

    A hit of zero energy that passes the cuts is kept (showerdata drops it silently).

    Example
    -------
    >>> s = Showers(flat_points=[[0, 0, 0, 1.0], [50, 0, 0, 1.0]], num_points=[2],
    ...             energies=[5.0], pdg=22)
    >>> filter_showers(s, radius=10).num_points.tolist()
    [1]
    """
    flat = shower_data.flat
    x, y, z, e = flat[:, 0], flat[:, 1], flat[:, 2], flat[:, 3]
    inside = x**2 + y**2 < np.float32(radius**2)
    ecal = z < np.float32(num_layers_ecal - 0.5)
    passes = np.where(ecal, e >= np.float32(ecal_threshold), e >= np.float32(hcal_threshold))
    return _with_points(shower_data, flat, inside & passes)


def shift_showers(
    showers: Showers,
    inverse: bool = False,
    detector_config: DetectorGeometry | str | None = None,
) -> Showers:
    """Shift each layer's hits along the incident direction to undo (or, with `inverse`,
    redo) the effect of the incident angle; forward shifts drop hits outside the
    calorimeter's octagon box.

    Example
    -------
    >>> s = Showers(flat_points=[[10, 0, 40, 1.0]], num_points=[1], energies=[5.0], pdg=22,
    ...             directions=[[0.1, 0.0, 1.0]])
    >>> round(float(shift_showers(s).flat[0, 0]), 3)
    -44.2
    """
    geometry = make_geometry(detector_config) if detector_config else get_ILD_geometry()
    flat = showers.flat.copy()
    layers = np.asarray(geometry.layer_bottom_pos, dtype=np.float32)
    depth = layers[(np.float32(0.1) + flat[:, 2]).astype(int)] - np.float32(geometry.calo_surface)
    d = showers.directions
    slopes = np.repeat(
        np.stack([d[:, 0] / d[:, 2], d[:, 1] / d[:, 2]], axis=1), showers.num_points, axis=0
    )
    sign = np.float32(1.0 if inverse else -1.0)
    flat[:, 0] += sign * (slopes[:, 0] * depth)
    flat[:, 1] += sign * (slopes[:, 1] * depth)
    if inverse:
        return _with_points(showers, flat, np.ones(len(flat), dtype=bool))
    box = np.float32(math.tan(math.pi / 8) * geometry.calo_surface)
    x, y = flat[:, 0], flat[:, 1]
    keep = (x > -box) & (x < box) & (y > -box) & (y < box)
    return _with_points(showers, flat, keep)
