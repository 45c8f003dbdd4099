"""Simulated runs written as FCIO files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tierflow.flow.sim._fcio import FCIOConfig, FCIOWriter
from tierflow.flow.sim._physics import Detectors, simulate_events

__all__ = ["write_daq_file", "write_daq_files"]

BLOCK = 2000  # events simulated at a time


def write_daq_file(
    path: str | os.PathLike[str],
    detectors: Detectors,
    n_events: int,
    *,
    seed: int,
    start_ns: int = 0,
    rate_hz: float = 200.0,
    nsamples: int = 800,
    start_unix_s: int = 1_700_000_000,
) -> Path:
    """Simulate `n_events` triggers into one FCIO file (appears only when complete)."""
    config = FCIOConfig(tracemap=detectors.tracemap, nsamples=nsamples)
    t = start_ns
    with FCIOWriter(path, config) as writer:
        for i, lo in enumerate(range(0, n_events, BLOCK)):
            n = min(BLOCK, n_events - lo)
            events = simulate_events(
                detectors, n, seed=seed * 1000 + i, start_ns=t, rate_hz=rate_hz,
                nsamples=nsamples, start_unix_s=start_unix_s,
            )  # fmt: skip
            writer.write(events)
            t = int(events.time_ns[-1]) + 1
    return Path(path)


def write_daq_files(
    directory: str | os.PathLike[str],
    detectors: Detectors,
    n_files: int,
    n_events: int,
    *,
    seed: int = 1,
    name: str = "l200-p00-r000-cal-{timestamp}.fcio",
    nsamples: int = 800,
    rate_hz: float = 200.0,
) -> Sequence[Path]:
    """`n_files` consecutive files of one run, named with their start time (``{timestamp}``:
    ``YYYYmmddTHHMMSSZ``); existing files are kept as they are."""
    import datetime

    out = []
    span_s = max(1, int(n_events / rate_hz) + 1)
    start0 = 1_700_000_000
    for i in range(n_files):
        start = start0 + i * span_s
        stamp = datetime.datetime.fromtimestamp(start, datetime.timezone.utc)
        path = Path(directory) / name.format(timestamp=stamp.strftime("%Y%m%dT%H%M%SZ"))
        if not path.exists():
            write_daq_file(
                path, detectors, n_events, seed=seed + i, nsamples=nsamples,
                rate_hz=rate_hz, start_unix_s=start,
            )  # fmt: skip
        out.append(path)
    return out
