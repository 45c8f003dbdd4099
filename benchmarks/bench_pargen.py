"""Wall time of the full HPGe energy calibration on the shared Th-228 dsp file, against pygama.

Run: ``python benchmarks/bench_pargen.py`` (pygama is compared when importable, best in its own
environment: ``python -m venv /work/venv-math && /work/venv-math/bin/pip install -e . pygama``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tierflow import lh5
from tierflow.pargen import calibrate_energy
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


if __name__ == "__main__":
    main()
