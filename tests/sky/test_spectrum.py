"""1-D reflected-regions spectra: parity with gammapy 2.1 (shared/reference/sky), OGIP files,
region geometry and the node-mixed energy-dispersion kernels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import sky
from tierflow.errors import ConfigError
from tierflow.sky._edisp import edisp_kernels, edisp_kernels_direct

pytest.importorskip("astropy.io.fits")
TARGET = (83.633, 22.014)


@pytest.fixture(scope="module")
def summary(reference: Path) -> dict[str, Any]:
    path = reference / "sky" / "summary.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def spectra(testdata: Path) -> tuple[list[sky.SpectrumDataset], sky.SpectrumDataset]:
    data = testdata / "hess-dl3-dr1"
    if not data.is_dir():
        pytest.skip(f"{data} is absent")
    cfg = sky.parse_config(
        {
            "data": {"dir": str(data), "cone": {"lon": TARGET[0], "lat": TARGET[1]}},
            "geom": {"skydir": list(TARGET), "width": [5, 5]},
            "exclusion": {"circles": [[*TARGET, 0.3]]},
            "spectrum": {"on_region": [*TARGET, 0.11]},
        }
    )
    return sky.reduce_spectra(cfg)


def test_per_run_parity(spectra: Any, summary: dict[str, Any]) -> None:
    datasets, _ = spectra
    for ds, rec in zip(datasets, summary["per_obs"], strict=True):
        info = ds.info()
        assert ds.meta["obs_id"] == rec["obs_id"]
        assert info["counts"] == rec["spec_n_on"]
        assert info["counts_off"] == rec["spec_n_off"]
        assert len(ds.off_regions) == rec["spec_n_off_regions"]
        assert info["alpha"] == pytest.approx(rec["spec_alpha"], rel=1e-12)


def test_stacked_parity(spectra: Any, summary: dict[str, Any]) -> None:
    ref = summary["spectrum_1d"]
    info = spectra[1].info()
    assert info["counts"] == ref["counts"]
    assert info["counts_off"] == ref["counts_off"]
    for key in ("alpha", "excess", "sqrt_ts", "background", "livetime", "ontime"):
        assert info[key] == pytest.approx(ref[key], rel=1e-6), key


def test_ogip_round_trip(spectra: Any, tmp_path: Path) -> None:
    stacked = spectra[1]
    files = sky.write_ogip(stacked, tmp_path / "crab.fits")
    assert sorted(files) == ["arf", "bkg", "pha", "rmf"]
    back = sky.read_ogip(tmp_path / "crab.fits")
    np.testing.assert_array_equal(back["counts"], stacked.counts)
    np.testing.assert_array_equal(back["counts_off"], stacked.counts_off)
    np.testing.assert_array_equal(back["mask_safe"], stacked.mask)
    np.testing.assert_allclose(back["acceptance_off"], stacked.acceptance_off, rtol=1e-12)
    np.testing.assert_allclose(back["aeff"] * back["livetime"], stacked.exposure, rtol=1e-12)
    np.testing.assert_allclose(back["edisp"], stacked.edisp, atol=1e-7)
    with pytest.raises(Exception, match="exists"):
        sky.write_ogip(stacked, tmp_path / "crab.fits")


def test_no_off_region_masks_everything(testdata: Path) -> None:
    data = testdata / "hess-dl3-dr1"
    if not data.is_dir():
        pytest.skip(f"{data} is absent")
    obs = sky.DataStore.from_dir(data).observation(23523)
    energy = sky.Axis.from_energy_bounds(0.5, 50, 10)
    geom = sky.WcsGeom.create(TARGET, 0.02, 5, axes=[energy])
    everything_excluded = np.zeros(geom.data_shape[-2:], dtype=bool)
    on = sky.CircleRegion(*TARGET, 0.11)
    ds = sky.make_spectrum_dataset(
        obs, on, energy, energy.__class__.from_energy_bounds(0.3, 100, 20, "energy_true")
    )
    ds = sky.make_reflected_background(ds, obs, everything_excluded, geom)
    assert ds.off_regions == []
    assert not ds.mask.any()


def test_region_errors_and_frames() -> None:
    with pytest.raises(ConfigError, match="inner < radius"):
        sky.AnnulusRegion(0, 0, 0.5, 0.2)
    gal = sky.CircleRegion(184.5575, -5.7844, 0.2, frame="galactic")  # the Crab in galactic
    assert gal.contains([TARGET[0]], [TARGET[1]])[0]
    annulus = sky.AnnulusRegion(*TARGET, 0.1, 0.3)
    inside = annulus.contains([TARGET[0], TARGET[0]], [TARGET[1] + 0.05, TARGET[1] + 0.2])
    assert inside.tolist() == [False, True]
    with pytest.raises(ConfigError, match=r"spectrum\.safe_methods"):
        sky.parse_config(
            {
                "data": {"dir": "x"},
                "geom": {"skydir": [0, 0]},
                "spectrum": {"on_region": [0, 0, 0.1], "safe_methods": ["aeff-mux"]},
            }
        )


@settings(max_examples=30, deadline=None)
@given(
    st.floats(0.05, 0.3),
    st.floats(0.4, 1.5),
    st.floats(0, 2 * np.pi),
)
def test_reflected_regions_ring_property(radius: float, offset: float, pa: float) -> None:
    """OFF regions sit at the ON region's distance from the pointing, do not overlap it or
    each other (beyond the 0.01 deg pixels the angular size is measured on), and keep its size."""
    pointing = (83.0, 22.0)
    lat = pointing[1] + offset * np.cos(pa)
    lon = pointing[0] + offset * np.sin(pa) / np.cos(np.radians(lat))
    on = sky.CircleRegion(float(lon), float(lat), radius)
    regions, _ = sky.find_reflected_regions(on, pointing)
    if radius < offset:
        assert regions
    centres = [(on.lon, on.lat)] + [(r.lon, r.lat) for r in regions]
    sep = sky.angular_separation(*np.radians([*pointing]), *np.radians(np.array(centres).T))
    d_on = np.degrees(sep[0])
    np.testing.assert_allclose(np.degrees(sep), d_on, rtol=2e-3)
    for r in regions:
        assert r.radius == pytest.approx(radius, rel=2e-3)
    for k, a in enumerate(centres):
        for b in centres[k + 1 :]:
            d = np.degrees(sky.angular_separation(*np.radians([*a, *b])))
            assert d > 2 * radius - 0.03  # pixel-centre angular size: overlap <= ~1 px


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_node_mixed_edisp_equals_direct(seed: int) -> None:
    rng = np.random.default_rng(seed)
    e_axis = sky.Axis.from_energy_bounds(0.1, 100, 12, "energy_true")
    migra = sky.Axis("migra", np.linspace(0.2, 3.0, 31))
    offset = sky.Axis.from_nodes("offset", [0.0, 0.5, 1.0, 1.5, 2.0], sky.Scale.LIN, "deg")
    data = rng.gamma(2.0, size=(12, 30, 5)) * (rng.random((12, 30, 5)) > 0.2)
    edisp = sky.EnergyDispersion2D((e_axis, migra, offset), data.astype(np.float32))
    offsets = rng.uniform(-0.3, 2.6, size=(7, 9))
    e_true = sky.Axis.from_energy_bounds(0.3, 50, 8, "energy_true").center
    edges = sky.Axis.from_energy_bounds(0.5, 40, 6).edges
    fast = edisp_kernels(edisp, offsets, e_true, edges)
    direct = edisp_kernels_direct(edisp, offsets, e_true, edges)
    np.testing.assert_allclose(fast, direct, rtol=1e-12, atol=1e-14)
    assert np.all(fast[..., offsets > 2.25] == 0)


def test_aeff_threshold() -> None:
    energy = np.array([1.0, 2.0, 4.0, 8.0])
    aeff = np.array([0.0, 1.0, 10.0, 100.0])
    # 10 % of 100 is reached exactly at the third node
    assert sky.aeff_energy_threshold(aeff, energy, 10) == pytest.approx(4.0)
    assert np.isnan(sky.aeff_energy_threshold(np.zeros(4), energy, 10))
