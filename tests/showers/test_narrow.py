"""Hits columns of small scaled integers stored narrowly: exact, read directly, appended."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import showers as sh
from tierflow.errors import FormatError
from tierflow.showers import _lh5format
from tierflow.showers._narrow import DIVISOR_ATTR, Narrow, choose_narrow, narrow_of

DATA = Path(__file__).with_name("data")


def _bits(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def _same(a: sh.Showers, b: sh.Showers) -> bool:
    return a == b and np.array_equal(_bits(a.flat), _bits(b.flat))


def _cells(seed: int, n: int, high: int = 900) -> sh.Showers:
    """Showers at cell centres: x, y of 5 and 30 mm cells, integer layers, float energies."""
    rng = np.random.default_rng(seed)
    num_points = rng.integers(0, high, n).astype(np.int32)
    total = int(num_points.sum())
    layer = rng.integers(0, 78, total)
    cell = np.where(layer < 30, 5.0, 30.0)
    x = (np.floor(rng.normal(0, 90, total) / cell) + 0.5) * cell
    y = (np.floor(rng.normal(0, 90, total) / cell) + 0.5) * cell
    energy = rng.exponential(1e-3, total)
    flat = np.stack([x, y, layer, energy], axis=1).astype(np.float32)
    return sh.Showers(flat_points=flat, num_points=num_points, energies=rng.uniform(1, 9, n))


def _dtypes(path: Path) -> dict[str, str]:
    with h5py.File(path) as handle:
        hits = handle["showers/hits"]
        return {name: str(hits[name].dtype) for name in ("x", "y", "z", "energy")}


def _version(path: Path) -> int:
    with h5py.File(path) as handle:
        return int(handle["showers"].attrs["tierflow_showers"])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 3, 77], Narrow(np.dtype("int8"), 1)),
        ([-2.5, 7.5, 15.0, 45.0], Narrow(np.dtype("int8"), 2)),
        ([-2.5, 700.5], Narrow(np.dtype("int16"), 2)),
        ([0.0625, 3.0], Narrow(np.dtype("int8"), 16)),
        ([25.9, -19.5, 3276.7], Narrow(np.dtype("int16"), 10)),
        ([0.001, 2.0], Narrow(np.dtype("int16"), 1000)),
        ([1e-4, 2.0], None),  # more digits than any divisor gives
        ([0.03125, 1.0], None),  # 1/32
        ([0.5, 40.0], Narrow(np.dtype("int8"), 2)),
        ([4000.5, 1.0], Narrow(np.dtype("int16"), 2)),  # 8,001 halves: beyond int8
        ([0.0, -0.0], None),  # -0.0 would come back as 0.0
        ([1.0, np.nan], None),
        ([1.0, np.inf], None),
        ([40000.0, 1.0], None),  # beyond int16
        ([], None),
    ],
)
def test_choose_narrow(values: list[float], expected: Narrow | None) -> None:
    assert choose_narrow(np.array(values, dtype=np.float32)) == expected


def test_a_sample_that_fits_does_not_decide_for_the_column() -> None:
    values = np.zeros(10_000, np.float32)
    values[-1] = 0.1  # beyond the sample tried first
    assert choose_narrow(values) == Narrow(np.dtype("int8"), 10)
    values[-1] = 1e-5
    assert choose_narrow(values) is None
    values[-1] = 300.0  # fits int16 but not the sample's int8
    assert choose_narrow(values) == Narrow(np.dtype("int16"), 1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-40000, 40000), max_size=60),
    st.sampled_from([1, 2, 4, 8, 10, 100, 1000, 3]),
    st.lists(st.floats(width=32, allow_nan=True), max_size=3),
)
def test_narrow_columns_come_back_bit_for_bit(
    ints: list[int], divisor: int, extra: list[float]
) -> None:
    values = np.concatenate(
        [np.array(ints, np.float64) / divisor, np.array(extra, np.float64)]
    ).astype(np.float32)
    narrow = choose_narrow(values)
    if narrow is None:
        return
    assert narrow.fits(values)
    stored = narrow.encode(values)
    assert stored.dtype in (np.int8, np.int16)
    assert np.array_equal(_bits(narrow.decode(stored)), _bits(values))


def test_a_divisor_of_ten_fits_decimals_that_float32_rounds() -> None:
    values = (np.arange(-32767, 32768) / 10).astype(np.float32)
    assert choose_narrow(values) == Narrow(np.dtype("int16"), 10)


def test_narrow_of_reads_the_attribute() -> None:
    assert narrow_of(np.dtype("int16"), {DIVISOR_ATTR: 10}) == Narrow(np.dtype("int16"), 10)
    assert narrow_of(np.dtype("float32"), {}) is None
    assert narrow_of(np.dtype("float32"), {DIVISOR_ATTR: 2}) is None
    assert narrow_of(np.dtype("int16"), {DIVISOR_ATTR: 3}) is None  # not a divisor it writes


def test_cell_centred_columns_are_stored_narrow_and_read_exactly(
    small_chunks: None, tmp_path: Path
) -> None:
    showers = _cells(1, 40)
    path = tmp_path / "cells.lh5"
    sh.save(showers, path)
    assert _dtypes(path) == {"x": "int16", "y": "int16", "z": "int8", "energy": "float32"}
    assert _version(path) == _lh5format.LAYOUT_VERSION == 2
    with h5py.File(path) as handle:
        assert handle["showers/hits/x"].attrs[DIVISOR_ATTR] == 2
        assert handle["showers/hits/x"].attrs["units"] == "mm"
    assert _same(sh.load(path), showers)  # in batches, two threads, through ctypes
    assert _same(sh.load(path, 7, 9), showers[7:9])  # through HDF5 (chunks not located)
    rng = np.random.default_rng(2)
    with sh.ShowerDataFile(path) as file:
        direct = file.store._direct  # type: ignore[attr-defined]
        assert direct is not None
        assert direct.kinds[:, 0].tolist() == [2, 2, 1, 4]
        for i in rng.integers(0, len(showers), 30).tolist():
            assert _same(file[i], showers[i : i + 1])
        picked = rng.integers(0, len(showers), 12)
        assert _same(file[picked], showers[picked])
        assert _same(file[3:31], showers[3:31])
    with sh.ShowerDataFile(path, "a") as file:  # open for writing: read through HDF5
        assert file.store._direct is None  # type: ignore[attr-defined]
        assert _same(file[5], showers[5:6])
        assert _same(file[:], showers)


def test_files_with_no_narrow_column_stay_version_1(tmp_path: Path) -> None:
    showers = _cells(2, 5)
    showers.flat[:, :3] += np.float32(1e-4)
    path = tmp_path / "plain.lh5"
    sh.save(showers, path)
    assert set(_dtypes(path).values()) == {"float32"}
    assert _version(path) == 1


def test_narrow_storage_can_be_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_lh5format, "NARROW", False)
    path = tmp_path / "wide.lh5"
    sh.save(_cells(3, 4), path)
    assert set(_dtypes(path).values()) == {"float32"}


def test_appends_that_fit_stay_narrow(small_chunks: None, tmp_path: Path) -> None:
    parts = [_cells(10 + k, 12, high=500) for k in range(3)]
    path = tmp_path / "grown.lh5"
    sh.save(parts[0], path)
    for part in parts[1:]:
        with sh.ShowerDataFile(path, "a") as file:
            file.append(part)
    assert _dtypes(path)["x"] == "int16"
    showers = sh.concatenate(parts)
    assert _same(sh.load(path), showers)
    with sh.ShowerDataFile(path) as file:
        for i in (0, 13, 30, 35):
            assert _same(file[i], showers[i : i + 1])


@pytest.mark.parametrize(
    "settings", [None, {"compression": "gzip", "shuffle": True}], ids=["default", "gzip"]
)
def test_an_append_that_does_not_fit_widens_the_column(
    small_chunks: None, compress_all: None, tmp_path: Path, settings: dict[str, object] | None
) -> None:
    first, second = _cells(20, 10, high=400), _cells(21, 6, high=400)
    second.flat[:, 1] += np.float32(0.3183)  # y no longer of few digits
    path = tmp_path / "widened.lh5"
    sh.save(first, path, hdf5_settings=settings)
    with h5py.File(path) as handle:
        filters = handle["showers/hits/y"].id.get_create_plist().get_filter(0)
    with sh.ShowerDataFile(path, "a") as file:
        file.append(second)
    assert _dtypes(path) == {"x": "int16", "y": "float32", "z": "int8", "energy": "float32"}
    with h5py.File(path) as handle:
        y = handle["showers/hits/y"]
        assert DIVISOR_ATTR not in y.attrs
        assert y.attrs["units"] == "mm"
        assert y.chunks == (1024,)
        assert y.maxshape == (None,)
        code, _, options, _ = y.id.get_create_plist().get_filter(0)
        assert code == filters[0]
        if code == 32008:  # Bitshuffle: same blocks and LZ4, for 4-byte values
            assert options[2:] == (4, *filters[2][3:])
        else:
            assert options == (4,)  # HDF5's shuffle, of 4-byte values
    showers = sh.concatenate([first, second])
    assert _same(sh.load(path), showers)
    with sh.ShowerDataFile(path) as file:
        direct = file.store._direct  # type: ignore[attr-defined]
        assert (direct is not None) == (settings is None)  # gzip: read through HDF5
        for i in (0, 9, 10, 15):
            assert _same(file[i], showers[i : i + 1])


def test_an_integer_column_without_its_scale_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.lh5"
    sh.save(_cells(4, 3), path)
    with h5py.File(path, "a") as handle:
        del handle["showers/hits/z"].attrs[DIVISOR_ATTR]
    with pytest.raises(FormatError, match="tierflow_divisor") as error:
        sh.load(path)
    assert "showers/hits/z" in str(error.value)
    assert str(path) in str(error.value)


def test_float64_hits_columns_still_read_as_float32(tmp_path: Path) -> None:
    showers = _cells(6, 4)
    path = tmp_path / "f64.lh5"
    sh.save(showers, path, hdf5_settings={"compression": "gzip"})
    with h5py.File(path, "a") as handle:
        hits = handle["showers/hits"]
        attrs = dict(hits["energy"].attrs)
        values = hits["energy"][()].astype(np.float64)
        del hits["energy"]
        hits.create_dataset("energy", data=values, maxshape=(None,), chunks=(1024,))
        hits["energy"].attrs.update(attrs)
    assert _same(sh.load(path), showers)


def test_a_newer_layout_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.lh5"
    sh.save(_cells(5, 3), path)
    with h5py.File(path, "a") as handle:
        handle["showers"].attrs["tierflow_showers"] = _lh5format.LAYOUT_VERSION + 1
    with pytest.raises(FormatError, match="newer"):
        sh.load(path)


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_v2_narrow", DATA / "make_v2_narrow.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frozen_v2_narrow_file_reads_directly_and_equal() -> None:
    showers: sh.Showers = _maker().fixture_showers()
    path = DATA / "v2-narrow.lh5"
    assert _dtypes(path) == {"x": "int16", "y": "int16", "z": "int8", "energy": "float32"}
    assert _version(path) == 2
    with h5py.File(path) as handle:
        hits = handle["showers/hits"]
        assert [hits[k].attrs[DIVISOR_ATTR] for k in ("x", "y", "z")] == [2, 10, 1]
    assert _same(sh.load(path), showers)
    with sh.ShowerDataFile(path) as file:
        direct = file.store._direct  # type: ignore[attr-defined]
        assert direct.index.located
        assert direct.block_rows == 512
        for i in range(len(showers)):
            assert _same(file[i], showers[i : i + 1])
        assert _same(file[[4, 1, 4]], showers[[4, 1, 4]])
