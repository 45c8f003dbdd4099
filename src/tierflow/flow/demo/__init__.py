"""The demo: a simulated Th-228 calibration run taken through every tier by the pipeline.

Example
-------
>>> from tierflow.flow.demo import run_demo
>>> result = run_demo("demo-output")  # doctest: +SKIP
>>> print(result.summary.read_text())  # doctest: +SKIP
"""

from __future__ import annotations

from tierflow.flow.demo._configs import (
    evt_config,
    geds_dsp,
    geds_hit,
    production,
    spms_dsp,
    spms_hit,
)
from tierflow.flow.demo._demo import DemoResult, plot_spectrum, run_demo, write_demo_inputs

__all__ = [
    "DemoResult",
    "evt_config",
    "geds_dsp",
    "geds_hit",
    "plot_spectrum",
    "production",
    "run_demo",
    "spms_dsp",
    "spms_hit",
    "write_demo_inputs",
]
