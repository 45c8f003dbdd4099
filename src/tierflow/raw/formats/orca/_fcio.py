"""FCIO records embedded in ORCA packets (ORFCIO*): config, events, event headers, status.

Word 2 of each packet names the FCIO stream; the FCIO bytes follow from word 3. The config
packet opens the stream (its config drives the other records), so it is always decoded.
Records of one kind in a block are decoded together by the FCIO kernels.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from tierflow.raw._decoder import DecodedValue, RowBlock
from tierflow.raw.formats.fcio import (
    FCConfigDecoder,
    FCEventDecoder,
    FCEventHeaderDecoder,
    FCStatusDecoder,
    FCStreamer,
    Tag,
)
from tierflow.raw.formats.fcio._decoders import status_key
from tierflow.raw.formats.fcio._fsp import (
    FSPConfigDecoder,
    FSPEventDecoder,
    FSPStatusDecoder,
    decode_fsp_config,
    decode_fsp_events,
    decode_fsp_status,
)
from tierflow.raw.formats.orca._base import OrcaDecoder
from tierflow.raw.formats.orca._flashcam import fc_key_of
from tierflow.raw.formats.orca._header import OrcaHeader

__all__ = [
    "ORFCIOConfigDecoder",
    "ORFCIOEventDecoder",
    "ORFCIOEventHeaderDecoder",
    "ORFCIOStatusDecoder",
    "fcio_layout",
]

log = logging.getLogger(__name__)


def fcio_layout(header: OrcaHeader) -> dict[int, dict[str, Any]]:
    """Per FlashCam listener (fcid): channel keys, ADC and card counts, samples, FSP flag."""
    cards = header.object_info(
        [
            "ORFlashCamGlobalTriggerModel",
            "ORFlashCamTriggerModel",
            "ORFlashCamADCModel",
            "ORFlashCamADCStdModel",
        ]
    )
    out: dict[int, dict[str, Any]] = {}
    for listener in header.readout_info("ORFlashCamListenerModel"):
        fcid = int(listener["uniqueID"])
        aux = header.auxhw_info("ORFlashCamListenerModel", fcid)
        info: dict[str, Any] = {
            "keys": [],
            "n_adc": 0,
            "n_card": 0,
            "wf_len": int(aux.get("eventSamples", 0)),
            "fsp": bool(aux.get("fspEnabled", False)),
        }
        seen: set[int] = set()
        for child in listener.get("children", []):
            card = cards.get(int(child["crate"]), {}).get(int(child["station"]), {})
            address = int(card.get("CardAddress", 0))
            info["n_card"] += 1
            for fc_input, enabled in enumerate(card.get("Enabled", [])):
                if enabled:
                    info["n_adc"] += 1
                    key = fc_key_of(fcid, address, fc_input)
                    if key not in seen:
                        seen.add(key)
                        info["keys"].append(key)
        out[fcid] = info
    return out


class _ORFCIODecoder(OrcaDecoder):
    """Shared plumbing: FCIO records of a batch of packets, framed in one pass."""

    tags: tuple[int, ...] = ()
    fsp_values: ClassVar[dict[str, DecodedValue]] = {}
    """Fields of the FSP rows (keys ``swtid_<id>/...``)."""

    def set_header(self, header: OrcaHeader) -> None:
        self.layout = fcio_layout(header)

    def get_decoded_values(self, key: Any = None) -> dict[str, DecodedValue]:
        if isinstance(key, str) and key.startswith("swtid_"):
            return self.fsp_values
        return self.decoded_values

    def fsp_enabled(self, fc: FCStreamer) -> bool:
        """Whether the header enables FSP for the FlashCam stream `fc`."""
        return bool(self.layout.get(fc.config["streamid"] & 0xFFFF, {}).get("fsp", False))

    def fsp_events(
        self, fc: FCStreamer, buf: Any, frames: Any, sel: Any, ids: Any, what: str
    ) -> list[tuple[str, RowBlock]]:
        """FSP event records `sel` as rows keyed ``swtid_<id>/<what>``."""
        if not self.fsp_enabled(fc):
            return []
        _, _, _, ffirst, nf, fstart, fsize, _ = frames
        key = f"swtid_{fc.config['streamid'] & 0xFFFF}/{what}"
        keys = np.full(sel.size, key, dtype=object)
        block = decode_fsp_events(buf, ffirst[sel], nf[sel], fstart, fsize, keys, ids[sel])
        return [(self.name, block)]

    def _records(
        self,
        words: npt.NDArray[np.uint32],
        starts: npt.NDArray[np.int64],
        lengths: npt.NDArray[np.int64],
        packet_ids: npt.NDArray[np.int64],
    ) -> tuple[npt.NDArray[np.uint8], Any, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The payloads one after the other, their tmio records, and per record its packet."""
        from tierflow.raw.formats.orca._kernels import frame_fcio_segments

        ok = lengths > 3
        starts, lengths, packet_ids = starts[ok], lengths[ok], packet_ids[ok]
        n = lengths - 3
        first = np.concatenate(([0], np.cumsum(n)[:-1])).astype(np.int64)
        idx = np.repeat(starts + 3 - first, n) + np.arange(int(n.sum()))
        buf = words[idx].view(np.uint8)
        *frames, seg = frame_fcio_segments(buf, 4 * first, 4 * (first + n))
        stream = words[starts + 2].astype(np.int64)
        return buf, (*frames, 0), packet_ids[seg], stream[seg]

    def _stream(self, sid: int) -> FCStreamer | None:
        st = self.context.fcio.get(sid)
        if st is None:
            log.warning("FCIO stream %s has no config packet before its records", sid)
        return st

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        if not starts.size:
            return []
        buf, frames, ids, stream = self._records(words, starts, lengths, packet_ids)
        tags = frames[0]
        out: list[tuple[str, RowBlock]] = []
        for sid in np.unique(stream):
            fc = self._stream(int(sid))
            if fc is None:
                continue
            for tag in self.tags:
                sel = np.flatnonzero((stream == sid) & (tags == tag))
                if sel.size:
                    out += self.decode_records(fc, tag, buf, frames, sel, ids)
        return out

    def decode_records(
        self, fc: FCStreamer, tag: int, buf: Any, frames: Any, sel: Any, ids: Any
    ) -> list[tuple[str, RowBlock]]:
        """Rows of the records `sel` (all of tag `tag`) of FCIO stream `fc`."""
        raise NotImplementedError


class ORFCIOConfigDecoder(_ORFCIODecoder):
    """FCIO config records: open the FCIO stream, one config row keyed ``fcid_<id>/config``."""

    name = "ORFCIOConfigDecoder"
    priority = 0
    stateful = True
    fsp_values: ClassVar[dict[str, DecodedValue]] = FSPConfigDecoder().get_decoded_values()

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return FCConfigDecoder.default_values()

    def key_lists(self) -> list[list[Any]]:
        fc = [f"fcid_{f}/config" for f in self.layout]
        fsp = [f"swtid_{f}/config" for f, i in self.layout.items() if i["fsp"]]
        return [fc, fsp]

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        out = []
        for s, n, pid in zip(starts, lengths, packet_ids, strict=True):
            if n <= 3:
                continue
            sid = int(words[s + 2])
            fc = FCStreamer()
            fc.load_config(words[s + 3 : s + n].view(np.uint8), f"ORCA packet {pid}")
            if sid in self.context.fcio:
                log.warning("FCIO stream %s opened again; the new config replaces the old", sid)
            self.context.fcio[sid] = fc
            streamid = fc.config["streamid"]
            if streamid != sid:
                log.warning("FCIO stream id %s does not match the packet's %s", streamid, sid)
            self.context.nsamples.setdefault(streamid & 0xFFFF, fc.config["nsamples"])
            block = fc._config_block(int(pid))
            block.keys = np.array([f"fcid_{streamid & 0xFFFF}/config"], dtype=object)
            out.append((self.name, block))
            if self.fsp_enabled(fc):
                out += self._fsp_config(words[s + 3 : s + n].view(np.uint8), streamid, int(pid))
        return out

    def _fsp_config(self, buf: Any, streamid: int, pid: int) -> list[tuple[str, RowBlock]]:
        from tierflow.raw.formats.fcio._kernels import frame_records

        tags, _, _, ffirst, nf, fstart, fsize, _ = frame_records(buf, True)
        out = []
        for i in np.flatnonzero(tags == Tag.FSP[0]):
            frames = slice(ffirst[i], ffirst[i] + nf[i])
            key = f"swtid_{streamid & 0xFFFF}/config"
            out.append((self.name, decode_fsp_config(buf, fstart[frames], fsize[frames], key, pid)))
        return out


class ORFCIOEventDecoder(_ORFCIODecoder):
    """FCIO (sparse) event records: one row per trace, keyed by channel as FCEventDecoder."""

    name = "ORFCIOEventDecoder"
    tags = (Tag.EVENT, Tag.SPARSE_EVENT, Tag.FSP[1])
    fsp_values: ClassVar[dict[str, DecodedValue]] = FSPEventDecoder().decoded_values

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return FCEventDecoder.default_values()

    def key_lists(self) -> list[list[Any]]:
        out: list[list[Any]] = []
        for fcid, info in self.layout.items():
            out.append(list(info["keys"]))
            if info["fsp"]:
                out.append([f"swtid_{fcid}/event"])
        return out

    def max_rows_in_packet(self) -> int:
        return int(max([i["n_adc"] for i in self.layout.values()] + [1]))

    def get_decoded_values(self, key: Any = None) -> dict[str, DecodedValue]:
        if isinstance(key, str) and key.startswith("swtid_"):
            return self.fsp_values
        fcid = next(iter(self.layout), 0) if not isinstance(key, int) else key // 1_000_000
        fc = self.context.fcio.get(fcid)
        wf = self.decoded_values["waveform"]
        if fc is not None:
            dt = 4.0 if fc.config["adcbits"] == 12 else 16.0
            wf = wf.with_(length=fc.config["nsamples"], dt=dt)
        else:
            wf = wf.with_(length=self.layout.get(fcid, {}).get("wf_len", 0))
        return {**self.decoded_values, "waveform": wf}

    def decode_records(
        self, fc: FCStreamer, tag: int, buf: Any, frames: Any, sel: Any, ids: Any
    ) -> list[tuple[str, RowBlock]]:
        if tag == Tag.FSP[1]:
            return self.fsp_events(fc, buf, frames, sel, ids, "event")
        _, _, _, ffirst, nf, fstart, fsize, _ = frames
        need = 7 if tag == Tag.SPARSE_EVENT else 6
        sel = sel[nf[sel] >= need]
        if not sel.size:
            return []
        block = fc._decode_events(buf, sel, tag == Tag.SPARSE_EVENT, ids, ffirst, nf, fstart, fsize)
        return [(self.name, block)]


class ORFCIOEventHeaderDecoder(_ORFCIODecoder):
    """FCIO event-header records: one row per event keyed ``fcid_<id>/evt_hdr``."""

    name = "ORFCIOEventHeaderDecoder"
    tags = (Tag.EVENT_HEADER, Tag.FSP[1])
    fsp_values: ClassVar[dict[str, DecodedValue]] = FSPEventDecoder().decoded_values

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return FCEventHeaderDecoder.default_values()

    def key_lists(self) -> list[list[Any]]:
        fc = [f"fcid_{f}/evt_hdr" for f in self.layout]
        fsp = [f"swtid_{f}/evt_hdr" for f, i in self.layout.items() if i["fsp"]]
        return [fc, fsp]

    def decode_records(
        self, fc: FCStreamer, tag: int, buf: Any, frames: Any, sel: Any, ids: Any
    ) -> list[tuple[str, RowBlock]]:
        if tag == Tag.FSP[1]:
            return self.fsp_events(fc, buf, frames, sel, ids, "evt_hdr")
        _, _, _, ffirst, nf, fstart, fsize, _ = frames
        sel = sel[nf[sel] >= 6]
        if not sel.size:
            return []
        return [(self.name, fc.decode_event_headers(buf, sel, ids, ffirst, nf, fstart, fsize))]


class ORFCIOStatusDecoder(_ORFCIODecoder):
    """FCIO status records: one row per card keyed ``fcid_<id>/status/card<n>``."""

    name = "ORFCIOStatusDecoder"
    tags = (Tag.STATUS, Tag.FSP[2])
    fsp_values: ClassVar[dict[str, DecodedValue]] = FSPStatusDecoder().decoded_values

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return FCStatusDecoder.default_values()

    def key_lists(self) -> list[list[Any]]:
        out: list[list[Any]] = []
        for fcid, info in self.layout.items():
            out.append(
                [status_key(fcid, 0)]
                + [status_key(fcid, 0x2000 + i) for i in range(info["n_card"])]
            )
            if info["fsp"]:
                out.append([f"swtid_{fcid}/status"])
        return out

    def max_rows_in_packet(self) -> int:
        return int(max([i["n_card"] + 1 for i in self.layout.values()] + [1]))

    def decode_records(
        self, fc: FCStreamer, tag: int, buf: Any, frames: Any, sel: Any, ids: Any
    ) -> list[tuple[str, RowBlock]]:
        _, _, _, ffirst, nf, fstart, fsize, _ = frames
        if tag == Tag.FSP[2]:
            if not self.fsp_enabled(fc):
                return []
            key = f"swtid_{fc.config['streamid'] & 0xFFFF}/status"
            return [
                (
                    self.name,
                    decode_fsp_status(buf, fstart[ffirst[i]], fsize[ffirst[i]], key, ids[i]),
                )
                for i in sel
                if nf[i] >= 1
            ]
        return [
            (self.name, fc._status(buf, ffirst[i], nf[i], fstart, fsize, int(ids[i]))[1])
            for i in sel
        ]
