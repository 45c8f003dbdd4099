"""Instrument response functions of the GADF DL3 format and their evaluation.

An IRF is a grid of values over named axes. :meth:`IRF.evaluate` interpolates it (linear in the
axis scales, values linear or logarithmic) on "grid" axes, which become output dimensions, and
on "pixel" axes, which are per-sky-pixel arrays (offset, or the pair fov_lon/fov_lat). Outside
an axis' edges the value is 0, inside them the interpolation extrapolates from the outer nodes:
gammapy's conventions.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import FormatError, NotFoundError
from tierflow.registry import Registry
from tierflow.sky._axis import Axis, Scale
from tierflow.sky._interp import interp_along, interp_pairs, log_scale, log_unscale

__all__ = [
    "IRF",
    "IRF_READERS",
    "Background2D",
    "Background3D",
    "EffectiveArea2D",
    "EnergyDispersion2D",
    "FoVAlignment",
    "PSFKing",
    "PSFTable",
    "PSFThreeGauss",
    "unit_factor",
]


class FoVAlignment(str, enum.Enum):
    """Orientation of the field-of-view frame of a background IRF (GADF ``FOVALIGN``)."""

    RADEC = "RADEC"
    ALTAZ = "ALTAZ"
    REVERSE_LON_RADEC = "REVERSE_LON_RADEC"


def unit_factor(unit: str, target: str) -> float:
    """Factor that converts a value in `unit` into `target` (astropy units).

    Examples
    --------
    >>> unit_factor("MeV-1 s-1 sr-1", "TeV-1 s-1 sr-1")
    1000000.0
    """
    import astropy.units as u

    try:
        return float(u.Unit(unit).to(target))
    except (ValueError, u.UnitConversionError) as error:
        raise FormatError(f"unit {unit!r} does not convert to {target!r}: {error}") from None


@dataclass(frozen=True, eq=False)
class IRF:
    """A response tabulated on axes; subclasses fix the axis names, unit and value scale."""

    axes: tuple[Axis, ...]
    data: NDArray[np.floating]
    unit: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    tag: ClassVar[str] = ""
    required_axes: ClassVar[tuple[str, ...]] = ()
    values_scale: ClassVar[Scale] = Scale.LIN

    def __post_init__(self) -> None:
        names = tuple(a.name for a in self.axes)
        if names != self.required_axes:
            raise FormatError(f"{self.tag}: axes {names}, expected {self.required_axes}")
        shape = tuple(a.nbin for a in self.axes)
        if self.data.shape != shape:
            raise FormatError(f"{self.tag}: data shape {self.data.shape}, axes give {shape}")

    def axis(self, name: str) -> Axis:
        """The axis called `name`."""
        for a in self.axes:
            if a.name == name:
                return a
        raise NotFoundError(
            f"{self.tag} has no axis {name!r}", obj=name, candidates=self.required_axes
        )

    @cached_property
    def _scaled(self) -> NDArray[np.floating]:
        if self.values_scale is Scale.LOG:
            return log_scale(self.data)
        return self.data

    def _outside(self, masks: dict[str, NDArray[np.bool_]]) -> NDArray[np.bool_] | bool:
        out: NDArray[np.bool_] | bool = False
        for mask in masks.values():
            out = out | mask
        return out

    def evaluate(
        self,
        grid: Mapping[str, ArrayLike] | None = None,
        pixels: Mapping[str, ArrayLike] | None = None,
    ) -> NDArray[np.float64]:
        """Interpolate the IRF.

        Parameters
        ----------
        grid
            Axis name → 1-D coordinates; each becomes an output dimension, in IRF axis order.
            Axes given in neither mapping are evaluated at their own nodes.
        pixels
            One axis name (offset) or two (fov_lon, fov_lat) → arrays of one common shape,
            which becomes the trailing output shape.

        Returns
        -------
        numpy.ndarray
            Values in the IRF's own unit, shape ``grid dims + pixel shape``.

        Examples
        --------
        >>> aeff = EffectiveArea2D(
        ...     (Axis("energy_true", [1.0, 10.0], Scale.LOG, "TeV"),
        ...      Axis.from_nodes("offset", [0.0, 1.0], Scale.LIN, "deg")),
        ...     np.array([[2.0, 1.0]]), "m2")
        >>> aeff.evaluate({"energy_true": [3.0]}, {"offset": np.array([0.5, 2.0])})
        array([[1.5, 0. ]])
        """
        grid = dict(grid or {})
        pix: dict[str, NDArray[np.float64]] = {
            k: np.asarray(v, dtype=np.float64) for k, v in (pixels or {}).items()
        }
        values: NDArray[np.floating] = self._scaled
        masks: dict[str, NDArray[np.bool_]] = {}
        n_grid = sum(a.name not in pix for a in self.axes)
        for k, a in enumerate(self.axes):
            if a.name in pix:
                continue
            x = np.atleast_1d(np.asarray(grid.get(a.name, a.nodes), dtype=np.float64))
            values = interp_along(values, a.scale.forward(a.nodes), a.scale.forward(x), k)
            shape = [1] * n_grid + [1] * (pix[next(iter(pix))].ndim if pix else 0)
            shape[sum(b.name not in pix for b in self.axes[:k])] = x.size
            masks[a.name] = a.outside(x).reshape(shape)
        values = self._interp_pixels(values, pix)
        for name, coord in pix.items():
            masks[name] = self.axis(name).outside(coord)
        if self.values_scale is Scale.LOG:
            values = log_unscale(values)
        values = np.clip(values, 0.0, np.inf)
        out = np.where(self._outside(masks), 0.0, values)
        out[~np.isfinite(out)] = 0.0
        return out

    def _interp_pixels(
        self, values: NDArray[np.floating], pixels: dict[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        if not pixels:
            return np.asarray(values, dtype=np.float64)
        index = [k for k, a in enumerate(self.axes) if a.name in pixels]
        moved = np.moveaxis(values, index, list(range(-len(index), 0)))
        axes = [self.axes[k] for k in index]
        coords = [a.scale.forward(pixels[a.name]) for a in axes]
        nodes = [a.scale.forward(a.nodes) for a in axes]
        if len(axes) == 1:
            flat = interp_along(moved, nodes[0], coords[0].ravel(), moved.ndim - 1)
            return flat.reshape(flat.shape[:-1] + coords[0].shape)
        if len(axes) == 2:
            return interp_pairs(moved, (nodes[0], nodes[1]), (coords[0], coords[1]))
        raise ValueError("at most two pixel axes")


class EffectiveArea2D(IRF):
    """Effective area over (energy_true, offset), in m²."""

    tag = "aeff_2d"
    required_axes = ("energy_true", "offset")


class EnergyDispersion2D(IRF):
    """Migration probability density over (energy_true, migra, offset)."""

    tag = "edisp_2d"
    required_axes = ("energy_true", "migra", "offset")

    def _outside(self, masks: dict[str, NDArray[np.bool_]]) -> NDArray[np.bool_] | bool:
        # gammapy: out of range only if both energy and migra are, or the offset is
        return (masks["energy_true"] & masks["migra"]) | masks["offset"]


class PSFTable(IRF):
    """Tabulated PSF density over (energy_true, offset, rad), in sr⁻¹."""

    tag = "psf_table"
    required_axes = ("energy_true", "offset", "rad")


class Background3D(IRF):
    """Background rate over (energy, fov_lon, fov_lat), interpolated in log of the values."""

    tag = "bkg_3d"
    required_axes = ("energy", "fov_lon", "fov_lat")
    values_scale = Scale.LOG

    def interp_missing_data(self, axis_name: str = "energy") -> Background3D:
        """Copy with empty or non-finite bins filled along `axis_name` (log-linear between the
        neighbouring filled bins of the same column; bins outside them stay empty)."""
        return type(self)(
            self.axes, _fill_missing(self.data, self._axis_index(axis_name)), self.unit, self.meta
        )

    def _axis_index(self, name: str) -> int:
        return [a.name for a in self.axes].index(self.axis(name).name)

    @property
    def fov_alignment(self) -> FoVAlignment:
        """The FoV frame orientation (``FOVALIGN``, RADEC when absent)."""
        return FoVAlignment(str(self.meta.get("FOVALIGN", "RADEC")).strip())


class Background2D(IRF):
    """Radially symmetric background rate over (energy, offset), log-interpolated."""

    tag = "bkg_2d"
    required_axes = ("energy", "offset")
    values_scale = Scale.LOG

    def interp_missing_data(self, axis_name: str = "energy") -> Background2D:
        """Copy with empty bins filled along `axis_name` (as Background3D does)."""
        index = [a.name for a in self.axes].index(self.axis(axis_name).name)
        return type(self)(self.axes, _fill_missing(self.data, index), self.unit, self.meta)

    @property
    def fov_alignment(self) -> FoVAlignment:
        """A radial background does not depend on the FoV orientation."""
        return FoVAlignment.RADEC


def _fill_missing(data: NDArray[np.floating], axis: int) -> NDArray[np.floating]:
    """Fill zero / non-finite entries along `axis` by interpolating the log of the others.

    Vectorised over all columns: each missing entry between two valid ones is interpolated
    linearly in log(value) between its nearest valid neighbours; entries before the first or
    after the last valid one stay as they are.
    """
    moved = np.moveaxis(data.copy(), axis, -1)
    columns = moved.reshape(-1, moved.shape[-1])
    n = columns.shape[1]
    missing = ~np.isfinite(columns) | (columns == 0.0)
    idx = np.broadcast_to(np.arange(n), columns.shape)
    prev = np.maximum.accumulate(np.where(missing, -1, idx), axis=1)
    nxt = np.minimum.accumulate(np.where(missing, n, idx)[:, ::-1], axis=1)[:, ::-1]
    fill = missing & (prev >= 0) & (nxt < n)
    if fill.any():
        rows = np.nonzero(fill)[0]
        lo, hi, x = prev[fill], nxt[fill], idx[fill]
        with np.errstate(invalid="ignore", divide="ignore"):
            log_v = log_scale(np.where(missing, 1.0, columns).astype(columns.dtype))
        f_lo, f_hi = log_v[rows, lo].astype(np.float64), log_v[rows, hi].astype(np.float64)
        columns[fill] = np.exp(f_lo + (x - lo) * (f_hi - f_lo) / (hi - lo))
    return np.moveaxis(columns.reshape(moved.shape), -1, axis)


@dataclass(frozen=True, eq=False)
class _ParametricPSF:
    """A PSF given by parameters tabulated over (energy_true, offset)."""

    axes: tuple[Axis, ...]
    params: Mapping[str, NDArray[np.float64]]
    meta: Mapping[str, Any] = field(default_factory=dict)
    tag: ClassVar[str] = ""

    def _params_at(
        self, energy_true: NDArray[np.float64], offset: NDArray[np.float64]
    ) -> dict[str, NDArray[np.float64]]:
        e_axis, o_axis = self.axes
        out = {}
        for name, table in self.params.items():
            v = interp_along(table, e_axis.scale.forward(e_axis.nodes), np.log(energy_true), 0)
            v = interp_along(v, o_axis.nodes, offset.ravel(), 1)
            out[name] = v.reshape((energy_true.size, 1, *offset.shape))
        return out

    def evaluate_rad(
        self, energy_true: ArrayLike, rad: ArrayLike, offset: ArrayLike
    ) -> NDArray[np.float64]:
        """PSF density (sr⁻¹) with shape ``(n_energy, n_rad) + offset.shape``."""
        e = np.atleast_1d(np.asarray(energy_true, dtype=np.float64))
        o = np.asarray(offset, dtype=np.float64)
        r = np.radians(np.atleast_1d(np.asarray(rad, dtype=np.float64)))
        p = self._params_at(e, o)
        r2 = (r**2).reshape((1, -1) + (1,) * o.ndim)
        return self._density(p, r2)

    def _density(
        self, p: dict[str, NDArray[np.float64]], r2: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        raise NotImplementedError


class PSFThreeGauss(_ParametricPSF):
    """Sum of three 2-D Gaussians (GADF ``psf_3gauss``; sigmas in degrees)."""

    tag = "psf_3gauss"

    def _density(
        self, p: dict[str, NDArray[np.float64]], r2: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        total = np.zeros(np.broadcast_shapes(p["SCALE"].shape, r2.shape))
        for k, amp in (("SIGMA_1", p["SCALE"]), ("SIGMA_2", p["AMPL_2"]), ("SIGMA_3", p["AMPL_3"])):
            s2 = np.radians(p[k]) ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                term = np.where(s2 > 0, np.exp(-0.5 * r2 / s2) / (2 * np.pi * s2), 0.0)
            total = total + (amp if k == "SIGMA_1" else p["SCALE"] * amp) * term
        return np.asarray(total, dtype=np.float64)


class PSFKing(_ParametricPSF):
    """King profile (GADF ``psf_king``; ``SIGMA`` in degrees, ``GAMMA``)."""

    tag = "psf_king"

    def _density(
        self, p: dict[str, NDArray[np.float64]], r2: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        s2, g = np.radians(p["SIGMA"]) ** 2, p["GAMMA"]
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (1 - 1 / g) * (1 + r2 / (2 * g * s2)) ** (-g) / (2 * np.pi * s2)
        return np.nan_to_num(np.asarray(val, dtype=np.float64))


IRF_READERS: Registry[type] = Registry("DL3 IRF class", entry_point_group="tierflow.sky.irfs")
"""GADF ``HDU_CLASS`` → IRF class."""
for _cls in (EffectiveArea2D, EnergyDispersion2D, PSFTable, Background3D, Background2D):
    IRF_READERS.add(_cls.tag, _cls)
IRF_READERS.add(PSFThreeGauss.tag, PSFThreeGauss)
IRF_READERS.add(PSFKing.tag, PSFKing)
