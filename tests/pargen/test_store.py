"""Pargen records in the calibration store, and ``tierflow calibrate --store``."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from tierflow import calib
from tierflow.cli._calibrate import CalibrateCommand
from tierflow.errors import ConfigError
from tierflow.math import FitResult
from tierflow.pargen import Evaluation, OptimisationResult, load_record, store_record

DSP = (
    "prod-ref-l200/generated/tier/dsp/cal/p03/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
)


def test_round_trip_of_results(tmp_path: Path) -> None:
    store = calib.Store(tmp_path / "calib", create=True)
    opt = OptimisationResult("grid", [Evaluation({"rise": 4.0}, 2.5, 0.1)])
    fit = FitResult("gaussian", ("mu", "sigma"), (1.0, math.nan), (0.1, 0.2), valid=True)
    src = store_record(store, "V01", "filter_opt", opt, since=100, comment="test")
    store_record(store, "V01", "fit", fit, since=100)
    assert src.version.number == 1
    assert load_record(store, "V01", "filter_opt", at=150) == json.loads(json.dumps(opt.to_dict()))
    back = FitResult.from_dict(load_record(tmp_path / "calib", "V01", "fit", at=100))
    assert back.values[0] == 1.0
    assert math.isnan(back.values[1])
    again = store_record(store, "V01", "filter_opt", opt, since=100)
    assert again.version.number == 1  # identical record not stored twice
    newer = store_record(store, "V01", "filter_opt", {"x": 1}, since=100)
    assert newer.version.number == 2
    assert load_record(store, "V01", "filter_opt", at=150) == {"x": 1}
    with pytest.raises(ConfigError, match="to_dict"):
        store_record(store, "V01", "x", 3.0, since=0)  # type: ignore[arg-type]


def test_store_and_detector_go_together(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    CalibrateCommand().add_arguments(parser)
    args = parser.parse_args(["lq", "f.lh5", "--store", str(tmp_path / "s")])
    with pytest.raises(ConfigError, match="together"):
        CalibrateCommand().run(args)


@pytest.mark.shared
def test_calibrate_lq_into_a_store(
    legend_lh5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = legend_lh5 / DSP
    if not path.exists():
        pytest.skip(f"{path} is absent")
    parser = argparse.ArgumentParser()
    CalibrateCommand().add_arguments(parser)
    store = tmp_path / "calib"
    argv = ["lq", str(path), "--store", str(store), "--detector", "V05612B", "--since", "0"]
    assert (
        CalibrateCommand().run(parser.parse_args([*argv, "--out", str(tmp_path / "lq.yaml")])) == 0
    )
    assert "stored V05612B/pargen_lq" in capsys.readouterr().out
    record = load_record(store, "V05612B", "pargen_lq", at=10)
    hit = record["lq"]["hit"]
    assert hit["LQ_Ecorr"]["expression"] == "lq80/cuspEmax_cal"
    assert hit["LQ_Classifier"]["parameters"]["a"] == pytest.approx(0.0785, rel=0.01)
    assert (tmp_path / "lq.yaml").exists()
