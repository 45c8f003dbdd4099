"""Parity with gammapy 2.1 on the four H.E.S.S. DL3 DR1 Crab runs (shared/reference/sky)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tierflow import sky
from tierflow.errors import NotFoundError

fits = pytest.importorskip("astropy.io.fits")

RUNS = (23523, 23526, 23559, 23592)
TARGET = (83.633, 22.014)


@pytest.fixture(scope="module")
def ref(reference: Path) -> Path:
    path = reference / "sky"
    if not (path / "summary.json").is_file():
        pytest.skip(f"{path} has no sky reference")
    return path


@pytest.fixture(scope="module")
def summary(ref: Path) -> dict[str, Any]:
    return json.loads((ref / "summary.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def store(testdata: Path) -> sky.DataStore:
    path = testdata / "hess-dl3-dr1"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return sky.DataStore.from_dir(path)


@pytest.fixture(scope="module")
def geom() -> sky.WcsGeom:
    energy = sky.Axis.from_energy_bounds(0.5, 50, 10, "energy")
    return sky.WcsGeom.create(TARGET, 0.02, (5, 5), axes=[energy])


ENERGY_TRUE = sky.Axis.from_energy_bounds(0.3, 100, 20, "energy_true")


@pytest.fixture(scope="module")
def pipeline(store: sky.DataStore, geom: sky.WcsGeom) -> dict[str, Any]:
    """The reference pipeline, run once: per-run datasets, FoV and ring stacks."""
    exclusion = ~geom.to_image().region_mask_circle(*TARGET, 0.3)
    stack, onoff = sky.MapStack(geom, ENERGY_TRUE), sky.OnOffStack(geom)
    runs = {}
    for obs_id in RUNS:
        obs = store.observation(obs_id)
        irfs = ["psf", "edisp"] if obs_id == RUNS[0] else []
        ds = sky.make_map_dataset(
            obs, geom, ENERGY_TRUE, selection=["counts", "exposure", "background", *irfs]
        )
        raw = {"counts": ds.counts, "exposure": ds.exposure, "background": ds.background}
        ds.mask_safe, info = sky.make_mask_safe(ds, obs)
        excl = sky.reproject_mask(exclusion, geom.to_image(), ds.geom)
        ring = sky.make_map_ring_background(sky.dataset_to_image(ds), excl, 0.5, 0.3)
        onoff.add(ring, ds.slices)
        norm, scaled = sky.scale_background_fov(ds, excl)
        stack.add(scaled)
        runs[obs_id] = {"ds": ds, "raw": raw, "norm": norm, "ring": ring, "info": info}
    return {"runs": runs, "stack": stack, "onoff": onoff, "exclusion": exclusion}


def _rel(a: Any, b: Any) -> float:
    return float(abs(a / b - 1))


def test_run_selection(store: sky.DataStore, summary: dict[str, Any]) -> None:
    assert store.obs_ids_in_cone(*TARGET, 2.5) == summary["run_selection"]["obs_ids"]


def test_geometry_and_exclusion(geom: sky.WcsGeom, ref: Path, summary: dict[str, Any]) -> None:
    header = geom.wcs_header()
    for key, value in summary["geometry"]["wcs"].items():
        if value is not None and key in header:
            assert header[key] == pytest.approx(value, abs=1e-12), key
    assert geom.axes[0].edges == pytest.approx(summary["geometry"]["energy_axis"]["edges"])
    assert ENERGY_TRUE.center == pytest.approx(
        summary["geometry"]["energy_axis_true"]["center"], rel=1e-14
    )
    exclusion = ~geom.to_image().region_mask_circle(*TARGET, 0.3)
    expected = fits.getdata(ref / "exclusion_mask.fits.gz").astype(bool)
    assert np.array_equal(exclusion, expected)
    assert (~exclusion).sum() == summary["exclusion_mask"]["n_pixels_excluded"]


@pytest.mark.parametrize("k", range(4))
def test_cutout_counts_exposure_background(
    pipeline: dict[str, Any], ref: Path, summary: dict[str, Any], k: int
) -> None:
    obs_id, expected = RUNS[k], summary["per_obs"][k]
    run = pipeline["runs"][obs_id]
    ds, raw = run["ds"], run["raw"]
    (y0, y1), (x0, x1) = expected["cutout"]["parent_slices_yx"]
    assert ds.slices == (slice(y0, y1), slice(x0, x1))
    assert list(ds.geom.data_shape) == expected["cutout"]["data_shape_counts"]
    with fits.open(ref / f"obs_{obs_id}_dataset.fits.gz") as hdus:
        assert np.array_equal(raw["counts"], hdus["COUNTS"].data)
        ref_exp, ref_bkg = hdus["EXPOSURE"].data, hdus["BACKGROUND"].data
        cast_tol = 1e-6 if ref_exp.dtype.itemsize == 8 else 2e-7
        assert np.allclose(raw["exposure"], ref_exp, rtol=cast_tol, atol=0)
        assert np.allclose(raw["background"], ref_bkg, rtol=1e-5, atol=0)
    assert raw["background"].sum() == pytest.approx(expected["background_irf_total"], rel=1e-6)
    assert raw["exposure"].sum() == pytest.approx(expected["exposure_sum_m2s"], rel=1e-6)
    assert raw["counts"].sum() == expected["counts_total"]


@pytest.mark.parametrize("k", range(4))
def test_safe_mask_fov_norm_and_ring(
    pipeline: dict[str, Any], ref: Path, summary: dict[str, Any], k: int
) -> None:
    obs_id, expected = RUNS[k], summary["per_obs"][k]
    run = pipeline["runs"][obs_id]
    mask = fits.getdata(ref / f"obs_{obs_id}_mask_safe.fits.gz").astype(bool)
    assert np.array_equal(run["ds"].mask_safe, mask)
    assert run["norm"] == pytest.approx(expected["bkg_norm"], rel=1e-6)
    ring = run["ring"]
    assert ring["mask_safe"].sum() == expected["ring_mask_safe_n_pixels"]
    assert ring["counts_off"].sum(dtype=np.float64) == pytest.approx(
        expected["ring_counts_off_total"], rel=1e-5
    )
    assert ring["acceptance_off"].sum(dtype=np.float64) == pytest.approx(
        expected["ring_acceptance_off_total"], rel=1e-5
    )


def test_psf_and_edisp_maps(pipeline: dict[str, Any], ref: Path) -> None:
    ds = pipeline["runs"][RUNS[0]]["ds"]
    with fits.open(ref / f"obs_{RUNS[0]}_dataset.fits.gz") as hdus:
        assert ds.psf.shape == hdus["PSF"].data.shape
        assert np.abs(ds.psf - hdus["PSF"].data).max() < 1e-6
        assert np.abs(ds.edisp - hdus["EDISP"].data).max() < 1e-6
        assert np.allclose(ds.psf_exposure, hdus["PSF_EXPOSURE"].data, rtol=1e-6, atol=0)
        assert np.allclose(ds.edisp_exposure, hdus["EDISP_EXPOSURE"].data, rtol=1e-6, atol=0)


def test_stacked_fov(pipeline: dict[str, Any], ref: Path, summary: dict[str, Any]) -> None:
    stack, expected = pipeline["stack"], summary["stacked_fov"]
    with fits.open(ref / "stacked_fov_dataset.fits.gz") as hdus:
        assert np.array_equal(stack.counts, hdus["COUNTS"].data)
        assert np.array_equal(stack.mask_safe, hdus["MASK_SAFE"].data.astype(bool))
        assert np.allclose(stack.background, hdus["BACKGROUND"].data, rtol=1e-5, atol=1e-12)
        assert np.allclose(stack.exposure, hdus["EXPOSURE"].data, rtol=1e-6, atol=0)
    assert stack.background.sum() == pytest.approx(expected["background_total"], rel=1e-6)
    assert stack.ontime == pytest.approx(expected["gti_time_sum_s"], rel=1e-12)


def test_stacked_ring_and_excess(
    pipeline: dict[str, Any], ref: Path, summary: dict[str, Any]
) -> None:
    oo = pipeline["onoff"]
    with fits.open(ref / "stacked_ring_dataset.fits.gz") as hdus:
        for name, mine in [
            ("COUNTS_OFF", oo.counts_off),
            ("ACCEPTANCE", oo.acceptance),
            ("ACCEPTANCE_OFF", oo.acceptance_off),
        ]:
            expected = hdus[name].data.reshape(mine.shape)
            assert np.allclose(mine, expected, rtol=1e-5, atol=1e-6), name
    maps = sky.make_excess_maps_onoff(
        oo.counts, oo.counts_off, oo.acceptance, oo.acceptance_off, oo.mask_safe, 0.1 / 0.02
    )
    _compare_excess(maps, ref / "excess_maps_ring.fits.gz", summary["excess_map_ring"])


def test_fov_excess(pipeline: dict[str, Any], ref: Path, summary: dict[str, Any]) -> None:
    stack = pipeline["stack"]
    mask = stack.mask_safe
    maps = sky.make_excess_maps_cash(
        (stack.counts * mask).sum(0), (stack.background * mask).sum(0), mask.any(0), 5.0
    )
    _compare_excess(maps, ref / "excess_maps_fov.fits.gz", summary["excess_map_fov"])


def _compare_excess(maps: dict[str, Any], path: Path, expected: dict[str, Any]) -> None:
    with fits.open(path) as hdus:
        for name, mine in maps.items():
            ref = hdus[name.upper()].data.reshape(mine.shape)
            finite = np.isfinite(ref)
            assert np.array_equal(finite, np.isfinite(mine)), name
            if name == "counts":
                assert np.array_equal(mine[finite], ref[finite])
            else:
                assert np.allclose(mine[finite], ref[finite], rtol=1e-5, atol=2e-4), name
    iy, ix = 125, 124
    for name in ("counts", "npred_background", "npred_excess", "sqrt_ts"):
        assert maps[name][iy, ix] == pytest.approx(expected[f"{name}_at_target_pixel"], rel=1e-5)


def test_missing_file_is_a_clear_error(store: sky.DataStore) -> None:
    missing = next(i for i in store.obs_ids if not store.has_files(i))
    with pytest.raises(NotFoundError, match="file is missing") as info:
        store.observation(missing)
    assert "23523" in str(info.value)
    with pytest.raises(NotFoundError, match="not in the HDU index"):
        store.observation(1)


def test_each_hdu_read_once(store: sky.DataStore) -> None:
    obs = store.observation(RUNS[0])
    assert obs.aeff is obs.aeff
    assert len(obs._files) == 1
    assert len(obs.events) == 7613
    assert obs.bkg.fov_alignment is sky.FoVAlignment.REVERSE_LON_RADEC
    assert obs.psf.tag == "psf_table"
    assert len(obs._files) == 1
