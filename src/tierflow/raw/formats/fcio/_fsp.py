"""FSP software-trigger records (FCIO tags 8-10): config, per-event flags and observables, status.

The FlashCam stream processor (libfsp) prepends its records to the FCIO record they
describe. Layouts follow libfsp's serialisation as read by fcio-py 0.7: one tmio frame per
item, C structs copied as bytes (flags are unions of bytes, read here as ``uint64``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.raw._decoder import DataDecoder, DecodedValue, Jagged, Kind, RowBlock
from tierflow.raw.formats.fcio._descriptions import FSP_FIELDS, described
from tierflow.types import Array, DataObject, Scalar, Struct

__all__ = [
    "FSPConfigDecoder",
    "FSPEventDecoder",
    "FSPStatusDecoder",
    "decode_fsp_config",
    "decode_fsp_events",
    "decode_fsp_status",
    "make_fsp_config_struct",
]

MAX_CHANNELS = 2400
"""Traces an FCIO stream can have (FCIOMaxChannels)."""
LABEL = 8
"""Bytes of a trace-map label in the record (kept as up to 7 characters, as the anchor)."""

_I32, _F32, _I64, _U16 = "int32", "float32", "int64", "uint16"

# config frames in record order: (name or None to skip, kind, dtype)
_CONFIG_FRAMES: list[tuple[str | None, str, str]] = [
    ("trg_hwm_min_multiplicity", "int", _I32),
    ("trg_hwm_prescale_ratio", "hwm", _I32),
    ("trg_wps_prescale_ratio", "int", _I32),
    ("trg_wps_coincident_sum_threshold", "float", _F32),
    ("trg_wps_sum_threshold", "float", _F32),
    ("trg_wps_prescale_rate", "float", _F32),
    ("trg_hwm_prescale_rate", "hwm", _F32),
    ("trg_enabled_write_flags", "writeflags", _I64),
    ("trg_pre_trigger_window_nsec", "sec", _I64),
    (None, "nsec", _I64),
    ("trg_post_trigger_window_nsec", "sec", _I64),
    (None, "nsec", _I64),
    ("trg_wps_ref_flags_hwm", "flag", _I64),
    ("trg_wps_ref_flags_ct", "flag", _I64),
    ("trg_wps_ref_flags_wps", "flag", _I64),
    ("trg_wps_ref_map_idx", "vec", _I32),
    ("buffer_max_states", "int", _I32),
    ("buffer_window_nsec", "sec", _I64),
    (None, "nsec", _I64),
    *[
        item
        for dsp, extra in (
            ("hwm", [("dsp_hwm_fpga_energy_threshold_adc", "mapped", _U16)]),
            ("ct", [("dsp_ct_thresholds", "mapped", _U16)]),
            (
                "wps",
                [
                    ("dsp_wps_apply_gain_scaling", "int", _I32),
                    ("dsp_wps_sum_window_size", "int", _I32),
                    ("dsp_wps_sum_window_start_sample", "int", _I32),
                    ("dsp_wps_sum_window_stop_sample", "int", _I32),
                    ("dsp_wps_sub_event_sum_threshold", "float", _F32),
                    ("dsp_wps_gains", "mapped", _F32),
                    ("dsp_wps_thresholds", "mapped", _F32),
                    ("dsp_wps_lowpass", "mapped", _F32),
                    ("dsp_wps_shaping_widths", "mapped", _I32),
                    ("dsp_wps_dsp_max_margin_front", "int", _I32),
                    ("dsp_wps_dsp_max_margin_back", "int", _I32),
                    ("dsp_wps_margin_front", "mapped", _I32),
                    ("dsp_wps_margin_back", "mapped", _I32),
                    ("dsp_wps_start_sample", "mapped", _I32),
                    ("dsp_wps_stop_sample", "mapped", _I32),
                ],
            ),
        )
        for item in [
            (f"dsp_{dsp}_tracemap_format", "int", _I32),
            (f"dsp_{dsp}_tracemap_indices", "vec", _I32),
            (f"dsp_{dsp}_tracemap_enabled", "vec", _I32),
            (f"dsp_{dsp}_tracemap_label", "label", "|S7"),
            *extra,
        ]
    ],
]


def _config_values(label_length: int) -> list[DecodedValue]:
    out = [DecodedValue("packet_id", "uint32")]
    for name, kind, dtype in _CONFIG_FRAMES:
        if name is None:
            continue
        if kind == "writeflags":
            out += [DecodedValue(f"{name}_{p}", _I64) for p in ("trigger", "event")]
        elif kind in ("hwm", "vec", "mapped"):
            out.append(DecodedValue(name, dtype, Kind.JAGGED))
        elif kind == "label":
            out.append(DecodedValue(name, dtype, Kind.EQUAL_SIZED, length=label_length))
        else:
            out.append(DecodedValue(name, dtype))
    return described(out)


class FSPConfigDecoder(DataDecoder):
    """FSP config records: trigger, buffer and DSP settings, one row keyed ``swtid_<id>/config``."""

    name = "FSPConfigDecoder"

    def __init__(self, streamid: int = 0, label_length: int = MAX_CHANNELS) -> None:
        self.label_length = label_length
        super().__init__()
        self.key = f"swtid_{streamid & 0xFFFF}/config"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return _config_values(MAX_CHANNELS)

    def get_decoded_values(self, key: Any = None) -> dict[str, DecodedValue]:
        return {v.name: v for v in _config_values(self.label_length)}

    def key_lists(self) -> list[list[Any]]:
        return [[self.key]]


def _frame(buf: npt.NDArray[np.uint8], start: int, size: int, dtype: str) -> npt.NDArray[Any]:
    item = np.dtype(dtype).itemsize
    return buf[start : start + size // item * item].view(dtype)


def _labels(raw: npt.NDArray[np.uint8], length: int) -> npt.NDArray[Any]:
    n = raw.size // LABEL
    out = np.zeros(length, "|S7")
    names = raw[: n * LABEL].reshape(n, LABEL)[:, :7].copy().view("|S7").ravel()
    out[: min(n, length)] = names[:length]
    return out


def decode_fsp_config(
    buf: npt.NDArray[np.uint8],
    fstart: npt.NDArray[np.int64],
    fsize: npt.NDArray[np.int64],
    key: str,
    packet_id: int,
    label_length: int = MAX_CHANNELS,
) -> RowBlock:
    """One FSP config record (frames `fstart`/`fsize`) as a row keyed `key`."""
    row: dict[str, Any] = {"packet_id": np.array([packet_id], np.uint32)}
    n_mapped = 0
    hwm: list[str] = []
    for i, (name, kind, dtype) in enumerate(_CONFIG_FRAMES):
        raw = _frame(buf, int(fstart[i]), int(fsize[i]), "uint8") if i < fstart.size else None
        if raw is None:
            raw = np.zeros(0, np.uint8)
        if kind == "sec":
            sec = float(raw[:8].copy().view(np.int64)[0]) if raw.size >= 8 else 0.0
            nxt = (
                _frame(buf, int(fstart[i + 1]), int(fsize[i + 1]), "int64")
                if i + 1 < fstart.size
                else np.zeros(0, np.int64)
            )
            row[str(name)] = np.array([np.int64(sec * 1e9 + (nxt[0] if nxt.size else 0))])
        elif kind == "nsec" or name is None:
            continue
        elif kind == "writeflags":
            flags = raw[:16].view(np.int64) if raw.size >= 16 else np.zeros(2, np.int64)
            row[f"{name}_event"], row[f"{name}_trigger"] = flags[:1], flags[1:2]
        elif kind in ("hwm", "vec", "mapped"):
            vals = raw[: raw.size // np.dtype(dtype).itemsize * np.dtype(dtype).itemsize].view(
                dtype
            )
            if name.endswith("_indices"):
                n_mapped = vals.size
            if kind == "hwm":
                hwm.append(name)
            elif kind == "mapped":
                vals = vals[:n_mapped]
            row[name] = Jagged(vals.copy(), np.array([vals.size], np.int64))
        elif kind == "label":
            row[name] = _labels(raw, label_length)[None, :]
        else:
            item = np.dtype(dtype).itemsize
            val = raw[:item].view(dtype) if raw.size >= item else np.zeros(1, dtype)
            row[name] = val.copy()
    n_hwm = row["dsp_hwm_tracemap_indices"].flat.size
    for name in hwm:  # sized by the HWM trace map, which comes later in the record
        row[name] = Jagged(row[name].flat[:n_hwm], np.array([min(n_hwm, row[name].flat.size)]))
    return RowBlock(np.array([key], dtype=object), row)


def make_fsp_config_struct(block: RowBlock) -> Struct:
    """The first row of an FSP config block laid out as the anchor's plain-FCIO header.

    legend-daq2lh5 writes the FSP config of an FCIO file as a ``struct`` (fields sorted by
    name, no ``packet_id``): numbers as scalars, vectors as arrays, and each trace-map label
    list cut to the traces that map names.

    Example
    -------
    >>> import numpy as np
    >>> blk = RowBlock(np.array(["swtid_1/config"], dtype=object),
    ...                {"packet_id": np.array([0], np.uint32),
    ...                 "buffer_max_states": np.array([101], np.int32)})
    >>> s = make_fsp_config_struct(blk)
    >>> str(s.datatype), int(s["buffer_max_states"].value)
    ('struct{buffer_max_states}', 101)
    """
    values = {v.name: v for v in _config_values(1)}
    fields: dict[str, DataObject] = {}
    for name in sorted(block.columns):
        if name == "packet_id" or name not in values:
            continue
        col, dtype = block.columns[name], values[name].dtype
        if isinstance(col, Jagged):
            n = int(col.lengths[0])
            fields[name] = Array(np.asarray(col.flat[:n], dtype=dtype))
        elif values[name].kind is Kind.EQUAL_SIZED:  # labels: as many as mapped traces
            mapped = block.columns[name.replace("_label", "_indices")]
            n = int(mapped.lengths[0]) if isinstance(mapped, Jagged) else 0
            fields[name] = Array(np.asarray(col[0, :n], dtype=dtype))
        else:
            fields[name] = Scalar(np.asarray(col[0], dtype=dtype)[()])
    return Struct(fields)


_EVENT_FLAGS = {
    "is_consecutive": 0,
    "is_extended": 1,
    "is_hwm_multiplicity": 8,
    "is_hwm_prescaled": 9,
    "is_wps_sum": 10,
    "is_wps_coincident_sum": 11,
    "is_wps_prescaled": 12,
    "is_ct_multiplicity": 13,
}
"""Byte offsets of the event's write flags (``FSPWriteFlags``: event, trigger unions)."""

_EVENT_OBS = {
    "obs_evt_nconsecutive": (2, 0, _I32),
    "obs_hwm_hw_multiplicity": (3, 0, _I32),
    "obs_hwm_max_value": (3, 4, _U16),
    "obs_hwm_min_value": (3, 6, _U16),
    "obs_hwm_sw_multiplicity": (3, 8, _I32),
    "obs_wps_sum_value": (4, 0, _F32),
    "obs_wps_sum_offset": (4, 4, _I32),
    "obs_wps_sum_multiplicity": (4, 8, _I32),
    "obs_wps_max_peak_value": (4, 12, _F32),
    "obs_wps_max_peak_offset": (4, 16, _I32),
}
"""(frame, byte offset, dtype) of the scalar observables; missing bytes read as 0."""


class FSPEventDecoder(DataDecoder):
    """FSP event records: write flags and trigger observables, one row per event.

    Keyed ``swtid_<id>/event`` (before events) or ``swtid_<id>/evt_hdr`` (before event
    headers).
    """

    name = "FSPEventDecoder"

    def __init__(self, streamid: int = 0) -> None:
        super().__init__()
        self.keys = [f"swtid_{streamid & 0xFFFF}/event", f"swtid_{streamid & 0xFFFF}/evt_hdr"]

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        out = [DecodedValue("packet_id", "uint32"), DecodedValue("is_written", "bool")]
        out += [DecodedValue(n, "bool") for n in _EVENT_FLAGS]
        out += [DecodedValue(n, dt) for n, (_, _, dt) in _EVENT_OBS.items()]
        out += [
            DecodedValue("obs_ct_multiplicity", _I32),
            DecodedValue("obs_ct_trace_idx", _I32, Kind.JAGGED),
            DecodedValue("obs_ct_max", _U16, Kind.JAGGED),
            DecodedValue("obs_ps_hwm_prescaled_trace_idx", _U16, Kind.JAGGED),
        ]
        return described(out, FSP_FIELDS)

    def key_lists(self) -> list[list[Any]]:
        return [self.keys]


def _fixed(buf: Any, fstart: Any, size: Any, frame: Any, off: int, dtype: str) -> Any:
    """A scalar at byte `off` of frame `frame` (of `size` bytes) of every record, else 0."""
    item = np.dtype(dtype).itemsize
    ok = size >= off + item
    pos = np.where(ok, fstart[frame] + off, 0)
    raw = buf[pos[:, None] + np.arange(item)].copy().view(dtype)[:, 0]
    return np.where(ok, raw, 0).astype(dtype)


def _jagged(buf: Any, fstart: Any, size: Any, frame: Any, dtype: str, count: Any) -> Jagged:
    item = np.dtype(dtype).itemsize
    lens = np.minimum(count, size // item).astype(np.int64)
    idx = np.repeat(fstart[frame], lens * item) + (
        np.arange(int((lens * item).sum()))
        - np.repeat(np.cumsum(lens * item) - lens * item, lens * item)
    )
    return Jagged(buf[idx].view(dtype) if idx.size else np.zeros(0, dtype), lens)


def decode_fsp_events(
    buf: npt.NDArray[np.uint8],
    first: npt.NDArray[np.int64],
    nframes: npt.NDArray[np.int64],
    fstart: npt.NDArray[np.int64],
    fsize: npt.NDArray[np.int64],
    keys: npt.NDArray[Any],
    packet_ids: npt.NDArray[np.int64],
) -> RowBlock:
    """FSP event records with first frames `first`, one row each, keyed `keys`."""
    n = first.size
    fr = [np.where(nframes > j, first + j, 0) for j in range(11)]
    have = [nframes > j for j in range(11)]
    size = [np.where(have[j], fsize[fr[j]], 0) for j in range(11)]
    cols: dict[str, Any] = {"packet_id": packet_ids}
    cols["is_written"] = _fixed(buf, fstart, size[0], fr[0], 16, _I32) != 0
    for name, off in _EVENT_FLAGS.items():
        cols[name] = _fixed(buf, fstart, size[0], fr[0], off, "uint8") != 0
    for name, (j, off, dt) in _EVENT_OBS.items():
        cols[name] = _fixed(buf, fstart, size[j], fr[j], off, dt)
    ct = size[5] // 4
    cols["obs_ct_multiplicity"] = ct.astype(np.int32)
    cols["obs_ct_trace_idx"] = _jagged(buf, fstart, size[5], fr[5], _I32, ct)
    cols["obs_ct_max"] = _jagged(buf, fstart, size[6], fr[6], _U16, ct)
    # fcio-py reads the prescaled trace list as ints into a uint16 array: n = bytes / 4
    cols["obs_ps_hwm_prescaled_trace_idx"] = _jagged(
        buf, fstart, size[10], fr[10], _U16, size[10] // 4
    )
    assert len(keys) == n
    return RowBlock(keys, cols)


_STATS = np.dtype(
    [(n, "f8") for n in ("start_time", "log_time", "dt_logtime", "runtime")]
    + [
        (n, "i4")
        for n in (
            "n_read_events",
            "n_written_events",
            "n_discarded_events",
            "dt_n_read_events",
            "dt_n_written_events",
            "dt_n_discarded_events",
        )
    ]
    + [
        (n, "f8")
        for n in (
            "dt",
            "dt_rate_read_events",
            "dt_rate_write_events",
            "dt_rate_discard_events",
            "avg_rate_read_events",
            "avg_rate_write_events",
            "avg_rate_discard_events",
        )
    ],
    align=True,
)
"""libfsp's ``FSPStats`` struct, copied as one frame."""
_STAT_NAMES: tuple[str, ...] = tuple(_STATS.names or ())


class FSPStatusDecoder(DataDecoder):
    """FSP status records: processor statistics, one row keyed ``swtid_<id>/status``."""

    name = "FSPStatusDecoder"

    def __init__(self, streamid: int = 0) -> None:
        super().__init__()
        self.key = f"swtid_{streamid & 0xFFFF}/status"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return [DecodedValue("packet_id", "uint32")] + [
            DecodedValue(n, "float64" if _STATS[n].kind == "f" else _I32) for n in _STAT_NAMES
        ]

    def key_lists(self) -> list[list[Any]]:
        return [[self.key]]


def decode_fsp_status(
    buf: npt.NDArray[np.uint8], start: int, size: int, key: str, packet_id: int
) -> RowBlock:
    """One FSP status record (its single frame at `start`) as a row keyed `key`."""
    raw = np.zeros(_STATS.itemsize, np.uint8)
    got = buf[start : start + min(size, _STATS.itemsize)]
    raw[: got.size] = got
    rec = raw.view(_STATS)
    cols: dict[str, Any] = {n: rec[n].copy() for n in _STAT_NAMES}
    cols["packet_id"] = np.array([packet_id], np.uint32)
    return RowBlock(np.array([key], dtype=object), cols)
