"""WCS sky geometries with non-spatial axes, cutouts that remember their slice, sky distances.

Pixel coordinates follow gammapy: pixel (0, 0) is the centre of the first pixel, a sky position
falls into pixel ``floor(p + 0.5)``; data arrays are ordered ``(axes reversed..., y, x)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import ConfigError, NotFoundError
from tierflow.sky._axis import Axis

__all__ = ["WcsGeom", "angular_separation", "position_angle"]


def angular_separation(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> NDArray[np.float64]:
    """Great-circle distance in radians (Vincenty's formula, as astropy computes it).

    Examples
    --------
    >>> float(np.degrees(angular_separation(0.0, 0.0, np.radians(1.0), 0.0)))
    1.0
    """
    lon1, lat1, lon2, lat2 = (np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))
    sdlon, cdlon = np.sin(lon2 - lon1), np.cos(lon2 - lon1)
    slat1, slat2, clat1, clat2 = np.sin(lat1), np.sin(lat2), np.cos(lat1), np.cos(lat2)
    num1 = clat2 * sdlon
    num2 = clat1 * slat2 - slat1 * clat2 * cdlon
    den = slat1 * slat2 + clat1 * clat2 * cdlon
    return np.arctan2(np.hypot(num1, num2), den)  # type: ignore[no-any-return]


def position_angle(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> NDArray[np.float64]:
    """Position angle (east of north, radians in [0, 2π)) of point 2 seen from point 1."""
    lon1, lat1, lon2, lat2 = (np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))
    dlon = lon2 - lon1
    colat = np.cos(lat2)
    x = np.sin(lat2) * np.cos(lat1) - colat * np.sin(lat1) * np.cos(dlon)
    y = np.sin(dlon) * colat
    return np.mod(np.arctan2(y, x), 2 * np.pi)  # type: ignore[no-any-return]


class WcsGeom:
    """A WCS image with optional non-spatial axes (energy, energy_true, rad, migra).

    Parameters
    ----------
    wcs
        The celestial ``astropy.wcs.WCS``.
    npix
        Image size (nx, ny).
    axes
        Non-spatial axes, first one varying fastest after the image (gammapy's order).

    Examples
    --------
    >>> energy = Axis.from_energy_bounds(0.5, 50, 10)
    >>> geom = WcsGeom.create((83.633, 22.014), 0.02, (5, 5), axes=[energy])
    >>> geom.data_shape
    (10, 250, 250)
    """

    def __init__(self, wcs: Any, npix: tuple[int, int], axes: Sequence[Axis] = ()) -> None:
        self.wcs = wcs
        self.npix = (int(npix[0]), int(npix[1]))
        self.axes = tuple(axes)
        self._parent: tuple[WcsGeom, tuple[slice, slice]] | None = None
        # computed once for these pixels, whatever the axes: separations, cutouts, IRF grids
        self._shared: dict[tuple[Any, ...], Any] = {}

    @classmethod
    def create(
        cls,
        skydir: tuple[float, float],
        binsz: float,
        width: float | tuple[float, float],
        frame: str = "icrs",
        proj: str = "CAR",
        axes: Sequence[Axis] = (),
    ) -> WcsGeom:
        """Geometry centred on `skydir` (deg), `binsz` deg pixels, `width` deg (lon, lat)."""
        from astropy.coordinates import SkyCoord
        from astropy.wcs.utils import celestial_frame_to_wcs

        try:
            frame_obj = SkyCoord(np.nan, np.nan, unit="deg", frame=frame).frame
        except ValueError:
            raise ConfigError(
                f"unknown sky frame {frame!r} (e.g. icrs, galactic)", obj=frame
            ) from None
        w = (float(width), float(width)) if np.isscalar(width) else tuple(width)  # type: ignore[arg-type]
        npix = (int(np.rint(w[0] / binsz)), int(np.rint(w[1] / binsz)))
        wcs = celestial_frame_to_wcs(frame_obj, projection=proj)
        wcs.wcs.crpix = ((npix[0] + 1) / 2.0, (npix[1] + 1) / 2.0)
        wcs.wcs.crval = skydir
        wcs.wcs.cdelt = (-binsz, binsz)
        wcs.array_shape = npix[1], npix[0]
        wcs.wcs.datfix()
        return cls(wcs, npix, axes)

    def __repr__(self) -> str:
        return f"WcsGeom(npix={self.npix}, axes={[a.name for a in self.axes]})"

    @property
    def frame(self) -> str:
        """``icrs`` or ``galactic``."""
        return "galactic" if self.wcs.wcs.ctype[0].startswith("GLON") else "icrs"

    @property
    def data_shape(self) -> tuple[int, ...]:
        """Shape of a data array on this geometry."""
        return (*tuple(a.nbin for a in reversed(self.axes)), self.npix[1], self.npix[0])

    @property
    def binsz(self) -> float:
        """Pixel size in degrees (along latitude)."""
        return float(abs(self.wcs.wcs.cdelt[1]))

    def axis(self, name: str) -> Axis:
        """The non-spatial axis called `name`."""
        for a in self.axes:
            if a.name == name:
                return a
        raise NotFoundError(
            f"geometry has no axis {name!r}", obj=name, candidates=[a.name for a in self.axes]
        )

    def to_image(self) -> WcsGeom:
        """The geometry without non-spatial axes."""
        return self._same_pixels(())

    def to_cube(self, axes: Sequence[Axis]) -> WcsGeom:
        """The same image with `axes`."""
        return self._same_pixels(axes)

    def _same_pixels(self, axes: Sequence[Axis]) -> WcsGeom:
        geom = WcsGeom(self.wcs, self.npix, axes)
        geom._parent = self._parent
        geom._shared = self._shared
        for name in ("lonlat", "solid_angle"):  # share what is computed already
            if name in self.__dict__:
                geom.__dict__[name] = self.__dict__[name]
        return geom

    def with_binsz(self, binsz: float) -> WcsGeom:
        """Same centre and extent at another pixel size (the IRF-map grid).

        The grid is made once per pixel size; later calls share its computed coordinates.
        """
        key = ("binsz", float(binsz))
        if key not in self._shared:
            lon, lat = self.center_lonlat
            width = (self.npix[0] * abs(self.wcs.wcs.cdelt[0]), self.npix[1] * self.binsz)
            ctype = self.wcs.wcs.ctype[0]
            geom = WcsGeom.create((lon, lat), binsz, width, self.frame, ctype[-3:])
            geom.wcs.wcs.crval = self.wcs.wcs.crval
            self._shared[key] = geom
        return self._shared[key].to_cube(self.axes)  # type: ignore[no-any-return]

    @property
    def center_lonlat(self) -> tuple[float, float]:
        """Sky position of the image centre (deg)."""
        x, y = (self.npix[0] - 1) / 2.0, (self.npix[1] - 1) / 2.0
        lon, lat = self.wcs.wcs_pix2world(x, y, 0)
        return float(lon), float(lat)

    @cached_property
    def lonlat(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Sky coordinates (deg) of the pixel centres, each of shape (ny, nx).

        A cutout takes them from its parent (same pixels), computed once for all cutouts.
        """
        if self._parent is not None:
            parent, (sy, sx) = self._parent
            lon, lat = parent.lonlat
            return lon[sy, sx], lat[sy, sx]
        y, x = np.mgrid[0 : self.npix[1], 0 : self.npix[0]].astype(np.float64)
        lon, lat = self.wcs.wcs_pix2world(x, y, 0)
        return lon, lat

    def separation(self, lon: float, lat: float) -> NDArray[np.float64]:
        """Distance (deg) of every pixel centre from (lon, lat), shape (ny, nx), read-only.

        Computed once per position for these pixels (shared with :meth:`to_cube` siblings).
        """
        key = ("separation", float(lon), float(lat))
        if key not in self._shared:
            plon, plat = self.lonlat
            sep = np.degrees(
                angular_separation(
                    np.radians(plon), np.radians(plat), np.radians(lon), np.radians(lat)
                )
            )
            sep.flags.writeable = False
            self._shared[key] = sep
        return self._shared[key]  # type: ignore[no-any-return]

    @cached_property
    def solid_angle(self) -> NDArray[np.float64]:
        """Pixel solid angles in sr (two planar triangles per pixel, gammapy's formula)."""
        if self._parent is not None:
            parent, (sy, sx) = self._parent
            return parent.solid_angle[sy, sx]
        y, x = np.mgrid[-0.5 : self.npix[1], -0.5 : self.npix[0]].astype(np.float64)
        lon, lat = (np.radians(v) for v in self.wcs.wcs_pix2world(x, y, 0))
        ll = (lon[:-1, :-1], lat[:-1, :-1])
        lr = (lon[:-1, 1:], lat[:-1, 1:])
        ul = (lon[1:, :-1], lat[1:, :-1])
        ur = (lon[1:, 1:], lat[1:, 1:])
        low = angular_separation(*ll, *lr)
        left = angular_separation(*ll, *ul)
        up = angular_separation(*ul, *ur)
        right = angular_separation(*lr, *ur)
        a_lr = position_angle(*lr, *ur) - position_angle(*lr, *ll)
        a_ul = position_angle(*ul, *ur) - position_angle(*ll, *ul)
        return np.abs(0.5 * low * right * np.sin(a_lr) + 0.5 * up * left * np.sin(a_ul))

    def coord_to_idx(
        self, lon: ArrayLike, lat: ArrayLike
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Pixel (iy, ix) of sky positions (deg); -1 outside the image."""
        x, y = self.wcs.wcs_world2pix(np.asarray(lon, np.float64), np.asarray(lat, np.float64), 0)
        out = []
        for p, n in ((y, self.npix[1]), (x, self.npix[0])):
            with np.errstate(invalid="ignore"):
                idx = np.floor(np.asarray(p) + 0.5)
            idx = np.where(np.isfinite(idx), idx, -1).astype(np.int64)
            idx[(idx < 0) | (idx >= n)] = -1
            out.append(idx)
        return out[0], out[1]

    def region_mask_circle(self, lon: float, lat: float, radius: float) -> NDArray[np.bool_]:
        """True for pixels whose centre lies within `radius` deg of (lon, lat)."""
        return self.separation(lon, lat) < radius

    def cutout(self, lon: float, lat: float, width: float) -> tuple[WcsGeom, tuple[slice, slice]]:
        """Cutout of `width` deg around (lon, lat), trimmed to this image ("trim" mode).

        Returns the cutout geometry and the (y, x) slices of the parent it covers. Cutouts
        are remembered (the last few positions), so a repeated cutout shares its computed
        coordinates.
        """
        key = ("cutout", float(lon), float(lat), float(width))
        if key not in self._shared:
            cut, slices = self._make_cutout(lon, lat, width)
            cutouts = [k for k in self._shared if k[0] == "cutout"]
            for old in cutouts[: max(len(cutouts) - self._CUTOUT_CACHE + 1, 0)]:
                del self._shared[old]
            self._shared[key] = (cut, slices)
        cut, slices = self._shared[key]
        return cut.to_cube(self.axes), slices

    _CUTOUT_CACHE = 16

    def slices_in(self, parent: WcsGeom) -> tuple[slice, slice] | None:
        """The (y, x) slices of `parent` these pixels are, if this is a cutout of it, else None.

        Examples
        --------
        >>> geom = WcsGeom.create((0.0, 0.0), 0.1, 2.0)
        >>> cut, slices = geom.cutout(0.5, 0.0, 0.5)
        >>> cut.slices_in(geom) == slices
        True
        """
        if self._parent is None or parent._parent is not None:
            return None
        root, slices = self._parent
        return slices if root._shared is parent._shared else None

    def _make_cutout(
        self, lon: float, lat: float, width: float
    ) -> tuple[WcsGeom, tuple[slice, slice]]:
        from astropy.coordinates import SkyCoord
        from astropy.nddata import Cutout2D

        size_pix = np.clip(np.array([width, width]) / np.abs(self.wcs.wcs.cdelt), 1, None)
        position = SkyCoord(lon, lat, unit="deg", frame=self.frame)
        dummy = np.empty((self.npix[1], self.npix[0]), dtype=bool)
        c2d = Cutout2D(dummy, position, size_pix[::-1], wcs=self.wcs, mode="trim")
        cut = WcsGeom(c2d.wcs, c2d.shape[::-1], self.axes)
        slices = (c2d.slices_original[0], c2d.slices_original[1])
        root = self if self._parent is None else self._parent[0]
        if self._parent is None:
            cut._parent = (self, slices)
        else:  # a cutout of a cutout: compose the slices
            (py, px), (sy, sx) = self._parent[1], slices
            cut._parent = (
                root,
                (
                    slice(py.start + sy.start, py.start + sy.stop),
                    slice(px.start + sx.start, px.start + sx.stop),
                ),
            )
        return cut, slices

    def energy_mask(
        self,
        energy_min: float | None = None,
        energy_max: float | None = None,
        axis_name: str = "energy",
    ) -> NDArray[np.bool_]:
        """Per-bin mask of `axis_name`: True where the bin lies fully inside [min, max]."""
        edges = self.axis(axis_name).edges
        lo = edges[0] if energy_min is None else energy_min
        hi = edges[-1] if energy_max is None else energy_max
        return (edges[:-1] >= lo) & (edges[1:] <= hi)

    def wcs_header(self) -> dict[str, Any]:
        """The WCS keywords (for FITS output and comparisons)."""
        header = self.wcs.to_header()
        header["NAXIS1"], header["NAXIS2"] = self.npix
        return dict(header)
