"""numba kernels for ORCA: packet framing with resynchronisation (compiled on first use)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tierflow.codecs._jit import kernel as jit
from tierflow.raw.formats.fcio._kernels import frame_records

MAX_WORDS = 1 << 24
"""Largest packet length (32-bit words) taken as plausible."""
CHAIN = 3
"""Consecutive valid packets needed to accept a position after damage."""


@jit
def _packet_at(words: Any, pos: int, valid_ids: Any, max_words: int) -> Any:  # pragma: no cover
    """(data id, length) of the packet at `pos`; length 0 if invalid, -1 if it runs off the end."""
    n = words.size
    h = np.int64(words[pos])
    if h >> 31:
        did = h & 0xFC000000
        length = np.int64(1)
    else:
        did = h & 0xFFFC0000
        length = h & 0x3FFFF
        if length == 0:
            if pos + 1 >= n:
                return did, np.int64(-1)
            length = np.int64(words[pos + 1])
    ok = False
    for v in valid_ids:
        if v == did:
            ok = True
            break
    if not ok or length < 1 or length > max_words:
        return did, np.int64(0)
    return did, length


@jit
def _chain_ok(
    words: Any, pos: int, valid_ids: Any, max_words: int, final: bool
) -> int:  # pragma: no cover
    """1 if `CHAIN` valid packets start at `pos`, 0 if not, -1 if undecided (more bytes needed)."""
    n = words.size
    for _ in range(CHAIN):
        if pos >= n:
            return 1 if final else -1
        _, length = _packet_at(words, pos, valid_ids, max_words)
        if length == 0:
            return 0
        if length < 0:
            return 1 if final else -1
        pos += length
    return 1


@jit
def _grow(a: Any, used: int) -> Any:  # pragma: no cover
    out = np.empty(2 * a.size, a.dtype)
    out[:used] = a[:used]
    return out


@jit
def frame_packets(
    words: Any, valid_ids: Any, final: bool, max_words: int
) -> Any:  # pragma: no cover
    """Frame the whole packets of `words`.

    Returns packet starts, lengths and data ids, the word ranges skipped as damaged
    (starts, ends) and the words consumed. Without `final`, a packet running past the end
    stays for the next call.
    """
    n = words.size
    cap = n // 64 + 64
    starts = np.empty(cap, np.int64)
    lengths = np.empty(cap, np.int64)
    dids = np.empty(cap, np.int64)
    bad_lo = np.empty(cap, np.int64)
    bad_hi = np.empty(cap, np.int64)
    k = 0
    nb = 0
    pos = 0
    while pos < n:
        did, length = _packet_at(words, pos, valid_ids, max_words)
        if k == starts.size or nb == bad_lo.size:
            starts, lengths, dids = _grow(starts, k), _grow(lengths, k), _grow(dids, k)
            bad_lo, bad_hi = _grow(bad_lo, nb), _grow(bad_hi, nb)
        if length > 0 and pos + length <= n:
            starts[k] = pos
            lengths[k] = length
            dids[k] = did
            k += 1
            pos += length
            continue
        if length != 0 and not final:  # runs past the end: wait for more bytes
            break
        q = pos + 1
        state = 0
        while q < n:
            state = _chain_ok(words, q, valid_ids, max_words, final)
            if state != 0:
                break
            q += 1
        if length != 0 and state != 1:  # the last packet is cut short: a truncated stream
            break
        if state == 0:  # nothing valid up to the end
            q = n if final else max(n - 1, pos + 1)
        bad_lo[nb] = pos
        bad_hi[nb] = q
        nb += 1
        pos = q
        if state == -1:
            break
    return starts[:k], lengths[:k], dids[:k], bad_lo[:nb], bad_hi[:nb], pos


@jit
def frame_fcio_segments(buf: Any, seg_lo: Any, seg_hi: Any) -> Any:  # pragma: no cover
    """FCIO records of each byte segment ``buf[lo:hi]`` (one ORCA packet's payload each).

    Payloads are framed one by one (their word padding would break a joint framing).
    Returns what :func:`tierflow.raw.formats.fcio._kernels.frame_records` returns, with
    positions in `buf`, plus the segment of every record.
    """
    parts = []
    nrec = 0
    nfr = 0
    for s in range(seg_lo.size):
        r = frame_records(buf[seg_lo[s] : seg_hi[s]], True)
        parts.append(r)
        nrec += r[0].size
        nfr += r[5].size
    tags = np.empty(nrec, np.int64)
    rstart = np.empty(nrec, np.int64)
    rend = np.empty(nrec, np.int64)
    ffirst = np.empty(nrec, np.int64)
    nf = np.empty(nrec, np.int64)
    seg = np.empty(nrec, np.int64)
    fstart = np.empty(nfr, np.int64)
    fsize = np.empty(nfr, np.int64)
    k = 0
    j = 0
    for s in range(len(parts)):
        r = parts[s]
        lo = seg_lo[s]
        for i in range(r[0].size):
            tags[k] = r[0][i]
            rstart[k] = r[1][i] + lo
            rend[k] = r[2][i] + lo
            ffirst[k] = r[3][i] + j
            nf[k] = r[4][i]
            seg[k] = s
            k += 1
        for i in range(r[5].size):
            fstart[j + i] = r[5][i] + lo
            fsize[j + i] = r[6][i]
        j += r[5].size
    return tags, rstart, rend, ffirst, nf, fstart, fsize, seg
