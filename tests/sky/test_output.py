"""FITS output in gammapy's layout, PNG images, the typed config, the CLI and parallel runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import sky
from tierflow.errors import ConfigError, FormatError, MismatchError, NotFoundError

fits = pytest.importorskip("astropy.io.fits")

RUNS = (23523, 23526, 23559, 23592)
TARGET = (83.633, 22.014)
ENERGY_TRUE = sky.Axis.from_energy_bounds(0.3, 100, 20, "energy_true")


@pytest.fixture(scope="module")
def ref(reference: Path) -> Path:
    path = reference / "sky"
    if not (path / "summary.json").is_file():
        pytest.skip(f"{path} has no sky reference")
    return path


@pytest.fixture(scope="module")
def dl3(testdata: Path) -> Path:
    path = testdata / "hess-dl3-dr1"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def geom() -> sky.WcsGeom:
    energy = sky.Axis.from_energy_bounds(0.5, 50, 10, "energy")
    return sky.WcsGeom.create(TARGET, 0.02, (5, 5), axes=[energy])


@pytest.fixture(scope="module")
def written(dl3: Path, geom: sky.WcsGeom, tmp_path_factory: pytest.TempPathFactory) -> Path:
    obs = sky.DataStore.from_dir(dl3).observation(RUNS[0])
    ds = sky.make_map_dataset(obs, geom, ENERGY_TRUE)
    path = tmp_path_factory.mktemp("sky") / "obs-23523.fits"
    return sky.write_dataset(ds, path)


def _image_names(hdus: Any) -> list[str]:
    return [h.name for h in hdus if h.name not in ("PRIMARY", "META_TABLE")]


def test_dataset_hdu_layout_equals_gammapy(written: Path, ref: Path) -> None:
    with fits.open(written) as mine, fits.open(ref / "obs_23523_dataset.fits.gz") as theirs:
        assert sorted(_image_names(mine)) == sorted(_image_names(theirs))
        for hdu in theirs:
            if hdu.name in ("PRIMARY", "META_TABLE", "GTI"):
                continue
            m = mine[hdu.name]
            if hdu.is_image:
                assert m.data.shape == hdu.data.shape, hdu.name
                for key in ("CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1",
                            "CDELT2", "WCSSHAPE", "BANDSHDU", "BUNIT", "AXCOLS1", "AXCOLS2",
                            "INTERP1", "INTERP2"):  # fmt: skip
                    assert m.header.get(key) == hdu.header.get(key), (hdu.name, key)
                assert json.loads(m.header["META"]).keys() == json.loads(hdu.header["META"]).keys()
            else:
                assert m.columns.names == hdu.columns.names, hdu.name
                for name in hdu.columns.names:
                    assert np.allclose(m.data[name], hdu.data[name], rtol=1e-12), (hdu.name, name)
        assert np.array_equal(mine["COUNTS"].data, theirs["COUNTS"].data)
        assert np.allclose(mine["EXPOSURE"].data, theirs["EXPOSURE"].data, rtol=1e-6)
        assert np.abs(mine["EDISP"].data - theirs["EDISP"].data).max() < 1e-6
        assert mine["GTI"].data["START"][0] == pytest.approx(theirs["GTI"].data["START"][0])
        assert mine["META_TABLE"].data["OBS_ID"][0] == 23523


def test_gammapy_reads_the_dataset(written: Path, ref: Path) -> None:
    datasets = pytest.importorskip("gammapy.datasets", exc_type=ImportError)
    mine = datasets.MapDataset.read(written)
    theirs = datasets.MapDataset.read(ref / "obs_23523_dataset.fits.gz")
    for name in ("counts", "exposure", "background", "mask_safe"):
        a, b = getattr(mine, name), getattr(theirs, name)
        assert a.geom == b.geom, name
        assert a.unit == b.unit, name
        assert np.allclose(a.data, b.data, rtol=1e-5), name
    assert type(mine.edisp) is type(theirs.edisp)
    assert mine.psf.psf_map.geom == theirs.psf.psf_map.geom
    assert mine.npred().data.sum() == pytest.approx(theirs.npred().data.sum(), rel=1e-6)
    assert mine.gti.time_sum.to_value("s") == pytest.approx(theirs.gti.time_sum.to_value("s"))


@settings(max_examples=15, deadline=None)
@given(
    nbins=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    npix=st.tuples(st.integers(2, 9), st.integers(2, 9)),
    frame=st.sampled_from(["icrs", "galactic"]),
    log=st.booleans(),
)
def test_write_read_map_roundtrip(
    nbins: list[int], npix: tuple[int, int], frame: str, log: bool, tmp_path_factory: Any
) -> None:
    names = ["energy", "rad"]
    axes = [
        sky.Axis.from_energy_bounds(0.5, 50, n, names[k])
        if log
        else sky.Axis(names[k], np.linspace(0, 1, n + 1), unit="deg")
        for k, n in enumerate(nbins)
    ]
    geom = sky.WcsGeom.create((10.0, -5.0), 0.1, (npix[0] * 0.1, npix[1] * 0.1), frame, axes=axes)
    data = np.random.default_rng(1).random(geom.data_shape)
    path = tmp_path_factory.mktemp("rt") / "map.fits"
    sky.write_maps({"values": data}, geom, path)
    back = sky.read_map(path, "VALUES")
    assert np.array_equal(back.data, data)
    assert back.geom.npix == geom.npix
    assert back.geom.frame == frame
    assert list(back.geom.axes) == axes
    assert np.allclose(back.geom.lonlat[0], geom.lonlat[0])


def test_write_refuses_to_overwrite_and_checks_shapes(tmp_path: Path, geom: sky.WcsGeom) -> None:
    path = sky.write_maps({"a": np.zeros(geom.data_shape)}, geom, tmp_path / "m.fits")
    with pytest.raises(FormatError, match="exists"):
        sky.write_maps({"a": np.zeros(geom.data_shape)}, geom, path)
    with pytest.raises(FormatError, match="data shape"):
        sky.make_map_hdus("X", np.zeros((3, 3)), geom)
    with pytest.raises(NotFoundError, match="did you mean 'A'"):
        sky.read_map(path, "AA")
    assert [p.name for p in tmp_path.iterdir()] == ["m.fits"]  # no temporary files left


def test_significance_of_reference_ring_dataset(ref: Path, summary: dict[str, Any]) -> None:
    maps, _ = sky.make_excess_maps_from_file(ref / "stacked_ring_dataset.fits.gz", 0.1)
    expected = summary["excess_map_ring"]
    for name in ("counts", "npred_background", "npred_excess", "sqrt_ts"):
        assert maps[name][125, 124] == pytest.approx(expected[f"{name}_at_target_pixel"], rel=1e-5)
    with fits.open(ref / "excess_maps_ring.fits.gz") as hdus:
        theirs = hdus["SQRT_TS"].data[0]
        ok = np.isfinite(theirs)
        assert np.array_equal(ok, np.isfinite(maps["sqrt_ts"]))
        assert np.allclose(maps["sqrt_ts"][ok], theirs[ok], rtol=1e-5, atol=2e-4)


@pytest.fixture(scope="module")
def summary(ref: Path) -> dict[str, Any]:
    return json.loads((ref / "summary.json").read_text())  # type: ignore[no-any-return]


def test_save_png(tmp_path: Path, geom: sky.WcsGeom) -> None:
    pytest.importorskip("matplotlib")
    image = np.random.default_rng(2).random(geom.data_shape[-2:])
    path = sky.save_png(image, geom.to_image(), tmp_path / "a.png", title="t", label="x")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(MismatchError):
        sky.save_png(np.zeros((3, 3)), geom, tmp_path / "b.png")


CONFIG: dict[str, Any] = {
    "data": {"dir": "dl3", "cone": {"lon": 83.633, "lat": 22.014, "radius": 2.5}},
    "geom": {"skydir": [83.633, 22.014], "width": [5, 5], "binsz": 0.02},
    "exclusion": {"circles": [[83.633, 22.014, 0.3]]},
}


def test_config_rejects_unknown_keys_with_suggestions() -> None:
    with pytest.raises(ConfigError, match="did you mean 'binsz'"):
        sky.parse_config({**CONFIG, "geom": {"skydir": [0, 0], "binsize": 0.1}})
    with pytest.raises(ConfigError, match="did you mean 'background'"):
        sky.parse_config({**CONFIG, "backgrond": {}})
    with pytest.raises(ConfigError, match="did you mean 'offset-max'"):
        sky.parse_config({**CONFIG, "safe_mask": {"methods": ["offset_max"]}})
    with pytest.raises(ConfigError, match=r"geom.skydir\[1\]: expected float"):
        sky.parse_config({**CONFIG, "geom": {"skydir": [0, "x"]}})
    with pytest.raises(ConfigError, match="missing key 'skydir'"):
        sky.parse_config({**CONFIG, "geom": {}})
    with pytest.raises(ConfigError, match="n_processes must be positive"):
        sky.parse_config({**CONFIG, "n_processes": 0})


def test_config_roundtrip_and_not_mutated() -> None:
    raw = json.loads(json.dumps(CONFIG))
    cfg = sky.parse_config(raw)
    assert raw == CONFIG
    assert sky.parse_config(cfg.to_dict()) == cfg
    assert cfg.background.ring is not None
    assert cfg.background.ring.r_in == 0.5
    off = sky.parse_config({**CONFIG, "background": {"ring": None}})
    assert off.background.ring is None
    assert off.background.fov is not None


def test_makers_validate_options(geom: sky.WcsGeom) -> None:
    with pytest.raises(ValueError, match="offset-maximum"):
        sky.SafeMaskMaker(["offset-maximum"])
    with pytest.raises(NotFoundError):
        sky.MapDatasetMaker(geom.to_image(), ENERGY_TRUE)
    with pytest.raises(ConfigError, match="does not fit"):
        sky.FoVBackgroundMaker(np.ones((3, 3), bool), geom)
    assert set(sky.SKY_MAKERS) >= {"map", "safe-mask", "ring", "fov"}
    with pytest.raises(ConfigError, match="put 'map' first"):
        sky.FoVBackgroundMaker(None, geom).run(sky.ObservationProducts(1))


def test_adaptive_ring_with_one_width_is_the_ring(dl3: Path, geom: sky.WcsGeom) -> None:
    obs = sky.DataStore.from_dir(dl3).observation(RUNS[0])
    ds = sky.make_map_dataset(obs, geom, ENERGY_TRUE, selection=["counts", "background"])
    image = sky.dataset_to_image(ds)
    plain = sky.make_map_ring_background(image, None, 0.5, 0.3)
    adaptive = sky.make_map_adaptive_ring_background(image, None, 0.5, [0.3], 0.01)
    for key in ("counts_off", "acceptance_off", "mask_safe"):
        assert np.array_equal(plain[key], adaptive[key]), key
    grown = sky.make_map_adaptive_ring_background(image, None, 0.5, [0.1, 0.2, 0.3], 0.02)
    alpha = grown["acceptance"] / grown["acceptance_off"]
    thin = grown["ring_width"] < 0.3
    assert thin.any()
    assert np.all(alpha[thin] <= 0.02 * (1 + 1e-6))


def _cli(argv: list[str]) -> int:
    from tierflow.cli._sky import SkyCommand

    parser = argparse.ArgumentParser()
    command = SkyCommand()
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv))


def test_cli_reduce_in_parallel_matches_reference(
    dl3: Path, tmp_path: Path, summary: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    config = {**CONFIG, "data": {**CONFIG["data"], "dir": str(dl3)}, "n_processes": 2}
    config["dataset"] = {"selection": ["counts", "exposure", "background"]}
    config["output"] = {"dir": "out", "png": False}
    (tmp_path / "reduce.yaml").write_text(yaml.safe_dump(config))
    assert _cli(["reduce", str(tmp_path / "reduce.yaml"), "-q"]) == 0
    out = tmp_path / "out"
    result = json.loads((out / "summary.json").read_text())
    assert [r["obs_id"] for r in result["runs"]] == list(RUNS)
    for run, expected in zip(result["runs"], summary["per_obs"], strict=True):
        assert run["fov_norm"] == pytest.approx(expected["bkg_norm"], rel=1e-6)
        assert run["counts"] == expected["counts_total"]
    with (
        fits.open(out / "stacked.fits") as mine,
        fits.open(Path(summary_path(dl3)) / "stacked_fov_dataset.fits.gz") as theirs,
    ):
        assert np.array_equal(mine["COUNTS"].data, theirs["COUNTS"].data)
        assert np.allclose(
            mine["BACKGROUND"].data, theirs["BACKGROUND"].data, rtol=1e-5, atol=1e-12
        )
    maps, _ = sky.make_excess_maps_from_file(out / "stacked_ring.fits", 0.1)
    ring = summary["excess_map_ring"]
    assert maps["sqrt_ts"][125, 124] == pytest.approx(ring["sqrt_ts_at_target_pixel"], rel=1e-5)
    assert _cli(["significance", str(out / "stacked.fits"), "--at", "83.633", "22.014"]) == 0
    printed = capsys.readouterr().out
    assert "sqrt_ts 41.17" in printed  # FoV stack, Cash: 41.1720 at the target
    with pytest.raises(FormatError, match="exists"):
        _cli(["reduce", str(tmp_path / "reduce.yaml"), "-q"])


def summary_path(dl3: Path) -> Path:
    return dl3.parents[1] / "reference" / "sky"
