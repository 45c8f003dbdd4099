"""The speed work of the sky reduction keeps its results: the fast FITS reader, the caches of
observations and geometries, the FFT convolution without scipy.signal, in-place stacking."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import sky
from tierflow.errors import NotFoundError
from tierflow.sky._fitsread import UnsupportedFeatureError, read_hdus
from tierflow.sky._stats import _next_fast_len, convolve, make_ring_kernel

fits = pytest.importorskip("astropy.io.fits")

RUNS = (23523, 23526, 23559, 23592)


@pytest.fixture(scope="module")
def dl3(testdata: Path) -> Path:
    path = testdata / "hess-dl3-dr1"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


def _inflate(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _assert_same_as_astropy(raw: bytes) -> None:
    mine = read_hdus(raw)
    with fits.open(io.BytesIO(raw)) as hdulist:
        assert list(mine) == [h.name for h in hdulist]
        for hdu in hdulist:
            header, table = mine[hdu.name]
            expected = {k: v for k, v in hdu.header.items() if k not in ("COMMENT", "HISTORY", "")}
            assert header == expected
            assert {k: type(v) for k, v in header.items()} == {
                k: type(v) for k, v in expected.items()
            }
            if not isinstance(hdu, fits.BinTableHDU):
                continue
            assert table is not None
            assert table.columns.names == hdu.columns.names
            for col in hdu.columns:
                ref, got = np.asarray(hdu.data[col.name]), table[col.name]
                assert got.shape == ref.shape, col.name
                assert got.dtype.kind == ref.dtype.kind, col.name
                np.testing.assert_array_equal(got, ref, err_msg=col.name)
                assert table.columns[col.name].unit == col.unit


def test_fits_reader_equals_astropy_on_dl3_files(dl3: Path) -> None:
    files = sorted(dl3.glob("*.fits*")) + sorted((dl3 / "data").glob("*.fits*"))
    assert len(files) >= 6
    for path in files:
        _assert_same_as_astropy(_inflate(path))


def _table_bytes(columns: list[Any], header: dict[str, Any] | None = None) -> bytes:
    hdu = fits.BinTableHDU.from_columns(columns, name="T")
    for key, value in (header or {}).items():
        hdu.header[key] = value
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf)
    return buf.getvalue()


def test_fits_reader_strings_logicals_dims_and_long_strings() -> None:
    raw = _table_bytes(
        [
            fits.Column("NAME", "8A", array=np.array(["a", "bb ", "it's"])),
            fits.Column("OK", "L", array=np.array([True, False, True])),
            fits.Column("M", "6E", dim="(3,2)", unit="m2", array=np.arange(18.0).reshape(3, 2, 3)),
            fits.Column("N", "K", array=np.array([1, -2, 3])),
        ],
        {"LONGSTR": "x" * 150 + "'q'", "FLAG": True, "RATIO": 1.5e-300, "NEG": -3},
    )
    _assert_same_as_astropy(raw)
    header, table = read_hdus(raw)["T"]
    assert header["LONGSTR"] == "x" * 150 + "'q'"
    assert table is not None
    assert table["M"].shape == (3, 2, 3)
    assert table["NAME"].tolist() == ["a", "bb", "it's"]


@settings(max_examples=15, deadline=None)
@given(
    text=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120),
    number=st.floats(allow_nan=False, allow_infinity=False),
    integer=st.integers(-(2**62), 2**62),
)
def test_header_values_round_trip(text: str, number: float, integer: int) -> None:
    raw = _table_bytes(
        [fits.Column("X", "D", array=np.array([number]))],
        {"TXT": text.rstrip(), "NUM": number, "INT": integer},
    )
    _assert_same_as_astropy(raw)  # astropy writes floats to 20 characters: compare with it
    header, table = read_hdus(raw)["T"]
    assert header["TXT"] == text.rstrip()
    assert header["INT"] == integer
    assert header["NUM"] == pytest.approx(number, rel=1e-12)
    assert table is not None
    assert table["X"][0] == number


def test_scaled_columns_fall_back_to_astropy(tmp_path: Path) -> None:
    raw = _table_bytes([fits.Column("U", "J", bzero=2**31, array=np.array([1, 2**32 - 1]))])
    with pytest.raises(UnsupportedFeatureError):
        read_hdus(raw)
    from tierflow.sky._dl3 import _read_fits

    path = tmp_path / "scaled.fits"
    path.write_bytes(raw)
    hdus = _read_fits(path)
    assert not isinstance(hdus, dict)
    assert hdus["T"].data["U"].tolist() == [1, 2**32 - 1]


def test_observation_is_read_once_and_kept(dl3: Path) -> None:
    store = sky.DataStore.from_dir(dl3)
    obs = store.observation(RUNS[0])
    assert store.observation(RUNS[0]) is obs
    events = obs.events
    assert store.observation(RUNS[0]).events is events
    with pytest.raises(NotFoundError, match="no 'nope' HDU"):
        store.observation(RUNS[0], required=["nope"])
    store.CACHE_SIZE = 2
    for obs_id in RUNS[1:]:
        store.observation(obs_id)
    assert store.observation(RUNS[0]) is not obs  # evicted, read again
    assert len(store._cache) == 2


def test_geometry_caches_give_the_same_numbers() -> None:
    energy = sky.Axis.from_energy_bounds(0.5, 50, 3, "energy")
    geom = sky.WcsGeom.create((83.633, 22.014), 0.05, (4, 3), axes=[energy])
    sep = geom.separation(83.0, 22.5)
    assert sep is geom.to_image().separation(83.0, 22.5)  # shared by siblings
    assert not sep.flags.writeable
    fresh = sky.WcsGeom(geom.wcs, geom.npix)  # same pixels, no shared cache
    np.testing.assert_array_equal(fresh.separation(83.0, 22.5), sep)
    cut, slices = geom.cutout(83.0, 22.5, 2.0)
    again, slices2 = geom.to_image().cutout(83.0, 22.5, 2.0)
    assert slices == slices2
    assert again.npix == cut.npix
    assert cut.axes == geom.axes
    assert again.axes == ()
    assert cut.slices_in(geom) == slices
    assert fresh.slices_in(geom) is None
    assert geom.with_binsz(0.2).npix == geom.with_binsz(0.2).npix == (20, 15)


def test_reproject_mask_slices_equal_the_coordinate_lookup() -> None:
    geom = sky.WcsGeom.create((83.633, 22.014), 0.02, (2, 2))
    mask = ~geom.region_mask_circle(83.633, 22.014, 0.3)
    cut, slices = geom.cutout(83.2, 21.6, 1.5)
    fast = sky.reproject_mask(mask, geom, cut)
    lookup = sky.reproject_mask(mask, sky.WcsGeom(geom.wcs, geom.npix), cut)
    np.testing.assert_array_equal(fast, lookup)
    np.testing.assert_array_equal(fast, mask[slices])


def test_stack_add_in_place_equals_masked_sum() -> None:
    energy = sky.Axis.from_energy_bounds(1, 10, 2, "energy")
    etrue = sky.Axis.from_energy_bounds(1, 10, 3, "energy_true")
    geom = sky.WcsGeom.create((0.0, 0.0), 0.1, 1.0, axes=[energy])
    cut, slices = geom.cutout(0.2, 0.1, 0.5)
    rng = np.random.default_rng(3)
    ds = sky.MapDataset("a", cut, slices, etrue)
    ds.counts = rng.poisson(2, cut.data_shape).astype(np.float32)
    ds.background = rng.random(cut.data_shape)
    ds.exposure = rng.random((3, *cut.data_shape[1:]))
    ds.mask_safe = rng.random(cut.data_shape) > 0.3
    stack = sky.MapStack(geom, etrue)
    stack.add(ds)
    stack.add(ds)
    sy, sx = slices
    np.testing.assert_array_equal(stack.counts[:, sy, sx], 2 * ds.counts * ds.mask_safe)
    np.testing.assert_array_equal(stack.background[:, sy, sx], 2 * ds.background * ds.mask_safe)
    np.testing.assert_array_equal(stack.exposure[:, sy, sx], 2 * ds.exposure * ds.mask_safe.any(0))
    assert stack.counts.sum() == 2 * (ds.counts * ds.mask_safe).sum()


@settings(max_examples=25, deadline=None)
@given(
    ny=st.integers(1, 40),
    nx=st.integers(1, 40),
    ky=st.integers(1, 15),
    kx=st.integers(1, 15),
    cube=st.booleans(),
)
def test_convolve_equals_scipy_fftconvolve(ny: int, nx: int, ky: int, kx: int, cube: bool) -> None:
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(ny * 100 + nx)
    image = rng.poisson(3.0, (2, ny, nx) if cube else (ny, nx)).astype(np.float64)
    kernel = rng.random((ky, kx))
    got = convolve(image, kernel)
    if cube:
        expected = np.stack([fftconvolve(i, kernel, mode="same") for i in image])
    else:
        expected = fftconvolve(image, kernel, mode="same")
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * kernel.sum() * 10)


def test_next_fast_len_is_scipys() -> None:
    from scipy.fft import next_fast_len

    assert [_next_fast_len(n) for n in range(1, 2000)] == [
        next_fast_len(n, True) for n in range(1, 2000)
    ]


def test_ring_convolution_does_not_import_scipy_signal() -> None:
    code = (
        "import sys, numpy as np; from tierflow.sky._stats import convolve, make_ring_kernel; "
        "convolve(np.ones((30, 30)), make_ring_kernel(3, 2)); "
        "print('scipy.signal' in sys.modules, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert make_ring_kernel(25, 15).shape == (81, 81)
