# mypy: allow-untyped-calls, allow-untyped-defs
"""Running sums split in two passes: increments (vectorised), then the serial additions.

A recursive filter such as ``out[i] = out[i-1] + (w[i] - w[i-k]) / k`` spends most of its
time on the division, which does not depend on ``out``. Computing every increment first lets
LLVM vectorise the divisions (several per instruction); the second pass only adds, keeping
each row's running value in a register and advancing up to four rows together (four
independent chains of additions). Each output is computed by the same operations, in the same
order and precision, as in one pass: the results are the same bits.

Increments are computed for :data:`CHUNK` samples at a time into a small scratch array that
stays in the L1 cache.
"""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import kernel

__all__ = ["CHUNK", "four_rows", "scan_add", "scan_add_sub"]

CHUNK = 1024
"""Samples whose increments are computed before they are added up."""


@kernel
def four_rows(rows):
    """`rows` (one to four row indices) made four by repeating the last one.

    The scans always advance four rows; a repeated row is computed twice, writing the same
    values (one code path instead of one per group size: less to compile).
    """
    four = np.empty(4, np.int64)
    for j in range(4):
        four[j] = rows[min(j, rows.shape[0] - 1)]
    return four


@kernel
def scan_add(inc, rows, i0, i1, out):
    """``out[r, i] = out[r, i-1] + inc[j, i - i0]`` for i0 <= i < i1, rows ``r = rows[j]``
    (four of them, see `four_rows`).

    At ``i == 0`` the output is the increment itself. The sum is formed in the increments'
    precision and rounded to the output's, as ``out[i-1] + inc`` is in one pass.
    """
    r0, r1, r2, r3 = rows[0], rows[1], rows[2], rows[3]
    o0, o1, o2, o3 = out[r0, i0:i1], out[r1, i0:i1], out[r2, i0:i1], out[r3, i0:i1]
    c0, c1, c2, c3 = inc[0], inc[1], inc[2], inc[3]
    if i0 == 0:
        o0[0], o1[0], o2[0], o3[0] = c0[0], c1[0], c2[0], c3[0]
    else:
        o0[0] = out[r0, i0 - 1] + c0[0]
        o1[0] = out[r1, i0 - 1] + c1[0]
        o2[0] = out[r2, i0 - 1] + c2[0]
        o3[0] = out[r3, i0 - 1] + c3[0]
    a0, a1, a2, a3 = o0[0], o1[0], o2[0], o3[0]
    for i in range(1, i1 - i0):
        # each value read back right after its store: LLVM keeps it in a register
        o0[i] = a0 + c0[i]
        a0 = o0[i]
        o1[i] = a1 + c1[i]
        a1 = o1[i]
        o2[i] = a2 + c2[i]
        a2 = o2[i]
        o3[i] = a3 + c3[i]
        a3 = o3[i]


@kernel
def scan_add_sub(inc, dec, rows, i0, i1, out):
    """As :func:`scan_add` with ``out[i] = (out[i-1] + inc[i]) - dec[i]`` (two roundings in the
    increments' precision, as in one pass); at ``i == 0`` the output is ``inc - dec``."""
    r0, r1, r2, r3 = rows[0], rows[1], rows[2], rows[3]
    o0, o1, o2, o3 = out[r0, i0:i1], out[r1, i0:i1], out[r2, i0:i1], out[r3, i0:i1]
    c0, c1, c2, c3 = inc[0], inc[1], inc[2], inc[3]
    d0, d1, d2, d3 = dec[0], dec[1], dec[2], dec[3]
    if i0 == 0:
        o0[0], o1[0] = c0[0] - d0[0], c1[0] - d1[0]
        o2[0], o3[0] = c2[0] - d2[0], c3[0] - d3[0]
    else:
        o0[0] = out[r0, i0 - 1] + c0[0] - d0[0]
        o1[0] = out[r1, i0 - 1] + c1[0] - d1[0]
        o2[0] = out[r2, i0 - 1] + c2[0] - d2[0]
        o3[0] = out[r3, i0 - 1] + c3[0] - d3[0]
    a0, a1, a2, a3 = o0[0], o1[0], o2[0], o3[0]
    for i in range(1, i1 - i0):
        o0[i] = a0 + c0[i] - d0[i]
        a0 = o0[i]
        o1[i] = a1 + c1[i] - d1[i]
        a1 = o1[i]
        o2[i] = a2 + c2[i] - d2[i]
        a2 = o2[i]
        o3[i] = a3 + c3[i] - d3[i]
        a3 = o3[i]
