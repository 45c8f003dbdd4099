"""1-D spectra: ON counts in a sky region, OFF counts in reflected regions, exposure and
energy dispersion at the region centre; safe energy range; stacking (gammapy's
``SpectrumDatasetMaker`` + ``ReflectedRegionsBackgroundMaker`` + ``SafeMaskMaker`` +
``Datasets.stack_reduce``).

Example
-------
>>> on = CircleRegion(83.633, 22.014, 0.11)                                  # doctest: +SKIP
>>> ds = make_spectrum_dataset(obs, on, energy, energy_true)                 # doctest: +SKIP
>>> ds = make_reflected_background(ds, obs, exclusion, geom)                 # doctest: +SKIP
>>> ds = replace(ds, mask_safe=make_mask_safe_spectrum(ds, obs))            # doctest: +SKIP
>>> stack_spectra([ds, ...]).info()["sqrt_ts"]                               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import ConfigError
from tierflow.sky._axis import Axis
from tierflow.sky._dataset import SafeMethod, Selection
from tierflow.sky._dl3 import Observation
from tierflow.sky._geom import WcsGeom, angular_separation
from tierflow.sky._irf import unit_factor
from tierflow.sky._makers import (
    make_edisp_kernels,
    make_mask_safe_aeff_max,
    make_mask_safe_edisp_bias,
)
from tierflow.sky._region import SkyRegion, find_reflected_regions, make_region_wcs, to_frame
from tierflow.sky._stats import sqrt_ts_wstat

__all__ = [
    "SpectrumDataset",
    "aeff_energy_threshold",
    "make_mask_safe_spectrum",
    "make_reflected_background",
    "make_spectrum_dataset",
    "reduce_spectra",
    "stack_spectra",
]

FArray = NDArray[np.float64]


@dataclass
class SpectrumDataset:
    """One region's spectrum: 1-D arrays over reco ``energy`` (counts, OFF counts,
    acceptances, safe mask) and true energy (exposure in m² s), and the kernel
    ``edisp[true, reco]``. ``counts_off`` is None before the background step."""

    name: str
    region: SkyRegion
    energy_axis: Axis
    energy_axis_true: Axis
    counts: FArray
    exposure: FArray | None = None
    edisp: FArray | None = None
    counts_off: FArray | None = None
    acceptance: FArray | None = None
    acceptance_off: FArray | None = None
    mask_safe: NDArray[np.bool_] | None = None
    livetime: float = 0.0
    ontime: float = 0.0
    gti: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    off_regions: list[SkyRegion] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def mask(self) -> NDArray[np.bool_]:
        """The safe mask, all True when unset."""
        if self.mask_safe is None:
            return np.ones(self.energy_axis.nbin, dtype=bool)
        return self.mask_safe

    @property
    def alpha(self) -> FArray:
        """ACCEPTANCE / ACCEPTANCE_OFF per bin (0 without OFF acceptance)."""
        if self.acceptance_off is None:
            return np.zeros(self.energy_axis.nbin)
        acc = np.ones(self.energy_axis.nbin) if self.acceptance is None else self.acceptance
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(acc / self.acceptance_off)

    @property
    def background(self) -> FArray:
        """alpha x OFF counts per bin."""
        off = np.zeros(self.energy_axis.nbin) if self.counts_off is None else self.counts_off
        return self.alpha * off

    def info(self) -> dict[str, float]:
        """Sums over the safe bins: counts, counts_off, alpha, background, excess, sqrt_ts
        (WStat), acceptance, livetime, ontime (gammapy's ``info_dict``)."""
        m = self.mask
        n_on = float(self.counts[m].sum())
        n_off = float(0.0 if self.counts_off is None else self.counts_off[m].sum())
        bkg = float(self.background[m].sum())
        alpha = bkg / n_off if n_off > 0 else float("nan")
        acc = float(m.sum() if self.acceptance is None else self.acceptance[m].sum())
        sqrt_ts = float(sqrt_ts_wstat(np.array(n_on), np.array(n_off), np.array(alpha)))
        return {
            "counts": n_on,
            "counts_off": n_off,
            "alpha": alpha,
            "background": bkg,
            "excess": n_on - bkg,
            "sqrt_ts": sqrt_ts,
            "acceptance": acc,
            "acceptance_off": acc / alpha if alpha > 0 else float("nan"),
            "n_off_regions": float(len(self.off_regions)),
            "livetime": self.livetime,
            "ontime": self.ontime,
        }


def _region_offset(region: SkyRegion, pointing: tuple[float, float]) -> float:
    lon, lat = to_frame(region.lon, region.lat, region.frame, "icrs")
    sep = angular_separation(*np.radians([float(lon), float(lat), pointing[0], pointing[1]]))
    return float(np.degrees(sep))


def _count_in(
    obs: Observation, regions: Sequence[SkyRegion], wcs: Any, energy_axis: Axis
) -> FArray:
    """Events (reco-energy histogram) inside the union of `regions`, tested on `wcs`."""
    ev = obs.events
    ie = energy_axis.coord_to_idx(ev.energy)
    keep = ie >= 0
    frame = regions[0].frame
    lon, lat = to_frame(ev.ra[keep], ev.dec[keep], "icrs", frame)
    x, y = wcs.wcs_world2pix(lon, lat, 0)
    inside = np.zeros(lon.shape, dtype=bool)
    for region in regions:
        inside |= region.to_pixel(wcs).contains(x, y)
    return np.bincount(ie[keep][inside], minlength=energy_axis.nbin).astype(np.float64)


def make_spectrum_dataset(
    obs: Observation,
    region: SkyRegion,
    energy_axis: Axis,
    energy_axis_true: Axis,
    selection: Sequence[Selection | str] = (Selection.COUNTS, Selection.EXPOSURE, Selection.EDISP),
) -> SpectrumDataset:
    """Counts in `region`, exposure and energy dispersion at its centre (gammapy's
    ``SpectrumDatasetMaker`` with ``use_region_center=True``, no containment correction).

    Parameters
    ----------
    obs
        The observation (its files are read once).
    region
        The ON region (circle or annulus, any frame).
    energy_axis, energy_axis_true
        Reco and true energy axes.
    selection
        ``counts``, ``exposure``, ``edisp``.
    """
    chosen = {Selection(s) for s in selection}
    unknown = chosen - {Selection.COUNTS, Selection.EXPOSURE, Selection.EDISP}
    if unknown:
        raise ConfigError(
            f"spectrum selection: {sorted(s.value for s in unknown)} not supported "
            "(counts, exposure, edisp)",
            obj="selection",
        )
    pointing = obs.pointing_radec
    ds = SpectrumDataset(
        f"obs-{obs.obs_id}",
        region,
        energy_axis,
        energy_axis_true,
        counts=np.zeros(energy_axis.nbin),
        livetime=obs.livetime,
        ontime=obs.ontime,
        meta={"obs_id": obs.obs_id, "pointing": pointing},
    )
    if "gti" in obs.hdus:
        ds.gti = (obs.gti.start.tolist(), obs.gti.stop.tolist())
    if Selection.COUNTS in chosen:
        ds.counts = _count_in(obs, [region], make_region_wcs(region), energy_axis)
    offset = np.array([_region_offset(region, pointing)])
    if Selection.EXPOSURE in chosen:
        aeff = obs.aeff
        values = aeff.evaluate({"energy_true": energy_axis_true.center}, {"offset": offset})
        ds.exposure = values[:, 0] * obs.livetime * unit_factor(aeff.unit, "m2")
    if Selection.EDISP in chosen:
        kernels = make_edisp_kernels(obs.edisp, offset, energy_axis_true.center, energy_axis)
        ds.edisp = kernels[..., 0]
    return ds


def make_reflected_background(
    ds: SpectrumDataset,
    obs: Observation,
    exclusion: NDArray[np.bool_] | None = None,
    exclusion_geom: WcsGeom | None = None,
    **finder: Any,
) -> SpectrumDataset:
    """OFF counts in the reflected regions of the ON region around the pointing.

    `finder` options go to :func:`~tierflow.sky.find_reflected_regions`. ACCEPTANCE is 1 and
    ACCEPTANCE_OFF the number of OFF regions; with none found the safe mask is all False.
    """
    regions, wcs = find_reflected_regions(
        ds.region, obs.pointing_radec, exclusion, exclusion_geom, **finder
    )
    n_e = ds.energy_axis.nbin
    out = replace(ds, acceptance=np.ones(n_e), off_regions=regions)
    if not regions:
        return replace(
            out,
            counts_off=np.zeros(n_e),
            acceptance_off=np.zeros(n_e),
            mask_safe=np.zeros(n_e, dtype=bool),
        )
    counts_off = _count_in(obs, regions, wcs, ds.energy_axis)
    return replace(out, counts_off=counts_off, acceptance_off=np.full(n_e, float(len(regions))))


def aeff_energy_threshold(aeff: FArray, energy_true: FArray, aeff_percent: float) -> float:
    """Lowest true energy where the effective area reaches `aeff_percent` % of its maximum,
    interpolating log-log between the nodes (the first positive node if never crossed;
    NaN when the area is zero everywhere)."""
    positive = np.nonzero(aeff > 0)[0]
    if positive.size == 0:
        return float("nan")
    energy_min = float(energy_true[positive[0]])
    threshold = aeff_percent / 100 * aeff.max()
    log_e = np.log(energy_true)
    with np.errstate(divide="ignore"):
        log_a = np.log(aeff)
    for k in range(positive[0], energy_true.size - 1):
        if aeff[k] < threshold <= aeff[k + 1]:
            t = (np.log(threshold) - log_a[k]) / (log_a[k + 1] - log_a[k])
            return float(np.exp(log_e[k] + t * (log_e[k + 1] - log_e[k])))
    return energy_min


def _energy_mask(axis: Axis, energy_min: float) -> NDArray[np.bool_]:
    if np.isnan(energy_min):
        return np.zeros(axis.nbin, dtype=bool)
    return np.asarray(axis.edges[:-1] >= energy_min)


def make_mask_safe_spectrum(
    ds: SpectrumDataset,
    obs: Observation,
    methods: Sequence[SafeMethod | str] = (SafeMethod.AEFF_MAX,),
    *,
    aeff_percent: float = 10.0,
    bias_percent: float = 10.0,
    offset_max: float = 3.0,
) -> NDArray[np.bool_]:
    """Safe reco-energy mask of a spectrum (gammapy ``SafeMaskMaker``, irfs="DL4").

    ``aeff-max`` takes the threshold from the exposure at the region centre, ``aeff-max-dl3``
    from the IRF at offset 0; ``offset-max`` masks everything when the region centre is at
    `offset_max` deg or more; ``bkg-peak`` is not defined for reflected-regions spectra.
    """
    mask = ds.mask.copy()
    for method in (SafeMethod(m) for m in methods):
        if method is SafeMethod.AEFF_MAX:
            if ds.exposure is None:
                raise ConfigError("aeff-max needs the exposure", obj=ds.name)
            e_min = aeff_energy_threshold(
                ds.exposure / ds.livetime, ds.energy_axis_true.center, aeff_percent
            )
            mask &= _energy_mask(ds.energy_axis, e_min)
        elif method is SafeMethod.AEFF_MAX_DL3:
            geom = WcsGeom.create((0.0, 0.0), 1.0, 1.0, axes=[ds.energy_axis])
            mask &= make_mask_safe_aeff_max(obs.aeff, geom, aeff_percent)[1]
        elif method is SafeMethod.EDISP_BIAS:
            geom = WcsGeom.create((0.0, 0.0), 1.0, 1.0, axes=[ds.energy_axis])
            mask &= make_mask_safe_edisp_bias(obs.edisp, geom, bias_percent)[1]
        elif method is SafeMethod.OFFSET_MAX:
            mask &= _region_offset(ds.region, obs.pointing_radec) < offset_max
        else:
            raise ConfigError(
                f"safe method {method.value!r} is not defined for spectra", obj=method.value
            )
    return np.asarray(mask, dtype=bool)


def stack_spectra(datasets: Sequence[SpectrumDataset], name: str = "stacked") -> SpectrumDataset:
    """Stack spectra (gammapy ``Datasets.stack_reduce``): counts, OFF counts and acceptance
    added in each run's safe bins, alpha weighted by OFF counts, exposure added where a run
    has a safe bin, kernels averaged with the exposure as weight.
    """
    if not datasets:
        raise ConfigError("no spectrum to stack", obj=name)
    first = datasets[0]
    n_e, n_t = first.energy_axis.nbin, first.energy_axis_true.nbin
    counts, off, alpha_off, acc = (np.zeros(n_e) for _ in range(4))
    exposure, edisp_sum = np.zeros(n_t), np.zeros((n_t, n_e))
    mask = np.zeros(n_e, dtype=bool)
    livetime = ontime = 0.0
    gti: tuple[list[float], list[float]] = ([], [])
    for ds in datasets:
        m = ds.mask
        any_safe = float(m.any())
        counts += ds.counts * m
        if ds.counts_off is not None:
            off += ds.counts_off * m
            alpha_off += ds.alpha * ds.counts_off * m
        acc += (np.ones(n_e) if ds.acceptance is None else ds.acceptance) * m
        if ds.exposure is not None:
            exposure += ds.exposure * any_safe
            if ds.edisp is not None:
                edisp_sum += ds.edisp * ds.exposure[:, None] * m[None, :]
        livetime += ds.livetime if m.any() else 0.0
        ontime += ds.ontime
        mask |= m
        gti[0].extend(ds.gti[0])
        gti[1].extend(ds.gti[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        acc_off = acc * off / alpha_off
        average = alpha_off.sum() / off.sum()
        edisp = np.nan_to_num(edisp_sum / exposure[:, None])
    zero = off == 0
    acc_off[zero] = acc[zero] / average
    return SpectrumDataset(
        name,
        first.region,
        first.energy_axis,
        first.energy_axis_true,
        counts,
        exposure,
        edisp,
        off,
        acc,
        acc_off,
        mask,
        livetime,
        ontime,
        gti,
        [r for ds in datasets for r in ds.off_regions],
        {"n_datasets": len(datasets)},
    )


def reduce_spectra(
    cfg: Any, *, progress: bool = False
) -> tuple[list[SpectrumDataset], SpectrumDataset]:
    """The per-observation spectra of a configuration with a ``spectrum`` section, and their
    stack (observations read one after the other, each file once)."""
    from tierflow.sky._analysis import _progress, make_exclusion_mask, make_geom, select_obs_ids
    from tierflow.sky._dl3 import DataStore
    from tierflow.sky._region import SkyRegion

    spec = cfg.spectrum
    if spec is None:
        raise ConfigError("the configuration has no 'spectrum' section", obj="spectrum")
    store = DataStore.from_dir(cfg.data.dir)
    ids = select_obs_ids(store, cfg)
    if not ids:
        raise ConfigError("no observation selected", file=cfg.data.dir, obj="data")
    geom, energy_true = make_geom(cfg)
    circles = cfg.exclusion.circles
    exclusion = make_exclusion_mask(geom, circles) if circles else None
    lon, lat, radius = spec.on_region
    region = SkyRegion(lon, lat, radius, spec.inner, spec.frame)
    finder = {
        "min_distance_input": spec.min_distance_input,
        "max_region_number": spec.max_region_number,
    }
    datasets, bar = [], _progress(len(ids), progress)
    for obs_id in ids:
        obs = store.observation(obs_id)
        ds = make_spectrum_dataset(obs, region, geom.axis("energy"), energy_true)
        ds = make_reflected_background(ds, obs, exclusion, geom, **finder)
        mask = make_mask_safe_spectrum(ds, obs, spec.safe_methods, aeff_percent=spec.aeff_percent)
        datasets.append(replace(ds, mask_safe=mask & ds.mask))
        obs.close()
        bar.update(1)
    bar.close()
    return datasets, stack_spectra(datasets, spec.name)
