"""The event tier: the time-coincidence map (tcm) and event building (evt).

:func:`build_tcm` groups the hits of many tables into events (a numba k-way merge over
chunks); :func:`build_evt` evaluates per-event columns across channels with the anchor's
(pygama's) config format. Aggregation modes live in :data:`AGGREGATORS`, event functions
(``aggregation_mode: function``) in :data:`EVT_FUNCTIONS`, named by the anchor's module
paths; channel lists from metadata in :data:`CHANNEL_SOURCES`.

Example
-------
>>> from tierflow.evt import build_tcm, build_evt  # doctest: +SKIP
>>> build_tcm([("raw.lh5", "ch*/raw")], "timestamp", out_file="tcm.lh5",
...           out_name="hardware_tcm_1")  # doctest: +SKIP
>>> build_evt({"tcm": ("tcm.lh5", "hardware_tcm_1"), "hit": ("hit.lh5", "hit", "ch{}"),
...            "evt": ("evt.lh5", "evt")}, "config.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

from tierflow.evt import modules as modules
from tierflow.evt._aggregators import AGGREGATORS
from tierflow.evt._build import build_evt, nest_outputs
from tierflow.evt._config import (
    CHANNEL_SOURCES,
    EvtConfig,
    KeepAtCh,
    Operation,
    make_evt_config,
)
from tierflow.evt._data import EventChunk, TierInfo, make_datainfo
from tierflow.evt._functions import EVT_FUNCTIONS, register_evt_function
from tierflow.evt._tcm import TCM, WindowRef, build_tcm, check_tcm_rows, read_tcm, table_keys_of

__all__ = [
    "AGGREGATORS",
    "CHANNEL_SOURCES",
    "EVT_FUNCTIONS",
    "TCM",
    "EventChunk",
    "EvtConfig",
    "KeepAtCh",
    "Operation",
    "TierInfo",
    "WindowRef",
    "build_evt",
    "build_tcm",
    "check_tcm_rows",
    "make_datainfo",
    "make_evt_config",
    "modules",
    "nest_outputs",
    "read_tcm",
    "register_evt_function",
    "table_keys_of",
]
