"""The in-memory ``Showers``: construction, indexing, padding, concatenation, errors."""

from __future__ import annotations

import numpy as np
import pytest

from tierflow.errors import MismatchError
from tierflow.showers import IncidentParticles, Showers, concatenate


def make(num_points: list[int], features: int = 4, seed: int = 0) -> Showers:
    rng = np.random.default_rng(seed)
    total = sum(num_points)
    flat = rng.uniform(0.1, 1.0, (total, features)).astype(np.float32)
    return Showers(
        flat_points=flat,
        num_points=num_points,
        energies=rng.uniform(1, 100, len(num_points)),
        pdg=rng.choice([11, 22], len(num_points)),
        shower_ids=np.arange(len(num_points)) + 100,
    )


def test_flat_and_padded_agree() -> None:
    s = make([2, 0, 3])
    padded = s.points
    assert padded.shape == (3, 3, 4)
    assert np.array_equal(padded[0, :2], s.flat[:2])
    assert np.all(padded[0, 2] == 0)
    assert np.all(padded[1] == 0)
    assert np.array_equal(padded[2], s.flat[2:5])
    again = Showers(points=padded, energies=s.energies, pdg=s.pdg, num_points=s.num_points)
    assert np.array_equal(again.flat, s.flat)


def test_zero_energy_hit_inside_a_shower_is_kept() -> None:
    padded = np.zeros((1, 4, 4), np.float32)
    padded[0, :3, 3] = [1.0, 0.0, 2.0]  # the middle hit has no energy
    s = Showers(points=padded, energies=[10.0], pdg=22)
    assert s.num_points.tolist() == [3]
    assert s.shower(0)[:, 3].tolist() == [1.0, 0.0, 2.0]


@pytest.mark.parametrize("index", [1, np.int64(1), np.int32(-2), [1], np.array([1])])
def test_integer_indices_of_any_kind(index: object) -> None:
    s = make([2, 3, 4])
    picked = s[index]  # type: ignore[index]
    assert len(picked) == 1
    assert picked.shower_ids.tolist() == [101]
    assert np.array_equal(picked.shower(0), s.shower(1))


def test_slices_lists_masks_and_order() -> None:
    s = make([2, 3, 4, 1])
    assert s[1:3].num_points.tolist() == [3, 4]
    assert s[::2].shower_ids.tolist() == [100, 102]
    picked = s[[3, 0, 3]]
    assert picked.num_points.tolist() == [1, 2, 1]
    assert np.array_equal(picked.shower(0), s.shower(3))
    assert np.array_equal(picked.shower(1), s.shower(0))
    assert s[np.array([True, False, False, True])].shower_ids.tolist() == [100, 103]
    assert s[...] == s
    with pytest.raises(IndexError):
        s[4]
    with pytest.raises(IndexError):
        s[[0, 7]]


def test_iteration_concatenation_equality_copy() -> None:
    s = make([2, 3, 4])
    parts = list(s)
    assert [len(p) for p in parts] == [1, 1, 1]
    assert concatenate(parts) == s
    assert s[:1] + s[1:] == s
    other = s.copy()
    assert other == s
    other.flat[0, 0] += 1
    assert other != s
    assert concatenate([]).is_empty


def test_to_padded_cuts_and_keeps_num_points_consistent() -> None:
    s = make([5, 1])
    padded = s.to_padded(3)
    assert padded.shape == (2, 3, 4)
    assert np.array_equal(padded[0], s.flat[:3])
    assert np.array_equal(padded[1, 0], s.flat[5])


def test_incident_particles() -> None:
    s = make([1, 2])
    p = s.inc_particles
    assert isinstance(p, IncidentParticles)
    assert len(p) == 2
    assert p[np.int64(1)].pdg.tolist() == [s.pdg[1]]
    assert np.array_equal(p.directions, np.tile([0, 0, 1], (2, 1)))
    with pytest.raises(MismatchError, match="directions"):
        IncidentParticles([[1.0]], 22, directions=[[1, 2]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"flat_points": np.ones((3, 4)), "num_points": [1, 1]}, "add up to 2"),
        ({"flat_points": np.ones((3, 3)), "num_points": [3]}, "4 or 5 features"),
        ({"flat_points": -np.ones((1, 4)), "num_points": [1]}, "negative"),
        ({"points": np.ones((2, 3))}, "shape"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], match: str) -> None:
    kwargs.setdefault("energies", np.ones(len(kwargs.get("num_points", [1]))))  # type: ignore[arg-type]
    kwargs.setdefault("pdg", 22)
    with pytest.raises(MismatchError, match=match):
        Showers(**kwargs)  # type: ignore[arg-type]
