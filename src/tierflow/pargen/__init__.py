"""Calibration parameters from data: energy scale and resolution of HPGe detectors.

Example
-------
>>> from tierflow.pargen import LINE_SETS
>>> [round(s.energy_kev) for s in LINE_SETS["th228"]][-1]
2615
"""

from __future__ import annotations

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

__all__ = [
    "LINE_SETS",
    "RESOLUTION_MODELS",
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
