"""Benchmark of the sky makers on the four H.E.S.S. DL3 DR1 Crab runs, against gammapy.

Usage: ``python benchmarks/bench_sky.py [DL3_DIR]`` (default ``../shared/testdata/hess-dl3-dr1``).
Prints per-observation time of each maker, the whole reduction (datasets, safe mask, FoV,
ring, stacking, excess maps) and its peak memory; when gammapy imports in the same interpreter
(``pip install gammapy 'regions<0.12'``), runs gammapy's pipeline on the same input in a
separate process and prints the ratios.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RUNS = (23523, 23526, 23559, 23592)
TARGET = (83.633, 22.014)


class _Stages:
    """Time spent per stage of the reduction loop, summed over observations."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._t = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        key = f"stage_{name}_s"
        self.times[key] = self.times.get(key, 0.0) + now - self._t
        self._t = now


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_tierflow(data: str) -> dict[str, float]:
    from tierflow import sky

    t0 = time.perf_counter()
    store = sky.DataStore.from_dir(data)
    energy = sky.Axis.from_energy_bounds(0.5, 50, 10, "energy")
    energy_true = sky.Axis.from_energy_bounds(0.3, 100, 20, "energy_true")
    geom = sky.WcsGeom.create(TARGET, 0.02, (5, 5), axes=[energy])
    exclusion = ~geom.to_image().region_mask_circle(*TARGET, 0.3)
    stack, onoff = sky.MapStack(geom, energy_true), sky.OnOffStack(geom)
    makers: dict[str, float] = {}
    for obs_id in RUNS:
        obs = store.observation(obs_id)
        obs.events, obs.aeff, obs.bkg, obs.psf, obs.edisp  # noqa: B018  (file reading)
        for sel in ("counts", "exposure", "background", "psf", "edisp"):
            t = time.perf_counter()
            sky.make_map_dataset(obs, geom, energy_true, selection=[sel])
            makers[sel] = makers.get(sel, 0.0) + (time.perf_counter() - t) / len(RUNS)
    t_red = time.perf_counter()
    stage = _Stages()
    for obs_id in RUNS:
        obs = store.observation(obs_id)
        ds = sky.make_map_dataset(obs, geom, energy_true)
        stage("dataset")
        ds.mask_safe, _ = sky.make_mask_safe(ds, obs)
        stage("safe_mask")
        excl = sky.reproject_mask(exclusion, geom.to_image(), ds.geom)
        onoff.add(sky.make_map_ring_background(sky.dataset_to_image(ds), excl, 0.5, 0.3), ds.slices)
        stage("ring_and_stack")
        stack.add(sky.scale_background_fov(ds, excl)[1])
        stage("fov_and_stack")
    maps = sky.make_excess_maps_onoff(
        onoff.counts,
        onoff.counts_off,
        onoff.acceptance,
        onoff.acceptance_off,
        onoff.mask_safe,
        5.0,
    )
    stage("excess_maps")
    reduction = time.perf_counter() - t_red
    peak = _peak_mb()
    cfg = sky.parse_config(
        {
            "data": {"dir": data, "obs_ids": list(RUNS)},
            "geom": {"skydir": list(TARGET), "width": [5, 5], "binsz": 0.02},
            "exclusion": {"circles": [[*TARGET, 0.3]]},
            "n_processes": 2,
        }
    )
    t_par = time.perf_counter()
    sky.reduce_observations(cfg)
    parallel = time.perf_counter() - t_par
    spec_cfg = sky.parse_config({**cfg.to_dict(), "spectrum": {"on_region": [*TARGET, 0.11]}})
    t_spec = time.perf_counter()
    _, stacked_spec = sky.reduce_spectra(spec_cfg)
    spectrum = time.perf_counter() - t_spec
    return {
        "spectrum_1d_s": spectrum,
        "spectrum_sqrt_ts": stacked_spec.info()["sqrt_ts"],
        **{f"maker_{k}_s_per_obs": v for k, v in makers.items()},
        "reduction_s": reduction,
        **stage.times,
        "reduction_2proc_s": parallel,
        "dataset_s_per_obs": sum(makers.values()),
        "sqrt_ts_target": float(maps["sqrt_ts"][125, 124]),
        "total_s": time.perf_counter() - t0,
        "peak_mb": peak,
    }


def run_gammapy(data: str) -> dict[str, float]:
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from gammapy.data import DataStore
    from gammapy.datasets import MapDataset, MapDatasetOnOff
    from gammapy.estimators import ExcessMapEstimator
    from gammapy.makers import (
        FoVBackgroundMaker,
        MapDatasetMaker,
        RingBackgroundMaker,
        SafeMaskMaker,
    )
    from gammapy.maps import MapAxis, WcsGeom
    from regions import CircleSkyRegion

    t0 = time.perf_counter()
    target = SkyCoord(*TARGET, unit="deg", frame="icrs")
    store = DataStore.from_dir(data)
    observations = store.get_observations(list(RUNS), required_irf="full-enclosure")
    energy = MapAxis.from_energy_bounds("0.5 TeV", "50 TeV", nbin=10, per_decade=False)
    energy_true = MapAxis.from_energy_bounds("0.3 TeV", "100 TeV", nbin=20, name="energy_true")
    geom = WcsGeom.create(skydir=target, binsz=0.02, width=(5, 5), frame="icrs", axes=[energy])
    exclusion = ~geom.to_image().region_mask([CircleSkyRegion(target, 0.3 * u.deg)])
    makers: dict[str, float] = {}
    stacked = MapDataset.create(geom, energy_axis_true=energy_true, name="stacked")
    for sel in ("counts", "exposure", "background", "psf", "edisp"):
        maker = MapDatasetMaker(selection=[sel])
        for obs in observations:
            t = time.perf_counter()
            cut = stacked.cutout(obs.get_pointing_icrs(obs.tmid), 5 * u.deg)
            maker.run(cut, obs)
            makers[sel] = makers.get(sel, 0.0) + (time.perf_counter() - t) / len(RUNS)
    t_red = time.perf_counter()
    maker = MapDatasetMaker(selection=["counts", "exposure", "background", "psf", "edisp"])
    safe = SafeMaskMaker(methods=["offset-max", "aeff-max"], offset_max=2.5 * u.deg)
    fov = FoVBackgroundMaker(method="scale", exclusion_mask=exclusion)
    ring = RingBackgroundMaker(r_in="0.5 deg", width="0.3 deg", exclusion_mask=exclusion)
    stacked_oo = MapDatasetOnOff.create(
        geom.to_image().to_cube([energy.squash()]), energy_axis_true=energy_true
    )
    stage = _Stages()
    for obs in observations:
        cut = stacked.cutout(obs.get_pointing_icrs(obs.tmid), 5 * u.deg)
        ds = maker.run(cut, obs)
        stage("dataset")
        ds = safe.run(ds, obs)
        stage("safe_mask")
        stacked_oo.stack(ring.run(ds.to_image()))
        stage("ring_and_stack")
        stacked.stack(fov.run(ds))
        stage("fov_and_stack")
    est = ExcessMapEstimator(correlation_radius="0.1 deg", selection_optional=[])
    result = est.run(stacked_oo)
    stage("excess_maps")
    reduction = time.perf_counter() - t_red
    spectrum, spec_sqrt_ts = _gammapy_spectrum(observations, exclusion, energy, energy_true, target)
    return {
        "spectrum_1d_s": spectrum,
        "spectrum_sqrt_ts": spec_sqrt_ts,
        **{f"maker_{k}_s_per_obs": v for k, v in makers.items()},
        "reduction_s": reduction,
        **stage.times,
        "dataset_s_per_obs": sum(makers.values()),
        "sqrt_ts_target": float(result["sqrt_ts"].data[0, 125, 124]),
        "total_s": time.perf_counter() - t0,
        "peak_mb": _peak_mb(),
    }


def _gammapy_spectrum(
    observations: Any, exclusion: Any, energy: Any, energy_true: Any, target: Any
) -> tuple[float, float]:
    import astropy.units as u
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.makers import (
        ReflectedRegionsBackgroundMaker,
        SafeMaskMaker,
        SpectrumDatasetMaker,
    )
    from gammapy.maps import RegionGeom
    from regions import CircleSkyRegion

    t = time.perf_counter()
    geom = RegionGeom.create(region=CircleSkyRegion(target, 0.11 * u.deg), axes=[energy])
    empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_true)
    maker = SpectrumDatasetMaker(selection=["counts", "exposure", "edisp"])
    bkg = ReflectedRegionsBackgroundMaker(exclusion_mask=exclusion)
    safe = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)
    datasets = Datasets()
    for obs in observations:
        ds = maker.run(empty.copy(name=str(obs.obs_id)), obs)
        datasets.append(safe.run(bkg.run(ds, obs), obs))
    info = datasets.stack_reduce().info_dict()
    return time.perf_counter() - t, float(info["sqrt_ts"])


def _child(which: str, data: str) -> dict[str, float] | None:
    here = str(Path(__file__).parent)
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import bench_sky as b; "
        f"print(json.dumps(b.run_{which}({data!r})))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if run.returncode != 0:
        print(f"{which}: failed\n{run.stderr[-2000:]}")
        return None
    return json.loads(run.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "hess-dl3-dr1"
    data = sys.argv[1] if len(sys.argv) > 1 else str(default)
    mine = _child("tierflow", data)
    if mine is None:
        return
    try:
        import gammapy  # noqa: F401

        theirs = _child("gammapy", data)
    except ImportError:
        theirs = None
        print("gammapy is not importable here: no comparison")
    print(f"{'quantity':34s} {'tierflow':>10s} {'gammapy':>10s} {'speed-up':>9s}")
    for key, value in mine.items():
        base = "reduction_s" if key == "reduction_2proc_s" else key
        other = theirs.get(base) if theirs else None
        ratio = (
            f"{other / value:9.1f}"
            if (other and key.endswith("_s")) or (other and key.endswith("_per_obs"))
            else ""
        )
        shown = "" if other is None else f"{other:10.4g}"
        print(f"{key:34s} {value:10.4g} {shown:>10s} {ratio}")


if __name__ == "__main__":
    main()
