"""LlamaDAQ (Struck SIS3316) files: a header with channel configurations, then events.

Example
-------
>>> from tierflow.raw.formats.llama import LLAMAStreamer
>>> LLAMAStreamer.is_stream(b"LArI")
True
"""

from __future__ import annotations

from tierflow.raw.formats.llama._streamer import (
    LLAMAEventDecoder,
    LLAMAHeaderDecoder,
    LLAMAStreamer,
)

__all__ = ["LLAMAEventDecoder", "LLAMAHeaderDecoder", "LLAMAStreamer"]
