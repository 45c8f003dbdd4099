"""Files: the real showerdata file, both layouts, conversion, targets, modes and errors."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from tierflow import showers as sh
from tierflow.errors import FormatError, MismatchError, NotFoundError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def real_file(testdata: Path) -> Path:
    path = testdata / "showers" / "showers-4f.h5"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def expected(real_file: Path) -> dict[str, np.ndarray]:
    with np.load(real_file.with_name("showers-4f-expected.npz")) as z:
        return {k: z[k] for k in z}


def small(n: int = 6, features: int = 4, seed: int = 0) -> sh.Showers:
    rng = np.random.default_rng(seed)
    num_points = rng.integers(0, 9, n)
    flat = rng.uniform(0.01, 5, (int(num_points.sum()), features)).astype(np.float32)
    return sh.Showers(
        flat_points=flat,
        num_points=num_points,
        energies=rng.uniform(1, 90, n),
        pdg=rng.choice([11, 22, 211], n),
        directions=rng.normal(size=(n, 3)),
        shower_ids=rng.permutation(n),
        max_points=10,
    )


def _datasets(path: Path) -> dict[str, tuple[object, str]]:
    found: dict[str, tuple[object, str]] = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: (
                found.__setitem__(name, (obj.shape, str(obj.dtype)))
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    return found


def test_real_file_loads_equal_to_expected(
    real_file: Path, expected: dict[str, np.ndarray]
) -> None:
    showers = sh.load(real_file)
    assert np.array_equal(showers.points, expected["points"])
    for key in ("num_points", "energies", "pdg", "directions", "shower_ids"):
        assert np.array_equal(getattr(showers, key), expected[key]), key
    target, num_points = sh.load_target(real_file)
    assert np.array_equal(num_points, expected["num_points"])
    valid = np.arange(300) < num_points[:, None]
    assert np.array_equal(target[valid], expected["target"][valid])
    assert np.all(target[~valid] == 0)
    assert sh.get_file_shape(real_file) == (200, 300, 4)
    assert sh.get_file_length(real_file) == 200
    assert sh.layout_of(real_file) is sh.Layout.SHOWERDATA
    assert sh.load_metadata(real_file)["showerdata_version"] == "0.7.0"


def test_showerdata_layout_written_like_the_anchor(real_file: Path, tmp_path: Path) -> None:
    ours = tmp_path / "ours.h5"
    sh.convert(real_file, ours)
    assert _datasets(ours) == _datasets(real_file)
    assert sh.load(ours) == sh.load(real_file)
    with h5py.File(ours) as a, h5py.File(real_file) as b:
        assert np.array_equal(a["showers"][7], b["showers"][7])
        assert dict(a.attrs) == dict(b.attrs)


def test_round_trip_through_lh5_is_lossless(real_file: Path, tmp_path: Path) -> None:
    lh5_file, back = tmp_path / "s.lh5", tmp_path / "back.h5"
    sh.convert(real_file, lh5_file)
    assert sh.layout_of(lh5_file) is sh.Layout.LH5
    assert sh.load(lh5_file) == sh.load(real_file)
    assert sh.get_file_shape(lh5_file) == (200, 300, 4)
    sh.convert(lh5_file, back)
    assert _datasets(back) == _datasets(real_file)
    for key in ("target",):
        a, b = sh.load_target(back, key), sh.load_target(real_file, key)
        assert np.array_equal(a[0], b[0])
        assert np.array_equal(a[1], b[1])
    assert sh.load(back) == sh.load(real_file)


def test_lh5_layout_is_an_lh5_file_with_units(compress_all: None, tmp_path: Path) -> None:
    from tierflow import lh5

    path = tmp_path / "s.lh5"
    sh.save(small(), path)
    hits = lh5.read("showers/hits", path)
    assert list(hits) == ["x", "y", "z", "energy"]
    assert hits["x"].attrs["units"] == "mm"
    assert hits["energy"].attrs["units"] == "GeV"
    with h5py.File(path) as f:
        assert f["showers/hits/x"].chunks is not None
        assert f["showers/hits/x"].maxshape == (None,)
        assert f["showers/hits/x"].compression is not None or f["showers/hits/x"]._filters


@pytest.mark.parametrize("suffix", [".h5", ".lh5"])
def test_max_points_keeps_num_points_consistent(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"s{suffix}"
    s = small()
    sh.save(s, path)
    cut = sh.load(path, max_points=3)
    assert cut.num_points.tolist() == np.minimum(s.num_points, 3).tolist()
    assert cut.points.shape == (len(s), 3, 4)
    for i in range(len(s)):
        assert np.array_equal(cut.shower(i), s.shower(i)[:3])


@pytest.mark.parametrize("suffix", [".h5", ".lh5"])
def test_zero_energy_hits_survive_files(tmp_path: Path, suffix: str) -> None:
    s = small()
    s.flat[1, 3] = 0.0
    path = tmp_path / f"z{suffix}"
    sh.save(s, path)
    assert sh.load(path) == s


@pytest.mark.parametrize("suffix", [".h5", ".lh5"])
def test_shower_data_file_modes(tmp_path: Path, suffix: str) -> None:
    s = small(8)
    path = tmp_path / f"f{suffix}"
    with sh.ShowerDataFile(path, "w", shape=(8, 10, 4)) as f:
        f[0:5] = s[:5]
        f[5:8] = s[5:]
        f.attrs["note"] = "made in a test"
    with sh.ShowerDataFile(path) as f:
        assert len(f) == 8
        assert f.shape == (8, 10, 4)
        assert f[np.int64(2)] == s[2]
        assert f[[6, 1, 6]] == s[[6, 1, 6]]
        assert f[2:6] == s[2:6]
        assert sh.concatenate(list(f)) == s
        assert sh.concatenate(f.iter_batches(3)) == s
        with pytest.raises(MismatchError, match="reading only"):
            f[0:1] = s[:1]
    assert sh.load_metadata(path)["note"] == "made in a test"


def test_lh5_layout_appends(tmp_path: Path) -> None:
    s = small(9)
    path = tmp_path / "a.lh5"
    sh.save(s[:4], path)
    with sh.ShowerDataFile(path, "a") as f:
        f.append(s[4:7])
        f[7:9] = s[7:]
        with pytest.raises(MismatchError, match="in order"):
            f[2:3] = s[:1]
    assert sh.load(path) == s


def test_showerdata_layout_cannot_append(tmp_path: Path) -> None:
    path = tmp_path / "a.h5"
    sh.save(small(), path)
    with sh.ShowerDataFile(path, "a") as f, pytest.raises(MismatchError, match="appended"):
        f.append(small())


@pytest.mark.parametrize("suffix", [".h5", ".lh5"])
def test_batches_and_targets(tmp_path: Path, suffix: str) -> None:
    s = small(6)
    path = tmp_path / f"b{suffix}"
    sh.create_empty_file(path, (6, 10, 4))
    sh.save_batch(s[:3], path, start=0)
    sh.save_batch(s[3:], path, start=3)
    assert sh.load(path) == s
    target = np.random.default_rng(3).normal(size=(6, 10, 3)).astype(np.float32)
    sh.add_target_dataset(path, (6, 10, 3))
    sh.add_target_dataset(path, (6, 10, 3), exists_ok=True)
    sh.save_target_batch(target[:2], path, start=0)
    sh.save_target_batch(target[2:], path, start=2)
    loaded, n = sh.load_target(path)
    assert np.array_equal(n, s.num_points)
    valid = np.arange(10) < n[:, None]
    assert np.array_equal(loaded[valid], target[valid])
    sh.save_target(target, path, name="latent", num_points=np.full(6, 4))
    cut, n_cut = sh.load_target(path, "latent", start=1, stop=3, max_points=2)
    assert cut.shape == (2, 2, 3)
    assert n_cut.tolist() == [2, 2]
    assert np.array_equal(cut, target[1:3, :2])
    with pytest.raises(FileExistsError):
        sh.save_target(target, path, name="latent", num_points=np.full(6, 4))


def test_incident_particles_alone(tmp_path: Path) -> None:
    p = sh.IncidentParticles(np.arange(1, 5.0), pdg=22)
    path = tmp_path / "p.h5"
    p.save(path)
    assert sh.get_file_length(path) == 4
    assert sh.load_inc_particles(path, 1, 3) == p[1:3]


def test_errors_name_file_and_object(tmp_path: Path, real_file: Path) -> None:
    with pytest.raises(NotFoundError, match="no such shower file"):
        sh.load(tmp_path / "absent.h5")
    with pytest.raises(NotFoundError, match="did you mean 'target'"):
        sh.load_target(real_file, key="targets")
    path = tmp_path / "s.lh5"
    sh.save(small(), path)
    with pytest.raises(NotFoundError, match="did you mean 'showers'"):
        sh.load(path, name="shower")
    with pytest.raises(FileExistsError):
        sh.save(small(), path)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(FormatError, match="cannot open"):
        sh.load(bad)
    with pytest.raises(MismatchError, match="features"), sh.ShowerDataFile(path, "a") as f:
        f.append(small(features=5))


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "never.h5"

    def boom(batch: sh.Showers) -> sh.Showers:
        raise RuntimeError("stop")

    sh.save(small(), tmp_path / "in.h5")
    with pytest.raises(RuntimeError):
        sh.transform_file(tmp_path / "in.h5", path, boom)
    assert not path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.h5"]
