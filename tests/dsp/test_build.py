"""build_dsp and the ``tierflow dsp`` command on small files written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tierflow import lh5
from tierflow.dsp import build_dsp
from tierflow.errors import ConfigError

from .test_chain import CONFIG, raw_table


@pytest.fixture
def raw_file(tmp_path: Path) -> Path:
    path = tmp_path / "run-raw.lh5"
    for ch in ("ch1", "ch2"):
        lh5.write(raw_table(n=40), f"{ch}/raw", path, mode=lh5.WriteMode.APPEND)
    return path


def test_build_dsp_writes_every_channel(raw_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run-dsp.lh5"
    build_dsp(raw_file, out, CONFIG, lh5_tables="ch*", buffer_len=16)
    assert lh5.ls(out, "*/*") == ["ch1/dsp", "ch2/dsp"]
    table = lh5.read("ch1/dsp", out)
    assert len(table) == 40
    assert table["tp_max"].attrs["units"] == "ns"
    with pytest.raises(ConfigError, match="exists"):
        build_dsp(raw_file, out, CONFIG, lh5_tables="ch*")


def test_two_processes_give_the_same_rows(raw_file: Path) -> None:
    one = build_dsp(raw_file, None, CONFIG, lh5_tables="ch1", block_width=8)
    two = build_dsp(raw_file, None, CONFIG, lh5_tables="ch1", block_width=8, n_processes=2)
    assert one is not None
    assert two is not None
    for name in CONFIG["outputs"]:
        np.testing.assert_array_equal(one["ch1/dsp"][name].nda, two["ch1/dsp"][name].nda)


def test_n_entries_and_missing_tables(raw_file: Path) -> None:
    result = build_dsp(raw_file, None, CONFIG, lh5_tables=["ch2/raw"], n_entries=7)
    assert result is not None
    assert len(result["ch2/dsp"]) == 7
    with pytest.raises(KeyError, match="ch1"):
        build_dsp(raw_file, None, CONFIG, lh5_tables="cx*")


def test_cli(raw_file: Path, tmp_path: Path) -> None:
    import json

    from tierflow.cli._dsp import DspCommand

    config = tmp_path / "dsp.json"
    config.write_text(json.dumps(CONFIG))
    import argparse

    parser = argparse.ArgumentParser()
    command = DspCommand()
    command.add_arguments(parser)
    args = parser.parse_args([str(raw_file), "--config", str(config), "--out", str(tmp_path)])
    assert command.run(args) == 0
    assert lh5.ls(tmp_path / "run-dsp.lh5") == ["ch1", "ch2"]


def _codecs(path: Path) -> set[int]:
    """The last filter (the codec) of every chunked dataset of a file."""
    import h5py

    found: set[int] = set()

    def visit(_: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset) and obj.chunks is not None:
            plist = obj.id.get_create_plist()
            if plist.get_nfilters():
                found.add(plist.get_filter(plist.get_nfilters() - 1)[0])

    with h5py.File(path) as handle:
        handle.visititems(visit)
    return found


@pytest.mark.parametrize(("preset", "codec"), [(None, 32015), ("anchor", 1)])
def test_hdf5_presets(raw_file: Path, tmp_path: Path, preset: str | None, codec: int) -> None:
    out = tmp_path / "run-dsp.lh5"
    build_dsp(raw_file, out, CONFIG, lh5_tables="ch*", hdf5_settings=preset)
    assert _codecs(out) == {codec}  # Zstd (LEGEND) by default, or the anchor's gzip
