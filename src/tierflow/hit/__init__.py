"""The hit tier: per-channel columns computed from dsp tables by expressions.

:func:`build_hit` takes pygama's hit configs unchanged: ``operations`` (an ``expression`` in
:mod:`tierflow.expr`, its ``parameters``, ``lgdo_attrs``, ``description``), ``aggregations``
(boolean columns packed into the smallest unsigned integer) and ``outputs``. Parameters may
name the calibration store instead of a number, ``{"calib": "<ctype>", "key": "a.b"}``,
looked up through any :class:`ParameterSource` by detector and time.

Example
-------
>>> from tierflow.hit import build_hit
>>> config = {"outputs": ["calE", "AoE"],
...           "operations": {"calE": {"expression": "a * trapEmax", "parameters": {"a": 0.2}},
...                          "AoE": {"expression": "A_max / calE"}}}
>>> build_hit("run_dsp.lh5", "run_hit.lh5", hit_config=config)  # doctest: +SKIP
"""

from __future__ import annotations

from tierflow.hit._build import (
    TableJob,
    build_hit,
    default_outfile,
    discover_tables,
    hit_name,
    make_table_jobs,
)
from tierflow.hit._config import (
    Aggregation,
    CalibRef,
    HitConfig,
    Operation,
    load_mapping,
    make_hit_config,
)
from tierflow.hit._params import TIME_UNITS, ParameterSource, chunk_time
from tierflow.hit._process import pack_bits, process_chunk

__all__ = [
    "TIME_UNITS",
    "Aggregation",
    "CalibRef",
    "HitConfig",
    "Operation",
    "ParameterSource",
    "TableJob",
    "build_hit",
    "chunk_time",
    "default_outfile",
    "discover_tables",
    "hit_name",
    "load_mapping",
    "make_hit_config",
    "make_table_jobs",
    "pack_bits",
    "process_chunk",
]
