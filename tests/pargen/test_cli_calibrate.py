"""The ``calibrate`` subcommand class (registered in the CLI by the lead)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tierflow.cli._calibrate import CalibrateCommand, write_pars

DSP = (
    "prod-ref-l200/generated/tier/dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
)


def test_write_pars_json_and_yaml(tmp_path: Path) -> None:
    import yaml

    write_pars({"a": 1.5}, str(tmp_path / "p.json"))
    write_pars({"a": 1.5}, str(tmp_path / "p.yaml"))
    assert json.loads((tmp_path / "p.json").read_text()) == {"a": 1.5}
    assert yaml.safe_load((tmp_path / "p.yaml").read_text()) == {"a": 1.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json", "p.yaml"]


@pytest.mark.shared
def test_calibrate_energy_command(
    legend_lh5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = legend_lh5 / DSP
    if not path.exists():
        pytest.skip(f"{path} is absent")
    command = CalibrateCommand()
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = tmp_path / "pars.json"
    args = parser.parse_args(
        [
            "energy",
            str(path),
            "--field",
            "trapEmax",
            "--out",
            str(out),
            "--plot",
            str(tmp_path / "plots"),
        ]
    )
    assert command.run(args) == 0
    pars = json.loads(out.read_text())
    assert pars["hit"]["expression"] == "a + b * trapEmax"
    assert pars["hit"]["parameters"]["b"] == pytest.approx(0.15466061346107082, rel=1e-5)
    assert "FWHM at Qbb" in capsys.readouterr().out
    assert len(list((tmp_path / "plots").glob("*.png"))) == 6


@pytest.mark.shared
def test_calibrate_aoe_command(
    legend_lh5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = legend_lh5 / DSP
    if not path.exists():
        pytest.skip(f"{path} is absent")
    command = CalibrateCommand()
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = tmp_path / "aoe.yaml"
    plots = tmp_path / "plots"
    args = parser.parse_args(["aoe", str(path), "--out", str(out), "--plot", str(plots)])
    assert command.run(args) == 0
    import yaml

    pars = yaml.safe_load(out.read_text())
    assert pars["aoe"]["hit"]["AoE_Timecorr"]["expression"] == "AoE_Uncorr/a"
    assert pars["aoe"]["low_cut"] == pytest.approx(-3.26, abs=0.05)
    assert "A/E low cut" in capsys.readouterr().out
    assert sorted(p.name for p in plots.glob("*.png")) == ["aoe_cut.png", "aoe_energy.png"]
