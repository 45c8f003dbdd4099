"""The ``tierflow`` command line: ls and show."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierflow import lh5
from tierflow.cli import main
from tierflow.types import Array, Table, VectorOfVectors


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "x.lh5"
    table = Table(
        {"energy": Array([1.0, 2.0], attrs={"units": "keV"}), "hits": VectorOfVectors([[1], []])}
    )
    lh5.write(table, "ch1/dsp", path)
    lh5.write(table, "ch2/dsp", path, mode=lh5.WriteMode.APPEND)
    return path


def test_ls_with_pattern(file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", str(file)]) == 0
    assert capsys.readouterr().out.split() == ["ch1", "ch2"]
    assert main(["ls", str(file), "ch*/dsp/e*"]) == 0
    assert capsys.readouterr().out.split() == ["ch1/dsp/energy", "ch2/dsp/energy"]


def test_show_tree_with_units_and_depth(file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(file), "ch1/dsp"]) == 0
    out = capsys.readouterr().out
    assert "table{energy,hits} · 2 rows" in out
    assert "[keV]" in out
    assert "gzip" in out
    assert main(["show", str(file), "--depth", "1"]) == 0
    assert "energy" not in capsys.readouterr().out


def test_bad_object_is_a_clear_error(file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(file), "ch1/dps"]) == 2
    assert "did you mean 'dsp'" in capsys.readouterr().err


def test_every_registered_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from tierflow.cli import COMMANDS

    names = list(COMMANDS)
    assert {
        "ls",
        "show",
        "raw",
        "dsp",
        "hit",
        "tcm",
        "evt",
        "calib",
        "calibrate",
        "showers",
        "sky",
        "run",
        "demo",
    } <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert f"tierflow {name}" in capsys.readouterr().out


def test_objects_alive_at_exit_are_left_out_of_the_final_collections(file: Path) -> None:
    import subprocess
    import sys

    # this handler is registered before the command's, so it runs after it, as Python exits
    script = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count(), flush=True))\n"
        "from tierflow.cli import main\n"
        f"main(['ls', {str(file)!r}])\n"
        "main(['ls', {0!r}])\n".format(str(file))
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    lines = done.stdout.split("\n")
    assert lines[:4] == ["ch1", "ch2", "ch1", "ch2"]
    frozen = lines[4].split()
    assert frozen[0] == "frozen"
    assert int(frozen[1]) > 1000  # the interpreter's objects, frozen once however many calls
