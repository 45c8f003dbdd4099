"""Calibration parameters from data: HPGe energy scale and resolution, A/E pulse-shape
calibration with survival fractions, and data-quality cuts.

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
from tierflow.pargen._peakfit import PeakFitOptions, fit_peak
from tierflow.pargen._resolution import RESOLUTION_MODELS, ResolutionCurve, fit_resolution
from tierflow.pargen._scale import fit_calibration, fit_energy_scale
from tierflow.pargen._search import PeakSearch, guess_scale, search_peaks
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
    "EnergyCorrection",
    "SurvivalFraction",
    "TimeCorrection",
    "TimeMode",
    "apply_cuts",
    "calibrate_aoe",
    "compton_survival",
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
]
