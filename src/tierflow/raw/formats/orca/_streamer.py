"""The ORCA streamer: the XML header packet, then packets framed in bulk and decoded by data id."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError
from tierflow.raw._decoder import DataDecoder, RowBlock
from tierflow.raw._source import ByteSource
from tierflow.raw._streamer import DataStreamer
from tierflow.raw.formats.orca._base import OrcaContext, OrcaDecoder
from tierflow.raw.formats.orca._header import OrcaHeader, parse_header_packet
from tierflow.registry import Registry
from tierflow.types import DataObject, Scalar

__all__ = ["ORCA_DECODERS", "OrcaStreamer"]

log = logging.getLogger(__name__)

ORCA_DECODERS: Registry[str] = Registry("ORCA decoder", entry_point_group="tierflow.orca_decoders")
"""ORCA decoder classes by the name the file header gives (``"module:Class"``)."""
for _mod, _names in {
    "tierflow.raw.formats.orca._flashcam": (
        "ORRunDecoderForRun",
        "ORFlashCamListenerConfigDecoder",
        "ORFlashCamListenerStatusDecoder",
        "ORFlashCamWaveformDecoder",
        "ORFlashCamADCWaveformDecoder",
    ),
    "tierflow.raw.formats.orca._fcio": (
        "ORFCIOConfigDecoder",
        "ORFCIOEventDecoder",
        "ORFCIOEventHeaderDecoder",
        "ORFCIOStatusDecoder",
    ),
    "tierflow.raw.formats.orca._struck": (
        "ORSIS3302DecoderForEnergy",
        "ORSIS3316WaveformDecoder",
    ),
}.items():
    for _name in _names:
        ORCA_DECODERS.add(_name, f"{_mod}:{_name}")

HEADER_DECODER = "OrcaHeaderDecoder"


def _load(name: str) -> type[OrcaDecoder]:
    import importlib

    module, _, attr = ORCA_DECODERS[name].partition(":")
    cls: type[OrcaDecoder] = getattr(importlib.import_module(module), attr)
    return cls


class OrcaStreamer(DataStreamer):
    """ORCA streams: an XML plist header packet, then data packets named by data id.

    Packets of data ids the header does not declare, or of implausible length, are
    skipped up to the next run of valid packets and kept as garbage records.

    Example
    -------
    >>> OrcaStreamer.is_stream(bytes(8) + b"<?xml")
    False
    """

    name = "ORCA"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.header = OrcaHeader()
        self.context = OrcaContext()
        self.by_id: dict[int, OrcaDecoder] = {}
        self.missing: dict[int, str] = {}
        self._valid_ids = np.zeros(0, np.int64)

    @classmethod
    def is_stream(cls, head: bytes) -> bool:
        if len(head) < 14:
            return False
        w0, w1 = (int.from_bytes(head[i : i + 4], "little") for i in (0, 4))
        return w0 & 0xFFFC0000 == 0 and 0 <= w0 * 4 - 8 - w1 < 4 and head[8:13] == b"<?xml"

    def read_header(self, source: ByteSource) -> list[tuple[str, DataObject]]:
        head = source.peek(16)
        if not self.is_stream(head):
            raise FormatError(
                f"{source.name}: not an ORCA stream (no XML header packet)", file=source.name
            )
        n_words = int.from_bytes(head[:4], "little") & 0x3FFFF
        raw = source.read(4 * n_words)
        if raw.size < 4 * n_words:
            raise FormatError(f"{source.name}: the ORCA header is cut short", file=source.name)
        self.header = parse_header_packet(raw.view(np.uint32), source.name)
        self.packet_id = 0  # the header is packet 0
        return [(HEADER_DECODER, Scalar(self.header.to_json()))]

    def make_decoders(self) -> list[DataDecoder]:
        from tierflow.raw.formats.orca._flashcam import OrcaHeaderDecoder

        made: dict[str, OrcaDecoder] = {HEADER_DECODER: OrcaHeaderDecoder(self.header)}
        self.by_id, self.missing = {}, {}
        for did, name in self.header.decoders_by_id().items():
            if name not in ORCA_DECODERS:
                self.missing[did] = name
                continue
            if name not in made:
                made[name] = _load(name)(self.header, self.context)
            self.by_id[did] = made[name]
        self._valid_ids = np.array(sorted(self.header.decoders_by_id()), np.int64)
        if self.missing:
            log.info(
                "no decoder for %s; their packets are skipped", sorted(set(self.missing.values()))
            )
        return list(made.values())

    def process(
        self, buf: npt.NDArray[np.uint8], offset: int, final: bool
    ) -> tuple[int, list[tuple[str, RowBlock]]]:
        from tierflow.raw.formats.orca._kernels import MAX_WORDS, frame_packets

        nw = buf.size // 4
        words = buf[: 4 * nw].view(np.uint32)
        starts, lengths, dids, bad_lo, bad_hi, used = frame_packets(
            words, self._valid_ids, final, MAX_WORDS
        )
        ids = self.next_packet_ids(starts.size)
        out: list[tuple[str, RowBlock]] = []
        decs = sorted({id(d): d for d in self.by_id.values()}.values(), key=lambda d: d.priority)
        for dec in decs:
            if not (dec.stateful or dec.name in self._routes):
                continue
            mine = [did for did, d in self.by_id.items() if d is dec]
            sel = np.flatnonzero(np.isin(dids, mine))
            if sel.size:
                out += self._decode(dec, words, starts[sel], lengths[sel], ids[sel], offset)
        for lo, hi in zip(bad_lo, bad_hi, strict=True):
            raw = buf[4 * lo : 4 * hi]
            out.append(self.warn_garbage(offset + 4 * int(lo), 1, raw, "unknown data id or length"))
        return 4 * int(used), out

    def _decode(
        self,
        dec: OrcaDecoder,
        words: npt.NDArray[np.uint32],
        starts: npt.NDArray[np.int64],
        lengths: npt.NDArray[np.int64],
        ids: npt.NDArray[np.int64],
        offset: int,
    ) -> list[tuple[str, RowBlock]]:
        try:
            return dec.decode(words, starts, lengths, ids)
        except (ValueError, IndexError, FormatError) as err:
            if starts.size == 1:
                raw = words[starts[0] : starts[0] + lengths[0]].view(np.uint8)
                return [self.warn_garbage(offset + 4 * int(starts[0]), 2, raw, str(err))]
            half = starts.size // 2  # find the bad packets by halving
            return [
                *self._decode(dec, words, starts[:half], lengths[:half], ids[:half], offset),
                *self._decode(dec, words, starts[half:], lengths[half:], ids[half:], offset),
            ]
