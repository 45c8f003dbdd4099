"""FCIO reconstructed events (record tag 5): pulses found by the DAQ, one row per record.

A RecEvent record carries the event header (type, pulser, time offsets, time stamps, dead
region) and the reconstructed pulses: their count per ADC channel and, per pulse, a flag
word, an amplitude and a time (``fcio_recevent`` of FlashCam's fcio library). The anchor
(legend-daq2lh5) skips these records; tierflow keeps them, keyed ``fcid_<id>/recevent``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.raw._decoder import DataDecoder, DecodedValue, Jagged, Kind
from tierflow.raw.formats.fcio._decoders import (
    DEADREGION_FIELDS,
    EVENT_HEADER_FIELDS,
    TIMEOFFSET_FIELDS,
    TIMESTAMP_FIELDS,
)

__all__ = ["RECEVENT_FRAMES", "FCRecEventDecoder", "decode_recevent_headers", "recevent_key"]

RECEVENT_FRAMES = 10
"""type, pulser, timeoffset, timestamp, deadregion, totalpulses, channel_pulses, flags,
amplitudes, times."""

_HEADER = (
    "packet_id",
    "fcid",
    "event_type",
    *TIMESTAMP_FIELDS,
    *TIMEOFFSET_FIELDS,
    *DEADREGION_FIELDS,
    "dr_ch_idx",
    "dr_ch_len",
    "timestamp",
)
_PULSES = {"flags": "int32", "amplitudes": "float32", "times": "float32"}


def recevent_key(streamid: int) -> str:
    """The key of the RecEvent rows of a stream, e.g. ``fcid_1/recevent``."""
    return f"fcid_{streamid & 0xFFFF}/recevent"


class FCRecEventDecoder(DataDecoder):
    """FCIO RecEvent records: the event header and the reconstructed pulses, one row each.

    ``channel_pulses`` holds the number of pulses of every ADC channel; ``flags``,
    ``amplitudes`` and ``times`` hold the pulses of all channels one channel after the other.

    Example
    -------
    >>> FCRecEventDecoder(1).key_lists()
    [['fcid_1/recevent']]
    """

    name = "FCRecEventDecoder"

    def __init__(self, streamid: int = 0) -> None:
        super().__init__()
        self.key = recevent_key(streamid)

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        out = [
            DecodedValue(n, EVENT_HEADER_FIELDS[n][0], units=EVENT_HEADER_FIELDS[n][1])
            for n in _HEADER
        ]
        out += [
            DecodedValue("pulser", "float32", description="pulser amplitude setting"),
            DecodedValue("totalpulses", "int32", description="pulses in this event"),
            DecodedValue(
                "channel_pulses", "int32", Kind.JAGGED, description="pulses per ADC channel"
            ),
        ]
        out += [DecodedValue(n, dt, Kind.JAGGED) for n, dt in _PULSES.items()]
        return out

    def key_lists(self) -> list[list[Any]]:
        return [[self.key]]


def _ints(buf: npt.NDArray[np.uint8], start: int, size: int, dtype: str = "<i4") -> Any:
    item = np.dtype(dtype).itemsize
    return buf[start : start + size // item * item].view(dtype)


def decode_recevent_headers(
    buf: npt.NDArray[np.uint8],
    first: npt.NDArray[np.int64],
    fstart: npt.NDArray[np.int64],
    fsize: npt.NDArray[np.int64],
    prev: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], dict[str, Any]]:
    """Headers (34 ints per record, as events) and pulse columns of RecEvent records.

    `first` are the first frames of the records (each has :data:`RECEVENT_FRAMES`);
    `prev` (30 ints) carries the time offsets, stamps and dead region from one record to
    the next, as fcio keeps them when a record has fewer items.
    """
    n = first.size
    hdr = np.zeros((n, 34), np.int64)
    pulser, total = np.zeros(n, np.float32), np.zeros(n, np.int32)
    parts: dict[str, list[Any]] = {k: [] for k in ("channel_pulses", *_PULSES)}
    lens: dict[str, npt.NDArray[np.int64]] = {k: np.zeros(n, np.int64) for k in parts}
    for e, f in enumerate(first.tolist()):
        typ = _ints(buf, fstart[f], fsize[f])
        hdr[e, 0] = typ[0] if typ.size else 0
        pul = _ints(buf, fstart[f + 1], fsize[f + 1], "<f4")
        pulser[e] = pul[0] if pul.size else 0
        for j in range(3):  # timeoffset, timestamp, deadregion: up to 10 ints each
            vals = _ints(buf, fstart[f + 2 + j], fsize[f + 2 + j])[:10]
            prev[10 * j : 10 * j + vals.size] = vals
            hdr[e, 31 + j] = vals.size
        hdr[e, 1:31] = prev
        tp = _ints(buf, fstart[f + 5], fsize[f + 5])
        total[e] = tp[0] if tp.size else 0
        chan = _ints(buf, fstart[f + 6], fsize[f + 6])
        parts["channel_pulses"].append(chan)
        lens["channel_pulses"][e] = chan.size
        got = [
            _ints(buf, fstart[f + 7 + i], fsize[f + 7 + i], "<i4" if i == 0 else "<f4")
            for i in range(3)
        ]
        k = max(0, min(int(total[e]), *(g.size for g in got)))
        for name, g in zip(_PULSES, got, strict=True):
            parts[name].append(g[:k])
            lens[name][e] = k
    cols: dict[str, Any] = {"pulser": pulser, "totalpulses": total}
    for name, dtype in {"channel_pulses": "int32", **_PULSES}.items():
        flat = np.concatenate(parts[name]).astype(dtype) if n else np.zeros(0, dtype)
        cols[name] = Jagged(flat, lens[name])
    return hdr, cols
