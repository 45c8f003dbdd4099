"""``tierflow run`` and ``tierflow demo`` (their commands, parsed as the CLI does)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tierflow.cli._demo import DemoCommand
from tierflow.cli._run import RunCommand
from tierflow.flow.demo import write_demo_inputs
from tierflow.flow.sim import make_detectors


def _parse(command: object, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)  # type: ignore[attr-defined]
    return parser.parse_args(argv)


def test_run_command_dry_run_then_run(tmp_path: Path, capsys: object) -> None:
    config = write_demo_inputs(tmp_path, 1, 50, detectors=make_detectors(1, 1))
    prod = yaml.safe_load(config.read_text())
    prod["tiers"] = ["raw", "tcm"]
    config.write_text(yaml.safe_dump(prod))
    cmd = RunCommand()
    assert cmd.run(_parse(cmd, [str(config), "--dry-run"])) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "2 of 2 tasks to run" in out
    assert cmd.run(_parse(cmd, [str(config), "--executor", "inprocess", "--no-progress"])) == 0
    assert "2 done" in capsys.readouterr().out  # type: ignore[attr-defined]
    assert cmd.run(_parse(cmd, [str(config), "--executor", "inprocess"])) == 0
    assert "2 up-to-date" in capsys.readouterr().out  # type: ignore[attr-defined]


def test_demo_command_arguments() -> None:
    args = _parse(DemoCommand(), ["out", "--files", "2", "--events", "100", "-j", "2"])
    assert (args.directory, args.files, args.events, args.workers) == ("out", 2, 100, 2)
    assert args.executor == "processes"


def test_importing_flow_is_cheap() -> None:
    code = (
        "import sys, tierflow.flow, tierflow.flow.demo, tierflow.flow.sim; "
        "print(sorted(m for m in ('numba', 'dask', 'distributed', 'matplotlib', 'h5py') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_command_on_a_dask_scheduler(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    config = write_demo_inputs(tmp_path, 2, 50, detectors=make_detectors(1, 1))
    prod = yaml.safe_load(config.read_text())
    prod["tiers"] = ["raw", "tcm"]
    config.write_text(yaml.safe_dump(prod))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        cmd = RunCommand()
        args = _parse(cmd, [str(config), "--scheduler", cluster.scheduler_address])
        assert cmd.run(args) == 0
    assert len(list((tmp_path / "tier" / "tcm").glob("*.lh5"))) == 2
