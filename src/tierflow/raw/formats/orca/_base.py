"""The ORCA decoder base: a decoder sees the header and decodes batches of packets."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.raw._decoder import DataDecoder, RowBlock
from tierflow.raw.formats.orca._header import OrcaHeader

__all__ = ["OrcaContext", "OrcaDecoder", "PacketGroup", "by_length", "make_ccc"]


@dataclass
class OrcaContext:
    """State shared by the decoders of one stream (what the anchor kept on its header).

    ``fc_gps`` and ``fbi_map`` come from FlashCam listener config packets; ``fcio`` holds
    one FCIO stream state per stream id for the FCIO records embedded in ORCA packets.
    """

    fc_gps: dict[int, int] = field(default_factory=dict)
    fbi_map: dict[int, npt.NDArray[np.int64]] = field(default_factory=dict)
    nsamples: dict[int, int] = field(default_factory=dict)
    fcio: dict[int, Any] = field(default_factory=dict)


@dataclass
class PacketGroup:
    """Packets of one length, as rows of a 2-D word array, with their ids."""

    words: npt.NDArray[np.uint32]
    packet_ids: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.packet_ids.size)

    def col(self, i: int) -> npt.NDArray[np.uint32]:
        """Word `i` of every packet."""
        return self.words[:, i]

    def int32(self, i: int, n: int = 1) -> npt.NDArray[np.int32]:
        """Words ``i:i+n`` of every packet as signed integers."""
        out: npt.NDArray[np.int32] = self.words[:, i : i + n].view(np.int32)
        return out[:, 0] if n == 1 else out


def by_length(
    words: npt.NDArray[np.uint32],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    packet_ids: npt.NDArray[np.int64],
) -> list[tuple[npt.NDArray[np.intp], PacketGroup]]:
    """The packets grouped by length: (their positions in the batch, their words)."""
    out = []
    for length in np.unique(lengths):
        sel = np.flatnonzero(lengths == length)
        rows = np.lib.stride_tricks.sliding_window_view(words, int(length))[starts[sel]]
        out.append((sel, PacketGroup(rows, packet_ids[sel])))
    return out


def make_ccc(crate: npt.ArrayLike, card: npt.ArrayLike, channel: npt.ArrayLike) -> Any:
    """The anchor's crate/card/channel key, ``(crate << 9) + ((card & 0x1F) << 4) + ch``.

    Example
    -------
    >>> int(make_ccc(0, 2, 3))
    35
    """
    return (
        (np.asarray(crate, np.int64) << 9)
        + ((np.asarray(card, np.int64) & 0x1F) << 4)
        + (np.asarray(channel, np.int64) & 0xF)
    )


class OrcaDecoder(DataDecoder):
    """An ORCA decoder: set up from the header, decodes all packets of its data id at once.

    :attr:`priority` orders decoding within a block: config decoders (which set state
    used by others) run first.
    """

    priority: int = 1
    stateful: bool = False
    """Decoded even when nothing is written (its packets set state for other decoders)."""

    def __init__(self, header: OrcaHeader | None = None, context: OrcaContext | None = None):
        super().__init__()
        self.header = header if header is not None else OrcaHeader()
        self.context = context if context is not None else OrcaContext()
        self.set_header(self.header)

    def set_header(self, header: OrcaHeader) -> None:
        """Read card settings, key lists... from the header."""

    @abc.abstractmethod
    def decode(
        self,
        words: npt.NDArray[np.uint32],
        starts: npt.NDArray[np.int64],
        lengths: npt.NDArray[np.int64],
        packet_ids: npt.NDArray[np.int64],
    ) -> list[tuple[str, RowBlock]]:
        """Decode the packets at `starts` (with their `lengths` in words) of `words`."""
