"""Processing: parity with showerdata's outputs on the real file, and properties."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from tierflow import showers as sh
from tierflow.errors import ConfigError, NotFoundError
from tierflow.showers import observables as ob

ANCHOR = Path(__file__).with_name("data") / "anchor-4f.npz"


@pytest.fixture(scope="module")
def real(testdata: Path) -> sh.Showers:
    path = testdata / "showers" / "showers-4f.h5"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return sh.load(path)


@pytest.fixture(scope="module")
def anchor() -> dict[str, np.ndarray]:
    with np.load(ANCHOR) as z:
        return {k: z[k] for k in z}


def _same(ours: sh.Showers, anchor: dict[str, np.ndarray], key: str) -> None:
    assert np.array_equal(ours.num_points, anchor[f"{key}_num_points"])
    assert np.array_equal(ours.flat, anchor[f"{key}_points"])


@pytest.mark.parametrize("processes", [1, 2])
def test_cluster_matches_showerdata(
    real: sh.Showers, anchor: dict[str, np.ndarray], processes: int
) -> None:
    _same(sh.cluster(real, random_shift=False, processes=processes), anchor, "cluster")


def test_filter_matches_showerdata(real: sh.Showers, anchor: dict[str, np.ndarray]) -> None:
    ours = sh.filter_showers(real, radius=60.0, ecal_threshold=2e-4, hcal_threshold=5e-4)
    _same(ours, anchor, "filter")


@pytest.mark.parametrize(("inverse", "key"), [(False, "shift"), (True, "shift_inverse")])
def test_shift_matches_showerdata(
    real: sh.Showers, anchor: dict[str, np.ndarray], inverse: bool, key: str
) -> None:
    _same(sh.shift_showers(real, inverse=inverse), anchor, key)


@pytest.mark.parametrize("label", ["none", "ild"])
def test_observables_match_showerdata(
    real: sh.Showers, anchor: dict[str, np.ndarray], label: str
) -> None:
    config = sh.get_ILD_geometry() if label == "ild" else None
    assert np.array_equal(
        ob.calc_num_points_per_layer(real, 78, config), anchor[f"num_points_per_layer_{label}"]
    )
    assert np.array_equal(
        ob.calc_energy_per_layer(real, 78, config), anchor[f"energy_per_layer_{label}"]
    )
    assert np.array_equal(
        ob.calc_energy_per_radial_bin(real, detector_config=config),
        anchor[f"energy_per_radial_bin_{label}"],
    )
    # showerdata sums padded rows pairwise; the flat sum differs in the last float32 bits
    np.testing.assert_allclose(
        ob.calc_center_of_energy(real, config),
        anchor[f"center_of_energy_{label}"],
        rtol=2e-6,
        atol=1e-4,
    )


def test_cluster_with_random_shift_conserves_energy(real: sh.Showers) -> None:
    clustered = sh.cluster(real, rng=1)
    before = np.add.reduceat(real.flat[:, 3].astype(np.float64), real.offsets[:-1])
    after = np.add.reduceat(clustered.flat[:, 3].astype(np.float64), clustered.offsets[:-1])
    np.testing.assert_allclose(after, before, rtol=1e-5)
    assert np.all(clustered.num_points <= real.num_points)
    assert sh.cluster(real, rng=1) == clustered
    assert sh.cluster(real, rng=2) != clustered
    ecal = clustered.flat[:, 2] < 29.5
    centres = (clustered.flat[ecal, 0] / 5.0) % 1.0
    assert len(np.unique(np.round(centres, 3))) > 1  # shifted grids, not one fixed grid


def test_cluster_keeps_time_as_earliest() -> None:
    s = sh.Showers(
        flat_points=[[1, 1, 0, 1.0, 7.0], [2, 2, 0, 2.0, 3.0], [40, 1, 0, 1.0, 9.0]],
        num_points=[3],
        energies=[5.0],
        pdg=22,
    )
    c = sh.cluster(s, random_shift=False)
    assert c.flat.tolist() == [[2.5, 2.5, 0.0, 3.0, 3.0], [42.5, 2.5, 0.0, 1.0, 9.0]]


def test_shift_inverse_undoes_shift(real: sh.Showers) -> None:
    there = sh.shift_showers(real, inverse=True)
    back = sh.shift_showers(there)
    kept = back.num_points == real.num_points
    np.testing.assert_allclose(back[kept].flat, real[kept].flat, atol=1e-3)


def test_voxels_keep_energy_inside_the_grid(real: sh.Showers, tmp_path: Path) -> None:
    grid = sh.VoxelGrid(num_layers=78, r_edges=(0.0, 10.0, 100.0, 1e4), n_alpha=8)
    voxels = sh.to_voxels(real, grid)
    assert voxels.shape == (len(real), grid.n_voxels)
    total = np.add.reduceat(real.flat[:, 3].astype(np.float64), real.offsets[:-1])
    np.testing.assert_allclose(voxels.sum(axis=1), total, rtol=1e-5)
    sh.save_voxels(real, tmp_path / "cc.h5", grid, energy_scale=1000)
    with h5py.File(tmp_path / "cc.h5") as f:
        assert f["showers"].shape == (200, grid.n_voxels)
        assert np.allclose(f["incident_energies"][()], real.energies * 1000)


def test_observables_in_files(tmp_path: Path, real: sh.Showers) -> None:
    for suffix in (".h5", ".lh5"):
        path = tmp_path / f"o{suffix}"
        sh.save(real, path)
        ob.add_observables_to_file(path, batch_size=64)
        stored = ob.read_observables_from_file(path, start=10, stop=20)
        assert np.array_equal(stored["energy_per_layer"], ob.calc_energy_per_layer(real[10:20], 78))
        assert np.allclose(stored["total_energy"], stored["energy_per_layer"].sum(axis=1))
        with pytest.raises(FileExistsError):
            ob.add_observables_to_file(path)
        with pytest.raises(NotFoundError, match="did you mean 'energy_per_layer'"):
            ob.read_observables_from_file(path, ["energy_per_layers"])
    sh.add_metadata(path, {"clustered_for": "CLIC"})
    with pytest.raises(ConfigError, match="CLIC"):
        ob.add_observables_to_file(path, overwrite=True)


def test_shuffle_is_a_permutation_of_all_inputs(tmp_path: Path, real: sh.Showers) -> None:
    sh.save(real[:120], tmp_path / "a.h5")
    sh.save(real[120:], tmp_path / "b.lh5")
    n = sh.shuffle_files(
        [tmp_path / "a.h5", tmp_path / "b.lh5"], tmp_path / "out.lh5", seed=3, batch_size=50
    )
    assert n == 200
    out = sh.load(tmp_path / "out.lh5")
    order = np.argsort(out.shower_ids)
    assert out[order] == real
    assert not np.array_equal(out.shower_ids, real.shower_ids)
    sh.shuffle_files(
        [tmp_path / "a.h5"], tmp_path / "ids.h5", seed=3, overwrite_ids=True, max_per_file=30
    )
    again = sh.load(tmp_path / "ids.h5")
    assert again.shower_ids.tolist() == list(range(30))
    assert sh.get_file_shape(tmp_path / "ids.h5") == (30, 300, 4)


def test_geometry_registry_and_dicts() -> None:
    ild = sh.make_geometry("ILD")
    assert ild.layer_bottom_pos[30] == 2081.0
    assert ild.layer_bottom_pos[-1] == 3326.5
    assert sh.DetectorGeometry.from_dict(ild.to_dict()) == ild
    with pytest.raises(NotFoundError, match="did you mean 'ILD'"):
        sh.make_geometry("ILDD")
    with pytest.raises(NotFoundError, match="num_layers"):
        sh.DetectorGeometry.from_dict({**ild.to_dict(), "num_layer": 3})
    with pytest.raises(ConfigError, match="layers"):
        sh.make_test_geometry(3).__class__(**{**sh.make_test_geometry(3).__dict__, "num_layers": 4})
