"""A tiny FCIO (tmio) writer for tests: protocol header, config, event and RecEvent records.

Records are a negative tag followed by frames (int32 size, then the bytes), as FlashCam's
fcio library writes them (``FCIOPutConfig``, ``FCIOPutEvent``, ``FCIOPutRecEvent``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

__all__ = ["HEADER", "config", "event", "floats", "ints", "recevent", "record"]

HEADER = struct.pack("<i", -1000000001) + b"FlashCamV1".ljust(64, b"\0")


def ints(*values: int) -> bytes:
    return np.array(values, "<i4").tobytes()


def floats(*values: float) -> bytes:
    return np.array(values, "<f4").tobytes()


def record(tag: int, *frames: bytes) -> bytes:
    return struct.pack("<i", -tag) + b"".join(struct.pack("<i", len(f)) + f for f in frames)


def config(
    tracemap: Sequence[int], nsamples: int = 8, streamid: int = 1, adcbits: int = 16
) -> bytes:
    """A config record of ``len(tracemap)`` ADC traces (one ADC card, no GPS)."""
    n = len(tracemap)
    head = [n, 0, nsamples, 1, 1, adcbits, 1, 0, 1, 0]
    return record(1, *(ints(v) for v in head), np.array(tracemap, "<u4").tobytes(), ints(streamid))


def event(eventnumber: int, samples: np.ndarray, pps: int = 5, ticks: int = 100) -> bytes:
    """A full event: `samples` is (traces, nsamples); baselines 0, energies = first sample."""
    ntr, ns = samples.shape
    traces = np.zeros((ntr, ns + 2), "<u2")
    traces[:, 1] = samples[:, 0]
    traces[:, 2:] = samples
    stamp = ints(eventnumber, pps, ticks, 249999999, 0, 0, 0, 0, 0, 0)
    return record(3, ints(0), floats(0), ints(*[0] * 10), stamp, traces.tobytes(), ints(*[0] * 10))


def recevent(
    eventnumber: int,
    channel_pulses: Sequence[int],
    flags: Sequence[int],
    amplitudes: Sequence[float],
    times: Sequence[float],
    pps: int = 3,
    ticks: int = 10,
    pulser: float = 2.5,
) -> bytes:
    """A RecEvent record (``FCIOPutRecEvent`` order)."""
    stamp = ints(eventnumber, pps, ticks, 249999999, 0, 0, 0, 0, 0, 0)
    return record(
        5,
        ints(4),
        floats(pulser),
        ints(*[0] * 10),
        stamp,
        ints(*[0] * 10),
        ints(len(flags)),
        ints(*channel_pulses),
        ints(*flags),
        floats(*amplitudes),
        floats(*times),
    )
