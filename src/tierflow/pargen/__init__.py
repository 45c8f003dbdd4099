"""Calibration parameters from data: HPGe energy scale and resolution, A/E (with time and
drift-time corrections) and LQ pulse-shape calibrations with survival fractions, data-quality
cuts, DSP filter optimisation (grid or Bayesian), and records into the calibration store.

Example
-------
>>> from tierflow.pargen import LINE_SETS
>>> [round(s.energy_kev) for s in LINE_SETS["th228"]][-1]
2615
"""

from __future__ import annotations

from tierflow.pargen._aoe import (
    AOE_CURVES,
    AoECalibrationResult,
    AoECurve,
    AoEOptions,
    EnergyCorrection,
    TimeCorrection,
    TimeMode,
    calibrate_aoe,
    energy_correction,
    find_low_cut,
    time_correction,
)
from tierflow.pargen._aoedrift import DriftMode, DriftTimeCorrection, drift_time_correction
from tierflow.pargen._aoefit import fit_aoe_peak
from tierflow.pargen._cleaning import CutSpec, apply_cuts, generate_cuts, mode_and_width
from tierflow.pargen._energy import (
    LINE_SETS,
    EnergyCalibration,
    EnergyCalibrationResult,
    PeakFit,
    PeakSpec,
    calibrate_energy,
)
from tierflow.pargen._lq import (
    LQCalibrationResult,
    LQDriftCorrection,
    LQOptions,
    LQTimeCorrection,
    calibrate_lq,
    fit_lq_peak,
    lq_drift_correction,
    lq_fit_range,
    lq_histogram,
    lq_time_correction,
)
from tierflow.pargen._optimize import (
    Dimension,
    Evaluation,
    GaussianProcess,
    OptimisationResult,
    bayesian_search,
    expected_improvement,
    grid_search,
    make_resolution_objective,
)
from tierflow.pargen._peakfit import PeakFitOptions, fit_peak
from tierflow.pargen._resolution import RESOLUTION_MODELS, ResolutionCurve, fit_resolution
from tierflow.pargen._scale import fit_calibration, fit_energy_scale
from tierflow.pargen._search import PeakSearch, guess_scale, search_peaks
from tierflow.pargen._store import load_record, store_record
from tierflow.pargen._survival import (
    CutMode,
    SurvivalFraction,
    compton_survival,
    fit_line_for_survival,
    survival_fraction,
    survival_sweep,
)

__all__ = [
    "AOE_CURVES",
    "LINE_SETS",
    "RESOLUTION_MODELS",
    "AoECalibrationResult",
    "AoECurve",
    "AoEOptions",
    "CutMode",
    "CutSpec",
    "DriftMode",
    "DriftTimeCorrection",
    "EnergyCorrection",
    "SurvivalFraction",
    "TimeCorrection",
    "TimeMode",
    "apply_cuts",
    "calibrate_aoe",
    "compton_survival",
    "drift_time_correction",
    "energy_correction",
    "find_low_cut",
    "fit_aoe_peak",
    "fit_line_for_survival",
    "generate_cuts",
    "mode_and_width",
    "survival_fraction",
    "survival_sweep",
    "time_correction",
    "EnergyCalibration",
    "EnergyCalibrationResult",
    "PeakFit",
    "PeakFitOptions",
    "PeakSearch",
    "PeakSpec",
    "ResolutionCurve",
    "calibrate_energy",
    "fit_calibration",
    "fit_energy_scale",
    "fit_peak",
    "fit_resolution",
    "guess_scale",
    "search_peaks",
    "LQCalibrationResult",
    "LQDriftCorrection",
    "LQOptions",
    "LQTimeCorrection",
    "calibrate_lq",
    "fit_lq_peak",
    "lq_drift_correction",
    "lq_fit_range",
    "lq_histogram",
    "lq_time_correction",
    "Dimension",
    "Evaluation",
    "GaussianProcess",
    "OptimisationResult",
    "bayesian_search",
    "expected_improvement",
    "grid_search",
    "make_resolution_objective",
    "load_record",
    "store_record",
]
