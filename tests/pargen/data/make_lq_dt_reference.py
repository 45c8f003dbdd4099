"""Make lq_dt_reference.json: pygama 2.6.2's LQ calibration and A/E drift-time (MCD) and
time-correction modes on the reference dsp file (run with pygama's environment).

    /work/venv-math/bin/python make_lq_dt_reference.py DSP_FILE
"""

import json
import sys

import numpy as np
import pygama.pargen.AoE_cal as aoe_cal
from lgdo import lh5
from pygama.math.functions.polynomial import nb_poly
from pygama.pargen.lq_cal import LQCal

file = sys.argv[1]
df = lh5.read_as("ch1104000/dsp", file, "pd")
B = 0.15467975658646357
df["cuspEmax_cal"] = nb_poly(df.cuspEmax.to_numpy(np.float64), np.array([0.0, B]))
df["AoE_Uncorr"] = df.A_max / df.cuspEmax
df["LQ_Ecorr"] = df.lq80 / df.cuspEmax_cal
sel = (df.cuspEmax > 0) & np.isfinite(df.cuspEmax)
df = df[sel].copy()


def eres(x):
    return (0.6771098889706394 + 0.0021413140981953963 * x) ** 0.5


out = {"B": B, "eres": [0.6771098889706394, 0.0021413140981953963]}

# A/E drift-time correction, MCD mode, on the time-corrected A/E (a from aoe_cal.json)
a_time = 0.07449463315885797
df["AoE_Timecorr"] = df.AoE_Uncorr / a_time
alphas = []
for _ in range(5):
    alpha, _ = aoe_cal.mcdrift(df, "AoE_Timecorr", "dt_eff", "index==index", "cuspEmax_cal")
    alphas.append(float(alpha))
out["mcdrift_alpha"] = alphas

# time-correction helpers on fixed inputs
ts = ["r0", "r1", "r2", "r3", "r4", "r5"]
means = np.array([1.0, 1.001, 1.05, 1.051, 1.0512, np.nan])
sigmas = np.array([0.01, 0.01, 0.01, 0.012, 0.011, 0.01])
out["time_inputs"] = {
    "means": [None if np.isnan(m) else m for m in means],
    "sigmas": sigmas.tolist(),
}
part = aoe_cal.fit_time_means(ts, means, sigmas)
out["partial"] = {k: (None if np.isnan(v) else float(v)) for k, v in part.items()}
out["interpolate"] = aoe_cal.interpolate_consecutive(
    ts, means, [0.0, 10.0, 20.0, 30.0, 40.0, 50.0], "AoE_Uncorr", "AoE_Timecorr"
)

# LQ calibration
lq = LQCal(
    {"LQ_Ecorr": {"expression": "lq80/cuspEmax_cal", "parameters": {}}},
    "cuspEmax_cal",
    "dt_eff",
    eres,
    selection_string="index==index",
    debug_mode=True,
)
lq.calibrate(df, "LQ_Ecorr")
out["lq"] = {
    "cal_dicts": lq.cal_dicts,
    "timecorr": lq.timecorr_df.reset_index().to_dict("records"),
    "dt_fit": [float(lq.dt_fit_pars[0]), float(lq.dt_fit_pars[1])],
    "lq_range": [float(v) for v in lq.lq_range],
    "dt_range": [float(v) for v in lq.dt_range],
    "cut_fit": [float(lq.cut_fit_pars[0]), float(lq.cut_fit_pars[1])],
    "cut_fit_errs": [float(lq.cut_fit_errs[0]), float(lq.cut_fit_errs[1])],
    "sf": {str(k): [float(r.sf), float(r.sf_err)] for k, r in lq.low_side_sf.iterrows()},
}


def default(v):
    if isinstance(v, (np.generic,)):
        return v.item()
    if isinstance(v, float):
        return v
    return str(v)


with open("lq_dt_reference.json", "w") as f:
    json.dump(out, f, indent=1, default=default)
print(json.dumps(out, indent=1, default=default))
