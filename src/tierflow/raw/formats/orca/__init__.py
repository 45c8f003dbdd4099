"""ORCA files: the XML plist header, run control, FlashCam listener config/status/waveforms,
FCIO records embedded in ORCA packets, and Struck SIS3302/SIS3316 digitisers.

Each decoder is registered in :data:`ORCA_DECODERS` under the name the file header gives it;
third-party decoders can be added through the ``tierflow.orca_decoders`` entry points.

Example
-------
>>> from tierflow.raw.formats.orca import OrcaStreamer
>>> OrcaStreamer.is_stream(bytes(8) + b"<?xml")
False
"""

from __future__ import annotations

from tierflow.raw.formats.orca._base import OrcaContext, OrcaDecoder, make_ccc
from tierflow.raw.formats.orca._header import OrcaHeader
from tierflow.raw.formats.orca._streamer import ORCA_DECODERS, OrcaStreamer

__all__ = [
    "ORCA_DECODERS",
    "OrcaContext",
    "OrcaDecoder",
    "OrcaHeader",
    "OrcaStreamer",
    "make_ccc",
]
