"""DAQ formats: one subpackage each, registered by stream type name.

Streamers are registered as ``"module:Class"`` strings and imported only when used.

Example
-------
>>> from tierflow.raw.formats import STREAMERS
>>> "FlashCam" in STREAMERS
True
"""

from __future__ import annotations

import importlib
from typing import Any

from tierflow.registry import Registry

__all__ = ["STREAMERS", "load_streamer"]

STREAMERS: Registry[str] = Registry("DAQ stream type", entry_point_group="tierflow.raw_streamers")
STREAMERS.add("FlashCam", "tierflow.raw.formats.fcio:FCStreamer")
STREAMERS.add("Compass", "tierflow.raw.formats.compass:CompassStreamer")
STREAMERS.add("LlamaDaq", "tierflow.raw.formats.llama:LLAMAStreamer")
STREAMERS.add("ORCA", "tierflow.raw.formats.orca:OrcaStreamer")


def load_streamer(name: str) -> Any:
    """The streamer class registered as `name`."""
    module, _, attr = STREAMERS[name].partition(":")
    return getattr(importlib.import_module(module), attr)
