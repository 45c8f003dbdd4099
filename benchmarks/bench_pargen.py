"""Wall time of the full HPGe energy calibration, the A/E calibration and the data-cleaning cuts
on the shared Th-228 dsp file, against pygama in the same run.

Run: ``python benchmarks/bench_pargen.py`` (pygama is compared when importable, best in its own
environment: ``python -m venv /work/venv-math && /work/venv-math/bin/pip install -e . pygama``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tierflow import lh5
from tierflow.pargen import AoEOptions, calibrate_aoe, calibrate_energy, generate_cuts
from tierflow.testing import find_testdata

DSP = (
    "legend/lh5/prod-ref-l200/generated/tier/dsp/cal/p03/r000/"
    "l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
)
FIELDS = ("cuspEmax", "trapEmax", "zacEmax")


def _pygama_recipe(e: np.ndarray, field: str) -> float:
    """The legend-dataflow ecal recipe with pygama (as in the reference README)."""
    import pygama.math.distributions as pgf
    import pygama.math.histogram as pgh
    from pygama.pargen.energy_cal import FWHMLinear, FWHMQuadratic, HPGeCalibration

    pk = [
        (583.191, (20, 20), pgf.hpge_peak),
        (727.330, (30, 30), pgf.hpge_peak),
        (860.564, (30, 25), pgf.hpge_peak),
        (1592.511, (40, 20), pgf.gauss_on_step),
        (1620.50, (20, 40), pgf.gauss_on_step),
        (2103.511, (40, 40), pgf.gauss_on_step),
        (2614.511, (40, 40), pgf.hpge_peak),
    ]
    lo, hi = np.nanpercentile(e, 95), np.nanpercentile(e, 99.9)
    hist, bins, _ = pgh.get_hist(e[(e > lo) & (e < hi)], dx=1, range=[lo, hi])
    cal = HPGeCalibration(field, [p[0] for p in pk], 2614.511 / bins[np.nanargmax(hist)], 0)
    cal.hpge_get_energy_peaks(e, etol_kev=5)
    got = cal.peaks_kev.copy()
    kw = {
        "peak_pars": pk,
        "tail_weight": 0,
        "n_events": None,
        "allowed_p_val": 0,
        "bin_width_kev": 0.5,
    }
    cal.hpge_fit_energy_peaks(e, peaks_kev=[2614.511], update_cal_pars=True, **kw)
    cal.hpge_fit_energy_peaks(e, peaks_kev=got, update_cal_pars=False, **kw)
    cal.get_energy_res_curve(FWHMLinear, interp_energy_kev={"Qbb": 2039.0})
    cal.get_energy_res_curve(FWHMQuadratic, interp_energy_kev={"Qbb": 2039.0})
    return float(cal.pars[1])


SCALE = 0.15467975658646357  # cuspEmax keV per ADC (the reference calibration)
ERES = (0.6771098889706394, 0.0021413140981953963)  # FWHMLinear of cuspEmax
CUTS = {
    "bl_std_cut": {"cut_parameter": "bl_std", "cut_level": 4, "mode": "inclusive"},
    "dt_eff_cut": {"expression": "(dt_eff>a)&(dt_eff<b)", "parameters": {"a": 0, "b": 4000}},
    "bl_pileup_cut": {"cut_parameter": "baselineEmax", "cut_level": 4, "mode": "exclusive"},
}


def _eres(x):  # type: ignore[no-untyped-def]
    return (ERES[0] + ERES[1] * x) ** 0.5


def _ours_aoe(aoe: np.ndarray, ecal: np.ndarray) -> float:
    return calibrate_aoe(aoe, ecal, _eres, options=AoEOptions()).low_cut.value


def _pygama_aoe(aoe: np.ndarray, ecal: np.ndarray) -> float:
    import pandas as pd
    from pygama.pargen.AoE_cal import CalAoE, Pol1, SigmaFit, aoe_peak

    df = pd.DataFrame({"cuspEmax_cal": ecal, "AoE_Uncorr": aoe})
    cal = CalAoE(
        cal_dicts={},
        cal_energy_param="cuspEmax_cal",
        eres_func=_eres,
        pdf=aoe_peak,
        mean_func=Pol1,
        sigma_func=SigmaFit,
    )
    cal.calibrate(df, "AoE_Uncorr")
    return float(cal.low_cut_val)


def _pygama_cuts(data: dict[str, np.ndarray]) -> dict:  # type: ignore[type-arg]
    import pandas as pd
    from pygama.pargen.data_cleaning import generate_cuts as pg_generate_cuts

    return pg_generate_cuts(pd.DataFrame(data), CUTS)  # type: ignore[no-any-return]


def _lq_inputs(path: str) -> tuple[np.ndarray, ...]:
    t = lh5.read("ch1104000/dsp", path, fields=["cuspEmax", "lq80", "dt_eff", "A_max"])
    e = t["cuspEmax"].nda.astype(np.float64)
    ok = np.isfinite(e) & (e > 0)
    ecal = e[ok] * SCALE
    aoe = t["A_max"].nda[ok] / e[ok] / 0.07449463315885797
    return t["lq80"].nda[ok] / ecal, ecal, t["dt_eff"].nda[ok].astype(np.float64), aoe


def _pygama_lq(lq: np.ndarray, ecal: np.ndarray, dt: np.ndarray) -> float:
    import pandas as pd
    from pygama.pargen.lq_cal import LQCal

    df = pd.DataFrame({"LQ_Ecorr": lq, "cuspEmax_cal": ecal, "dt_eff": dt})
    cal = LQCal(
        {"LQ_Ecorr": {"expression": "x", "parameters": {}}},
        "cuspEmax_cal",
        "dt_eff",
        _eres,
        selection_string="index==index",
    )
    cal.calibrate(df, "LQ_Ecorr")
    return float(cal.cut_fit_pars[1])


def _pygama_mcd(aoe: np.ndarray, ecal: np.ndarray, dt: np.ndarray) -> float:
    import pandas as pd
    from pygama.pargen.AoE_cal import mcdrift

    df = pd.DataFrame({"AoE_Timecorr": aoe, "cuspEmax_cal": ecal, "dt_eff": dt})
    return float(mcdrift(df, "AoE_Timecorr", "dt_eff", "index==index", "cuspEmax_cal")[0])


def _lq_and_drift(path: str, has_anchor: bool) -> None:
    from tierflow.pargen import calibrate_lq, drift_time_correction

    lq, ecal, dt, aoe = _lq_inputs(path)
    ours, r = _time(calibrate_lq, lq, ecal, dt, _eres)
    line = f"LQ calibration       tierflow {ours:6.2f} s  width={r.width:.6f}"  # type: ignore[attr-defined]
    if has_anchor:
        theirs, w = _time(_pygama_lq, lq, ecal, dt)
        line += f" | pygama {theirs:6.2f} s  width={w:.6f} | speed-up x{theirs / ours:.1f}"
    print(line)
    ours, (_, c) = _time(drift_time_correction, aoe, dt, ecal)  # type: ignore[misc]
    line = f"A/E drift time (MCD) tierflow {ours:6.2f} s  alpha={c.alpha:.4e}"
    if has_anchor:
        theirs, alpha = _time(_pygama_mcd, aoe, ecal, dt)
        line += f" | pygama {theirs:6.2f} s  alpha={alpha:.4e} | speed-up x{theirs / ours:.1f}"
    print(line)


def _time(func, *args) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = func(*args)
    return time.perf_counter() - t, out


def main() -> None:
    root = find_testdata(Path(__file__).resolve().parent.parent)
    if root is None:
        raise SystemExit("shared test data not found (set TIERFLOW_TESTDATA)")
    path = str(root / DSP)
    data = {f: lh5.read(f"ch1104000/dsp/{f}", path).nda.astype(np.float64) for f in FIELDS}
    try:
        import pygama  # noqa: F401

        has_anchor = True
    except ImportError:
        has_anchor = False
    _time(calibrate_energy, data["cuspEmax"], "cuspEmax")  # numba compilation / cache load
    print(f"energy calibration, {len(data['cuspEmax'])} events, wall seconds")
    for field, e in data.items():
        e = e[np.isfinite(e) & (e > 0)]
        ours, result = _time(calibrate_energy, e, field)
        b_ours = result.hit["parameters"]["b"]  # type: ignore[attr-defined]
        line = f"  {field:9s} tierflow {ours:6.2f} s  b={b_ours:.10f}"
        if has_anchor:
            theirs, b = _time(_pygama_recipe, e, field)
            line += f" | pygama {theirs:6.2f} s  b={b:.10f} | speed-up x{theirs / ours:.1f}"
        print(line)
    t = lh5.read(
        "ch1104000/dsp", path, fields=["A_max", "cuspEmax", "bl_std", "dt_eff", "baselineEmax"]
    )
    e = t["cuspEmax"].nda.astype(np.float64)
    aoe, ecal = t["A_max"].nda / e, e * SCALE
    _time(_ours_aoe, aoe, ecal)  # compilation / cache load
    ours, cut = _time(_ours_aoe, aoe, ecal)
    line = f"A/E calibration      tierflow {ours:6.2f} s  cut={cut:.3f}"
    if has_anchor:
        theirs, pcut = _time(_pygama_aoe, aoe, ecal)
        line += f" | pygama {theirs:6.2f} s  cut={pcut:.3f} | speed-up x{theirs / ours:.1f}"
    print(line)
    cols = {k: t[k].nda for k in ("bl_std", "dt_eff", "baselineEmax")}
    ours, _ = _time(generate_cuts, cols, CUTS)
    line = f"data-cleaning cuts   tierflow {ours:6.2f} s"
    if has_anchor:
        theirs, _ = _time(_pygama_cuts, cols)
        line += f" | pygama {theirs:6.2f} s | speed-up x{theirs / ours:.1f}"
    print(line)
    _lq_and_drift(path, has_anchor)


if __name__ == "__main__":
    main()
