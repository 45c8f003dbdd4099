"""CaloChallenge-style voxel grids: energy summed in (layer, angle, radius) bins.

Example
-------
>>> import numpy as np
>>> from tierflow.showers import Showers
>>> s = Showers(flat_points=[[1, 0, 0, 1.0], [0, 30, 1, 2.0]], num_points=[2], energies=[5.0],
...             pdg=22)
>>> grid = VoxelGrid(num_layers=2, r_edges=(0.0, 10.0, 50.0), n_alpha=4)
>>> to_voxels(s, grid).reshape(2, 4, 2)[:, :, :].sum(axis=(1, 2)).tolist()
[1.0, 2.0]
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError
from tierflow.showers._showers import Showers

__all__ = ["VoxelGrid", "save_voxels", "to_voxels"]


@dataclasses.dataclass(frozen=True)
class VoxelGrid:
    """Cylindrical voxels around the z axis: `num_layers` layers (the points' z) times
    `n_alpha` angular bins times the radial bins of `r_edges` (mm)."""

    num_layers: int = 78
    r_edges: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)
    n_alpha: int = 16

    def __post_init__(self) -> None:
        edges = np.asarray(self.r_edges)
        if len(edges) < 2 or np.any(np.diff(edges) <= 0) or self.n_alpha < 1:
            raise ConfigError("a voxel grid needs increasing radial edges and n_alpha >= 1")

    @property
    def n_voxels(self) -> int:
        """Voxels per shower: layers x angles x radii."""
        return self.num_layers * self.n_alpha * (len(self.r_edges) - 1)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (what files record)."""
        return {
            "num_layers": self.num_layers,
            "r_edges": list(self.r_edges),
            "n_alpha": self.n_alpha,
        }


def to_voxels(
    showers: Showers, grid: VoxelGrid | None = None, energy_scale: float = 1.0
) -> npt.NDArray[np.float32]:
    """Energies ``(n_showers, n_voxels)``, voxel index ``(layer * n_alpha + alpha) * n_r + r``;
    points beyond the grid are dropped."""
    grid = grid or VoxelGrid()
    x, y, z, e = (showers.flat[:, j] for j in range(4))
    n_r = len(grid.r_edges) - 1
    r_bin = np.searchsorted(np.asarray(grid.r_edges, np.float32), np.hypot(x, y), side="right") - 1
    alpha = np.arctan2(y, x) % (2 * np.pi)
    a_bin = np.minimum((alpha / (2 * np.pi) * grid.n_alpha).astype(np.int64), grid.n_alpha - 1)
    layer = (z + np.float32(0.1)).astype(np.int64)
    inside = (r_bin >= 0) & (r_bin < n_r) & (layer >= 0) & (layer < grid.num_layers)
    voxel = (layer * grid.n_alpha + a_bin) * n_r + r_bin
    shower = np.repeat(np.arange(len(showers)), showers.num_points)
    out = np.zeros(len(showers) * grid.n_voxels, dtype=np.float32)
    np.add.at(out, (shower * grid.n_voxels + voxel)[inside], e[inside] * np.float32(energy_scale))
    return out.reshape(len(showers), grid.n_voxels)


def save_voxels(
    showers: Showers,
    path: str | os.PathLike[str],
    grid: VoxelGrid | None = None,
    energy_scale: float = 1.0,
    overwrite: bool = False,
) -> None:
    """Write a CaloChallenge-style file: ``incident_energies`` ``(n, 1)`` and ``showers``
    ``(n, n_voxels)``, energies times `energy_scale` (1000 for GeV to MeV)."""
    from tierflow.showers._files import atomic_h5

    grid = grid or VoxelGrid()
    with atomic_h5(path, overwrite) as handle:
        handle.create_dataset("incident_energies", data=showers.energies * np.float32(energy_scale))
        handle.create_dataset(
            "showers", data=to_voxels(showers, grid, energy_scale), compression="gzip"
        )
        for key, value in grid.to_dict().items():
            handle.attrs[key] = value
