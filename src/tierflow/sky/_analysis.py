"""Config-driven reduction: thin maker classes, per-observation runs in parallel, stacking.

Each maker has a ``tag`` and a ``run`` that takes and returns the :class:`ObservationProducts`
of one observation (a frozen record: the observation, its dataset, ring images, FoV norm, safe
thresholds). :func:`make_makers` builds the chain from a :class:`~tierflow.sky.ReduceConfig`
through the :data:`SKY_MAKERS` registry; :func:`reduce_observations` runs it on every
observation (in worker processes, each observation's files read once in one worker) and stacks
the results in observation order while they arrive.

Example
-------
>>> cfg = read_config("reduce.yaml")                  # doctest: +SKIP
>>> result = reduce_observations(cfg)                  # doctest: +SKIP
>>> write_reduction(result, cfg)                       # doctest: +SKIP
"""

from __future__ import annotations

import abc
import json
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import ConfigError
from tierflow.registry import Registry
from tierflow.sky._axis import Axis
from tierflow.sky._config import ReduceConfig, RingConfig
from tierflow.sky._dataset import (
    MapDataset,
    MapStack,
    OnOffStack,
    SafeMethod,
    Selection,
    dataset_to_image,
    make_excess_maps_cash,
    make_excess_maps_onoff,
    make_map_dataset,
    make_map_ring_background,
    make_mask_safe,
    reproject_mask,
    scale_background_fov,
)
from tierflow.sky._dl3 import DataStore, Observation
from tierflow.sky._geom import WcsGeom

__all__ = [
    "SKY_MAKERS",
    "FoVBackgroundMaker",
    "Maker",
    "MapDatasetMaker",
    "ObservationProducts",
    "Reduction",
    "RingBackgroundMaker",
    "SafeMaskMaker",
    "make_exclusion_mask",
    "make_geom",
    "make_makers",
    "reduce_observations",
    "select_obs_ids",
    "write_reduction",
]


@dataclass(frozen=True)
class ObservationProducts:
    """What the makers produced for one observation."""

    obs_id: int
    observation: Observation | None = None
    dataset: MapDataset | None = None
    ring: dict[str, NDArray[Any]] | None = None
    fov_norm: float | None = None
    safe_info: dict[str, float] = field(default_factory=dict)


class Maker(abc.ABC):
    """A reduction step: options validated in ``__init__``, one ``run`` per observation."""

    tag: ClassVar[str] = ""

    @abc.abstractmethod
    def run(self, products: ObservationProducts) -> ObservationProducts:
        """Return the products with this step's result added."""

    def _dataset(self, products: ObservationProducts) -> MapDataset:
        if products.dataset is None:
            raise ConfigError(f"maker {self.tag!r} needs a dataset: put 'map' first", obj=self.tag)
        return products.dataset

    def _observation(self, products: ObservationProducts) -> Observation:
        if products.observation is None:
            raise ConfigError(f"maker {self.tag!r} needs the observation", obj=self.tag)
        return products.observation


class MapDatasetMaker(Maker):
    """Counts, exposure, background, PSF and EDISP maps on the observation's cutout."""

    tag = "map"

    def __init__(
        self,
        geom: WcsGeom,
        energy_axis_true: Axis,
        selection: Sequence[str] = tuple(Selection),
        cutout_width: float = 5.0,
        irf_binsz: float = 0.2,
    ) -> None:
        self.selection = tuple(Selection(s) for s in selection)
        geom.axis("energy")
        if cutout_width <= 0 or irf_binsz <= 0:
            raise ConfigError("cutout_width and irf_binsz must be positive", obj=self.tag)
        self.geom, self.energy_axis_true = geom, energy_axis_true
        self.cutout_width, self.irf_binsz = cutout_width, irf_binsz

    def run(self, products: ObservationProducts) -> ObservationProducts:
        ds = make_map_dataset(
            self._observation(products),
            self.geom,
            self.energy_axis_true,
            width=self.cutout_width,
            selection=self.selection,
            irf_binsz=self.irf_binsz,
        )
        return replace(products, dataset=ds)


class SafeMaskMaker(Maker):
    """Safe mask by offset, effective area, energy bias and background peak."""

    tag = "safe-mask"

    def __init__(
        self,
        methods: Sequence[str] = ("offset-max", "aeff-max"),
        offset_max: float = 2.5,
        aeff_percent: float = 10.0,
        bias_percent: float = 10.0,
    ) -> None:
        self.methods = tuple(SafeMethod(m) for m in methods)
        self.options = {
            "offset_max": offset_max,
            "aeff_percent": aeff_percent,
            "bias_percent": bias_percent,
        }

    def run(self, products: ObservationProducts) -> ObservationProducts:
        ds = self._dataset(products)
        mask, info = make_mask_safe(ds, self._observation(products), self.methods, **self.options)
        return replace(products, dataset=replace(ds, mask_safe=mask), safe_info=info)


class _ExclusionMaker(Maker):
    def __init__(self, exclusion: NDArray[np.bool_] | None, geom: WcsGeom) -> None:
        if exclusion is not None and exclusion.shape != geom.data_shape[-2:]:
            raise ConfigError(
                f"exclusion mask {exclusion.shape} does not fit the image {geom.data_shape[-2:]}",
                obj=self.tag,
            )
        self.exclusion, self.geom = exclusion, geom.to_image()

    def _cutout_exclusion(self, ds: MapDataset) -> NDArray[np.bool_] | None:
        if self.exclusion is None:
            return None
        return reproject_mask(self.exclusion, self.geom, ds.geom)


class RingBackgroundMaker(_ExclusionMaker):
    """Ring background on the image of the safe energy bins (adaptive ring optional)."""

    tag = "ring"

    def __init__(
        self,
        exclusion: NDArray[np.bool_] | None,
        geom: WcsGeom,
        ring: RingConfig | None = None,
    ) -> None:
        super().__init__(exclusion, geom)
        ring = RingConfig() if ring is None else ring
        if ring.r_in < 0 or ring.width <= 0:
            raise ConfigError("ring: r_in >= 0 and width > 0 required", obj=self.tag)
        if ring.adaptive and (ring.width_max < ring.width or ring.step <= 0):
            raise ConfigError("adaptive ring: width_max >= width and step > 0", obj=self.tag)
        self.ring = ring

    def run(self, products: ObservationProducts) -> ObservationProducts:
        ds = self._dataset(products)
        image, excl = dataset_to_image(ds), self._cutout_exclusion(ds)
        r = self.ring
        if r.adaptive:
            from tierflow.sky._ring import make_map_adaptive_ring_background

            widths = np.arange(r.width, r.width_max + 1e-9, r.step)
            out = make_map_adaptive_ring_background(image, excl, r.r_in, widths, r.alpha_max)
        else:
            out = make_map_ring_background(image, excl, r.r_in, r.width)
        return replace(products, ring=out)


class FoVBackgroundMaker(_ExclusionMaker):
    """Field-of-view normalisation of the IRF background ("scale", one norm per run)."""

    tag = "fov"

    def run(self, products: ObservationProducts) -> ObservationProducts:
        ds = self._dataset(products)
        norm, scaled = scale_background_fov(ds, self._cutout_exclusion(ds))
        return replace(products, dataset=scaled, fov_norm=norm)


SKY_MAKERS: Registry[type] = Registry("sky maker", entry_point_group="tierflow.sky.makers")
"""Maker tag → maker class."""
for _cls in (MapDatasetMaker, SafeMaskMaker, RingBackgroundMaker, FoVBackgroundMaker):
    SKY_MAKERS.add(_cls.tag, _cls)


def make_geom(cfg: ReduceConfig) -> tuple[WcsGeom, Axis]:
    """The mosaic geometry (reco energy) and the true-energy axis of a configuration."""
    g = cfg.geom
    energy = Axis.from_energy_bounds(g.energy.min, g.energy.max, g.energy.nbin, "energy")
    e_true = g.energy_true
    energy_true = Axis.from_energy_bounds(e_true.min, e_true.max, e_true.nbin, "energy_true")
    geom = WcsGeom.create(g.skydir, g.binsz, g.width, g.frame, g.proj, axes=[energy])
    return geom, energy_true


def make_exclusion_mask(geom: WcsGeom, circles: Sequence[Sequence[float]]) -> NDArray[np.bool_]:
    """Image mask, False inside any circle (lon, lat, radius deg): True means usable."""
    image = geom.to_image()
    mask = np.ones(image.data_shape, dtype=bool)
    for lon, lat, radius in circles:
        mask &= ~image.region_mask_circle(lon, lat, radius)
    return mask


def make_makers(cfg: ReduceConfig, geom: WcsGeom, energy_true: Axis) -> list[Maker]:
    """The maker chain of a configuration: map, safe mask, ring, FoV."""
    exclusion = make_exclusion_mask(geom, cfg.exclusion.circles) if cfg.exclusion.circles else None
    d, s = cfg.dataset, cfg.safe_mask
    makers: list[Maker] = [
        SKY_MAKERS["map"](geom, energy_true, d.selection, d.cutout_width, d.irf_binsz),
        SKY_MAKERS["safe-mask"](s.methods, s.offset_max, s.aeff_percent, s.bias_percent),
    ]
    if cfg.background.ring is not None:
        makers.append(SKY_MAKERS["ring"](exclusion, geom, cfg.background.ring))
    if cfg.background.fov is not None:
        if cfg.background.fov.method != "scale":
            raise ConfigError("background.fov.method: only 'scale' is supported", obj="fov")
        makers.append(SKY_MAKERS["fov"](exclusion, geom))
    return makers


def select_obs_ids(store: DataStore, cfg: ReduceConfig) -> list[int]:
    """Observation ids of a configuration: the listed ids, else a cone, else all with files."""
    if cfg.data.obs_ids:
        return list(cfg.data.obs_ids)
    if cfg.data.cone is not None:
        c = cfg.data.cone
        return store.obs_ids_in_cone(c.lon, c.lat, c.radius)
    return [i for i in store.obs_ids if store.has_files(i)]


def _run_one(
    store: DataStore, obs_id: int, makers: Sequence[Maker], write_dir: str | None, overwrite: bool
) -> ObservationProducts:
    obs = store.observation(obs_id)
    products = ObservationProducts(obs_id, observation=obs)
    for maker in makers:
        products = maker.run(products)
    obs.close()
    ds = products.dataset
    if ds is not None and write_dir is not None:
        from tierflow.sky._fits import write_dataset

        write_dataset(ds, Path(write_dir) / f"obs-{obs_id}.fits", overwrite=overwrite)
    if ds is not None:  # only the stacked maps travel back
        ds = replace(ds, psf=None, psf_exposure=None, edisp=None, edisp_exposure=None)
    return replace(products, observation=None, dataset=ds)


_WORKER: dict[str, Any] = {}


def _init_worker(
    store: DataStore, makers: Sequence[Maker], write_dir: str | None, ow: bool
) -> None:
    _WORKER.update(store=store, makers=makers, write_dir=write_dir, overwrite=ow)


def _work(obs_id: int) -> ObservationProducts:
    w = _WORKER
    return _run_one(w["store"], obs_id, w["makers"], w["write_dir"], w["overwrite"])


@dataclass
class Reduction:
    """Stacked result of a reduction and per-observation records."""

    geom: WcsGeom
    energy_axis_true: Axis
    stack: MapStack
    onoff: OnOffStack | None
    runs: list[dict[str, Any]] = field(default_factory=list)
    gti: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))

    def add(self, products: ObservationProducts) -> None:
        """Stack one observation's products."""
        ds = products.dataset
        record: dict[str, Any] = {"obs_id": products.obs_id, **products.safe_info}
        if ds is not None:
            self.stack.add(ds)
            record["counts"] = float(ds.counts.sum()) if ds.counts is not None else None
            gti = ds.meta.get("gti")
            if gti is not None:
                self.gti[0].extend(gti.start.tolist())
                self.gti[1].extend(gti.stop.tolist())
        if products.fov_norm is not None:
            record["fov_norm"] = products.fov_norm
        if self.onoff is not None and products.ring is not None and ds is not None:
            self.onoff.add(products.ring, ds.slices)
        self.runs.append(record)

    def excess_maps(self, radius_deg: float) -> dict[str, dict[str, NDArray[np.float64]]]:
        """Excess and significance images of the ring stack (WStat) and FoV stack (Cash)."""
        radius = radius_deg / self.geom.binsz
        out = {}
        if self.onoff is not None:
            oo = self.onoff
            out["ring"] = make_excess_maps_onoff(
                oo.counts, oo.counts_off, oo.acceptance, oo.acceptance_off, oo.mask_safe, radius
            )
        st = self.stack
        mask = st.mask_safe
        out["fov"] = make_excess_maps_cash(
            (st.counts * mask).sum(0),
            (st.background * mask).sum(0),
            np.asarray(mask.any(0)),
            radius,
        )
        return out


def _results(
    store: DataStore, ids: Sequence[int], makers: Sequence[Maker], cfg: ReduceConfig
) -> Iterator[ObservationProducts]:
    """Products in observation order, computed in `cfg.n_processes` worker processes."""
    write_dir = str(Path(cfg.output.dir) / "observations") if cfg.output.datasets else None
    overwrite = cfg.output.overwrite
    if cfg.n_processes <= 1 or len(ids) <= 1:
        for obs_id in ids:
            yield _run_one(store, obs_id, makers, write_dir, overwrite)
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    for maker in makers:  # pixel coordinates once here, not in every forked worker
        if method == "fork" and isinstance(maker, MapDatasetMaker):
            maker.geom.lonlat, maker.geom.solid_angle  # noqa: B018
    with ProcessPoolExecutor(
        max_workers=min(cfg.n_processes, len(ids)),
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
        initargs=(store, list(makers), write_dir, overwrite),
    ) as pool:
        futures: list[Future[ObservationProducts]] = [pool.submit(_work, i) for i in ids]
        for future in futures:
            yield future.result()


def reduce_observations(cfg: ReduceConfig, *, progress: bool = False) -> Reduction:
    """Run the configured makers on every selected observation and stack them.

    Parameters
    ----------
    cfg
        The configuration (:func:`~tierflow.sky.read_config`).
    progress
        Show a progress bar (tqdm) over observations.
    """
    store = DataStore.from_dir(cfg.data.dir)
    ids = select_obs_ids(store, cfg)
    if not ids:
        raise ConfigError("no observation selected", file=cfg.data.dir, obj="data")
    geom, energy_true = make_geom(cfg)
    makers = make_makers(cfg, geom, energy_true)
    onoff = OnOffStack(geom) if cfg.background.ring is not None else None
    result = Reduction(geom, energy_true, MapStack(geom, energy_true), onoff)
    bar = _progress(len(ids), progress)
    try:
        for products in _results(store, ids, makers, cfg):
            result.add(products)
            bar.update(1)
    finally:
        bar.close()
    return result


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="obs", desc="sky reduce")


def write_reduction(result: Reduction, cfg: ReduceConfig) -> dict[str, Path]:
    """Write the stacked datasets (gammapy layout), excess maps, PNG images and a summary."""
    from tierflow.sky._fits import write_maps, write_onoff, write_stack

    out, ow = Path(cfg.output.dir), cfg.output.overwrite
    energy = result.geom.axis("energy")
    gti = result.gti if result.gti[0] else None
    files = {
        "stacked": write_stack(
            result.stack, out / "stacked.fits", result.energy_axis_true, gti=gti, overwrite=ow
        )
    }
    if result.onoff is not None:
        files["stacked_ring"] = write_onoff(
            result.onoff, out / "stacked_ring.fits", energy, gti=gti, overwrite=ow
        )
    image = result.geom.to_image().to_cube([energy.squash()])
    summary: dict[str, Any] = {"runs": result.runs, "config": cfg.to_dict()}
    for kind, maps in result.excess_maps(cfg.excess.correlation_radius).items():
        files[f"excess_{kind}"] = write_maps(maps, image, out / f"excess_{kind}.fits", overwrite=ow)
        summary[f"excess_{kind}"] = _peak(maps, result.geom)
        if cfg.output.png:
            from tierflow.sky._plot import save_pngs

            save_pngs(maps, result.geom.to_image(), out, prefix=f"{kind}_")
    tmp = out / ".summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, default=float))
    tmp.replace(out / "summary.json")
    files["summary"] = out / "summary.json"
    return files


def _peak(maps: dict[str, NDArray[np.float64]], geom: WcsGeom) -> dict[str, float]:
    sqrt_ts = maps["sqrt_ts"]
    if not np.isfinite(sqrt_ts).any():
        return {"sqrt_ts_max": float("nan")}
    iy, ix = np.unravel_index(int(np.nanargmax(sqrt_ts)), sqrt_ts.shape)
    lon, lat = geom.lonlat
    return {
        "sqrt_ts_max": float(sqrt_ts[iy, ix]),
        "lon": float(lon[iy, ix]),
        "lat": float(lat[iy, ix]),
        "npred_excess": float(maps["npred_excess"][iy, ix]),
    }
