"""Struck SIS3302 and SIS3316 digitisers read out by ORCA; keyed by crate/card/channel."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import DecodeError
from tierflow.raw._decoder import DecodedValue, Kind, RowBlock
from tierflow.raw.formats.orca._base import OrcaDecoder, make_ccc
from tierflow.raw.formats.orca._header import OrcaHeader

__all__ = ["ORSIS3302DecoderForEnergy", "ORSIS3316WaveformDecoder"]

UNSET = np.uint32(0xFFFFFFFF)
"""Value of SIS3316 fields the event's format bits leave out (the anchor's -1)."""
MAX_WF = 1 << 16


def _address(word: npt.ArrayLike) -> tuple[Any, Any, Any]:
    w = np.asarray(word, np.int64)
    return (w >> 21) & 0xF, (w >> 16) & 0x1F, (w >> 8) & 0xFF


class _StruckDecoder(OrcaDecoder):
    """Per-channel waveform lengths from the header; one key list per channel."""

    dt = 10.0

    def __init__(self, header: OrcaHeader | None = None, context: Any = None) -> None:
        self.wf_len: dict[int, int] = {}
        super().__init__(header, context)

    def key_lists(self) -> list[list[Any]]:
        return [[k] for k in self.wf_len] or [[]]

    def get_decoded_values(self, key: Any = None) -> dict[str, DecodedValue]:
        n = self.wf_len.get(key, next(iter(self.wf_len.values()), 0))
        wf = self.decoded_values["waveform"].with_(length=n, dt=self.dt)
        return {**self.decoded_values, "waveform": wf}

    def _set_len(self, ccc: int, length: int) -> None:
        if not 0 < length <= MAX_WF:
            raise DecodeError(f"ORCA header: invalid trace length {length} for channel {ccc}")
        self.wf_len[ccc] = int(length)

    def _rows(self, rows: list[dict[str, Any]]) -> list[tuple[str, RowBlock]]:
        if not rows:
            return []
        keys = np.array([r.pop("key") for r in rows], np.int64)
        width = max(self.wf_len.get(int(k), 0) for k in keys)
        wf = np.zeros((len(rows), width), np.uint16)
        for i, r in enumerate(rows):
            w = r.pop("waveform")[:width]
            wf[i, : w.size] = w
        cols: dict[str, Any] = {k: np.array([r[k] for r in rows]) for k in rows[0]}
        cols["waveform"] = wf
        blocks = []
        for k in np.unique(keys):  # one waveform length per block
            sel = np.flatnonzero(keys == k)
            n = self.wf_len.get(int(k), width)
            block = RowBlock(keys[sel], {c: v[sel] for c, v in cols.items()})
            block.columns["waveform"] = wf[sel, :n]
            blocks.append((self.name, block))
        return blocks


class ORSIS3302DecoderForEnergy(_StruckDecoder):
    """Struck SIS3302 energy records: energy, first energy, timestamp and the trace."""

    name = "ORSIS3302DecoderForEnergy"
    dt = 10.0

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return [
            DecodedValue("packet_id", "uint32"),
            DecodedValue("energy", "uint32", units="adc"),
            DecodedValue("energy_first", "uint32"),
            DecodedValue("timestamp", "uint64", units="clock_ticks"),
            DecodedValue("crate", "uint8"),
            DecodedValue("card", "uint8"),
            DecodedValue("channel", "uint8"),
            DecodedValue("waveform", "uint16", Kind.WAVEFORM, dt=cls.dt),
        ]

    def set_header(self, header: OrcaHeader) -> None:
        for crate, cards in header.object_info("ORSIS3302Model").items():
            for card, info in cards.items():
                mask = int(info.get("internalTriggerEnabledMask", 0)) | int(
                    info.get("externalTriggerEnabledMask", 0)
                )
                for ch in range(8):
                    if mask >> ch & 1:
                        lengths = info.get("sampleLengths", [])
                        n = lengths[ch // 2] if ch // 2 < len(lengths) else 0
                        self._set_len(int(make_ccc(crate, card, ch)), int(n))

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        rows = [
            self._one(words[s : s + n], int(pid))
            for s, n, pid in zip(starts, lengths, packet_ids, strict=True)
        ]
        return self._rows(rows)

    def _one(self, p: npt.NDArray[np.uint32], pid: int) -> dict[str, Any]:
        if p.size < 10 or p[-1] != 0xDEADBEEF:
            raise ValueError(f"SIS3302 packet {pid} does not end with 0xdeadbeef")
        crate, card, channel = _address(p[1])
        wrap = int(p[1] & 1)
        p16 = p.view(np.uint16)
        head = 8 + (8 if wrap else 4)
        wf16, ene16 = 2 * int(p[2]), 2 * int(p[3])
        if wf16 != p16.size - head - 8 - ene16:
            raise ValueError(f"SIS3302 packet {pid}: waveform size {wf16} does not fit")
        wf = p16[head : head + wf16]
        if wrap and wf16:
            cut = int(p[7]) + 1
            wf = np.concatenate((wf[cut:], wf[:cut]))
        return {
            "key": int(make_ccc(crate, card, channel)),
            "packet_id": pid,
            "energy": int(p[-4]),
            "energy_first": int(p[-3]),
            "timestamp": np.uint64(p[5]) + ((np.uint64(p[4]) & np.uint64(0xFFFF0000)) << 16),
            "crate": crate,
            "card": card,
            "channel": channel,
            "waveform": wf,
        }


_SIS3316_SUMS = ("accSum2", "accSum3", "accSum4", "accSum5", "accSum6")
_SIS3316_GROUPS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, ("accSum7", "accSum8")),
    (2, ("mawMax", "mawBefore", "mawAfter")),
    (3, ("startEnergy", "maxEnergy")),
)


class ORSIS3316WaveformDecoder(_StruckDecoder):
    """Struck SIS3316 records: several events per packet, with the optional sums the
    event's format bits select."""

    name = "ORSIS3316WaveformDecoder"
    dt = 8.0

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        adc = [
            "energy",
            "peakHighValue",
            "peakHighIndex",
            "accSum1",
            *_SIS3316_SUMS,
            "accSum7",
            "accSum8",
            "mawMax",
            "mawBefore",
            "mawAfter",
            "startEnergy",
            "maxEnergy",
        ]
        return [
            DecodedValue("packet_id", "uint32"),
            *(DecodedValue(n, "uint32", units="adc") for n in adc),
            DecodedValue("information", "uint32"),
            DecodedValue("energy_first", "uint32"),
            DecodedValue("timestamp", "uint64", units="clock_ticks"),
            DecodedValue("crate", "uint8"),
            DecodedValue("card", "uint8"),
            DecodedValue("channel", "uint8"),
            DecodedValue("waveform", "uint16", Kind.WAVEFORM, dt=cls.dt),
        ]

    def set_header(self, header: OrcaHeader) -> None:
        crates = header.get("ObjectInfo", {}).get("Crates", [])
        for card in crates[0].get("Cards", []) if crates else []:
            if card.get("Class Name") != "ORSIS3316Model":
                continue
            # the anchor reads the enabled mask's binary digits from the left
            for ch, bit in enumerate(bin(int(card.get("enabledMask", 0)))[2:]):
                if bit == "1":
                    ccc = int(make_ccc(0, card["Card"], ch))
                    self._set_len(ccc, int(card.get("rawDataBufferLen", 0)))

    def max_rows_in_packet(self) -> int:
        return 64

    def decode(self, words: Any, starts: Any, lengths: Any, packet_ids: Any) -> list[Any]:
        rows: list[dict[str, Any]] = []
        for s, n, pid in zip(starts, lengths, packet_ids, strict=True):
            rows += self._packet(words[s : s + n], int(pid))
        return self._rows(rows)

    def _packet(self, p: npt.NDArray[np.uint32], pid: int) -> list[dict[str, Any]]:
        if p.size < 10:
            raise ValueError(f"SIS3316 packet {pid} is shorter than its header")
        crate, card, channel = _address(p[1])
        n_events, n_longs, head = int(p[2]), int(p[3]), int(p[5])
        if n_longs < 2 or 10 + n_events * n_longs > p.size or head > n_longs:
            raise ValueError(f"SIS3316 packet {pid}: {n_events} events do not fit")
        p16 = p.view(np.uint16)
        rows = []
        for i in range(n_events):
            es = 10 + n_longs * i
            row = self._event(p, es)
            start = 2 * (es + head)
            row.update(
                key=int(make_ccc(crate, card, channel)),
                packet_id=pid,
                crate=crate,
                card=card,
                channel=channel,
                waveform=p16[start : start + 2 * (n_longs - head)],
            )
            rows.append(row)
        return rows

    @staticmethod
    def _event(p: npt.NDArray[np.uint32], es: int) -> dict[str, Any]:
        fmt = int(p[es])
        row: dict[str, Any] = {
            "timestamp": np.uint64(p[es + 1]) + ((np.uint64(fmt) & np.uint64(0xFFFF0000)) << 16),
            "energy": 0,
            "energy_first": 0,
        }
        idx = es + 2
        if fmt & 1:
            row["peakHighValue"], row["peakHighIndex"] = p[idx] & 0xFFFF, p[idx] >> 16
            row["accSum1"], row["information"] = p[idx + 1] & 0xFFFFFF, p[idx + 1] >> 24
            row.update({n: p[idx + 2 + j] for j, n in enumerate(_SIS3316_SUMS)})
            idx += 7
        else:
            row.update(dict.fromkeys(("peakHighValue", "peakHighIndex", "accSum1"), UNSET))
            row.update(dict.fromkeys(_SIS3316_SUMS, UNSET))
            row["information"] = 0
        for bit, names in _SIS3316_GROUPS:
            if fmt >> bit & 1:
                row.update({n: p[idx + j] for j, n in enumerate(names)})
                idx += len(names)
            else:
                row.update(dict.fromkeys(names, UNSET))
        return row
