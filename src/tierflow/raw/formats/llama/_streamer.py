"""LlamaDAQ: fixed-length events per channel, decoded per channel as 2-D word arrays."""

from __future__ import annotations

import datetime
import os
import re
import struct
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from tierflow.errors import FormatError
from tierflow.raw._decoder import DataDecoder, DecodedValue, Kind, RowBlock
from tierflow.raw._source import ByteSource
from tierflow.raw._streamer import DataStreamer
from tierflow.types import DataObject, Scalar, Struct

__all__ = ["LLAMAEventDecoder", "LLAMAHeaderDecoder", "LLAMAStreamer"]

MAGIC = b"LArI"
_WORD = struct.Struct("<I")  # an event's first word: its channel in bits 4-15
_CFG_WORDS = {
    "adc_offset": 3,
    "format_bits": 8,
    "sample_start_index": 9,
    "sample_pretrigger": 10,
    "avg_sample_pretrigger": 11,
    "avg_mode": 12,
    "sample_length": 13,
    "avg_sample_length": 14,
    "maw_buffer_length": 15,
    "event_length": 16,
    "event_header_length": 17,
    "accum6_offset": 18,
    "accum2_offset": 19,
    "maw3_offset": 20,
    "energy_offset": 21,
}


def file_timestamp(name: str) -> float:
    """Unix time in a file name (``YYYYMMDD-HHMMSS``, ``Z`` for UTC, else local); 0 if none."""
    m = re.fullmatch(r".*(\d{8})[-T](\d{6})(Z?).*", os.path.basename(name))
    if not m:
        return 0.0
    when = datetime.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
    if m.group(3) == "Z":
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


class LLAMAHeaderDecoder(DataDecoder):
    """The file header and the configuration of every open channel."""

    name = "LLAMAHeaderDecoder"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return []


def _channel_values(cfg: dict[str, Any]) -> list[DecodedValue]:
    out = [
        DecodedValue(n, "uint32")
        for n in ("fadc_channel_id", "packet_id", "fadc_status_bits", "info_bits")
    ]
    out += [
        DecodedValue(n, "float64", units="s")
        for n in ("time_since_run_start", "unixtime", "unixtime_accuracy")
    ]
    fb = cfg["format_bits"]
    adc = [
        *(
            ["wf_max_sample_value", "wf_max_sample_idx"] + [f"cumsum_{i}" for i in range(1, 7)]
            if fb & 1
            else []
        ),
        *([f"cumsum_{i}" for i in (7, 8)] if fb & 2 else []),
        *(["maw_max", "maw_before", "maw_after"] if fb & 4 else []),
        *(["start_energy", "max_energy"] if fb & 8 else []),
    ]
    out += [DecodedValue(n, "uint32", units="adc") for n in adc]
    if cfg["sample_length"] > 0:
        out.append(
            DecodedValue(
                "waveform_windowed",
                "uint16",
                Kind.WAVEFORM,
                cfg["sample_length"],
                dt=cfg["dt_raw"],
                dt_dtype="float64",
            )
        )
    if cfg["avg_sample_length"] > 0 and cfg["avg_mode"] > 0:
        out.append(
            DecodedValue(
                "waveform_presummed",
                "uint16",
                Kind.WAVEFORM,
                cfg["avg_sample_length"],
                dt=cfg["dt_avg"],
                dt_dtype="float64",
            )
        )
    return out


class LLAMAEventDecoder(DataDecoder):
    """SIS3316 events: one row per event; each channel is its own key list (layouts differ)."""

    name = "LLAMAEventDecoder"

    def __init__(self, configs: dict[int, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.configs = configs or {}
        self.per_key = {k: {v.name: v for v in _channel_values(c)} for k, c in self.configs.items()}

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return []

    def key_lists(self) -> list[list[Any]]:
        return [[k] for k in self.configs]

    def get_decoded_values(self, key: Any = None) -> dict[str, DecodedValue]:
        return self.per_key.get(key, self.decoded_values)


class LLAMAStreamer(DataStreamer):
    """LlamaDAQ ``.bin`` files (magic ``LArI``)."""

    name = "LlamaDaq"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.configs: dict[int, dict[str, Any]] = {}
        self.t_start = 0.0
        self._event_bytes: list[int] = []

    @classmethod
    def is_stream(cls, head: bytes) -> bool:
        return head[:4] == MAGIC

    def read_header(self, source: ByteSource) -> list[tuple[str, DataObject]]:
        head = source.read(16).tobytes()
        if head[:4] != MAGIC:
            raise FormatError(f"{source.name}: no LlamaDAQ magic bytes 'LArI'", file=source.name)
        w16, w32 = np.frombuffer(head, "<u2"), np.frombuffer(head, "<u4")
        n_open, length = int(w32[3]), int(w16[5])
        if length != 88:
            raise FormatError(
                f"{source.name}: channel configurations of {length} bytes, expected 88",
                file=source.name,
            )
        self.t_start = file_timestamp(source.name)
        self._event_bytes = []  # event sizes by channel: made anew for these configs
        header = Struct(
            {
                "version_major": Scalar(w16[4]),
                "version_minor": Scalar(w16[3]),
                "version_patch": Scalar(w16[2]),
                "length_econf": Scalar(w16[5]),
                "number_chOpen": Scalar(w32[3]),
                "initial_timestamp": Scalar(np.float64(self.t_start)),
                "initial_timestamp_accuracy": Scalar(np.float64(1.0)),
            }
        )
        for _ in range(n_open):
            fch, cfg, struct = self._channel(source.read(88).tobytes())
            self.configs[fch] = cfg
            header[f"fch_{fch:02d}"] = struct
        return [(LLAMAHeaderDecoder.name, header)]

    def _channel(self, raw: bytes) -> tuple[int, dict[str, Any], Struct]:
        w = np.frombuffer(raw, "<u4")
        f = np.frombuffer(raw[16:32], "<f8")
        fch = (int(w[0]) << 4) + int(w[1])
        vals: dict[str, Any] = {"14_bit_flag": w[2] & 1, "sample_freq": f[0], "gain": f[1]}
        vals.update({k: w[i] for k, i in _CFG_WORDS.items()})
        cfg: dict[str, Any] = {
            k: (float(v) if k in ("sample_freq", "gain") else int(v)) for k, v in vals.items()
        }
        cfg["dt_raw"] = 1 / cfg["sample_freq"] * 1000
        cfg["dt_avg"] = cfg["dt_raw"] * (1 << (cfg["avg_mode"] + 1))
        cfg["t0_raw"] = (cfg["sample_start_index"] - cfg["sample_pretrigger"]) * cfg["dt_raw"]
        cfg["t0_avg"] = (
            -cfg["sample_pretrigger"] * cfg["dt_raw"] - cfg["avg_sample_pretrigger"] * cfg["dt_avg"]
        )
        return fch, cfg, Struct({k: Scalar(v) for k, v in sorted(vals.items())})

    def make_decoders(self) -> list[DataDecoder]:
        return [LLAMAHeaderDecoder(), LLAMAEventDecoder(self.configs)]

    def process(
        self, buf: npt.NDArray[np.uint8], offset: int, final: bool
    ) -> tuple[int, list[tuple[str, RowBlock]]]:
        end, bad, positions = self._frame(buf)
        starts = np.array(positions, dtype=np.intp)
        ids = self.next_packet_ids(len(starts))
        # an event's channel: bits 4-15 of its first (little-endian) word
        channels = (buf[starts] >> 4).astype(np.int64) | (buf[starts + 1].astype(np.int64) << 4)
        out: list[tuple[str, RowBlock]] = []
        for fch in dict.fromkeys(channels.tolist()):  # in order of first event
            size = self.configs[fch]["event_length"] * 4
            sel = np.flatnonzero(channels == fch)
            where = starts[sel]
            # whole events gathered as rows of a strided view (no per-byte index array)
            words = sliding_window_view(buf[: where[-1] + size], size)[where].view("<u4")
            out.append((LLAMAEventDecoder.name, self._decode(fch, words, ids[sel])))
        if bad:  # the rest cannot be framed: keep it as one garbage record
            out.append(
                self.warn_garbage(offset + end, 1, buf[end:], "unknown channel; framing lost")
            )
            return buf.size, out
        return end, out

    def _frame(self, buf: npt.NDArray[np.uint8]) -> tuple[int, bool, list[int]]:
        """Where the whole events of `buf` start: (bytes framed, whether framing stopped at an
        unknown channel, the starts)."""
        if len(self._event_bytes) != 4096:  # by channel (12 bits); 0: not an open channel
            self._event_bytes = [0] * 4096
            for fch, cfg in self.configs.items():
                if 0 <= fch < 4096:
                    self._event_bytes[fch] = cfg["event_length"] * 4
        event_bytes, unpack = self._event_bytes, _WORD.unpack_from
        positions: list[int] = []
        raw, pos, n = np.ascontiguousarray(buf).data, 0, buf.size
        while pos + 4 <= n:
            size = event_bytes[(unpack(raw, pos)[0] >> 4) & 0xFFF]
            if not size:
                return pos, True, positions
            if pos + size > n:
                break
            positions.append(pos)
            pos += size
        return pos, False, positions

    def _decode(self, fch: int, w: npt.NDArray[np.uint32], pids: npt.NDArray[np.int64]) -> RowBlock:
        cfg, n = self.configs[fch], w.shape[0]
        w16 = w.view("<u2")
        ticks = ((w[:, 0].astype(np.int64) & 0xFFFF0000) << 16) + w[:, 1]
        t = ticks * cfg["dt_raw"] * 1e-9
        cols: dict[str, Any] = {
            "fadc_channel_id": np.full(n, fch),
            "packet_id": pids,
            "time_since_run_start": t,
            "unixtime": t + self.t_start,
            "unixtime_accuracy": np.full(n, 1.0),
        }
        off, fb = 2, cfg["format_bits"]
        if fb & 1:
            cols.update(
                wf_max_sample_value=w16[:, 4],
                wf_max_sample_idx=w16[:, 5],
                info_bits=(w[:, off + 1] >> 24) & 0xFF,
            )
            cols.update({f"cumsum_{i}": w[:, off + 1 + i] for i in range(1, 7)})
            off += 7
        if fb & 2:
            cols.update(cumsum_7=w[:, off], cumsum_8=w[:, off + 1])
            off += 2
        if fb & 4:
            cols.update(maw_max=w[:, off], maw_before=w[:, off + 1], maw_after=w[:, off + 2])
            off += 3
        if fb & 8:
            cols.update(start_energy=w[:, off], max_energy=w[:, off + 1])
            off += 2
        cols.setdefault("info_bits", np.zeros(n, np.uint32))
        head = w[:, off]
        cols["fadc_status_bits"] = (head & 0x04000000) >> 26
        avg = (head & 0xF0000000) == 0xA0000000
        raw_len = int(head[0] & 0x03FFFFFF)
        off += 1
        avg_count = np.zeros(n, np.int64)
        if avg.any():
            avg_count = ((w[:, off] & 0x00FF0000) >> 16).astype(np.int64)
            off += 1
        if cfg["sample_length"] > 0:
            cols["waveform_windowed"] = w16[:, 2 * off : 2 * off + 2 * raw_len]
            cols["waveform_windowed/t0"] = np.full(n, cfg["t0_raw"])
            off += raw_len
        if cfg["avg_sample_length"] > 0 and cfg["avg_mode"] > 0:
            cols["waveform_presummed"] = w16[:, 2 * off :]
            cols["waveform_presummed/t0"] = cfg["t0_avg"] + avg_count * cfg["dt_raw"]
        return RowBlock(np.full(n, fch, np.int64), cols)
