"""The store's speed-ups: filters and chunks of new files, column-wise reads, and old files."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import h5py
import numpy as np
import pytest

from tierflow import showers as sh
from tierflow.errors import FormatError, NotFoundError
from tierflow.showers import _lh5format

DATA = Path(__file__).with_name("data")


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_v1_lz4", DATA / "make_v1_lz4.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def old_showers() -> sh.Showers:
    showers: sh.Showers = _maker().fixture_showers()
    return showers


def _filters(ds: h5py.Dataset) -> list[int]:
    plist = ds.id.get_create_plist()
    return [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]


def test_frozen_v1_lz4_file_reads_equal(old_showers: sh.Showers) -> None:
    path = DATA / "v1-lz4.lh5"
    with h5py.File(path) as handle:
        hits = handle["showers/hits/x"]
        assert hits.chunks == (1 << 15,)
        assert _filters(hits) == [h5py.h5z.FILTER_SHUFFLE, 32004]
    assert sh.load(path) == old_showers
    with sh.ShowerDataFile(path) as file:
        assert file[np.int64(4)] == old_showers[4:5]
        assert file[[6, 1, 1]] == old_showers[[6, 1, 1]]
        assert file[2:5] == old_showers[2:5]
    zero = sh.load(path, 1, 2)
    assert 0.0 in zero.flat[:, 3]  # the zero-energy hit is kept


def test_frozen_v1_bitshuffle_file_reads_directly_and_equal(old_showers: sh.Showers) -> None:
    """Files of Bitshuffle's own 2,048-hit blocks (before 512) decode straight from the file."""
    path = DATA / "v1-bitshuffle.lh5"
    with h5py.File(path) as handle:
        hits = handle["showers/hits/energy"]
        assert hits.chunks == (8192,)
        assert _filters(hits) == [32008]
        assert hits.id.get_create_plist().get_filter(0)[2][3] == 0  # the filter's default
    assert sh.load(path) == old_showers
    with sh.ShowerDataFile(path) as file:
        direct = file.store._direct  # type: ignore[attr-defined]
        assert direct.index.located
        assert direct.block_rows == 2048
        assert file[np.int64(4)] == old_showers[4:5]
        assert file[[6, 1, 1]] == old_showers[[6, 1, 1]]
        assert file[2:5] == old_showers[2:5]
        assert 0.0 in file[1].flat[:, 3]  # the zero-energy hit is kept


def test_append_to_old_file_keeps_its_filters(old_showers: sh.Showers, tmp_path: Path) -> None:
    path = tmp_path / "old.lh5"
    shutil.copy(DATA / "v1-lz4.lh5", path)
    with sh.ShowerDataFile(path, "a") as file:
        file.append(old_showers[1:3])
    assert sh.load(path) == sh.concatenate([old_showers, old_showers[1:3]])
    with h5py.File(path) as handle:
        assert _filters(handle["showers/hits/energy"]) == [h5py.h5z.FILTER_SHUFFLE, 32004]


def test_new_files_use_bitshuffle_lz4_and_short_chunks(
    old_showers: sh.Showers, compress_all: None, tmp_path: Path
) -> None:
    path = tmp_path / "new.lh5"
    sh.save(old_showers, path)
    with h5py.File(path) as handle:
        for name in ("x", "energy"):
            hits = handle[f"showers/hits/{name}"]
            assert hits.chunks == (_lh5format.HITS_CHUNK_ROWS,) == (8192,)
            assert _filters(hits) == [32008]  # Bitshuffle, with LZ4 inside
        assert _filters(handle["showers/events/num_points"]) == [32008]
    loaded = sh.load(path)
    assert loaded == old_showers
    assert np.array_equal(loaded.flat.view(np.uint32), old_showers.flat.view(np.uint32))


def test_new_files_compress_the_columns_compression_shrinks(tmp_path: Path) -> None:
    """Runs of cell-centred positions and layers of 4 values compress to well under half
    their bytes; random energies (and a -0.0 and a NaN of their own bits) do not, and are
    stored plain, bit for bit."""
    rng = np.random.default_rng(3)
    num_points = rng.integers(1000, 3000, 30)
    flat = np.zeros((int(num_points.sum()), 4), np.float32)
    flat[:, 0] = (np.arange(len(flat)) // 64 % 8 + 0.5) * 5  # runs of one cell
    flat[:, 2] = rng.integers(0, 4, len(flat))
    flat[:, 3] = rng.random(len(flat), dtype=np.float32)
    flat[7, 3], flat[8, 3:4].view(np.uint32)[0] = -0.0, 0x7FC00ABC
    showers = sh.Showers(flat_points=flat, num_points=num_points, energies=np.ones(30))
    path = tmp_path / "packed.lh5"
    sh.save(showers, path)
    with h5py.File(path) as handle:
        hits = handle["showers/hits"]
        assert [_filters(hits[n]) for n in ("x", "z", "energy")] == [[32008], [32008], []]
        assert hits["energy"].chunks == (_lh5format.HITS_CHUNK_ROWS,)
        assert hits["energy"].maxshape == (None,)  # plain columns still grow by appends
    for loaded in (sh.load(path), sh.load(path, 2, 9)):
        want = showers.flat[showers.offsets[0 if len(loaded) == 30 else 2] :][: len(loaded.flat)]
        assert np.array_equal(loaded.flat.view(np.uint32), want.view(np.uint32))
    with sh.ShowerDataFile(path) as file:
        assert np.array_equal(file[0].flat.view(np.uint32), flat[: num_points[0]].view(np.uint32))


def test_given_compression_applies_to_every_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    flat = rng.random((5000, 4), dtype=np.float32)
    showers = sh.Showers(flat_points=flat, num_points=[2000, 3000], energies=[1.0, 2.0])
    path = tmp_path / "gzip.lh5"
    sh.save(showers, path, hdf5_settings={"compression": "gzip"})
    with h5py.File(path) as handle:
        assert all(_filters(handle[f"showers/hits/{n}"]) == [1] for n in ("x", "energy"))
    assert sh.load(path) == showers


def test_full_load_is_columnar_and_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    num_points = rng.integers(0, 3000, 40).astype(np.int32)
    flat = rng.normal(0, 100, (int(num_points.sum()), 4)).astype(np.float32)
    flat[:, 3] = np.abs(flat[:, 3])
    showers = sh.Showers(flat_points=flat, num_points=num_points, energies=rng.uniform(1, 9, 40))
    path = tmp_path / "many.lh5"
    sh.save(showers, path)
    loaded = sh.load(path)
    assert loaded.flat.flags.f_contiguous  # each column decoded in place, no interleaving copy
    assert np.array_equal(loaded.flat, flat)
    assert np.array_equal(loaded.points, showers.points)
    with sh.ShowerDataFile(path) as file:
        for i in rng.integers(0, 40, 15):
            assert np.array_equal(file[i].flat, showers.shower(int(i)))
        picked = rng.integers(0, 40, 9)
        assert file[picked] == showers[picked]


def test_showerdata_layout_reads_per_shower_rows_once(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    num_points = rng.integers(1, 50, 30).astype(np.int32)
    flat = np.abs(rng.normal(0, 10, (int(num_points.sum()), 4))).astype(np.float32)
    showers = sh.Showers(flat_points=flat, num_points=num_points, energies=rng.uniform(1, 9, 30))
    path = tmp_path / "sd.h5"
    sh.save(showers, path)
    with sh.ShowerDataFile(path) as file:
        for index, row in ((np.int64(3), 3), (29, 29), (-1, 29), (0, 0)):
            assert file[index] == showers[row : row + 1]
        assert file[[4, 2, 4]] == showers[[4, 2, 4]]
    with sh.ShowerDataFile(path, "a") as file:  # writes stay visible to reads of the same handle
        file[5:7] = showers[0:2]
        assert file[5:7].num_points.tolist() == num_points[0:2].tolist()
        assert file[5:7].energies.tolist() == showers.energies[0:2].tolist()


def test_showerdata_layout_large_reads_check_num_points(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    num_points = rng.integers(1, 9, 2500).astype(np.int32)
    flat = np.abs(rng.normal(0, 10, (int(num_points.sum()), 4))).astype(np.float32)
    showers = sh.Showers(flat_points=flat, num_points=num_points, energies=rng.uniform(1, 9, 2500))
    path = tmp_path / "sd.h5"
    sh.save(showers, path)
    assert sh.load(path) == showers  # read in blocks of showers into one array
    assert sh.load(path, 1000, 2100) == showers[1000:2100]
    with h5py.File(path, "a") as handle:
        handle["num_points"][2049] += 1
    with pytest.raises(FormatError, match="num_points disagrees") as error:
        sh.load(path)
    assert error.value.file == str(path) or str(path) in str(error.value)
    assert sh.load(path, 0, 2000) == showers[0:2000]


def test_missing_hits_column_names_the_ones_there(old_showers: sh.Showers, tmp_path: Path) -> None:
    path = tmp_path / "broken.lh5"
    sh.save(old_showers, path)
    with h5py.File(path, "a") as handle:
        handle.move("showers/hits/energy", "showers/hits/energie")
    with pytest.raises(NotFoundError, match="no column 'energy'") as error:
        sh.load(path)
    assert "energie" in str(error.value)
