"""FlashCam FCIO decoders: config, status and (sparse) events, in the anchor's layout."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.raw._decoder import DataDecoder, DecodedValue, Kind
from tierflow.raw.formats.fcio._descriptions import STATUS_FIELDS, described
from tierflow.raw.formats.fcio._fsp import MAX_CHANNELS

__all__ = [
    "FCConfigDecoder",
    "FCEventDecoder",
    "FCEventHeaderDecoder",
    "FCStatusDecoder",
    "make_key",
]

MAX_SAMPLES = 32768


def make_key(
    streamid: int, card_address: npt.ArrayLike, card_input: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """The anchor's channel key: ``fcid * 1000000 + board address * 100 + input``.

    Example
    -------
    >>> int(make_key(0, 528, 3))
    52803
    """
    return (
        (int(streamid) & 0xFFFF) * 1_000_000
        + np.asarray(card_address, np.int64) * 100
        + np.asarray(card_input, np.int64)
    )


_I32 = "int32"
_CONFIG_FIELDS = (
    "nsamples",
    "nadcs",
    "ntriggers",
    "streamid",
    "adcbits",
    "sumlength",
    "blprecision",
    "mastercards",
    "triggercards",
    "adccards",
    "gps",
)


class FCConfigDecoder(DataDecoder):
    """The FCIO config record (readout settings and the trace map), one row per config."""

    name = "FCConfigDecoder"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        out = [DecodedValue("packet_id", "uint32")]
        out += [DecodedValue(n, _I32) for n in _CONFIG_FIELDS]
        # (card address << 16) + card input of every trace; described as the anchor does
        out.append(
            DecodedValue(
                "tracemap",
                "uint32",
                Kind.JAGGED,
                description="",
                attrs={"length": np.int64(MAX_CHANNELS)},
            )
        )
        return described(out)


TIMEOFFSET_FIELDS = (
    "mu_offset_sec",
    "mu_offset_usec",
    "to_master_sec",
    "delta_mu_usec",
    "abs_delta_mu_usec",
    "to_start_sec",
    "to_start_usec",
)
"""The timeoffset frame of event and RecEvent records, in order."""
TIMESTAMP_FIELDS = ("eventnumber", "ts_pps", "ts_ticks", "ts_maxticks")
"""The timestamp frame, in order."""
DEADREGION_FIELDS = (
    "dr_start_pps",
    "dr_start_ticks",
    "dr_stop_pps",
    "dr_stop_ticks",
    "dr_maxticks",
)
"""The deadregion frame (its first five values), in order."""

EVENT_HEADER_FIELDS: dict[str, tuple[str, str | None]] = {
    "packet_id": ("uint32", None),
    "fcid": ("uint16", None),
    "board_id": ("uint16", None),
    "fc_input": ("uint16", None),
    "channel": ("uint16", None),
    "event_type": ("int32", None),
    "numtraces": ("int32", None),
    "eventnumber": ("int32", None),
    "ts_pps": ("int32", None),
    "ts_ticks": ("int32", None),
    "ts_maxticks": ("int32", None),
    "mu_offset_sec": ("int32", None),
    "mu_offset_usec": ("int32", None),
    "to_master_sec": ("int32", None),
    "delta_mu_usec": ("int32", None),
    "abs_delta_mu_usec": ("int32", None),
    "to_start_sec": ("int32", None),
    "to_start_usec": ("int32", None),
    "dr_start_pps": ("int32", None),
    "dr_start_ticks": ("int32", None),
    "dr_stop_pps": ("int32", None),
    "dr_stop_ticks": ("int32", None),
    "dr_maxticks": ("int32", None),
    "dr_ch_idx": ("uint16", None),
    "dr_ch_len": ("uint16", None),
    "timestamp": ("float64", "s"),
    "deadinterval_nsec": ("int64", "ns"),
    "deadtime": ("float64", "s"),
    "lifetime": ("float64", "s"),
    "runtime": ("float64", "s"),
    "baseline": ("uint16", None),
    "daqenergy": ("uint16", None),
}
"""Per-trace event fields: dtype and units (as the anchor writes them)."""


class FCEventDecoder(DataDecoder):
    """FCIO events (FCIOEvent and FCIOSparseEvent): one row per trace, keyed by channel."""

    name = "FCEventDecoder"

    def __init__(
        self,
        streamid: int = 0,
        tracemap: npt.NDArray[np.uint32] | None = None,
        nsamples: int = MAX_SAMPLES,
        dt: float = 16.0,
    ) -> None:
        super().__init__()
        self.tracemap = np.zeros(0, np.uint32) if tracemap is None else tracemap
        self.keys = make_key(streamid, self.tracemap >> 16, self.tracemap & 0xFFFF)
        self.decoded_values["waveform"] = self.decoded_values["waveform"].with_(
            length=nsamples, dt=dt
        )

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        out = [DecodedValue(n, dt, units=u) for n, (dt, u) in EVENT_HEADER_FIELDS.items()]
        out.append(DecodedValue("waveform", "uint16", Kind.WAVEFORM, length=MAX_SAMPLES, dt=16.0))
        return described(out)

    def key_lists(self) -> list[list[Any]]:
        return [[int(k) for k in self.keys]]

    def max_rows_in_packet(self) -> int:
        return max(1, int(self.tracemap.size))


_PER_TRACE = (
    "board_id",
    "fc_input",
    "runtime",
    "lifetime",
    "deadtime",
    "deadinterval_nsec",
    "baseline",
    "daqenergy",
)


def evthdr_key(streamid: int) -> str:
    """The anchor's event-header key, e.g. ``fcid_1/evt_hdr``."""
    return f"fcid_{streamid & 0xFFFF}/evt_hdr"


class FCEventHeaderDecoder(DataDecoder):
    """FCIO event headers (tag 7): one row per event, per-trace values as vectors.

    Keyed ``fcid_<id>/evt_hdr``.
    """

    name = "FCEventHeaderDecoder"

    def __init__(self, streamid: int = 0, ntraces: int = 0) -> None:
        super().__init__()
        self.key = evthdr_key(streamid)
        self.ntraces = ntraces

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        out = []
        for n, (dt, u) in EVENT_HEADER_FIELDS.items():
            if n == "channel":
                continue
            kind = Kind.JAGGED if n in _PER_TRACE else Kind.ARRAY
            out.append(DecodedValue(n, dt, kind, units=u))
        out.append(DecodedValue("tracelist", "uint16", Kind.JAGGED))
        return described(out)

    def key_lists(self) -> list[list[Any]]:
        return [[self.key]]


_STATUS: dict[str, tuple[str, str | None, Kind, int]] = {
    "packet_id": ("uint32", None, Kind.ARRAY, 0),
    "status": ("bool", None, Kind.ARRAY, 0),
    "fpga_time": ("float32", "s", Kind.ARRAY, 0),
    "server_time": ("float64", "s", Kind.ARRAY, 0),
    "fpga_start_time": ("float64", "s", Kind.ARRAY, 0),
    "id": ("uint32", None, Kind.ARRAY, 0),
    "eventnumber": ("uint32", None, Kind.ARRAY, 0),
    "fpga_time_nsec": ("uint32", "ns", Kind.ARRAY, 0),
    "n_total_errors": ("uint32", None, Kind.ARRAY, 0),
    "n_environment_errors": ("uint32", None, Kind.ARRAY, 0),
    "n_cti_errors": ("uint32", None, Kind.ARRAY, 0),
    "n_link_errors": ("uint32", None, Kind.ARRAY, 0),
    "n_other_errors": ("uint32", None, Kind.EQUAL_SIZED, 5),
    "mb_temps": ("int32", "mC", Kind.EQUAL_SIZED, 5),
    "mb_voltages": ("int32", "mV", Kind.EQUAL_SIZED, 6),
    "mb_current": ("int32", "mA", Kind.ARRAY, 0),
    "mb_humidity": ("int32", "o/oo", Kind.ARRAY, 0),
    "adc_temps": ("int32", "mC", Kind.JAGGED, 0),
    "cti_links": ("uint32", None, Kind.JAGGED, 0),
    "link_states": ("uint32", None, Kind.JAGGED, 0),
}


def status_key(streamid: int, reqid: int) -> str:
    """The anchor's status key of one card, e.g. ``fcid_0/status/card8192``."""
    return f"fcid_{streamid & 0xFFFF}/status/card{reqid & 0xFFFF}"


class FCStatusDecoder(DataDecoder):
    """FCIO status records: one row per card, keyed ``fcid_<id>/status/card<reqid>``."""

    name = "FCStatusDecoder"

    def __init__(
        self, streamid: int = 0, mastercards: int = 0, triggercards: int = 0, adccards: int = 0
    ) -> None:
        super().__init__()
        ids = [
            *range(mastercards),
            *(0x1000 + i for i in range(triggercards)),
            *(0x2000 + i for i in range(adccards)),
        ]
        self.keys = [status_key(streamid, i) for i in ids]

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        values = [
            DecodedValue(n, dt, kind, length=ln, units=u)
            for n, (dt, u, kind, ln) in _STATUS.items()
        ]
        return described(values, STATUS_FIELDS)

    def key_lists(self) -> list[list[Any]]:
        return [list(self.keys)]

    def max_rows_in_packet(self) -> int:
        return max(1, len(self.keys))
