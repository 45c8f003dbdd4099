"""CAEN CoMPASS binary files (with or without the settings XML).

Example
-------
>>> from tierflow.raw.formats.compass import CompassStreamer
>>> CompassStreamer.is_stream(bytes([0xED, 0xCA]))
True
"""

from __future__ import annotations

from tierflow.raw.formats.compass._streamer import (
    CompassEventDecoder,
    CompassHeaderDecoder,
    CompassStreamer,
    make_key,
    read_settings,
)

__all__ = [
    "CompassEventDecoder",
    "CompassHeaderDecoder",
    "CompassStreamer",
    "make_key",
    "read_settings",
]
