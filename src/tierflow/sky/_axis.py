"""Non-spatial axes (energy, offset, migra, rad, fov_lon/lat) and their interpolation scales."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import ConfigError

__all__ = ["Axis", "Scale"]


class Scale(str, enum.Enum):
    """How an axis (or a set of values) is interpolated."""

    LIN = "lin"
    LOG = "log"

    def forward(self, values: ArrayLike) -> NDArray[np.float64]:
        """Map `values` into the space where interpolation is linear."""
        arr = np.asarray(values, dtype=np.float64)
        return np.log(arr) if self is Scale.LOG else arr

    def inverse(self, values: ArrayLike) -> NDArray[np.float64]:
        """Undo :meth:`forward`."""
        arr = np.asarray(values, dtype=np.float64)
        return np.exp(arr) if self is Scale.LOG else arr


@dataclass(frozen=True, eq=False)
class Axis:
    """A binned axis: edges, centres (the interpolation nodes), a scale, a name and a unit.

    Parameters
    ----------
    name
        ``energy``, ``energy_true``, ``offset``, ``migra``, ``rad``, ``fov_lon``, ``fov_lat``.
    edges
        Bin edges, increasing.
    scale
        Interpolation scale: centres are geometric means on a log axis.
    unit
        Unit of the edges (``TeV``, ``deg`` or ``""``).
    nodes
        Interpolation nodes; the bin centres unless the axis was made from nodes.

    Examples
    --------
    >>> axis = Axis.from_energy_bounds(0.5, 50, 10, name="energy")
    >>> axis.nbin, round(float(axis.edges[1]), 4)
    (10, 0.7924)
    """

    name: str
    edges: NDArray[np.float64]
    scale: Scale = Scale.LIN
    unit: str = ""
    nodes: NDArray[np.float64] = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ConfigError(f"axis {self.name!r}: edges must increase, got {edges}")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "scale", Scale(self.scale))
        if self.nodes is None:
            s = self.scale
            centre = s.inverse(0.5 * (s.forward(edges[:-1]) + s.forward(edges[1:])))
            object.__setattr__(self, "nodes", centre)
        else:
            object.__setattr__(self, "nodes", np.asarray(self.nodes, dtype=np.float64))

    @classmethod
    def from_energy_bounds(
        cls, energy_min: float, energy_max: float, nbin: int, name: str = "energy"
    ) -> Axis:
        """Log-spaced energy axis in TeV with `nbin` bins (gammapy ``from_energy_bounds``)."""
        edges = np.geomspace(energy_min, energy_max, nbin + 1)
        return cls(name, edges, Scale.LOG, "TeV")

    @classmethod
    def from_nodes(cls, name: str, nodes: ArrayLike, scale: Scale, unit: str = "") -> Axis:
        """Axis whose interpolation nodes are given; edges lie half-way between (in scale)."""
        n = np.asarray(nodes, dtype=np.float64)
        if n.size == 1:
            edges = n[[0, 0]] + np.array([-0.5, 0.5])
            return cls(name, edges, scale, unit, nodes=n)
        s = scale.forward(n)
        mid = 0.5 * (s[1:] + s[:-1])
        edges_s = np.concatenate([[s[0] - (mid[0] - s[0])], mid, [s[-1] + (s[-1] - mid[-1])]])
        return cls(name, scale.inverse(edges_s), scale, unit, nodes=n)

    @classmethod
    def from_lo_hi(cls, name: str, lo: ArrayLike, hi: ArrayLike, scale: Scale, unit: str) -> Axis:
        """Axis from GADF ``*_LO``/``*_HI`` columns; equal columns mean nodes (gammapy's rule)."""
        lo_a = np.atleast_1d(np.asarray(lo, dtype=np.float64))
        hi_a = np.atleast_1d(np.asarray(hi, dtype=np.float64))
        if np.allclose(lo_a, hi_a):
            return cls.from_nodes(name, hi_a, scale, unit)
        return cls(name, np.append(lo_a, hi_a[-1]), scale, unit)

    @property
    def nbin(self) -> int:
        """Number of bins."""
        return int(self.edges.size - 1)

    @property
    def center(self) -> NDArray[np.float64]:
        """Bin centres in the axis scale (geometric means on a log axis)."""
        s = self.scale
        return s.inverse(0.5 * (s.forward(self.edges[:-1]) + s.forward(self.edges[1:])))

    @property
    def bin_width(self) -> NDArray[np.float64]:
        """Bin widths."""
        return np.diff(self.edges)

    def coord_to_idx(self, coord: ArrayLike) -> NDArray[np.int64]:
        """Bin index of each coordinate; -1 outside the axis (gammapy's rounding of pixels)."""
        c = self.scale.forward(coord)
        e = self.scale.forward(self.edges)
        pix = np.interp(c, e, np.arange(-0.5, self.nbin, 1.0))
        # linear extrapolation outside the edges, as interp1d(fill_value="extrapolate")
        lo, hi = c < e[0], c > e[-1]
        pix = np.where(lo, -0.5 + (c - e[0]) / (e[1] - e[0]), pix)
        pix = np.where(hi, self.nbin - 0.5 + (c - e[-1]) / (e[-1] - e[-2]), pix)
        with np.errstate(invalid="ignore"):
            idx = np.floor(pix + 0.5)
        idx = np.where(np.isfinite(idx), idx, -1).astype(np.int64)
        idx[(idx < 0) | (idx >= self.nbin)] = -1
        return idx

    def outside(self, coord: ArrayLike) -> NDArray[np.bool_]:
        """True where a coordinate lies outside the axis edges (gammapy's fill-value rule)."""
        c = np.asarray(coord, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            out = (c < self.edges[0]) | (c > self.edges[-1]) | ~np.isfinite(c)
        return np.asarray(out, dtype=bool)

    def squash(self) -> Axis:
        """The axis as one bin over its whole range."""
        return Axis(self.name, self.edges[[0, -1]], self.scale, self.unit)

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form (edges as a list)."""
        return {
            "name": self.name,
            "edges": self.edges.tolist(),
            "scale": self.scale.value,
            "unit": self.unit,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Axis):
            return NotImplemented
        return (
            self.name == other.name
            and self.scale is other.scale
            and self.edges.shape == other.edges.shape
            and bool(np.allclose(self.edges, other.edges, rtol=1e-9, atol=0))
        )

    def __hash__(self) -> int:
        return hash((self.name, self.scale, self.nbin))
