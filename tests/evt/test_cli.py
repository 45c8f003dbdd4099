"""The tcm and evt commands."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from tierflow import lh5
from tierflow.cli._evt import EvtCommand, TcmCommand
from tierflow.evt import read_tcm

RAW = "prod-ref-l200/generated/tier/raw/phy/p03/r001/l200-p03-r001-phy-20230322T160139Z"
TIER = "prod-ref-l200/generated/tier/{}/phy/p03/r001/l200-p03-r001-phy-20230322T160139Z-tier_{}.lh5"


def _run(command: object, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)  # type: ignore[attr-defined]
    return int(command.run(parser.parse_args(argv)))  # type: ignore[attr-defined]


@pytest.mark.shared
def test_tcm_and_evt_commands(reference: Path, legend_lh5: Path, tmp_path: Path) -> None:
    tcm = tmp_path / "tcm.lh5"
    assert _run(TcmCommand(), [str(legend_lh5 / f"{RAW}-tier_raw.lh5"), "--out", str(tcm)]) == 0
    expected = read_tcm(reference / "legend" / "tcm" / "prodref-phy.lh5")
    assert np.array_equal(read_tcm(tcm).table_key, expected.table_key)
    out = tmp_path / "evt.lh5"
    config = reference / "legend" / "configs" / "pygama-vov-test-evt-config.json"
    argv = ["--config", str(config), "--tcm", str(tcm), "--out", str(out),
            "--dsp", str(legend_lh5 / TIER.format("dsp", "dsp")),
            "--hit", str(legend_lh5 / TIER.format("hit", "hit"))]  # fmt: skip
    assert _run(EvtCommand(), argv) == 0
    ref = lh5.read("evt/energy_sum", reference / "legend" / "evt" / "prodref-phy-vov.lh5")
    assert np.array_equal(lh5.read("evt/energy_sum", out).nda, ref.nda)
    two = tmp_path / "evt2.lh5"
    assert _run(EvtCommand(), [*argv[:-6], "--out", str(two), *argv[-4:], "--workers", "2"]) == 0
    assert np.array_equal(lh5.read("evt/energy_sum", two).nda, ref.nda)
