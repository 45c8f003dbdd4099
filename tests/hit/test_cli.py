"""``tierflow hit``: the subcommand class, run through argparse as the CLI runs it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from tierflow import lh5
from tierflow.cli._hit import HitCommand
from tierflow.errors import ConfigError
from tierflow.types import Array, Table


def _run(argv: list[str]) -> int:
    command = HitCommand()
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv))


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    dsp = tmp_path / "a_dsp.lh5"
    lh5.write(Table({"trapEmax": Array(np.arange(5.0))}), "ch1/dsp", dsp)
    config = tmp_path / "hit.json"
    config.write_text(
        json.dumps({"outputs": ["e"], "operations": {"e": {"expression": "2 * trapEmax"}}})
    )
    return dsp, config


def test_hit_command_writes_next_to_the_input(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dsp, config = files
    assert _run([str(dsp), "--config", str(config)]) == 0
    out = dsp.with_name("a_hit.lh5")
    assert capsys.readouterr().out.strip() == str(out)
    np.testing.assert_array_equal(lh5.read("ch1/hit/e", out).nda, 2 * np.arange(5.0))
    with pytest.raises(lh5.ObjectExistsError):
        _run([str(dsp), "--config", str(config)])
    assert _run([str(dsp), "--config", str(config), "--overwrite", "--n-max", "2"]) == 0
    assert lh5.n_rows("ch1/hit", out) == 2


def test_hit_command_out_must_be_a_directory_for_several_inputs(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    dsp, config = files
    with pytest.raises(ConfigError, match="must be a directory"):
        _run([str(dsp), str(dsp), "--config", str(config), "--out", str(tmp_path / "x.lh5")])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert _run([str(dsp), "--config", str(config), "--out", str(out_dir)]) == 0
    assert (out_dir / "a_hit.lh5").is_file()
