"""The FlashCam FCIO streamer: tmio records framed in bulk, events decoded by numba kernels.

A config record after the start of the stream (FlashCam may send one when the readout
settings change) is decoded like the first: its row goes to the ``FCConfigDecoder`` buffer,
and the records after it decode with its settings (trace map, baseline precision,
integrator length). Changing the samples per trace or the ADC bits while events are written
is an error naming the byte (one waveform table has one length and period); an FSP config
sent with it is not written (``FSPConfig`` is the anchor's one struct), with a warning.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError
from tierflow.raw._decoder import DataDecoder, Jagged, RowBlock
from tierflow.raw._source import ByteSource
from tierflow.raw._streamer import DataStreamer, DecodeWarning, _KeySet
from tierflow.raw.formats.fcio._decoders import (
    DEADREGION_FIELDS,
    TIMEOFFSET_FIELDS,
    TIMESTAMP_FIELDS,
    FCConfigDecoder,
    FCEventDecoder,
    FCEventHeaderDecoder,
    FCStatusDecoder,
    evthdr_key,
    make_key,
    status_key,
)
from tierflow.raw.formats.fcio._fsp import (
    MAX_CHANNELS as MAX_LABELS,
)
from tierflow.raw.formats.fcio._fsp import (
    FSPConfigDecoder,
    FSPEventDecoder,
    FSPStatusDecoder,
    decode_fsp_config,
    decode_fsp_events,
    decode_fsp_status,
    make_fsp_config_struct,
)
from tierflow.raw.formats.fcio._recevent import (
    RECEVENT_FRAMES,
    FCRecEventDecoder,
    decode_recevent_headers,
    recevent_key,
)
from tierflow.types import DataObject

__all__ = ["FCStreamer", "Tag"]

MAGIC = (-1000000001).to_bytes(4, "little", signed=True)


class Tag:
    """FCIO record tags."""

    CONFIG = 1
    EVENT = 3
    STATUS = 4
    RECEVENT = 5
    SPARSE_EVENT = 6
    EVENT_HEADER = 7
    FSP = (8, 9, 10)


class FCStreamer(DataStreamer):
    """FlashCam FCIO files (tmio protocol ``FlashCamV1``)."""

    name = "FlashCam"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.config: dict[str, Any] = {}
        self._state: dict[str, Any] = {}
        self.has_fsp = False

    @classmethod
    def is_stream(cls, head: bytes) -> bool:
        return head[:4] == MAGIC and head[4:12] == b"FlashCam"

    # -- header ---------------------------------------------------------------------------
    def read_header(self, source: ByteSource) -> list[tuple[str, DataObject]]:
        from tierflow.raw.formats.fcio._kernels import frame_records

        head = source.peek(1 << 16)
        if not self.is_stream(head):
            raise FormatError(
                f"{source.name}: not an FCIO stream (no FlashCam protocol header)", file=source.name
            )
        buf = np.frombuffer(head, np.uint8)
        tags, _, rend, ffirst, nf, fstart, fsize, _ = frame_records(buf, len(head) < (1 << 16))
        c = 1 if tags.size > 1 and tags[0] == Tag.FSP[0] else 0  # FSP prepends its config
        if tags.size <= c or tags[c] != Tag.CONFIG:
            raise FormatError(
                f"{source.name}: an FCIO stream starts with a config record", file=source.name
            )
        frames = slice(ffirst[c], ffirst[c] + nf[c])
        self.config = _parse_config(buf, fstart[frames], fsize[frames])
        source.read(int(rend[c]))
        self._init_state()
        dec = FCConfigDecoder()
        out: list[tuple[str, DataObject]] = [(dec.name, dec.make_table(self._config_block(0)))]
        if c:
            self.has_fsp = True
            fsp = FSPConfigDecoder(self.config["streamid"])
            frames = slice(ffirst[0], ffirst[0] + nf[0])
            block = decode_fsp_config(buf, fstart[frames], fsize[frames], fsp.key, 0)
            out.append((fsp.name, make_fsp_config_struct(block)))
        return out

    def _config_block(self, packet_id: int) -> RowBlock:
        c = self.config
        cols: dict[str, Any] = {
            n: np.array([c[n]], np.int32)
            for n in FCConfigDecoder().decoded_values
            if n not in ("packet_id", "tracemap")
        }
        cols["packet_id"] = np.array([packet_id], np.uint32)
        cols["tracemap"] = Jagged(c["tracemap"], np.array([c["tracemap"].size], np.int64))
        return RowBlock(np.array([None], dtype=object), cols)

    def _init_state(self) -> None:
        from tierflow.raw.formats.fcio._kernels import RING

        n = max(1, self.config["nadcs"] + self.config["ntriggers"])
        # the dead-interval rings: only the slot the write index starts at is read before it
        # is written, so only it is zeroed (all of them: MBs of memory touched for nothing)
        ring_begin, ring_end = np.empty((n, RING), np.int64), np.empty((n, RING), np.int64)
        ring_begin[:, RING - 1] = ring_end[:, RING - 1] = 0
        self._state = {
            "prev": np.zeros(30, np.int64),
            "enable": np.full(n, -1, np.int64),
            "dead": np.zeros(n, np.int64),
            "rb": ring_begin,
            "re": ring_end,
            "rw": np.full(n, RING - 1, np.int64),
            "rr": np.zeros(n, np.int64),
            "rf": np.zeros(n, np.int64),
            "status": np.zeros((0, 295), np.int64),
            "rec_prev": np.zeros(30, np.int64),
        }

    def load_config(self, buf: npt.NDArray[np.uint8], name: str = "FCIO") -> None:
        """Take the config record at the start of `buf` (after an optional protocol header)."""
        from tierflow.raw.formats.fcio._kernels import frame_records

        tags, _, _, ffirst, nf, fstart, fsize, _ = frame_records(buf, True)
        hit = np.flatnonzero(tags == Tag.CONFIG)
        if not hit.size:
            raise FormatError(f"{name}: no FCIO config record")
        i = int(hit[0])
        self.config = _parse_config(
            buf, fstart[ffirst[i] : ffirst[i] + nf[i]], fsize[ffirst[i] : ffirst[i] + nf[i]]
        )
        self._init_state()

    def make_decoders(self) -> list[DataDecoder]:
        c = self.config
        dt = 4.0 if c["adcbits"] == 12 else 16.0
        return [
            FCConfigDecoder(),
            FCStatusDecoder(c["streamid"], c["mastercards"], c["triggercards"], c["adccards"]),
            FCEventDecoder(c["streamid"], c["tracemap"], c["nsamples"], dt),
            FCEventHeaderDecoder(c["streamid"], c["nadcs"] + c["ntriggers"]),
            FSPConfigDecoder(c["streamid"], MAX_LABELS),
            FSPEventDecoder(c["streamid"]),
            FSPStatusDecoder(c["streamid"]),
            FCRecEventDecoder(c["streamid"]),
        ]

    # -- packets --------------------------------------------------------------------------
    def process(
        self, buf: npt.NDArray[np.uint8], offset: int, final: bool
    ) -> tuple[int, list[tuple[str, RowBlock]]]:
        from tierflow.raw.formats.fcio._kernels import frame_records

        fr = frame_records(buf, final)
        tags, consumed = fr[0], fr[-1]
        is_fsp = np.isin(tags, Tag.FSP)
        ids = np.zeros(tags.size, np.int64)
        ids[~is_fsp] = self.next_packet_ids(int((~is_fsp).sum()))
        if is_fsp.any():  # FSP records share the id of the record they precede
            nxt = np.minimum(np.arange(tags.size) + 1, tags.size - 1)
            for _ in range(2):
                ids = np.where(is_fsp, ids[nxt], ids)
            # FSP records at the end precede a record of the next block: the next id
            ids[is_fsp & (ids == 0)] = self.packet_id + 1
        out: list[tuple[str, RowBlock]] = []
        lo = 0
        for c in np.flatnonzero(tags == Tag.CONFIG).tolist():  # settings change here
            fsp_first = c > 0 and tags[c - 1] == Tag.FSP[0]
            out += self._records(buf, lo, c - int(fsp_first), ids, fr, offset)
            out += self._config_update(buf, c, fsp_first, ids, fr, offset)
            lo = c + 1
        out += self._records(buf, lo, tags.size, ids, fr, offset)
        return int(consumed), out

    def _records(
        self,
        buf: npt.NDArray[np.uint8],
        lo: int,
        hi: int,
        ids: npt.NDArray[np.int64],
        fr: tuple[Any, ...],
        offset: int,
    ) -> list[tuple[str, RowBlock]]:
        """Decode records ``lo:hi`` (none of them a config) with the current config."""
        if hi <= lo:
            return []
        tags, rstart, rend, ffirst, nf, fstart, fsize, _ = fr
        seg = np.full(tags.size, -1, np.int64)
        seg[lo:hi] = tags[lo:hi]
        out: list[tuple[str, RowBlock]] = []
        for kind in (Tag.EVENT, Tag.SPARSE_EVENT):
            sel = np.flatnonzero(seg == kind)
            if sel.size:
                out += self._events(
                    buf, sel, kind, ids, rstart, rend, ffirst, nf, fstart, fsize, offset
                )
        sel = np.flatnonzero(seg == Tag.EVENT_HEADER)
        if sel.size:
            out += self._event_headers(
                buf, sel, ids, rstart, rend, ffirst, nf, fstart, fsize, offset
            )
        out += self._recevents(buf, np.flatnonzero(seg == Tag.RECEVENT), ids, fr, offset)
        for i in np.flatnonzero(seg == Tag.STATUS):
            out.append(self._status(buf, ffirst[i], nf[i], fstart, fsize, ids[i]))
        out += self._fsp(buf, seg, tags, ids, ffirst, nf, fstart, fsize)
        handled = (
            Tag.EVENT,
            Tag.SPARSE_EVENT,
            Tag.EVENT_HEADER,
            Tag.STATUS,
            Tag.RECEVENT,
            *Tag.FSP,
        )
        for i in np.flatnonzero((seg >= 0) & ~np.isin(seg, handled)):
            out.append(
                self.warn_garbage(
                    offset + int(rstart[i]),
                    int(tags[i]),
                    buf[rstart[i] : rend[i]],
                    f"unsupported record tag {tags[i]}",
                )
            )
        return out

    def _config_update(
        self,
        buf: npt.NDArray[np.uint8],
        c: int,
        fsp_first: bool,
        ids: npt.NDArray[np.int64],
        fr: tuple[Any, ...],
        offset: int,
    ) -> list[tuple[str, RowBlock]]:
        """A config record after the start: new settings from here on, and its row."""
        _, rstart, rend, ffirst, nf, fstart, fsize, _ = fr
        name = self.source.name if self.source is not None else "FCIO"
        where = f"{name}: config at byte {offset + int(rstart[c])}"
        frames = slice(ffirst[c], ffirst[c] + nf[c])
        try:
            new = _parse_config(buf, fstart[frames], fsize[frames])
        except FormatError as err:  # a damaged record: the settings stay as they were
            pos = offset + int(rstart[c])
            return [self.warn_garbage(pos, Tag.CONFIG, buf[rstart[c] : rend[c]], str(err))]
        self.apply_config(new, where)
        if fsp_first:
            warnings.warn(
                f"{where}: its FSP config is not written (FSPConfig holds the first one, as "
                "the anchor writes it)",
                DecodeWarning,
                stacklevel=3,
            )
        return [(FCConfigDecoder.name, self._config_block(int(ids[c])))]

    def apply_config(self, new: dict[str, Any], where: str = "FCIO") -> None:
        """Decode the records that follow with the settings of config `new`.

        Raises :class:`~tierflow.errors.FormatError` when waveforms being written would
        change length; warns when channels appear that no buffer takes.
        """
        old = self.config
        routes = self._routes.get(FCEventDecoder.name, [])
        if new["nsamples"] != old["nsamples"] and routes:
            raise FormatError(
                f"{where} changes the samples per trace from {old['nsamples']} to "
                f"{new['nsamples']}; one waveform table holds one length: split the file there"
            )
        if (new["adcbits"] == 12) != (old["adcbits"] == 12) and routes:
            raise FormatError(
                f"{where} changes the ADC bits from {old['adcbits']} to {new['adcbits']} (the "
                "sampling period with them); one waveform table holds one: split the file there"
            )
        lost = _unrouted(new, routes)
        if lost:
            warnings.warn(
                f"{where} adds channels {lost[:8]} that no buffer takes; their rows are dropped",
                DecodeWarning,
                stacklevel=4,
            )
        prev = self._state["prev"]
        self.config = new
        if new["nadcs"] + new["ntriggers"] != old["nadcs"] + old["ntriggers"]:
            self._init_state()  # dead-time bookkeeping is per trace
            self._state["prev"] = prev

    def _recevents(
        self,
        buf: npt.NDArray[np.uint8],
        sel: npt.NDArray[np.intp],
        ids: npt.NDArray[np.int64],
        fr: tuple[Any, ...],
        offset: int,
    ) -> list[tuple[str, RowBlock]]:
        _, rstart, rend, ffirst, nf, fstart, fsize, _ = fr
        out = [
            self.warn_garbage(
                offset + int(rstart[i]),
                Tag.RECEVENT,
                buf[rstart[i] : rend[i]],
                f"{nf[i]} frames, fewer than {RECEVENT_FRAMES}",
            )
            for i in sel[nf[sel] < RECEVENT_FRAMES]
        ]
        sel = sel[nf[sel] >= RECEVENT_FRAMES]
        if not sel.size:
            return out
        hdr, pulses = decode_recevent_headers(
            buf, ffirst[sel], fstart, fsize, self._state["rec_prev"]
        )
        fpga = 1_000_000_000 * hdr[:, 12] + 4 * hdr[:, 13]
        cols = self._header_columns(hdr, ids[sel], fpga)
        keys = np.full(sel.size, recevent_key(self.config["streamid"]), dtype=object)
        out.append((FCRecEventDecoder.name, RowBlock(keys, {**cols, **pulses})))
        return out

    def _events(
        self,
        buf: npt.NDArray[np.uint8],
        sel: npt.NDArray[np.intp],
        kind: int,
        ids: npt.NDArray[np.int64],
        rstart: Any,
        rend: Any,
        ffirst: Any,
        nf: Any,
        fstart: Any,
        fsize: Any,
        offset: int,
    ) -> list[tuple[str, RowBlock]]:
        need = 7 if kind == Tag.SPARSE_EVENT else 6
        bad = sel[nf[sel] < need]
        out = [
            self.warn_garbage(
                offset + int(rstart[i]),
                kind,
                buf[rstart[i] : rend[i]],
                f"{nf[i]} frames, fewer than {need}",
            )
            for i in bad
        ]
        sel = sel[nf[sel] >= need]
        if sel.size:
            out.append(
                (
                    FCEventDecoder.name,
                    self._decode_events(
                        buf, sel, kind == Tag.SPARSE_EVENT, ids, ffirst, nf, fstart, fsize
                    ),
                )
            )
        return out

    def _decode_events(
        self,
        buf: npt.NDArray[np.uint8],
        sel: npt.NDArray[np.intp],
        sparse: bool,
        ids: npt.NDArray[np.int64],
        ffirst: Any,
        nf: Any,
        fstart: Any,
        fsize: Any,
    ) -> RowBlock:
        from tierflow.raw.formats.fcio._kernels import as_words, decode_events

        c, st = self.config, self._state
        ntr, ns = c["nadcs"] + c["ntriggers"], c["nsamples"]
        # rows: one per trace frame of a sparse event, every trace of a full one
        maxrows = int(np.maximum(nf[sel] - 7, 0).sum()) if sparse else int(sel.size * max(ntr, 1))
        hdr = np.zeros((sel.size, 34), np.int64)
        tidx, evt = np.zeros(maxrows, np.int64), np.zeros(maxrows, np.int64)
        # every sample of a decoded row is written: no zeroing first
        wf, th = np.empty((maxrows, ns), np.uint16), np.zeros((maxrows, 2), np.int64)
        n = decode_events(
            buf,
            as_words(buf),
            ffirst[sel],
            nf[sel],
            fstart,
            fsize,
            sparse,
            ns,
            ntr,
            hdr,
            tidx,
            wf,
            th,
            evt,
            st["prev"],
        )
        iv, dead, run, fpga = self._dead_times(hdr)
        tidx, evt, th = tidx[:n], evt[:n], th[:n]
        tidx = np.minimum(tidx, max(ntr - 1, 0))
        tmap = c["tracemap"] if c["tracemap"].size else np.zeros(max(ntr, 1), np.uint32)
        addr, chan = (tmap[tidx] >> 16).astype(np.int64), (tmap[tidx] & 0xFFFF).astype(np.int64)
        h = hdr[evt]
        return RowBlock(
            make_key(c["streamid"], addr, chan),
            {
                **self._header_columns(h, ids[sel][evt], fpga[evt]),
                "channel": tidx,
                "board_id": addr,
                "fc_input": chan,
                "numtraces": np.diff(np.searchsorted(evt, np.arange(sel.size + 1)))[evt],
                "deadinterval_nsec": iv[evt, tidx],
                "deadtime": dead[evt, tidx] / 1e9,
                "runtime": run[evt, tidx] / 1e9,
                "lifetime": (run[evt, tidx] - dead[evt, tidx]) / 1e9,
                "baseline": self._baseline(th),
                "daqenergy": self._energy(th),
                "waveform": wf[:n] if n < maxrows else wf,
            },
        )

    def _fsp(
        self,
        buf: Any,
        seg: Any,
        tags: Any,
        ids: Any,
        ffirst: Any,
        nf: Any,
        fstart: Any,
        fsize: Any,
    ) -> list[tuple[str, RowBlock]]:
        """FSP event and status records of the segment `seg` (tags, -1 outside it)."""
        sid = self.config["streamid"] & 0xFFFF
        out: list[tuple[str, RowBlock]] = []
        sel = np.flatnonzero(seg == Tag.FSP[1])
        if sel.size:
            nxt = tags[np.minimum(sel + 1, tags.size - 1)]
            what = np.where(nxt == Tag.EVENT_HEADER, "evt_hdr", "event")
            keys = np.array([f"swtid_{sid}/{w}" for w in what], dtype=object)
            block = decode_fsp_events(buf, ffirst[sel], nf[sel], fstart, fsize, keys, ids[sel])
            out.append((FSPEventDecoder.name, block))
        for i in np.flatnonzero((seg == Tag.FSP[2]) & (nf >= 1)):
            block = decode_fsp_status(
                buf, fstart[ffirst[i]], fsize[ffirst[i]], f"swtid_{sid}/status", int(ids[i])
            )
            out.append((FSPStatusDecoder.name, block))
        return out

    def _event_headers(
        self,
        buf: npt.NDArray[np.uint8],
        sel: npt.NDArray[np.intp],
        ids: npt.NDArray[np.int64],
        rstart: Any,
        rend: Any,
        ffirst: Any,
        nf: Any,
        fstart: Any,
        fsize: Any,
        offset: int,
    ) -> list[tuple[str, RowBlock]]:
        bad = sel[nf[sel] < 6]
        out = [
            self.warn_garbage(
                offset + int(rstart[i]),
                Tag.EVENT_HEADER,
                buf[rstart[i] : rend[i]],
                f"{nf[i]} frames, fewer than 6",
            )
            for i in bad
        ]
        sel = sel[nf[sel] >= 6]
        if sel.size:
            block = self.decode_event_headers(buf, sel, ids, ffirst, nf, fstart, fsize)
            out.append((FCEventHeaderDecoder.name, block))
        return out

    def decode_event_headers(
        self,
        buf: npt.NDArray[np.uint8],
        sel: npt.NDArray[np.intp],
        ids: npt.NDArray[np.int64],
        ffirst: Any,
        nf: Any,
        fstart: Any,
        fsize: Any,
    ) -> RowBlock:
        """Event-header records `sel`: one row per event, per-trace values as vectors."""
        from tierflow.raw.formats.fcio._kernels import decode_event_headers

        c, st = self.config, self._state
        ntr = max(c["nadcs"] + c["ntriggers"], 1)
        maxrows = int(fsize[ffirst[sel] + 5].sum() // 2)
        hdr = np.zeros((sel.size, 34), np.int64)
        tidx, evt = np.zeros(maxrows, np.int64), np.zeros(maxrows, np.int64)
        th = np.zeros((maxrows, 2), np.int64)
        n = decode_event_headers(
            buf, ffirst[sel], nf[sel], fstart, fsize, ntr, hdr, tidx, th, evt, st["prev"]
        )
        tidx, evt, th = tidx[:n], evt[:n], th[:n]
        iv, dead, run, fpga = self._dead_times(hdr)
        t = np.minimum(tidx, ntr - 1)
        tmap = c["tracemap"] if c["tracemap"].size else np.zeros(ntr, np.uint32)
        lens = np.bincount(evt, minlength=sel.size).astype(np.int64)
        cols = self._header_columns(hdr, ids[sel], fpga)
        per_trace = {
            "tracelist": tidx,
            "board_id": tmap[t] >> 16,
            "fc_input": tmap[t] & 0xFFFF,
            "deadinterval_nsec": iv[evt, t],
            "deadtime": dead[evt, t] / 1e9,
            "runtime": run[evt, t] / 1e9,
            "lifetime": (run[evt, t] - dead[evt, t]) / 1e9,
            "baseline": self._baseline(th),
            "daqenergy": self._energy(th),
        }
        cols.update({k: Jagged(v, lens) for k, v in per_trace.items()})
        cols["numtraces"] = lens
        keys = np.full(sel.size, evthdr_key(c["streamid"]), dtype=object)
        return RowBlock(keys, cols)

    def _dead_times(self, hdr: npt.NDArray[np.int64]) -> tuple[Any, Any, Any, Any]:
        """Per event and trace: dead interval, dead time and run time (ns); FPGA time."""
        from tierflow.raw.formats.fcio._kernels import dead_time_update

        c, st = self.config, self._state
        ntr = c["nadcs"] + c["ntriggers"]
        iv, dead, run = (np.zeros((hdr.shape[0], max(ntr, 1)), np.int64) for _ in range(3))
        fpga = np.zeros(hdr.shape[0], np.int64)
        dead_time_update(
            hdr,
            ntr,
            c["nadcs"],
            st["enable"],
            st["dead"],
            st["rb"],
            st["re"],
            st["rw"],
            st["rr"],
            st["rf"],
            iv,
            dead,
            run,
            fpga,
        )
        return iv, dead, run, fpga

    def _header_columns(
        self,
        h: npt.NDArray[np.int64],
        packet_ids: npt.NDArray[np.int64],
        fpga: npt.NDArray[np.int64],
    ) -> dict[str, Any]:
        c = self.config
        cols: dict[str, Any] = {n: h[:, 1 + i] for i, n in enumerate(TIMEOFFSET_FIELDS)}
        for i, n in enumerate(TIMESTAMP_FIELDS):
            cols[n] = h[:, 11 + i]
        for i, n in enumerate(DEADREGION_FIELDS):
            cols[n] = h[:, 21 + i]
        long_dr = h[:, 33] >= 7
        cols["dr_ch_idx"] = np.where(long_dr, h[:, 26], 0)
        cols["dr_ch_len"] = np.where(long_dr, h[:, 27], c["nadcs"])
        cols["event_type"] = h[:, 0]
        cols["packet_id"] = packet_ids
        cols["fcid"] = np.full(h.shape[0], c["streamid"] & 0xFFFF)
        if c["gps"] != 0:
            unix = fpga + h[:, 3] * 1_000_000_000
        else:
            unix = fpga + 1_000_000_000 * h[:, 1] + 1000 * h[:, 2]
        cols["timestamp"] = unix / 1e9
        return cols

    def _baseline(self, th: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        bl = max(self.config["blprecision"], 1)
        out: npt.NDArray[Any] = (th[:, 0] / bl).astype(np.uint16)
        return out

    def _energy(self, th: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        c = self.config
        if c["adcbits"] == 12:
            e: npt.NDArray[Any] = (
                c["sumlength"] / max(c["blprecision"], 1) * (th[:, 1] - th[:, 0])
            ).astype(np.int64)
            return e.astype(np.uint16)
        return th[:, 1].astype(np.uint16)

    def _status(
        self, buf: npt.NDArray[np.uint8], first: int, n: int, fstart: Any, fsize: Any, pid: int
    ) -> tuple[str, RowBlock]:
        def ints(k: int) -> npt.NDArray[np.int32]:
            return (
                np.frombuffer(buf[fstart[k] : fstart[k] + fsize[k]].tobytes(), np.int32)
                if k < first + n
                else np.zeros(0, np.int32)
            )

        status, stime = ints(first), np.zeros(10, np.int64)
        t = ints(first + 1)
        stime[: min(10, t.size)] = t[:10]
        cards = np.zeros((max(n - 4, 0), 295), np.int64)
        for i in range(cards.shape[0]):
            d = (
                ints(first + 4 + i).view(np.uint32)
                if fsize[first + 4 + i] % 4 == 0
                else np.zeros(0, np.uint32)
            )
            cards[i, : min(295, d.size)] = d[:295]
        env = (
            cards[:, 19:35].astype(np.uint32).view(np.int32)
            if cards.size
            else np.zeros((0, 16), np.int32)
        )
        numenv, nct, nlk = cards[:, 6], cards[:, 7], cards[:, 8]
        k = cards.shape[0]
        c = self.config
        cols: dict[str, Any] = {
            "packet_id": np.full(k, pid),
            "status": np.full(k, bool(status[0]) if status.size else False),
            "fpga_time": np.full(k, stime[0] + 1e-6 * stime[1], np.float32),
            "server_time": np.full(k, stime[2] + 1e-6 * stime[3]),
            "fpga_start_time": np.full(k, stime[5] + 1e-6 * stime[6]),
            "id": cards[:, 0],
            "eventnumber": cards[:, 2],
            "fpga_time_nsec": (1_000_000_000 * cards[:, 3] + 4 * cards[:, 4]).astype(np.uint32),
            "n_total_errors": cards[:, 10],
            "n_environment_errors": cards[:, 11],
            "n_cti_errors": cards[:, 12],
            "n_link_errors": cards[:, 13],
            "n_other_errors": cards[:, 14:19],
            "mb_temps": env[:, 0:5],
            "mb_voltages": env[:, 5:11],
            "mb_current": env[:, 11],
            "mb_humidity": env[:, 12],
            "adc_temps": _jag(env, 13, numenv),
            "cti_links": _jag(cards, 35, nct, 4),
            "link_states": _jag(cards, 39, nlk, 256),
        }
        keys = np.array([status_key(c["streamid"], int(r)) for r in cards[:, 0]], dtype=object)
        return FCStatusDecoder.name, RowBlock(keys, cols)


def _unrouted(config: dict[str, Any], routes: list[tuple[Any, _KeySet | None]]) -> list[int]:
    """Channel keys of `config` that none of the event buffers `routes` takes."""
    if not routes or any(keys is None for _, keys in routes):
        return []
    taken: set[Any] = set().union(*(keys.keys for _, keys in routes if keys is not None))
    tmap = config["tracemap"]
    return sorted(set(make_key(config["streamid"], tmap >> 16, tmap & 0xFFFF).tolist()) - taken)


def _jag(arr: npt.NDArray[Any], start: int, ends: npt.NDArray[np.int64], cap: int = 3) -> Jagged:
    """Per row, elements ``start:start + n`` where `ends` gives the count (clipped to `cap`)."""
    # daughter-board temperatures are environment[13:numenv]
    lens = np.clip(ends - 13, 0, cap) if start == 13 else np.clip(ends, 0, cap)
    flat = (
        np.concatenate([arr[i, start : start + lens[i]] for i in range(arr.shape[0])])
        if arr.shape[0]
        else np.zeros(0, arr.dtype)
    )
    return Jagged(flat, lens.astype(np.int64))


def _parse_config(
    buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64]
) -> dict[str, Any]:
    order = [
        "nadcs",
        "ntriggers",
        "nsamples",
        "blprecision",
        "sumlength",
        "adcbits",
        "mastercards",
        "triggercards",
        "adccards",
        "gps",
    ]
    cfg: dict[str, Any] = dict.fromkeys(order, 0)
    cfg["streamid"], cfg["tracemap"] = 0, np.zeros(0, np.uint32)
    for i, (s, z) in enumerate(zip(starts, sizes, strict=False)):
        data = buf[s : s + z].tobytes()
        if i < len(order) and z >= 4:
            cfg[order[i]] = int.from_bytes(data[:4], "little", signed=True)
        elif i == len(order):
            cfg["tracemap"] = np.frombuffer(data[: z // 4 * 4], np.uint32).copy()
        elif i == len(order) + 1 and z >= 4:
            cfg["streamid"] = int.from_bytes(data[:4], "little", signed=True)
    ntr = cfg["nadcs"] + cfg["ntriggers"]
    if ntr < 0 or ntr > 2400 or not 0 <= cfg["nsamples"] <= 32768:
        raise FormatError(f"FCIO config: {ntr} traces or {cfg['nsamples']} samples out of range")
    cfg["tracemap"] = cfg["tracemap"][:ntr]
    return cfg
