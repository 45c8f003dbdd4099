"""Simulated DAQ data for demos, tests and benchmarks: FCIO files of a Th-228 calibration run.

A few HPGe detectors (Th-228 lines on their Compton continua, preamplifier pulses with
exponential decay, noise and pile-up) and SiPM channels (scintillation light in coincidence,
dark counts) read out by one FlashCam stream, written as sparse-event FCIO records that the
raw tier decodes.

Example
-------
>>> import tempfile
>>> from tierflow.flow.sim import make_detectors, write_daq_file
>>> path = write_daq_file(tempfile.mkdtemp() + "/cal.fcio", make_detectors(), 100, seed=1)
>>> path.stat().st_size > 100 * 1600
True
"""

from __future__ import annotations

from tierflow.flow.sim._fcio import FCIOConfig, FCIOWriter, SparseEvents
from tierflow.flow.sim._physics import (
    TH228_LINES,
    Channel,
    Detectors,
    make_detectors,
    sample_energies,
    simulate_events,
)
from tierflow.flow.sim._write import write_daq_file, write_daq_files

__all__ = [
    "TH228_LINES",
    "Channel",
    "Detectors",
    "FCIOConfig",
    "FCIOWriter",
    "SparseEvents",
    "make_detectors",
    "sample_energies",
    "simulate_events",
    "write_daq_file",
    "write_daq_files",
]
