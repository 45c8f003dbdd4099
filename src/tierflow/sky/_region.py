"""Sky regions (circles and annuli in any frame) and the reflected-regions finder.

Containment follows gammapy and ``regions``: a sky region is projected onto a tangent-plane
(TAN) WCS, its radius converted with the local pixel scale (measured 1 arcsec north of the
centre), and a point is inside when its pixel distance to the centre is below the radius. A
region geometry for 1-D spectra uses a 0.1° TAN grid centred on the region; the reflected
regions are found on a 0.01° TAN grid centred on the pointing, by rotating the ON region
about the pointing and skipping positions that touch excluded pixels.

Example
-------
>>> on = CircleRegion(83.633, 22.014, 0.11)
>>> regions, wcs = find_reflected_regions(on, (83.633, 22.514))
>>> len(regions)  # no exclusion mask here: one more than in the Crab runs
12
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import ConfigError
from tierflow.sky._geom import WcsGeom

__all__ = [
    "AnnulusRegion",
    "CircleRegion",
    "PixelRegion",
    "RegionShape",
    "SkyRegion",
    "find_reflected_regions",
    "make_region_wcs",
    "to_frame",
]


class RegionShape(str, enum.Enum):
    """Shapes of sky regions."""

    CIRCLE = "circle"
    ANNULUS = "annulus"


def to_frame(lon: ArrayLike, lat: ArrayLike, frame: str, to: str) -> tuple[Any, Any]:
    """Coordinates (deg) transformed from `frame` into `to` (astropy frame names)."""
    lon_a, lat_a = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    if frame == to:
        return lon_a, lat_a
    from astropy.coordinates import SkyCoord

    c = SkyCoord(lon_a, lat_a, unit="deg", frame=frame).transform_to(to)
    sph = c.spherical
    return np.asarray(sph.lon.deg), np.asarray(sph.lat.deg)


def _pixel_scale(wcs: Any, lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any, Any]:
    """Pixel position of (lon, lat) (deg) and the pixel scale (deg/pix) there, measured as
    ``regions`` does: towards a point 1 arcsec to the north (vectorised)."""
    import astropy.units as u
    from astropy.coordinates import offset_by

    lon_a, lat_a = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    x, y = wcs.wcs_world2pix(lon_a, lat_a, 0)
    lon_o, lat_o = offset_by(lon_a * u.deg, lat_a * u.deg, 0.0 * u.deg, 1 * u.arcsec)
    xo, yo = wcs.wcs_world2pix(lon_o.to_value(u.deg), lat_o.to_value(u.deg), 0)
    scale_arcsec = 1.0 / np.hypot(xo - x, yo - y)
    return x, y, scale_arcsec / 3600.0


@dataclass(frozen=True)
class PixelRegion:
    """A region on a pixel grid: centre (x, y) and radii in pixels (inner 0 for a circle)."""

    x: float
    y: float
    radius: float
    inner: float = 0.0

    def contains(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.bool_]:
        """True for pixel positions strictly inside (outside the inner radius)."""
        d = np.hypot(np.asarray(x, np.float64) - self.x, np.asarray(y, np.float64) - self.y)
        inside = d < self.radius
        return inside & ~(d < self.inner) if self.inner > 0 else inside

    def rotate(self, cx: float, cy: float, angle: float) -> PixelRegion:
        """Rotated counter-clockwise by `angle` (rad) about (cx, cy)."""
        dx, dy = self.x - cx, self.y - cy
        c, s = np.cos(angle), np.sin(angle)
        return replace(self, x=float(c * dx - s * dy + cx), y=float(s * dx + c * dy + cy))


@dataclass(frozen=True)
class SkyRegion:
    """A circle or annulus on the sky: centre (deg) in `frame`, radii (deg)."""

    lon: float
    lat: float
    radius: float
    inner: float = 0.0
    frame: str = "icrs"

    def __post_init__(self) -> None:
        if not (self.radius > 0 and 0 <= self.inner < self.radius):
            raise ConfigError(
                f"region radii must satisfy 0 <= inner < radius, got {self.inner}, {self.radius}",
                obj="region",
            )

    @property
    def shape(self) -> RegionShape:
        """Circle or annulus."""
        return RegionShape.ANNULUS if self.inner > 0 else RegionShape.CIRCLE

    def to_pixel(self, wcs: Any) -> PixelRegion:
        """The region on the pixel grid of `wcs` (radii by the local pixel scale)."""
        x, y, scale = (float(v) for v in _pixel_scale(wcs, self.lon, self.lat))
        return PixelRegion(x, y, self.radius / scale, self.inner / scale)

    @classmethod
    def from_pixel(cls, region: PixelRegion, wcs: Any, frame: str) -> SkyRegion:
        """The sky region of a pixel region of `wcs` (gammapy's ``to_sky``)."""
        lon, lat = wcs.wcs_pix2world(region.x, region.y, 0)
        scale = float(_pixel_scale(wcs, lon, lat)[2])
        return cls(float(lon), float(lat), region.radius * scale, region.inner * scale, frame)

    def contains(
        self, lon: ArrayLike, lat: ArrayLike, wcs: Any | None = None, frame: str = "icrs"
    ) -> NDArray[np.bool_]:
        """True for sky positions (deg, in `frame`) inside the region.

        With `wcs`, the test is done on its pixel grid (gammapy's rule); else on the sphere.
        """
        lon_r, lat_r = to_frame(lon, lat, frame, self.frame)
        if wcs is None:
            from tierflow.sky._geom import angular_separation

            d = np.degrees(
                angular_separation(
                    np.radians(self.lon), np.radians(self.lat), np.radians(lon_r), np.radians(lat_r)
                )
            )
            inside = d < self.radius
            return np.asarray(inside & ~(d < self.inner) if self.inner > 0 else inside)
        x, y = wcs.wcs_world2pix(lon_r, lat_r, 0)
        return self.to_pixel(wcs).contains(x, y)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return {
            "shape": self.shape.value,
            "lon": self.lon,
            "lat": self.lat,
            "radius": self.radius,
            "inner": self.inner,
            "frame": self.frame,
        }


def CircleRegion(lon: float, lat: float, radius: float, frame: str = "icrs") -> SkyRegion:  # noqa: N802
    """A circle of `radius` deg around (lon, lat) in `frame`.

    Examples
    --------
    >>> CircleRegion(83.633, 22.014, 0.11).shape.value
    'circle'
    """
    return SkyRegion(lon, lat, radius, 0.0, frame)


def AnnulusRegion(  # noqa: N802
    lon: float, lat: float, inner: float, outer: float, frame: str = "icrs"
) -> SkyRegion:
    """An annulus between `inner` and `outer` deg around (lon, lat) in `frame`."""
    return SkyRegion(lon, lat, outer, inner, frame)


def make_region_wcs(region: SkyRegion, binsz: float = 0.1) -> Any:
    """The TAN WCS of a region geometry (gammapy ``RegionGeom``: centred on the region)."""
    npix = 2 * int(np.ceil(region.radius / binsz + 0.5))
    geom = WcsGeom.create((region.lon, region.lat), binsz, npix * binsz, region.frame, "TAN")
    return geom.wcs


def _excluded_pixels(
    ref: WcsGeom, exclusion: NDArray[np.bool_] | None, exclusion_geom: WcsGeom | None, frame: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if exclusion is None or exclusion_geom is None:
        return np.zeros(0), np.zeros(0)
    lon, lat = ref.lonlat
    lon, lat = to_frame(lon, lat, frame, exclusion_geom.frame)
    iy, ix = exclusion_geom.to_image().coord_to_idx(lon, lat)
    inside = (iy >= 0) & (ix >= 0)
    usable = np.ones(iy.shape, dtype=bool)
    usable[inside] = exclusion[iy[inside], ix[inside]]
    y, x = np.nonzero(~usable)
    return x.astype(np.float64), y.astype(np.float64)


def _angular_size(region: PixelRegion, npix: tuple[int, int], cx: float, cy: float) -> float:
    y, x = np.mgrid[0 : npix[1], 0 : npix[0]]
    inside = region.contains(x, y)
    angles = np.arctan2(cx - x[inside], cy - y[inside])
    size = float(np.max(angles) - np.min(angles))
    if size > np.pi:
        wrapped = np.mod(angles, 2 * np.pi)
        size = float(np.max(wrapped) - np.min(wrapped))
    return size


def find_reflected_regions(
    region: SkyRegion,
    center: tuple[float, float],
    exclusion: NDArray[np.bool_] | None = None,
    exclusion_geom: WcsGeom | None = None,
    *,
    angle_increment: float = 0.1,
    min_distance: float = 0.0,
    min_distance_input: float = 0.1,
    max_region_number: int = 10000,
    binsz: float = 0.01,
    center_frame: str = "icrs",
) -> tuple[list[SkyRegion], Any]:
    """OFF regions: `region` rotated about `center` (deg), avoiding excluded pixels.

    Parameters
    ----------
    region
        The ON region.
    center
        Rotation centre, usually the pointing, in `center_frame`.
    exclusion, exclusion_geom
        Image mask (True = usable) and its geometry; looked up per pixel of the finder grid.
    angle_increment, min_distance, min_distance_input
        Rotation step after a rejected position, extra gap between OFF regions, gap between
        the ON region and the first and last OFF region (rad).
    max_region_number
        Stop after this many regions.
    binsz
        Pixel size (deg) of the finder's TAN grid.

    Returns
    -------
    list of SkyRegion, astropy.wcs.WCS
        The regions and the grid's WCS (their containment is tested on it).
    """
    if angle_increment <= 0:
        raise ConfigError("angle_increment must be positive", obj="angle_increment")
    clon, clat = to_frame(center[0], center[1], center_frame, region.frame)
    from tierflow.sky._geom import angular_separation

    sep = float(
        np.degrees(
            angular_separation(*np.radians([region.lon, region.lat, float(clon), float(clat)]))
        )
    )
    ref = WcsGeom.create((float(clon), float(clat)), binsz, 4 * sep + 0.3, region.frame, "TAN")
    cx, cy = (float(v) for v in ref.wcs.wcs_world2pix(float(clon), float(clat), 0))
    on_pix = region.to_pixel(ref.wcs)
    if on_pix.contains(cx, cy):
        return [], ref.wcs
    ex, ey = _excluded_pixels(ref, exclusion, exclusion_geom, region.frame)
    angle_min = _angular_size(on_pix, ref.npix, cx, cy) + min_distance
    angle_max = 2 * np.pi - angle_min - min_distance_input
    angle = angle_min + min_distance_input
    regions: list[SkyRegion] = []
    while angle < angle_max:
        test = on_pix.rotate(cx, cy, angle)
        if not np.any(test.contains(ex, ey)):
            regions.append(SkyRegion.from_pixel(test, ref.wcs, region.frame))
            if len(regions) >= max_region_number:
                break
            angle += angle_min
        else:
            angle += angle_increment
    return regions, ref.wcs
