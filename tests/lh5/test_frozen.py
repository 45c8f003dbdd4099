"""Files written by earlier tierflow versions stay readable into the same objects."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path
from types import ModuleType

from tierflow import lh5
from tierflow.types import Array

DATA = Path(__file__).resolve().parent.parent / "data"


def _fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_version_1_file_reads_into_the_objects_it_was_made_from() -> None:
    fixtures = _fixtures()
    expected = fixtures.expected_objects()
    file = fixtures.FORMAT_V1
    assert lh5.ls(file) == ["hist", "meta", "raw", "raw_uleb"]
    for name in ("raw", "raw_uleb"):
        got = lh5.read(name, file)
        assert list(got.keys()) == list(expected["raw"].keys())
        for column in got:
            if column != "waveform":
                assert got[column] == expected["raw"][column], column
        assert Array(got["waveform/values"].nda) == Array(expected["raw"]["waveform/values"].nda)
    assert lh5.read("hist", file) == expected["hist"]
    assert lh5.read("meta", file) == expected["meta"]
    encoded = lh5.read("raw/waveform/values", file, decompress=False)
    assert encoded.attrs["codec"] == "radware_sigcompress"


def test_new_files_get_ordinary_permissions(tmp_path: Path) -> None:
    file = tmp_path / "perm.lh5"
    lh5.write(Array([1]), "a", file)
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~mask
