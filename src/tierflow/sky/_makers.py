"""``make_map_*`` functions: one observation onto one geometry, as plain numpy arrays.

Every maker takes what it needs (pointing, times, one IRF, a geometry) rather than a whole
observation, so it can be tested on synthetic IRFs and reused by the dataset makers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import ConfigError
from tierflow.sky._axis import Axis
from tierflow.sky._dl3 import EventList
from tierflow.sky._geom import WcsGeom
from tierflow.sky._interp import log_scale
from tierflow.sky._irf import (
    IRF,
    Background2D,
    Background3D,
    FoVAlignment,
    _ParametricPSF,
    unit_factor,
)

__all__ = [
    "fov_coordinates",
    "make_edisp_kernel_map",
    "make_edisp_kernels",
    "make_map_background_fov",
    "make_map_background_irf",
    "make_map_counts",
    "make_map_exposure_reco_energy",
    "make_map_exposure_true_energy",
    "make_mask_safe_aeff_max",
    "make_mask_safe_aeff_max_dl4",
    "make_mask_safe_bkg_peak",
    "make_mask_safe_edisp_bias",
    "make_mask_safe_offset_max",
    "make_psf_map",
    "trapz_loglog",
]

Pointing = tuple[float, float]


def make_map_counts(geom: WcsGeom, events: EventList) -> NDArray[np.float32]:
    """Histogram the events on `geom` (spatial pixels x reco ``energy`` axis).

    Examples
    --------
    >>> geom = WcsGeom.create((0.0, 0.0), 0.1, 1.0, axes=[Axis.from_energy_bounds(1, 10, 1)])
    >>> ev = EventList(np.array([0.0]), np.array([0.0]), np.array([2.0]), np.array([0.0]))
    >>> float(make_map_counts(geom, ev).sum())
    1.0
    """
    iy, ix = geom.coord_to_idx(events.ra, events.dec)
    ie = geom.axis("energy").coord_to_idx(events.energy)
    ok = (iy >= 0) & (ix >= 0) & (ie >= 0)
    shape = geom.data_shape
    flat = np.ravel_multi_index((ie[ok], iy[ok], ix[ok]), shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.float32)


def _offsets(geom: WcsGeom, pointing: Pointing) -> NDArray[np.float64]:
    """Pixel offsets (deg) from `pointing`, computed once per geometry and pointing."""
    return geom.separation(*pointing)


def make_map_exposure_true_energy(
    pointing: Pointing, livetime: float, aeff: IRF, geom: WcsGeom
) -> NDArray[np.float64]:
    """Exposure (m² s) at the ``energy_true`` bin centres and pixel centres.

    ``aeff(offset, energy_true) x livetime``, the offset measured from `pointing` (deg).
    """
    energy = geom.axis("energy_true").center
    values = aeff.evaluate({"energy_true": energy}, {"offset": _offsets(geom, pointing)})
    factor = 1.0 if aeff.unit.strip() in ("m2", "m^2") else unit_factor(aeff.unit, "m2")
    return values * (livetime * factor) if factor != 1.0 else values * livetime


def make_map_exposure_reco_energy(
    exposure: NDArray[np.float64], kernel: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Exposure folded with an energy-dispersion kernel onto reco energy.

    `exposure` is ``(n_true, ny, nx)``; `kernel` is ``(n_true, n_reco)`` or a kernel map
    ``(n_true, n_reco, ny, nx)`` on the same pixels.
    """
    if kernel.ndim == 2:
        return np.einsum("tyx,tr->ryx", exposure, kernel)  # type: ignore[no-any-return]
    return np.einsum("tyx,tryx->ryx", exposure, kernel)  # type: ignore[no-any-return]


def fov_coordinates(
    lon: NDArray[np.float64], lat: NDArray[np.float64], pointing: Pointing
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Field-of-view (lon, lat) in deg of sky positions, in gammapy's ICRS-aligned FoV frame.

    The frame is centred on `pointing`; its longitude grows towards decreasing RA.
    """
    ra, dec = np.radians(lon), np.radians(lat)
    lon0, lat0 = np.radians(pointing[0]), np.radians(pointing[1])
    cd = np.cos(dec)
    x1, y1, z1 = cd * np.cos(ra - lon0), cd * np.sin(ra - lon0), np.sin(dec)
    x2 = np.cos(lat0) * x1 + np.sin(lat0) * z1
    z2 = -np.sin(lat0) * x1 + np.cos(lat0) * z1
    y2 = -y1
    fov_lon = np.degrees(np.arctan2(y2, x2))
    fov_lat = np.degrees(np.arctan2(z2, np.hypot(x2, y2)))
    return fov_lon, fov_lat


def trapz_loglog(
    values: NDArray[np.float64], x: NDArray[np.float64], axis: int = 0
) -> NDArray[np.float64]:
    """Integrate `values` over `x` along `axis`, each interval as a power law (log-log)."""
    v = np.moveaxis(values, axis, 0)
    shape = (-1,) + (1,) * (v.ndim - 1)
    e_lo, e_hi = x[:-1].reshape(shape), x[1:].reshape(shape)
    v_lo, v_hi = v[:-1], v[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        index = -log_scale(v_lo / v_hi) / log_scale(e_lo / e_hi)
    index = np.where(np.isnan(index), np.inf, index)
    val = 1.0 - index
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        integral = v_lo * e_lo / val * (np.power(e_hi / e_lo, val) - 1.0)
    flat = np.isclose(val, 0)
    if np.any(flat):
        integral = np.where(flat, v_lo * e_lo * np.log(e_hi / e_lo), integral)
    return np.moveaxis(integral, 0, axis)


def make_map_background_irf(
    pointing: Pointing, ontime: float, bkg: IRF, geom: WcsGeom
) -> NDArray[np.float64]:
    """Predicted background counts per reco-energy bin and pixel.

    The rate is evaluated at the bin edges, integrated log-log over each bin, multiplied by the
    pixel solid angle and `ontime` (s, not dead-time corrected).
    """
    edges = geom.axis("energy").edges
    if isinstance(bkg, Background2D):
        rate = bkg.evaluate({"energy": edges}, {"offset": _offsets(geom, pointing)})
    elif isinstance(bkg, Background3D):
        if bkg.fov_alignment is FoVAlignment.ALTAZ:
            raise ConfigError(
                "ALTAZ-aligned background needs the pointing's alt/az over time; "
                "only RADEC-aligned backgrounds are supported",
                obj="FOVALIGN",
            )
        lon, lat = fov_coordinates(*geom.lonlat, pointing)
        if bkg.fov_alignment is FoVAlignment.REVERSE_LON_RADEC:
            lon = -lon
        rate = bkg.evaluate({"energy": edges}, {"fov_lon": lon, "fov_lat": lat})
    else:
        raise ConfigError(f"not a background IRF: {type(bkg).__name__}")
    integral = trapz_loglog(rate, edges, axis=0)
    factor = unit_factor(bkg.unit, "TeV-1 s-1 sr-1")
    return integral * geom.solid_angle * ontime * factor


def _normalize_cumsum(
    values: NDArray[np.float64], axis: Axis, along: int, jacobian: bool
) -> NDArray[np.float64]:
    width = axis.bin_width.reshape((-1,) + (1,) * (values.ndim - along - 1))
    terms = values * width
    if jacobian:
        terms = 2 * np.pi * axis.center.reshape(width.shape) * terms
    total = np.maximum(np.cumsum(terms, axis=along).max(axis=along, keepdims=True), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.nan_to_num(values / total), dtype=np.float64)


def make_psf_map(psf: Any, pointing: Pointing, geom: WcsGeom) -> NDArray[np.float64]:
    """PSF map ``(energy_true, rad, y, x)`` in deg⁻², normalised so each profile integrates to 1.

    `geom` carries the ``rad`` and ``energy_true`` axes (usually a coarse 0.2° grid).
    """
    rad_axis, energy = geom.axis("rad"), geom.axis("energy_true").center
    offsets = _offsets(geom, pointing)
    if isinstance(psf, _ParametricPSF):
        values = psf.evaluate_rad(energy, rad_axis.center, offsets)
    else:
        values = psf.evaluate({"energy_true": energy, "rad": rad_axis.center}, {"offset": offsets})
    return _normalize_cumsum(values, rad_axis, along=1, jacobian=True)


def make_edisp_kernel_map(
    edisp: IRF, pointing: Pointing, geom: WcsGeom, energy_axis: Axis, threshold: float = 1e-8
) -> NDArray[np.float64]:
    """Energy-dispersion kernels ``(energy_true, energy, y, x)`` per pixel of `geom`.

    The migration density is evaluated on the IRF's own migra axis, normalised, accumulated
    and differenced between reco-energy edges over each true-energy centre.
    """
    e_true = geom.axis("energy_true").center
    return make_edisp_kernels(edisp, _offsets(geom, pointing), e_true, energy_axis, threshold)


def make_edisp_kernels(
    edisp: IRF,
    offsets: NDArray[np.float64],
    energy_true: NDArray[np.float64],
    energy_axis: Axis,
    threshold: float = 1e-8,
) -> NDArray[np.float64]:
    """Energy-dispersion kernels ``(energy_true, energy) + offsets.shape`` at given offsets.

    Parameters
    ----------
    edisp
        The migration IRF (``energy_true``, ``migra``, ``offset``).
    offsets
        Offsets (deg) from the pointing, any shape (a map's pixels, or one region centre).
    energy_true
        True energies (TeV) of the kernel rows.
    energy_axis
        Reco-energy axis of the kernel columns.
    threshold
        Kernel values below it are set to 0 (gammapy's default 1e-8).

    Examples
    --------
    >>> kernel = make_edisp_kernels(edisp, np.array([0.5]), e_true, energy)  # doctest: +SKIP
    """
    from tierflow.sky._edisp import edisp_kernels

    out = edisp_kernels(
        edisp, np.asarray(offsets, dtype=np.float64), energy_true, energy_axis.edges
    )
    out[out < threshold] = 0
    return out


def make_mask_safe_offset_max(
    geom: WcsGeom, pointing: Pointing, offset_max: float
) -> NDArray[np.bool_]:
    """Image mask: pixel centres closer than `offset_max` deg to the pointing (strict)."""
    return geom.separation(*pointing) < offset_max


def make_mask_safe_aeff_max(
    aeff: IRF, geom: WcsGeom, aeff_percent: float, offset: float = 0.0
) -> tuple[float, NDArray[np.bool_]]:
    """Lowest true-energy edge where aeff exceeds `aeff_percent` % of its maximum, and the
    resulting reco-energy bin mask (a bin is kept only if it lies fully above)."""
    edges = aeff.axis("energy_true").edges
    values = aeff.evaluate({"energy_true": edges}, {"offset": np.array([offset])})[:, 0]
    energy_min = float(np.min(edges[values > aeff_percent * np.max(values) / 100]))
    return energy_min, geom.energy_mask(energy_min=energy_min)


def make_mask_safe_aeff_max_dl4(
    exposure: NDArray[np.float64],
    livetime: float,
    geom: WcsGeom,
    energy_axis_true: Axis,
    aeff_percent: float,
) -> tuple[float, NDArray[np.bool_]]:
    """Energy threshold from the exposure at the geometry centre (gammapy's default, "DL4").

    The effective-area spectrum (exposure / livetime at the centre pixel) is interpolated
    log-log over the true-energy centres; the threshold is the first energy where it reaches
    `aeff_percent` % of its maximum (the first positive energy if it never crosses).
    """
    lon, lat = geom.center_lonlat
    px, py = geom.wcs.wcs_world2pix(lon, lat, 0)
    ix, iy = (int(np.floor(p)) + (1 if p - np.floor(p) > 0.5 else 0) for p in (px, py))
    aeff = exposure[:, iy, ix] / livetime
    energy = energy_axis_true.center
    positive = np.nonzero(aeff > 0)[0]
    if positive.size == 0:
        return float("nan"), np.zeros(geom.axis("energy").nbin, dtype=bool)
    energy_min = float(energy[positive[0]])
    threshold = aeff_percent / 100 * aeff.max()
    log_e, log_a = np.log(energy), log_scale(aeff)
    for k in range(positive[0], energy.size - 1):
        if aeff[k] < threshold <= aeff[k + 1]:
            t = (np.log(threshold) - log_a[k]) / (log_a[k + 1] - log_a[k])
            energy_min = float(np.exp(log_e[k] + t * (log_e[k + 1] - log_e[k])))
            break
    return energy_min, geom.energy_mask(energy_min=energy_min)


def make_mask_safe_edisp_bias(
    edisp: IRF, geom: WcsGeom, bias_percent: float, offset: float = 0.0
) -> tuple[float, NDArray[np.bool_]]:
    """Lowest true energy above which the energy bias |E_reco/E_true - 1| stays within
    `bias_percent` %, and the reco-energy bin mask."""
    migra, e_axis = edisp.axis("migra"), edisp.axis("energy_true")
    dens = edisp.evaluate(
        {"energy_true": e_axis.center, "migra": migra.center}, {"offset": np.array([offset])}
    )[:, :, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (dens * migra.center * migra.bin_width).sum(1) / (dens * migra.bin_width).sum(1)
    bad = ~(np.abs(mean - 1) <= bias_percent / 100)
    last_bad = np.nonzero(bad)[0]
    k = 0 if last_bad.size == 0 else min(int(last_bad.max()) + 1, e_axis.nbin - 1)
    energy_min = float(e_axis.edges[k])
    return energy_min, geom.energy_mask(energy_min=energy_min)


def make_mask_safe_bkg_peak(background: NDArray[np.float64], geom: WcsGeom) -> NDArray[np.bool_]:
    """Reco-energy bin mask keeping bins from the peak of the background spectrum upwards."""
    spectrum = background.reshape(background.shape[0], -1).sum(axis=1)
    mask = np.zeros(spectrum.size, dtype=bool)
    mask[int(np.argmax(spectrum)) :] = True
    return mask


def make_map_background_fov(
    counts: NDArray[np.floating],
    background: NDArray[np.floating],
    mask: NDArray[np.bool_],
    energy_groups: list[slice] | None = None,
) -> NDArray[np.float64]:
    """FoV normalisation ("scale"): Σcounts / Σbackground over `mask`, per energy group.

    Returns one norm per group (one group spanning every bin when `energy_groups` is None);
    a group with no background in the mask gets norm 1.

    Examples
    --------
    >>> c = np.ones((2, 3, 3)); b = np.full((2, 3, 3), 0.5); m = np.ones((2, 3, 3), bool)
    >>> make_map_background_fov(c, b, m)
    array([2.])
    """
    groups = energy_groups or [slice(None)]
    norms = np.ones(len(groups))
    for k, g in enumerate(groups):
        mk = mask[g]
        n_on = float(np.sum(counts[g][mk], dtype=np.float64))
        n_bkg = float(np.sum(background[g][mk], dtype=np.float64))
        if n_bkg > 0:
            norms[k] = n_on / n_bkg
    return norms
