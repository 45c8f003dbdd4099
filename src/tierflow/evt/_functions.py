"""The registry of event functions (``aggregation_mode: function``).

An event function is called as ``func(chunk, channels, channel_mapping, **kwargs)`` and
returns a data object with one row per event. Configs name them by the anchor's module
paths (``pygama.evt.modules.spms.gather_pulse_data``); the registry maps those names —
the full path, ``spms.gather_pulse_data`` or the bare function name — onto tierflow's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tierflow.registry import Registry

__all__ = ["EVT_FUNCTIONS", "EvtFunction", "register_evt_function"]

EvtFunction = Callable[..., Any]

EVT_FUNCTIONS: Registry[EvtFunction] = Registry(
    "evt function", entry_point_group="tierflow.evt_functions"
)


def register_evt_function(module: str, name: str, func: EvtFunction) -> None:
    """Register `func` under ``pygama.evt.modules.<module>.<name>`` and ``<module>.<name>``."""
    EVT_FUNCTIONS.add(f"pygama.evt.modules.{module}.{name}", func)
    EVT_FUNCTIONS.add(f"{module}.{name}", func)
