"""Per-observation map datasets, safe masks, FoV normalisation, ring background and stacking.

A :class:`MapDataset` holds one observation reduced on its cutout of the mosaic geometry and
the slice of the mosaic it covers; :class:`MapStack` and :class:`OnOffStack` add datasets into
the mosaic. The functions follow gammapy's ``MapDatasetMaker``, ``SafeMaskMaker``,
``FoVBackgroundMaker``, ``RingBackgroundMaker``, ``MapDataset(OnOff).stack`` and
``ExcessMapEstimator``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import ConfigError
from tierflow.sky._axis import Axis
from tierflow.sky._dl3 import Observation
from tierflow.sky._geom import WcsGeom
from tierflow.sky._makers import (
    make_edisp_kernel_map,
    make_map_background_fov,
    make_map_background_irf,
    make_map_counts,
    make_map_exposure_true_energy,
    make_mask_safe_aeff_max,
    make_mask_safe_aeff_max_dl4,
    make_mask_safe_bkg_peak,
    make_mask_safe_edisp_bias,
    make_mask_safe_offset_max,
    make_psf_map,
)
from tierflow.sky._stats import (
    convolve,
    make_ring_kernel,
    make_tophat_kernel,
    sqrt_ts_cash,
    sqrt_ts_wstat,
)

__all__ = [
    "MapDataset",
    "MapStack",
    "OnOffStack",
    "SafeMethod",
    "Selection",
    "dataset_to_image",
    "make_excess_maps_cash",
    "make_excess_maps_onoff",
    "make_map_dataset",
    "make_map_ring_background",
    "make_mask_safe",
    "reproject_mask",
    "scale_background_fov",
]

FArray = NDArray[np.float64]


class Selection(str, enum.Enum):
    """What :func:`make_map_dataset` computes."""

    COUNTS = "counts"
    EXPOSURE = "exposure"
    BACKGROUND = "background"
    PSF = "psf"
    EDISP = "edisp"


class SafeMethod(str, enum.Enum):
    """Safe-mask methods of :func:`make_mask_safe`."""

    OFFSET_MAX = "offset-max"
    AEFF_MAX = "aeff-max"
    AEFF_MAX_DL3 = "aeff-max-dl3"
    EDISP_BIAS = "edisp-bias"
    BKG_PEAK = "bkg-peak"


@dataclass
class MapDataset:
    """One observation reduced onto a cutout of the mosaic.

    ``counts``, ``background`` and ``mask_safe`` are ``(energy, y, x)``; ``exposure`` is
    ``(energy_true, y, x)``; ``psf`` is ``(energy_true, rad, y', x')`` and ``edisp``
    ``(energy_true, energy, y', x')`` on the coarse IRF grid ``irf_geom``.
    """

    name: str
    geom: WcsGeom
    slices: tuple[slice, slice]
    energy_axis_true: Axis
    counts: NDArray[np.float32] | None = None
    exposure: FArray | None = None
    background: FArray | None = None
    mask_safe: NDArray[np.bool_] | None = None
    psf: FArray | None = None
    psf_exposure: FArray | None = None
    edisp: FArray | None = None
    edisp_exposure: FArray | None = None
    irf_geom: WcsGeom | None = None
    livetime: float = 0.0
    ontime: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def mask_image(self) -> NDArray[np.bool_]:
        """Pixels safe in at least one energy bin."""
        return np.asarray(self._mask().any(axis=0), dtype=bool)

    def _mask(self) -> NDArray[np.bool_]:
        if self.mask_safe is None:
            return np.ones(self.geom.data_shape, dtype=bool)
        return self.mask_safe


def make_map_dataset(
    obs: Observation,
    geom: WcsGeom,
    energy_axis_true: Axis,
    *,
    width: float = 5.0,
    selection: Sequence[Selection | str] = tuple(Selection),
    irf_binsz: float = 0.2,
    rad_axis: Axis | None = None,
) -> MapDataset:
    """Reduce `obs` onto its `width`-deg cutout of `geom` (gammapy's ``MapDatasetMaker``).

    Parameters
    ----------
    obs
        The observation; each of its HDUs is read once.
    geom
        Mosaic geometry with the reco ``energy`` axis.
    energy_axis_true
        True-energy axis of exposure, PSF and energy dispersion.
    width
        Cutout width around the pointing (deg); the cutout is trimmed to `geom`.
    selection
        Maps to compute.
    irf_binsz
        Pixel size of the PSF / EDISP grid (deg).
    rad_axis
        PSF ``rad`` axis; 0-0.66 deg in 66 bins by default.
    """
    chosen = {Selection(s) for s in selection}
    pointing = obs.pointing_radec
    cut, slices = geom.cutout(*pointing, width)
    ds = MapDataset(f"obs-{obs.obs_id}", cut, slices, energy_axis_true)
    ds.livetime, ds.ontime = obs.livetime, obs.ontime
    ds.meta = {"obs_id": obs.obs_id, "pointing": pointing}
    if "gti" in obs.hdus:
        ds.meta["gti"] = obs.gti
    true_geom = cut.to_cube([energy_axis_true])
    if Selection.COUNTS in chosen:
        ds.counts = make_map_counts(cut, obs.events)
    if Selection.EXPOSURE in chosen:
        ds.exposure = make_map_exposure_true_energy(pointing, obs.livetime, obs.aeff, true_geom)
    if Selection.BACKGROUND in chosen:
        bkg = obs.bkg_filled
        ds.background = make_map_background_irf(pointing, obs.ontime, bkg, cut)
    if chosen & {Selection.PSF, Selection.EDISP}:
        _add_irf_maps(ds, obs, geom.with_binsz(irf_binsz), chosen, width, rad_axis)
    ds.mask_safe = np.ones(cut.data_shape, dtype=bool)
    return ds


def _add_irf_maps(
    ds: MapDataset,
    obs: Observation,
    parent: WcsGeom,
    chosen: set[Selection],
    width: float,
    rad_axis: Axis | None,
) -> None:
    pointing = obs.pointing_radec
    irf_geom, irf_slices = parent.to_image().cutout(*pointing, width)
    ds.irf_geom = irf_geom
    ds.meta["irf_slices"] = irf_slices
    true_geom = irf_geom.to_cube([ds.energy_axis_true])
    exposure = make_map_exposure_true_energy(pointing, obs.livetime, obs.aeff, true_geom)
    if Selection.PSF in chosen:
        rad = rad_axis or Axis("rad", np.linspace(0, 0.66, 67), unit="deg")
        ds.meta["rad_axis"] = rad
        ds.psf = make_psf_map(obs.psf, pointing, irf_geom.to_cube([rad, ds.energy_axis_true]))
        ds.psf_exposure = exposure[:, None]
    if Selection.EDISP in chosen:
        energy = ds.geom.axis("energy")
        ds.edisp = make_edisp_kernel_map(obs.edisp, pointing, true_geom, energy)
        ds.edisp_exposure = exposure[:, None]


def make_mask_safe(
    ds: MapDataset,
    obs: Observation,
    methods: Sequence[SafeMethod | str] = (SafeMethod.OFFSET_MAX, SafeMethod.AEFF_MAX),
    *,
    offset_max: float = 2.5,
    aeff_percent: float = 10.0,
    bias_percent: float = 10.0,
) -> tuple[NDArray[np.bool_], dict[str, float]]:
    """Safe mask ``(energy, y, x)`` of `ds` (gammapy's ``SafeMaskMaker``, irfs="DL3").

    Returns the mask and the energy thresholds found (``aeff_energy_min_TeV``, ...).
    """
    mask = np.ones(ds.geom.data_shape, dtype=bool)
    info: dict[str, float] = {}
    for method in (SafeMethod(m) for m in methods):
        if method is SafeMethod.OFFSET_MAX:
            mask &= make_mask_safe_offset_max(ds.geom, obs.pointing_radec, offset_max)[None]
        elif method is SafeMethod.AEFF_MAX:
            if ds.exposure is None:
                raise ConfigError("aeff-max needs the exposure map", obj="aeff-max")
            e_min, emask = make_mask_safe_aeff_max_dl4(
                ds.exposure, ds.livetime, ds.geom, ds.energy_axis_true, aeff_percent
            )
            info["aeff_energy_min_TeV"] = e_min
            mask &= emask[:, None, None]
        elif method is SafeMethod.AEFF_MAX_DL3:
            e_min, emask = make_mask_safe_aeff_max(obs.aeff, ds.geom, aeff_percent)
            info["aeff_dl3_energy_min_TeV"] = e_min
            mask &= emask[:, None, None]
        elif method is SafeMethod.EDISP_BIAS:
            e_min, emask = make_mask_safe_edisp_bias(obs.edisp, ds.geom, bias_percent)
            info["edisp_bias_energy_min_TeV"] = e_min
            mask &= emask[:, None, None]
        elif method is SafeMethod.BKG_PEAK:
            if ds.background is None:
                raise ConfigError("bkg-peak needs the background map", obj="bkg-peak")
            mask &= make_mask_safe_bkg_peak(ds.background, ds.geom)[:, None, None]
    return mask, info


def reproject_mask(
    mask: NDArray[np.bool_], from_geom: WcsGeom, to_geom: WcsGeom
) -> NDArray[np.bool_]:
    """Nearest-pixel lookup of an image mask onto another geometry (outside → True).

    A cutout of `from_geom` has the same pixels: its part of the mask is sliced out directly.
    """
    slices = to_geom.slices_in(from_geom)
    if slices is not None:
        return np.array(mask[slices], dtype=bool)
    iy, ix = from_geom.coord_to_idx(*to_geom.lonlat)
    inside = (iy >= 0) & (ix >= 0)
    out = np.ones(iy.shape, dtype=bool)
    out[inside] = mask[iy[inside], ix[inside]]
    return out


def scale_background_fov(
    ds: MapDataset, exclusion: NDArray[np.bool_] | None = None
) -> tuple[float, MapDataset]:
    """FoV "scale" normalisation: one norm from the safe pixels outside `exclusion`.

    `exclusion` is an image on ``ds.geom`` (True = usable). Returns the norm and a copy of the
    dataset with its background multiplied by it.
    """
    if ds.counts is None or ds.background is None:
        raise ConfigError("FoV normalisation needs counts and background", obj=ds.name)
    mask = ds._mask() if exclusion is None else ds._mask() & exclusion[None]
    (norm,) = make_map_background_fov(ds.counts, ds.background, mask)
    return float(norm), replace(ds, background=ds.background * norm)


def dataset_to_image(ds: MapDataset) -> MapDataset:
    """Sum counts and background over the safe energy bins into one bin."""
    mask = ds._mask()
    energy = ds.geom.axis("energy").squash()
    geom = ds.geom.to_cube([energy])
    counts = None if ds.counts is None else (ds.counts * mask).sum(axis=0, keepdims=True)
    bkg = None if ds.background is None else (ds.background * mask).sum(axis=0, keepdims=True)
    image_mask = np.asarray(mask.any(axis=0), dtype=bool)[None]
    return replace(ds, geom=geom, counts=counts, background=bkg, mask_safe=image_mask)


def make_map_ring_background(
    ds: MapDataset, exclusion: NDArray[np.bool_] | None, r_in: float, width: float
) -> dict[str, NDArray[Any]]:
    """Ring background of an image dataset: OFF counts and OFF acceptance.

    Counts and background outside `exclusion` (image, True = usable) are convolved with a ring
    of inner radius `r_in` and `width` (deg). Returns ``counts``, ``counts_off``,
    ``acceptance`` (the background), ``acceptance_off`` and ``mask_safe`` (image; pixels
    without OFF acceptance removed), all 2-D.
    """
    if ds.counts is None or ds.background is None:
        raise ConfigError("ring background needs counts and background", obj=ds.name)
    binsz = ds.geom.binsz
    kernel = make_ring_kernel(r_in / binsz, width / binsz)
    keep = np.ones(ds.geom.data_shape[-2:], bool) if exclusion is None else exclusion
    counts, bkg = ds.counts.sum(axis=0), ds.background.sum(axis=0)
    counts_off = convolve(counts * keep, kernel).astype(np.float32)
    acceptance_off = convolve(bkg * keep, kernel).astype(np.float32)
    mask = ds._mask().any(axis=0) & ~(acceptance_off <= 0)
    return {
        "counts": counts,
        "counts_off": counts_off,
        "acceptance": bkg,
        "acceptance_off": acceptance_off,
        "mask_safe": mask,
    }


class MapStack:
    """Mosaic accumulator of map datasets (gammapy's ``MapDataset.stack``).

    Counts and background are added where the run's safe mask is True, exposure where its
    image mask is True; the stacked mask is the OR.

    Examples
    --------
    >>> stack = MapStack(WcsGeom.create((0, 0), 0.1, 1, axes=[Axis.from_energy_bounds(1, 10, 2)]),
    ...                  Axis.from_energy_bounds(0.5, 20, 4, "energy_true"))
    >>> stack.counts.shape
    (2, 10, 10)
    """

    def __init__(self, geom: WcsGeom, energy_axis_true: Axis) -> None:
        self.geom = geom
        shape = geom.data_shape
        self.counts = np.zeros(shape, np.float64)
        self.background = np.zeros(shape, np.float64)
        self.exposure = np.zeros((energy_axis_true.nbin, *shape[1:]), np.float64)
        self.mask_safe = np.zeros(shape, bool)
        self.livetime = 0.0
        self.ontime = 0.0
        self.n_datasets = 0

    def add(self, ds: MapDataset) -> None:
        """Add one dataset at its slice of the mosaic."""
        sy, sx = ds.slices
        mask = ds._mask()
        for total, values, where in (
            (self.counts, ds.counts, mask),
            (self.background, ds.background, mask),
            (self.exposure, ds.exposure, mask.any(axis=0)),
        ):
            if values is not None:
                view = total[:, sy, sx]  # in place on the view: no copy back into the mosaic
                view += values * where
        self.mask_safe[:, sy, sx] |= mask
        self.livetime += ds.livetime
        self.ontime += ds.ontime
        self.n_datasets += 1


class OnOffStack:
    """Mosaic accumulator of ring-background images (alpha-weighted, gammapy's
    ``MapDatasetOnOff.stack``): alpha_stacked = sum(alpha_i OFF_i) / sum(OFF_i)."""

    def __init__(self, geom: WcsGeom) -> None:
        shape = geom.data_shape[-2:]
        self.geom = geom.to_image()
        self.counts = np.zeros(shape)
        self.counts_off = np.zeros(shape)
        self.acceptance = np.zeros(shape)
        self._alpha_off = np.zeros(shape)
        self.mask_safe = np.zeros(shape, bool)

    def add(self, onoff: dict[str, NDArray[Any]], slices: tuple[slice, slice]) -> None:
        """Add the output of :func:`make_map_ring_background` at `slices` of the mosaic."""
        sy, sx = slices
        mask = onoff["mask_safe"]
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = onoff["acceptance"] / onoff["acceptance_off"]
        self.counts[sy, sx] += onoff["counts"] * mask
        self.counts_off[sy, sx] += onoff["counts_off"] * mask
        self.acceptance[sy, sx] += onoff["acceptance"] * mask
        self._alpha_off[sy, sx] += np.nan_to_num(alpha * onoff["counts_off"]) * mask
        self.mask_safe[sy, sx] |= mask

    @property
    def acceptance_off(self) -> FArray:
        """OFF acceptance giving the alpha-weighted mean of the runs' alphas."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.acceptance * self.counts_off / self._alpha_off
            average = self._alpha_off.sum() / self.counts_off.sum()
        zero = self.counts_off == 0
        out[zero] = self.acceptance[zero] / average
        return out

    @property
    def alpha(self) -> FArray:
        """ACCEPTANCE / ACCEPTANCE_OFF."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.acceptance / self.acceptance_off


def make_excess_maps_onoff(
    counts: FArray,
    counts_off: FArray,
    acceptance: FArray,
    acceptance_off: FArray,
    mask: NDArray[np.bool_],
    radius: float,
) -> dict[str, FArray]:
    """Correlated ON/OFF excess and WStat (Li & Ma) significance within `radius` pixels.

    Returns images ``counts``, ``npred_background``, ``npred_excess``, ``sqrt_ts``; NaN outside
    `mask`.
    """
    kernel = make_tophat_kernel(radius)
    n_on = np.rint(convolve(counts * mask, kernel))
    with np.errstate(invalid="ignore", divide="ignore"):
        background = acceptance / acceptance_off * counts_off
    background = np.where(acceptance_off == 0, 0.0, background * mask)
    n_off = convolve(counts_off * mask, kernel)
    bkg_conv = convolve(np.nan_to_num(background), kernel)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = bkg_conv / n_off
        out = {
            "counts": n_on,
            "npred_background": alpha * n_off,
            "npred_excess": n_on - alpha * n_off,
            "sqrt_ts": sqrt_ts_wstat(n_on, n_off, alpha),
        }
    return {k: np.where(mask, v, np.nan) for k, v in out.items()}


def make_excess_maps_cash(
    counts: FArray, background: FArray, mask: NDArray[np.bool_], radius: float
) -> dict[str, FArray]:
    """Correlated excess and Cash significance over a known background (images)."""
    kernel = make_tophat_kernel(radius)
    n_on = np.rint(convolve(counts * mask, kernel))
    bkg_conv = convolve(background * mask, kernel)
    out = {
        "counts": n_on,
        "npred_background": bkg_conv,
        "npred_excess": n_on - bkg_conv,
        "sqrt_ts": sqrt_ts_cash(n_on, bkg_conv),
    }
    return {k: np.where(mask, v, np.nan) for k, v in out.items()}
