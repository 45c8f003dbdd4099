"""``tierflow showers ...`` end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tierflow import showers as sh
from tierflow.cli import COMMANDS, main

if "showers" not in COMMANDS:  # until the lead registers the command
    COMMANDS.add("showers", "tierflow.cli._showers:ShowersCommand")


@pytest.fixture
def source(tmp_path: Path, testdata: Path) -> Path:
    path = testdata / "showers" / "showers-4f.h5"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def test_info(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["showers", "info", str(source)]) == 0
    out = capsys.readouterr().out
    assert "showerdata layout" in out
    assert "showers: 200, max points: 300" in out
    assert "targets: target" in out


def test_info_shows_how_lh5_hits_columns_are_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(5)
    flat = np.zeros((40_000, 4), np.float32)
    flat[:, 0] = (np.arange(len(flat)) // 100 % 4 + 0.5) * 5  # runs of cells: compressed
    flat[:, 3] = rng.random(len(flat), dtype=np.float32)  # random energies: plain
    path = tmp_path / "s.lh5"
    sh.save(sh.Showers(flat_points=flat, num_points=[15_000, 25_000], energies=[1, 2]), path)
    assert main(["showers", "info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    x = next(line for line in lines if line.split()[0] == "x")
    energy = next(line for line in lines if line.split()[0] == "energy")
    assert x.split()[1:4] == ["int8", "/", "2"]
    assert "Bitshuffle" in x
    assert energy.split()[1:3] == ["float32", "plain"]
    assert float(energy.split()[-3]) >= 1.0  # whole chunks: a little over its values


def test_convert_cluster_filter_shift_shuffle_observables(source: Path, tmp_path: Path) -> None:
    lh5_file = tmp_path / "s.lh5"
    quiet = ["--no-progress"]
    assert main(["showers", "convert", str(source), str(lh5_file), *quiet]) == 0
    assert sh.load(lh5_file) == sh.load(source)
    clustered = tmp_path / "c.lh5"
    args = ["showers", "cluster", str(lh5_file), str(clustered), "--no-random-shift", *quiet]
    assert main(args) == 0
    assert sh.load(clustered) == sh.cluster(sh.load(source), random_shift=False)
    assert sh.load_metadata(clustered)["clustered_for"] == "ILD"
    filtered = tmp_path / "f.h5"
    args = ["showers", "filter", str(clustered), str(filtered), "-d", "--batch-size", "50"]
    assert main([*args, *quiet]) == 0
    expected = sh.filter_showers(sh.load(clustered), ecal_threshold=1e-4, hcal_threshold=2.5e-4)
    assert sh.load(filtered) == expected
    shifted = tmp_path / "shifted.lh5"
    assert main(["showers", "shift", str(lh5_file), str(shifted), *quiet]) == 0
    assert sh.load(shifted) == sh.shift_showers(sh.load(source))
    mixed = tmp_path / "mixed.lh5"
    args = ["showers", "shuffle", str(source), str(lh5_file), str(mixed), "--seed", "1"]
    assert main([*args, *quiet]) == 0
    assert len(sh.load(mixed)) == 400
    assert main(["showers", "observables", str(mixed)]) == 0
    stored = sh.observables.read_observables_from_file(mixed, ["center_of_energy"])
    assert stored["center_of_energy"].shape == (400, 3)


def test_errors_exit_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["showers", "info", str(tmp_path / "absent.h5")]) == 2
    assert "no such shower file" in capsys.readouterr().err
    s = sh.Showers(flat_points=np.ones((1, 4)), num_points=[1], energies=[1.0], pdg=22)
    sh.save(s, tmp_path / "one.h5")
    out = str(tmp_path / "out.lh5")
    args = ["showers", "cluster", str(tmp_path / "one.h5"), out, "--geometry", "ILX"]
    assert main(args) == 2
    assert "did you mean 'ILD'" in capsys.readouterr().err
