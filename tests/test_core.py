"""Errors, registries and scoped options: the pieces every part builds on."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from tierflow import lh5
from tierflow.errors import NotFoundError, TierflowError
from tierflow.options import option_scope, options
from tierflow.registry import Registry
from tierflow.types import Array


def test_error_names_file_and_object() -> None:
    error = TierflowError("bad offsets", file="a.lh5", obj="/ch1/raw")
    assert str(error) == "bad offsets (file 'a.lh5', object '/ch1/raw')"
    missing = NotFoundError("no column", obj="/t/enrgy", candidates=["energy", "channel"])
    assert missing.suggestions == ["energy"]
    assert isinstance(missing, KeyError)
    assert "did you mean 'energy'" in str(missing)


def test_registry_adds_once_and_suggests() -> None:
    registry: Registry[int] = Registry("thing")
    registry.add("one", 1)

    @registry.register("two")
    def two() -> int:
        return 2

    assert registry["one"] == 1
    assert sorted(registry) == ["one", "two"]
    with pytest.raises(ValueError, match="registered already"):
        registry.add("one", 11)
    with pytest.raises(NotFoundError, match="did you mean 'one'"):
        registry["on"]


def test_option_scope_restores_and_rejects_unknown_names(tmp_path: Path) -> None:
    assert options().hdf5_compression == "gzip"
    with option_scope(hdf5_compression="lzf", hdf5_shuffle=False):
        lh5.write(Array([1.0, 2.0]), "a", tmp_path / "x.lh5")
        assert options().hdf5_compression == "lzf"
    assert options().hdf5_compression == "gzip"
    with h5py.File(tmp_path / "x.lh5") as handle:
        assert handle["a"].compression == "lzf"
        assert not handle["a"].shuffle
    with (
        pytest.raises(NotFoundError, match="did you mean 'hdf5_shuffle'"),
        option_scope(hdf5_shufle=True),
    ):
        pass
