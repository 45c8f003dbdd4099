"""FlashCam FCIO: the tmio-framed records of FlashCam digitisers (config, status, events,
reconstructed events, FSP trigger records).

Example
-------
>>> from tierflow.raw.formats.fcio import FCStreamer
>>> FCStreamer.is_stream(b"\\xff\\x35\\x65\\xc4FlashCamV1")
True
"""

from __future__ import annotations

from tierflow.raw.formats.fcio._decoders import (
    FCConfigDecoder,
    FCEventDecoder,
    FCEventHeaderDecoder,
    FCStatusDecoder,
    make_key,
)
from tierflow.raw.formats.fcio._fsp import FSPConfigDecoder, FSPEventDecoder, FSPStatusDecoder
from tierflow.raw.formats.fcio._recevent import FCRecEventDecoder
from tierflow.raw.formats.fcio._streamer import FCStreamer, Tag

__all__ = [
    "FCConfigDecoder",
    "FCEventDecoder",
    "FCEventHeaderDecoder",
    "FCRecEventDecoder",
    "FCStatusDecoder",
    "FCStreamer",
    "FSPConfigDecoder",
    "FSPEventDecoder",
    "FSPStatusDecoder",
    "Tag",
    "make_key",
]
