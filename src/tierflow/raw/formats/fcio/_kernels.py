"""numba kernels for FCIO: tmio framing and per-event decoding (compiled on first use)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.codecs._jit import kernel as jit  # cached numba.njit, compiled on first call

PROTOCOL_TAG = -1000000001
PROTOCOL_SIZE = 64
NSEC_PER_SEC = 1_000_000_000
RING = 2048


@jit
def _i32(buf: Any, pos: int) -> int:
    v = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (np.int64(buf[pos + 3]) << 24)
    return int(v - (np.int64(1) << 32) if v >= (np.int64(1) << 31) else v)


@jit
def _grow(a: Any) -> Any:  # pragma: no cover - numba
    out = np.empty(2 * a.size, a.dtype)
    out[: a.size] = a
    return out


@jit
def frame_records(buf: Any, final: bool) -> Any:  # pragma: no cover - numba
    """Frame tmio records: (tag, record start, record end, first frame, n frames) and frames.

    A record ends where the next tag starts; without `final`, the last record is complete
    only when the next tag header is in `buf`. Returns also the bytes consumed. The index
    arrays grow as needed (sized for the worst case, 4-byte frames, they would take 12 times
    the bytes framed) and are returned trimmed.
    """
    n = buf.size
    rcap = n // 1024 + 16
    fcap = n // 256 + 16
    tags = np.empty(rcap, np.int64)
    rstart = np.empty(rcap, np.int64)
    rend = np.empty(rcap, np.int64)
    ffirst = np.empty(rcap, np.int64)
    fstart = np.empty(fcap, np.int64)
    fsize = np.empty(fcap, np.int64)
    nrec = 0
    nfr = 0
    pos = 0
    cur = -1  # index of the open record
    consumed = 0
    broke = False
    while pos + 4 <= n:
        h = _i32(buf, pos)
        if h < 0:
            if cur >= 0:
                rend[cur] = pos
                consumed = pos
                cur = -1
            if h == PROTOCOL_TAG:
                if pos + 4 + PROTOCOL_SIZE > n:
                    broke = True
                    break
                pos += 4 + PROTOCOL_SIZE
                consumed = pos
                continue
            if nrec == tags.size:
                tags, rstart, rend, ffirst = _grow(tags), _grow(rstart), _grow(rend), _grow(ffirst)
            tags[nrec] = -h
            rstart[nrec] = pos
            ffirst[nrec] = nfr
            cur = nrec
            nrec += 1
            pos += 4
        else:
            if pos + 4 + h > n or cur < 0:
                if cur < 0 and pos + 4 + h <= n:  # a frame without a tag: skip it
                    pos += 4 + h
                    consumed = pos
                    continue
                broke = True
                break
            if nfr == fstart.size:
                fstart, fsize = _grow(fstart), _grow(fsize)
            fstart[nfr] = pos + 4
            fsize[nfr] = h
            nfr += 1
            pos += 4 + h
    if cur >= 0:
        if final and not broke:
            rend[cur] = pos
            consumed = pos
        else:
            nrec -= 1
            nfr = ffirst[cur]
    nf = np.empty(nrec, np.int64)
    for i in range(nrec):
        last = ffirst[i + 1] if i + 1 < nrec else nfr
        nf[i] = last - ffirst[i]
    return (
        tags[:nrec].copy(),
        rstart[:nrec].copy(),
        rend[:nrec].copy(),
        ffirst[:nrec].copy(),
        nf,
        fstart[:nfr].copy(),
        fsize[:nfr].copy(),
        consumed,
    )


def as_words(buf: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint16]:
    """`buf` seen as uint16 (its samples), or an empty array when the view would not give
    little-endian samples at even byte offsets (a big-endian machine, an odd address).

    Example
    -------
    >>> as_words(np.array([1, 0, 2, 1], np.uint8)).tolist()
    [1, 258]
    """
    if sys.byteorder != "little" or buf.ctypes.data % 2:
        return np.empty(0, np.uint16)
    return buf[: buf.size // 2 * 2].view(np.uint16)


@jit
def read_ints(buf: Any, start: int, size: int, out: Any) -> int:  # pragma: no cover - numba
    """Up to ``out.size`` int32 of a frame into `out`; returns how many the frame had."""
    k = size // 4
    for i in range(min(k, out.size)):
        out[i] = _i32(buf, start + 4 * i)
    return k


@jit
def decode_events(
    buf: Any,
    words: Any,
    frames_first: Any,
    nframes: Any,
    fstart: Any,
    fsize: Any,
    sparse: bool,
    nsamples: int,
    ntraces: int,
    hdr: Any,
    trace_idx: Any,
    waveforms: Any,
    theader: Any,
    event_of_row: Any,
    prev: Any,
) -> int:  # pragma: no cover - numba
    """Decode FCIOEvent (all traces) or FCIOSparseEvent records.

    `words` is `buf` seen as little-endian uint16 (see :func:`as_words`). Per event, `hdr` gets
    type, timeoffset[10], timestamp[10], deadregion[10] and the three sizes (34 ints); per
    trace row the trace index, samples and (baseline, energy) header. `prev` carries
    timeoffset/timestamp/deadregion of the last event (fields keep their value when a record
    has fewer). Returns the number of rows.
    """
    row = 0
    tl = np.empty(4096, np.int64)
    for e in range(frames_first.size):
        f = frames_first[e]
        nf = nframes[e]
        base = fstart[f]
        tmp = np.zeros(1, np.int64)
        read_ints(buf, base, fsize[f], tmp)
        hdr[e, 0] = tmp[0]
        to = prev[0:10]
        ts = prev[10:20]
        dr = prev[20:30]
        hdr[e, 31] = read_ints(buf, fstart[f + 2], fsize[f + 2], to)
        hdr[e, 32] = read_ints(buf, fstart[f + 3], fsize[f + 3], ts)
        if sparse:
            hdr[e, 33] = read_ints(buf, fstart[f + 4], fsize[f + 4], dr)
            nt = _i32(buf, fstart[f + 5])
            nlist = fsize[f + 6] // 2
            if nlist < nt:
                nt = nlist
            for i in range(nt):
                p = fstart[f + 6] + 2 * i
                tl[i] = buf[p] | (buf[p + 1] << 8)
            first_trace = f + 7
        else:
            hdr[e, 33] = read_ints(buf, fstart[f + 5], fsize[f + 5], dr)
            nt = ntraces
            for i in range(nt):
                tl[i] = i
            first_trace = f + 4
        hdr[e, 1:11] = to
        hdr[e, 11:21] = ts
        hdr[e, 21:31] = dr
        if not sparse:
            hdr[e, 21 + 5] = 0
            hdr[e, 21 + 6] = ntraces
        for i in range(nt):
            if sparse:
                if first_trace + i >= f + nf:
                    break
                p = fstart[first_trace + i]
                avail = fsize[first_trace + i] // 2
            else:
                p = fstart[first_trace] + 2 * i * (nsamples + 2)
                avail = max(0, min(nsamples + 2, fsize[first_trace] // 2 - i * (nsamples + 2)))
            trace_idx[row] = tl[i]
            event_of_row[row] = e
            for s in range(2):
                theader[row, s] = (buf[p + 2 * s] | (buf[p + 2 * s + 1] << 8)) if s < avail else 0
            _copy_samples(buf, words, p + 4, min(nsamples, max(avail - 2, 0)), waveforms[row])
            row += 1
    return row


@jit
def _copy_samples(buf: Any, words: Any, start: int, n: int, out: Any) -> None:  # pragma: no cover
    """`n` little-endian uint16 from byte `start` of `buf` into `out`, zeros after them;
    from `words` (the same bytes seen as uint16, empty when that view is not usable) when
    `start` is even: a plain copy instead of two byte loads a sample."""
    if start % 2 == 0 and words.size:
        out[:n] = words[start // 2 : start // 2 + n]
    else:
        for s in range(n):
            out[s] = buf[start + 2 * s] | (buf[start + 2 * s + 1] << 8)
    out[n:] = 0


@jit
def dead_time_update(
    hdr: Any,
    ntraces: int,
    nadcs: int,
    state_enable: Any,
    state_dead: Any,
    ring_begin: Any,
    ring_end: Any,
    ring_w: Any,
    ring_r: Any,
    ring_fill: Any,
    out_interval: Any,
    out_deadtime: Any,
    out_runtime: Any,
    out_fpga: Any,
) -> None:  # pragma: no cover
    """Per-event dead-interval bookkeeping as fcio-py 0.7 does it, for every trace of every event.

    Outputs are per event and trace: dead interval, accumulated dead time, run time (ns).
    """
    for e in range(hdr.shape[0]):
        etype = hdr[e, 0]
        to = hdr[e, 1:11]
        ts = hdr[e, 11:21]
        dr = hdr[e, 21:31]
        fpga = NSEC_PER_SEC * np.int64(ts[1]) + 4 * np.int64(ts[2])
        out_fpga[e] = fpga
        lo = 0
        hi = nadcs
        if etype == 11:
            lo = dr[5]
            hi = dr[5] + dr[6]
        lo = max(0, min(lo, ntraces))
        hi = max(lo, min(hi, ntraces))
        dstart = np.int64(dr[0]) * NSEC_PER_SEC + np.int64(dr[1]) * 4
        dstop = np.int64(dr[2]) * NSEC_PER_SEC + np.int64(dr[3]) * 4
        unset = False
        for t in range(lo, hi):
            if state_enable[t] == -1:
                unset = True
        if unset:
            val = -2
            if dstart == 0 and dstop > 0:
                val = dstop
            elif dstart == 0 and dstop == 0:
                val = NSEC_PER_SEC * np.int64(to[5]) + 1000 * np.int64(to[6])
            if val != -2:
                for t in range(lo, hi):
                    state_enable[t] = val
        a0 = max(0, min(dr[5], ntraces))
        a1 = max(a0, min(dr[5] + dr[6], ntraces))
        if dstart > 0:
            for t in range(a0, a1):
                slot = ring_w[t]
                if dstop > ring_end[t, slot]:
                    slot = (slot + 1) % RING
                    ring_fill[t] += 1
                    ring_begin[t, slot] = dstart
                    ring_end[t, slot] = dstop
                    ring_w[t] = slot
        for t in range(lo, hi):
            out_interval[e, t] = 0
        while True:
            before = False
            for t in range(a0, a1):
                if ring_fill[t] == 0:
                    before = False
                    break
                if fpga - ring_end[t, ring_r[t]] > -4:
                    before = True
                    break
            if not before:
                break
            for k in range(a1 - a0):
                t = a0 + k
                if ring_fill[t] > 0:
                    iv = ring_end[t, ring_r[t]] - ring_begin[t, ring_r[t]]
                    ring_r[t] = (ring_r[t] + 1) % RING
                    ring_fill[t] -= 1
                    tt = lo + k
                    if tt < hi:
                        out_interval[e, tt] = iv
                        state_dead[tt] += iv
        for t in range(ntraces):
            out_deadtime[e, t] = state_dead[t]
            out_runtime[e, t] = fpga - state_enable[t]


@jit
def decode_event_headers(
    buf: Any,
    frames_first: Any,
    nframes: Any,
    fstart: Any,
    fsize: Any,
    ntraces: int,
    hdr: Any,
    trace_idx: Any,
    theader: Any,
    event_of_row: Any,
    prev: Any,
) -> int:  # pragma: no cover - numba
    """Decode FCIOEventHeader records (tag 7): the event header and per-trace FPGA values.

    Frames: type, pulser, timeoffset, timestamp, deadregion, trace list (uint16), then
    (baseline, energy) per listed trace. `hdr` as in :func:`decode_events`. Returns rows.
    """
    row = 0
    tmp = np.zeros(1, np.int64)
    for e in range(frames_first.size):
        f = frames_first[e]
        read_ints(buf, fstart[f], fsize[f], tmp)
        hdr[e, 0] = tmp[0]
        to = prev[0:10]
        ts = prev[10:20]
        dr = prev[20:30]
        hdr[e, 31] = read_ints(buf, fstart[f + 2], fsize[f + 2], to)
        hdr[e, 32] = read_ints(buf, fstart[f + 3], fsize[f + 3], ts)
        hdr[e, 33] = read_ints(buf, fstart[f + 4], fsize[f + 4], dr)
        hdr[e, 1:11] = to
        hdr[e, 11:21] = ts
        hdr[e, 21:31] = dr
        nt = fsize[f + 5] // 2
        nh = fsize[f + 6] // 4 if nframes[e] > 6 else 0
        if nh < nt:
            nt = nh
        for i in range(nt):
            p = fstart[f + 5] + 2 * i
            t = buf[p] | (buf[p + 1] << 8)
            trace_idx[row] = t
            event_of_row[row] = e
            q = fstart[f + 6] + 4 * i
            theader[row, 0] = buf[q] | (buf[q + 1] << 8)
            theader[row, 1] = buf[q + 2] | (buf[q + 3] << 8)
            row += 1
    return row
