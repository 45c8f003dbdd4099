"""ORCA files: detected from their header; decoding is not written yet (see the tracker issue).

Example
-------
>>> from tierflow.raw.formats.orca import OrcaStreamer
>>> OrcaStreamer.is_stream(bytes(8) + b"<?xml")
False
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError
from tierflow.raw._decoder import DataDecoder, RowBlock
from tierflow.raw._source import ByteSource
from tierflow.raw._streamer import DataStreamer
from tierflow.types import DataObject

__all__ = ["OrcaStreamer"]


class OrcaStreamer(DataStreamer):
    """ORCA streams (an XML plist header packet, then data packets)."""

    name = "ORCA"

    @classmethod
    def is_stream(cls, head: bytes) -> bool:
        if len(head) < 14:
            return False
        w0, w1 = (int.from_bytes(head[i : i + 4], "little") for i in (0, 4))
        return w0 & 0xFFFC0000 == 0 and 0 <= w0 * 4 - 8 - w1 < 8 and head[8:13] == b"<?xml"

    def read_header(self, source: ByteSource) -> list[tuple[str, DataObject]]:
        raise FormatError(
            f"{source.name}: ORCA decoding is not available in tierflow yet", file=source.name
        )

    def make_decoders(self) -> list[DataDecoder]:
        return []

    def process(
        self, buf: npt.NDArray[np.uint8], offset: int, final: bool
    ) -> tuple[int, list[tuple[str, RowBlock]]]:
        return 0, []

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
