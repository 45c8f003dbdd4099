"""``tierflow calib``: the subcommand object run with parsed arguments."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from tierflow import calib
from tierflow.cli._calib import CalibCommand
from tierflow.errors import ConfigError, NotFoundError


def _run(*argv: str) -> int:
    command = CalibCommand()
    parser = argparse.ArgumentParser(prog="tierflow calib")
    command.add_arguments(parser)
    return command.run(parser.parse_args(list(argv)))


def test_cli_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "store")
    (tmp_path / "gain.json").write_text(json.dumps({"a": 1.25}))
    np.save(tmp_path / "peds.npy", np.arange(4.0))
    assert (
        _run(
            store,
            "add",
            "ch1",
            "gain",
            str(tmp_path / "gain.json"),
            "--since",
            "20230101T000000Z",
            "--create",
            "ged",
            "--comment",
            "first",
        )
        == 0
    )
    assert (
        _run(
            store,
            "add",
            "ch1",
            "peds",
            str(tmp_path / "peds.npy"),
            "--since",
            "0",
            "--until",
            "100",
            "--create",
            "ged",
        )
        == 0
    )
    assert _run(store, "tag", "v1", "--freeze", "--description", "prod") == 0
    assert _run(store, "ls") == 0
    assert _run(store, "ls", "ch1") == 0
    assert _run(store, "show", "ch1", "--history") == 0
    assert _run(store, "get", "ch1", "gain", "--at", "20230102T000000Z", "--tag", "v1") == 0
    out = capsys.readouterr().out
    assert "ch1  type=ged" in out
    assert "v1: frozen" in out
    assert '"a": 1.25' in out
    assert "add-version" in out
    assert "first" in out
    assert _run(store, "export", "v1", str(tmp_path / "v1.h5")) == 0
    assert calib.Store(tmp_path / "v1.h5").get("ch1", "peds", 5).value[3] == 3.0
    assert _run(store, "tag") == 0
    assert "v1  frozen (2 pins)  prod" in capsys.readouterr().out


def test_cli_import_and_errors(
    tmp_path: Path, testdata: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    assert _run(store, "import", str(testdata / "calib" / "cspad-987654.h5")) == 0
    assert "recovered as version 3" in capsys.readouterr().out
    assert _run(store, "get", "cspad-987654", "pedestals", "--at", "1500005000s") == 0
    assert "v3" in capsys.readouterr().out
    with pytest.raises(NotFoundError, match=r"did you mean 'pedestals'"):
        _run(store, "get", "cspad-987654", "pedestal", "--at", "1500005000s")
    with pytest.raises(ConfigError, match="cannot read a time"):
        _run(store, "get", "cspad-987654", "pedestals", "--at", "yesterday")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(ConfigError, match=r"\.npy, \.json or \.yaml"):
        _run(store, "add", "cspad-987654", "pedestals", str(tmp_path / "x.txt"), "--since", "0")
    with pytest.raises(ConfigError, match="--ctype"):
        _run(store, "import", str(tmp_path))
