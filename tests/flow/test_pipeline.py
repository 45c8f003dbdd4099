"""Whole runs: plans that skip what is up to date, failures isolated, killed workers, Dask."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from tierflow.errors import NotFoundError
from tierflow.flow import TaskState, make_executor, make_plan, read_provenance, run_plan
from tierflow.flow._faults import KillOnce
from tierflow.flow.demo import write_demo_inputs
from tierflow.flow.sim import make_detectors


def _small(root: Path, n_files: int = 2, tiers: tuple[str, ...] = ("raw", "dsp", "tcm")) -> Path:
    """Tiny DAQ files and a production of `tiers` (no calibration: fast)."""
    config = write_demo_inputs(root, n_files, 100, detectors=make_detectors(2, 1))
    prod = yaml.safe_load(config.read_text())
    prod["tiers"] = list(tiers)
    config.write_text(yaml.safe_dump(prod))
    return config


def _datasets(path: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None
        )
    return out


def _assert_same_outputs(a: Path, b: Path, tiers: list[str]) -> None:
    for tier in tiers:
        files_a = sorted((a / "tier" / tier).glob("*.lh5"))
        assert files_a, tier
        for fa in files_a:
            da, db = _datasets(fa), _datasets(b / "tier" / tier / fa.name)
            assert da.keys() == db.keys()
            for name in da:
                np.testing.assert_array_equal(da[name], db[name], err_msg=f"{fa.name}:{name}")


def test_rerun_skips_up_to_date_and_follows_changes(tmp_path: Path) -> None:
    config = _small(tmp_path)
    only_dsp = make_plan(config, tiers=["dsp"])
    assert only_dsp.counts() == {"missing": 4, "pending": 2}
    assert run_plan(only_dsp, "inprocess").blocked == [t.id for t in only_dsp if t.tier == "dsp"]
    with pytest.raises(NotFoundError, match="did you mean 'dsp'"):
        make_plan(config, tiers=["dps"])
    report = run_plan(make_plan(config), "inprocess")
    assert report.ok, report.summary()
    assert report.plan.counts() == {"done": 6}
    raw = sorted((tmp_path / "tier" / "raw").glob("*.lh5"))
    prov = read_provenance(raw[0])
    assert prov["tier"] == "raw"
    assert prov["inputs"].endswith('.fcio"]')
    again = make_plan(config)
    assert again.counts() == {"up-to-date": 6}
    daq = sorted((tmp_path / "daq").glob("*.fcio"))
    earlier = os.stat(daq[1]).st_mtime - 10  # the DAQ file is now newer than its raw output
    os.utime(raw[1], (earlier, earlier))
    pending = [t.id for t in make_plan(config).pending()]
    assert sorted(t.split(":")[0] for t in pending) == ["dsp", "raw", "tcm"]
    assert all(daq[1].stem in t for t in pending)
    run_plan(make_plan(config), "inprocess")
    dsp_cfg = tmp_path / "config" / "dsp_spms.yaml"
    dsp_cfg.write_text(dsp_cfg.read_text().replace("wf_blsub[0:300]", "wf_blsub[0:250]"))
    assert {t.tier for t in make_plan(config).pending()} == {"dsp"}


def test_corrupt_input_is_reported_and_others_finish(tmp_path: Path) -> None:
    config = _small(tmp_path)
    bad = sorted((tmp_path / "daq").glob("*.fcio"))[1]
    good_bytes = bad.read_bytes()
    bad.write_bytes(b"\0" * 64 + good_bytes[64:])
    report = run_plan(make_plan(config), "processes", workers=2, progress=False)
    assert not report.ok
    assert report.failed == [f"raw:{bad.stem}"]
    assert sorted(report.blocked) == [f"dsp:{bad.stem}", f"tcm:{bad.stem}"]
    assert "unknown DAQ stream type" in report.results[f"raw:{bad.stem}"].error
    assert bad.name in report.summary()
    assert report.plan.counts() == {"done": 3, "failed": 1, "blocked": 2}
    assert not list((tmp_path / "tier" / "raw").glob(f"{bad.stem}*"))
    bad.write_bytes(good_bytes)
    plan = make_plan(config)
    assert sorted(t.id for t in plan.pending()) == sorted(
        [f"raw:{bad.stem}", f"dsp:{bad.stem}", f"tcm:{bad.stem}"]
    )
    assert run_plan(plan, "inprocess").ok


def test_killed_worker_loses_nothing(tmp_path: Path) -> None:
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    config = _small(ref, n_files=1)
    assert run_plan(make_plan(config), "inprocess").ok
    shutil.copytree(ref / "daq", killed / "daq")
    shutil.copytree(ref / "config", killed / "config")
    shutil.copy(config, killed / "production.yaml")
    plan = make_plan(killed / "production.yaml")
    target = next(t.id for t in plan if t.tier == "dsp")
    fault = KillOnce(target, tmp_path / "killed.marker")
    with make_executor("processes", 2, function=fault) as executor:
        report = run_plan(plan, executor, progress=False)
    assert (tmp_path / "killed.marker").exists()
    assert report.ok, report.summary()
    assert report.attempts[target] >= 2
    assert make_plan(killed / "production.yaml").counts() == {"up-to-date": 3}
    assert not list(killed.rglob("*.tmp*"))
    _assert_same_outputs(ref, killed, ["raw", "dsp", "tcm"])


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """The demo's pipeline (raw, dsp, pargen, hit, tcm, evt) in local processes and on a Dask
    LocalCluster of 2 workers, one of which is killed mid-task."""
    pytest.importorskip("distributed")
    base = tmp_path_factory.mktemp("demo")
    procs, dask = base / "processes", base / "dask"
    dets = make_detectors(1, 2)
    config = write_demo_inputs(procs, 2, 4500, detectors=dets)
    shutil.copytree(procs / "daq", dask / "daq")
    write_demo_inputs(dask, 2, 4500, detectors=dets)
    first = run_plan(make_plan(config), "processes", workers=2, progress=False)
    assert first.ok, first.summary()
    plan = make_plan(dask / "production.yaml")
    target = next(t.id for t in plan if t.tier == "hit")
    with make_executor("dask", 2, function=KillOnce(target, base / "marker")) as executor:
        report = run_plan(plan, executor, progress=False)
    assert (base / "marker").exists()
    return procs, dask, report


def test_dask_and_processes_give_identical_outputs(demo_runs: tuple[Path, Path, object]) -> None:
    procs, dask, report = demo_runs
    assert report.ok, report.summary()  # type: ignore[attr-defined]
    _assert_same_outputs(procs, dask, ["raw", "dsp", "hit", "tcm", "evt"])
    assert make_plan(dask / "production.yaml").counts() == {"up-to-date": 11}


def test_demo_pipeline_calibrates_and_records_calib_versions(
    demo_runs: tuple[Path, Path, object],
) -> None:
    import json

    from tierflow import lh5

    procs, _, _ = demo_runs
    par = json.loads(next((procs / "par").glob("*.json")).read_text())
    gain = make_detectors(1, 2).channels[0].gain
    assert 1 / par["channels"]["ch1000"]["pars"][1] == pytest.approx(gain, rel=2e-3)
    hit = next((procs / "tier" / "hit").glob("*.lh5"))
    prov = read_provenance(hit)
    assert "ch1000/energy_cal" in prov["calib_versions"]
    energy = lh5.read("evt/energy", next((procs / "tier" / "evt").glob("*.lh5")))
    e = energy.flattened_data.nda
    near = e[(e > 2600) & (e < 2630)]
    assert near.size > 50
    assert np.median(near) == pytest.approx(2614.5, abs=1.0)
    assert report_state_ok(procs)


def report_state_ok(root: Path) -> bool:
    return all(
        s is TaskState.UP_TO_DATE for s in make_plan(root / "production.yaml").state.values()
    )


def test_demo_plot_and_calibration_summary(
    demo_runs: tuple[Path, Path, object], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    from tierflow.flow.demo import plot_spectrum
    from tierflow.flow.demo._demo import _calibration

    procs, _, _ = demo_runs
    png = plot_spectrum(procs, tmp_path / "spectrum.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cal = _calibration(procs)["ch1000"]
    assert cal["adc_per_kev"] == pytest.approx(make_detectors(1, 2).channels[0].gain, rel=2e-3)
    assert 2.5 < cal["fwhm_2614_kev"] < 3.6  # simulated: 2.355 * sqrt(0.5 + 0.00045 E) = 3.05
