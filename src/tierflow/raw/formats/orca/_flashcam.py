"""ORCA run control, the header, and FlashCam listener config/status/waveform packets."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.raw._decoder import DecodedValue, Jagged, Kind, RowBlock
from tierflow.raw.formats.fcio._decoders import (
    DEADREGION_FIELDS,
    EVENT_HEADER_FIELDS,
    TIMEOFFSET_FIELDS,
    TIMESTAMP_FIELDS,
)
from tierflow.raw.formats.fcio._descriptions import described
from tierflow.raw.formats.orca._base import OrcaDecoder, PacketGroup, by_length
from tierflow.raw.formats.orca._header import OrcaHeader

__all__ = [
    "ORFlashCamADCWaveformDecoder",
    "ORFlashCamListenerConfigDecoder",
    "ORFlashCamListenerStatusDecoder",
    "ORFlashCamWaveformDecoder",
    "ORRunDecoderForRun",
    "OrcaHeaderDecoder",
    "fc_key",
    "fc_key_of",
]

log = logging.getLogger(__name__)

_NONE = np.array([None], dtype=object)


def fc_key_of(fcid: Any, board_id: Any, fc_input: Any) -> Any:
    """The anchor's FlashCam channel key ``fcid * 1000000 + board_id * 100 + fc_input``: a
    Python int of ints (the header's channels, one by one), or as :func:`fc_key`'s arrays."""
    return fcid * 1_000_000 + board_id * 100 + fc_input


def fc_key(fcid: Any, board_id: Any, fc_input: Any) -> Any:
    """:func:`fc_key_of` of 64-bit integer arrays (a packet's channels).

    Example
    -------
    >>> int(fc_key(1, 288, 3))
    1028803
    """
    return fc_key_of(*(np.asarray(x, np.int64) for x in (fcid, board_id, fc_input)))


def _nokeys(n: int) -> npt.NDArray[Any]:
    return np.full(n, None, dtype=object)


class OrcaHeaderDecoder(OrcaDecoder):
    """The header packet (written once, as the JSON string ``OrcaHeader``)."""

    name = "OrcaHeaderDecoder"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return []

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        return []


_RUN_FLAGS = (
    "runstartorstop",
    "quickstartrun",
    "remotecontrolrun",
    "heartbeatrecord",
    "endsubrunrecord",
    "startsubrunrecord",
)


class ORRunDecoderForRun(OrcaDecoder):
    """Run control records: sub-run number, start/stop flags, run number and time."""

    name = "ORRunDecoderForRun"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return [
            DecodedValue("subrun_number", "uint16"),
            *(DecodedValue(f, "bool") for f in _RUN_FLAGS),
            DecodedValue("run_number", "int32"),
            DecodedValue("time", "int32"),
        ]

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        ok = lengths >= 4
        s = starts[ok]
        w1 = words[s + 1]
        cols: dict[str, Any] = {"subrun_number": (w1 >> 16) & 0xFFFF}
        for bit, flag in enumerate(_RUN_FLAGS):
            cols[flag] = ((w1 >> bit) & 1).astype(bool)
        cols["run_number"] = words[s + 2].view(np.int32)
        cols["time"] = words[s + 3].view(np.int32)
        return [(self.name, RowBlock(_nokeys(s.size), cols))]


_LISTENER_INTS = (
    "streamid",
    "nadcs",
    "ntriggers",
    "nsamples",
    "adcbits",
    "sumlength",
    "blprecision",
    "mastercards",
    "triggercards",
    "adccards",
    "gps",
)


class ORFlashCamListenerConfigDecoder(OrcaDecoder):
    """FlashCam listener config: readout settings and the channel map of one FlashCam system.

    Also records, for the waveform decoders, the GPS mode and the channel → key map.
    """

    name = "ORFlashCamListenerConfigDecoder"
    priority = 0
    stateful = True

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return [
            DecodedValue("packet_id", "uint32"),
            DecodedValue("packet_len", "uint32"),
            DecodedValue("readout_id", "uint16"),
            DecodedValue("fcid", "uint16"),
            *(DecodedValue(n, "int32") for n in _LISTENER_INTS),
            DecodedValue("ch_board_id", "uint16", Kind.JAGGED),
            DecodedValue("ch_inputnum", "uint16", Kind.JAGGED),
            DecodedValue("board_rev", "uint8", Kind.JAGGED),
            DecodedValue("board_uid", "uint64", Kind.JAGGED),
        ]

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        rows = [
            self._one(words[s : s + n], int(pid))
            for s, n, pid in zip(starts, lengths, packet_ids, strict=True)
            if n >= 13
        ]
        if not rows:
            return []
        cols: dict[str, Any] = {}
        for name in rows[0]:
            parts = [r[name] for r in rows]
            if isinstance(parts[0], np.ndarray):
                cols[name] = Jagged(
                    np.concatenate(parts), np.array([p.size for p in parts], np.int64)
                )
            else:
                cols[name] = np.array(parts)
        return [(self.name, RowBlock(_nokeys(len(rows)), cols))]

    def _one(self, p: npt.NDArray[np.uint32], pid: int) -> dict[str, Any]:
        ints = p.view(np.int32)
        fcid = int(p[1] & 0xFFFF)
        row: dict[str, Any] = {
            "packet_id": pid,
            "packet_len": p.size,
            "readout_id": int(p[1] >> 16),
            "fcid": fcid,
        }
        row.update({n: int(ints[2 + i]) for i, n in enumerate(_LISTENER_INTS)})
        n_adc = max(0, min(int(p[3]), p.size - 13))
        chmap = p[13 : 13 + n_adc]
        row["ch_board_id"] = (chmap >> 16).astype(np.uint16)
        row["ch_inputnum"] = (chmap & 0xFFFF).astype(np.uint16)
        rev, uid = self._boards(p, n_adc)
        row["board_rev"], row["board_uid"] = rev, uid
        self.context.fc_gps[fcid] = row["gps"]
        self.context.nsamples[fcid] = row["nsamples"]
        self.context.fbi_map[fcid] = fc_key(fcid, chmap >> 16, chmap & 0xFFFF)
        return row

    @staticmethod
    def _boards(
        p: npt.NDArray[np.uint32], n_adc: int
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64]]:
        if p.size <= 13 + n_adc:
            return np.zeros(0, np.uint8), np.zeros(0, np.uint64)
        n_boards = int(p[11])
        n_rev = (n_boards + 3) // 4
        rev_words = p[13 + n_adc : 13 + n_adc + n_rev].astype(np.uint64)
        # the anchor shifts by 4 bits per board (not 8): kept for identical output
        rev = ((rev_words[:, None] >> (4 * np.arange(4, dtype=np.uint64))) & 0xFF).ravel()
        uid_words = p[13 + n_adc + n_rev : 13 + n_adc + n_rev + 2 * n_boards].astype(np.uint64)
        uid = (uid_words[0::2] << np.uint64(32)) | uid_words[1::2]
        return rev[:n_boards].astype(np.uint8), uid[:n_boards]


class ORFlashCamListenerStatusDecoder(OrcaDecoder):
    """FlashCam listener status packets.

    The anchor (legend-daq2lh5 1.7) declares these fields but decodes nothing; so do we,
    for identical outputs.
    """

    name = "ORFlashCamListenerStatusDecoder"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        vals = [
            DecodedValue("packet_id", "uint32"),
            DecodedValue("readout_id", "uint16"),
            DecodedValue("fcid", "uint16"),
            DecodedValue("status", "int32"),
            DecodedValue("statustime", "float32", units="s"),
            DecodedValue("cputime", "float64", units="s"),
            DecodedValue("startoffset", "float32", units="s"),
            DecodedValue("n_cards", "int32"),
            DecodedValue("card_data_size", "int32"),
        ]
        return vals

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        return []


_WF_DTYPES = {
    "event_type": "uint8",
    "fcid": "uint8",
    "crate": "uint8",
    "slot": "uint8",
    "board_id": "uint16",
    "fc_input": "uint8",
}


class ORFlashCamWaveformDecoder(OrcaDecoder):
    """FlashCam ADC waveforms read out by ORCA: one trace per packet, keyed by channel."""

    name = "ORFlashCamWaveformDecoder"
    fc_input_mask, fc_input_shift, channel_mask = 0x00003E00, 9, 0x000001FF

    def __init__(self, header: OrcaHeader | None = None, context: Any = None) -> None:
        self.fcid_of: dict[tuple[int, int], int] = {}
        self.board_of: dict[tuple[int, int], int] = {}
        self.n_adc: dict[int, int] = {}
        self.keys: dict[int, list[int]] = {}
        self.wf_len: dict[int, int] = {}
        super().__init__(header, context)

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        out = [
            DecodedValue(n, _WF_DTYPES.get(n, dt), units=u)
            for n, (dt, u) in EVENT_HEADER_FIELDS.items()
        ]
        out += [DecodedValue(n, _WF_DTYPES[n]) for n in ("crate", "slot")]
        out.append(DecodedValue("waveform", "uint16", Kind.WAVEFORM, length=0, dt=16.0))
        return described(out, skip=("board_id", "event_type", "fc_input", "fcid"))

    def set_header(self, header: OrcaHeader) -> None:
        cards = header.object_info(["ORFlashCamADCModel", "ORFlashCamADCStdModel"])
        for listener in header.readout_info("ORFlashCamListenerModel"):
            fcid = int(listener["uniqueID"])
            keys = self.keys.setdefault(fcid, [])
            self.n_adc[fcid] = 0
            for child in listener.get("children", []):
                crate, card = int(child["crate"]), int(child["station"])
                info = cards.get(crate, {}).get(card, {})
                board = int(info.get("CardAddress", 0))
                self.fcid_of[crate, card], self.board_of[crate, card] = fcid, board
                for fc_input, enabled in enumerate(info.get("Enabled", [])):
                    if enabled:
                        self.n_adc[fcid] += 1
                        key = fc_key_of(fcid, board, fc_input)
                        if key not in keys:
                            keys.append(key)
            aux = header.auxhw_info("ORFlashCamListenerModel", fcid)
            self.wf_len[fcid] = int(aux.get("eventSamples", 0))

    def key_lists(self) -> list[list[Any]]:
        return [list(k) for k in self.keys.values()] or [[]]

    def max_rows_in_packet(self) -> int:
        return 1

    def _length(self, fcid: int) -> int:
        return int(self.context.nsamples.get(fcid, self.wf_len.get(fcid, 0)))

    def get_decoded_values(self, key: Any = None) -> dict[str, DecodedValue]:
        fcid = next(iter(self.keys), 0) if key is None else int(key) // 1_000_000
        vals = dict(self.decoded_values)
        vals["waveform"] = vals["waveform"].with_(length=self._length(fcid))
        return vals

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        out = []
        for _, group in by_length(words, starts, lengths, packet_ids):
            w1 = group.col(1)
            head = ((w1 >> 28) << 8) | ((w1 >> 22) & 0x3F)
            for h in np.unique(head):
                sel = np.flatnonzero(head == h)
                block = self._decode_group(
                    PacketGroup(group.words[sel], group.packet_ids[sel]), int(h >> 8), int(h & 0xFF)
                )
                if block is not None:
                    out.append((self.name, block))
        return out

    def _locate(self, w2: npt.NDArray[np.uint32]) -> tuple[Any, Any, Any, Any]:
        crate, slot = (w2 >> 27) & 0x1F, (w2 >> 22) & 0x1F
        pairs = list(zip(crate.tolist(), slot.tolist(), strict=True))
        fcid = np.array([self.fcid_of.get(p, -1) for p in pairs], np.int64)
        expected = np.array([self.board_of.get(p, -1) for p in pairs], np.int64)
        board = ((w2 & 0x003FC000) >> 10).astype(np.int64)
        old_shift = (board != expected) & (board == ((expected << 4) & 0xFFF))
        board = np.where(old_shift, expected, board)
        return crate, slot, fcid, board

    def _decode_group(self, g: PacketGroup, o: int, fh: int) -> RowBlock | None:
        n_words = g.words.shape[1]
        if o < 3 or o + max(fh, 16) > n_words:
            return None
        w1, w2 = g.col(1), g.col(2)
        crate, slot, fcid, board = self._locate(w2)
        fc_input = ((w2 & self.fc_input_mask) >> self.fc_input_shift).astype(np.int64)
        channel = (w2 & self.channel_mask).astype(np.int64)
        keys = np.where(fcid >= 0, fc_key(fcid, board, fc_input), -1)
        board = self._fc_board(fcid, channel, keys, board)
        to, dr = g.int32(o, 7), g.int32(o + 7, 5)
        cnt = g.int32(o + 12, 4)
        with np.errstate(divide="ignore", invalid="ignore"):
            deadtime = np.float64(1) * (dr[:, 2] - dr[:, 0]) + (dr[:, 3] - dr[:, 1]) / dr[
                :, 4
            ].astype(np.float64)
        runtime = g.col(o + 13).astype(np.float64) + g.col(o + 14).astype(np.float64) / (
            cnt[:, 3] + np.int32(1)
        )
        gps = np.array([self.context.fc_gps.get(int(f), 0) for f in fcid], np.int64)
        toff = np.where(
            gps == 0, to[:, 0] + to[:, 1].astype(np.float64) * 1e-6, to[:, 2].astype(np.float64)
        )
        n = len(g)
        last = g.col(o + fh - 1) if fh >= 1 else np.zeros(n, np.uint32)
        cols: dict[str, Any] = {
            "packet_id": g.packet_ids,
            "event_type": w1 & 0x1F,
            "crate": crate,
            "slot": slot,
            "fc_input": fc_input,
            "fcid": np.maximum(fcid, 0),
            "board_id": board,
            "channel": channel,
            "numtraces": np.ones(n, np.int32),
            "dr_ch_idx": np.zeros(n, np.int64),
            "dr_ch_len": np.array([self.n_adc.get(int(f), 0) for f in fcid], np.int64),
            "deadinterval_nsec": np.zeros(n, np.int64),
            "lifetime": np.zeros(n),
            "deadtime": deadtime,
            "runtime": runtime,
            "timestamp": runtime + toff,
            "baseline": last & 0xFFFF,
            "daqenergy": last >> 16,
            "waveform": self._waveforms(g, o + fh, w1, fcid),
        }
        for i, name in enumerate(TIMEOFFSET_FIELDS):
            cols[name] = to[:, i]
        for i, name in enumerate(DEADREGION_FIELDS):
            cols[name] = dr[:, i]
        for i, name in enumerate(TIMESTAMP_FIELDS):
            cols[name] = cnt[:, i]
        return RowBlock(keys, cols)

    def _fc_board(self, fcid: Any, channel: Any, keys: Any, board: Any) -> Any:
        """The board id of the FlashCam config's channel map where ORCA's key disagrees."""
        out = board.copy()
        for f in np.unique(fcid):
            fbi = self.context.fbi_map.get(int(f))
            if fbi is None or not fbi.size:
                continue
            sel = np.flatnonzero(fcid == f)
            ch = np.minimum(channel[sel], fbi.size - 1)
            mismatch = keys[sel] != fbi[ch]
            if mismatch.any():
                log.warning("ORCA keys disagree with the FlashCam channel map of fcid %s", f)
                out[sel[mismatch]] = (fbi[ch[mismatch]] // 100) % 10000
        return out

    def _waveforms(self, g: PacketGroup, start: int, w1: Any, fcid: Any) -> Any:
        samples = g.words[:, start:].view(np.uint16)
        f0 = int(fcid[0]) if fcid.size else 0
        length = self._length(f0) or int(((w1 >> 6) & 0xFFFF).max(initial=0))
        wf = np.zeros((len(g), length), np.uint16)
        ns = np.minimum((w1 >> 6) & 0xFFFF, min(length, samples.shape[1])).astype(np.int64)
        if ns.size and (ns == ns[0]).all():
            wf[:, : ns[0]] = samples[:, : ns[0]]
        else:
            for i, k in enumerate(ns):
                wf[i, :k] = samples[i, :k]
        return wf


class ORFlashCamADCWaveformDecoder(ORFlashCamWaveformDecoder):
    """As :class:`ORFlashCamWaveformDecoder`, with the later channel/input bit layout."""

    name = "ORFlashCamADCWaveformDecoder"
    fc_input_mask, fc_input_shift, channel_mask = 0x00003C00, 10, 0x000003FF
