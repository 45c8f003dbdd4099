"""The dsp tier: waveform processing chains, their processors and ``build_dsp``.

A processing-chain config (the anchor's format, dspeed's configs run unchanged) names outputs
and the processors computing them; :func:`make_processing_chain` resolves it into an ordered
chain computing only what the outputs need, with every variable in a preallocated block
buffer; :func:`build_dsp` runs it over raw-tier tables into an LH5 file, on one or more cores.
Processors live in :mod:`tierflow.dsp.processors` (numba kernels compiled on first use and
cached on disk; importing this package compiles nothing).

Example
-------
>>> from tierflow.dsp import build_dsp
>>> build_dsp("raw.lh5", "dsp.lh5", dsp_config="dsp.json", lh5_tables="ch*")  # doctest: +SKIP
"""

from __future__ import annotations

from tierflow.dsp._build import build_dsp, dsp_tables
from tierflow.dsp._chain import ProcessingChain
from tierflow.dsp._config import DSPConfig, ProcessorEntry, load_config
from tierflow.dsp._errors import ProcessingError
from tierflow.dsp._make import BoundChain, make_processing_chain
from tierflow.dsp._units import Quantity, Unit
from tierflow.dsp._variables import Grid, Variable
from tierflow.dsp.processors import PROCESSORS, Processor

__all__ = [
    "PROCESSORS",
    "BoundChain",
    "DSPConfig",
    "Grid",
    "ProcessingChain",
    "ProcessingError",
    "Processor",
    "ProcessorEntry",
    "Quantity",
    "Unit",
    "Variable",
    "build_dsp",
    "dsp_tables",
    "load_config",
    "make_processing_chain",
]
