"""A Th-228 calibration run: HPGe energies, preamplifier waveforms, SiPM light, timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.flow.sim._fcio import SparseEvents

__all__ = ["TH228_LINES", "Channel", "Detectors", "make_detectors", "simulate_events"]

ELECTRON_MASS_KEV = 510.999

TH228_LINES: tuple[tuple[float, float], ...] = (
    (238.632, 0.436),
    (300.087, 0.033),
    (583.191, 0.306),
    (727.330, 0.067),
    (860.564, 0.045),
    (1592.511, 0.012),  # double escape of 2614.5
    (1620.500, 0.015),
    (2103.511, 0.018),  # single escape of 2614.5
    (2614.511, 0.359),
)
"""(energy keV, relative full-energy-peak intensity) of the Th-228 chain as HPGe see it."""

PEAK_FRACTION = 0.2
"""Fraction of the interactions depositing a line's full energy; the rest is Compton continuum."""


@dataclass(frozen=True)
class Channel:
    """One readout channel: where it sits in the FCIO tracemap and its analogue response."""

    name: str
    card: int
    card_input: int
    kind: str  # "geds" or "spms"
    gain: float  # ADC per keV (HPGe) or per photoelectron (SiPM)
    baseline: float
    noise: float
    tau_ns: float
    rise_ns: float

    @property
    def key(self) -> int:
        return self.card * 100 + self.card_input


@dataclass(frozen=True)
class Detectors:
    """The channels of the simulated set-up, HPGe first."""

    channels: tuple[Channel, ...]

    def of_kind(self, kind: str) -> list[int]:
        return [i for i, c in enumerate(self.channels) if c.kind == kind]

    @property
    def tracemap(self) -> tuple[int, ...]:
        return tuple((c.card << 16) + c.card_input for c in self.channels)


def make_detectors(n_geds: int = 3, n_spms: int = 4, seed: int = 1) -> Detectors:
    """HPGe channels on card 10, SiPM channels on card 20, each with its own response.

    Example
    -------
    >>> [c.name for c in make_detectors(2, 1).channels]
    ['ch1000', 'ch1001', 'ch2000']
    """
    rng = np.random.default_rng(seed)
    chans = [
        Channel(
            f"ch{1000 + i}", 10, i, "geds", float(rng.uniform(6.0, 9.0)),
            float(rng.uniform(1500, 3000)), float(rng.uniform(2.5, 4.0)),
            float(rng.uniform(120e3, 250e3)), float(rng.uniform(150, 300)),
        )
        for i in range(n_geds)
    ]  # fmt: skip
    chans += [
        Channel(
            f"ch{2000 + i}", 20, i, "spms", float(rng.uniform(25, 40)),
            float(rng.uniform(400, 600)), float(rng.uniform(1.5, 2.5)), 300.0, 20.0,
        )
        for i in range(n_spms)
    ]  # fmt: skip
    return Detectors(tuple(chans))


def _compton(rng: np.random.Generator, line: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Energy left by one Compton scatter of a `line` gamma (Klein-Nishina-like, flat-ish)."""
    k = line / ELECTRON_MASS_KEV
    edge = line * 2 * k / (1 + 2 * k)
    u = rng.random(line.size)
    return edge * (0.25 * u + 0.75 * u**3)  # a shoulder rising to the Compton edge


def sample_energies(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    """Deposited energies (keV): Th-228 lines on their Compton continua, with HPGe resolution."""
    energies = np.array([e for e, _ in TH228_LINES])
    weights = np.array([w for _, w in TH228_LINES])
    line = energies[rng.choice(energies.size, n, p=weights / weights.sum())]
    full = rng.random(n) < PEAK_FRACTION
    dep = np.where(full, line, _compton(rng, line))
    sigma = np.sqrt(0.5 + 0.00045 * dep)
    return np.clip(dep + rng.normal(0, 1, n) * sigma, 1.0, None)


def pulses(
    t_ns: npt.NDArray[np.floating[Any]],
    t0_ns: npt.NDArray[np.floating[Any]],
    amplitude: npt.NDArray[np.floating[Any]],
    chan: Channel,
) -> npt.NDArray[np.float32]:
    """Preamplifier pulses: a smooth rise at `t0_ns` then an exponential decay."""
    dt = t_ns.astype(np.float32)[None, :] - t0_ns.astype(np.float32)[:, None]
    rise = np.tanh(dt * np.float32(1 / (0.4 * chan.rise_ns)))
    rise += 1
    decay = np.maximum(dt, 0)
    decay *= np.float32(-1 / chan.tau_ns)
    np.exp(decay, out=decay)
    rise *= decay
    rise *= (0.5 * amplitude).astype(np.float32)[:, None]
    out: npt.NDArray[np.float32] = rise.astype(np.float32, copy=False)
    return out


def _waveforms(
    rng: np.random.Generator,
    chan: Channel,
    amplitude: npt.NDArray[np.float64],
    nsamples: int,
    pileup: float,
) -> npt.NDArray[np.uint16]:
    t = np.arange(nsamples) * 16.0
    t0 = np.full(amplitude.size, nsamples * 16.0 * 0.45) + rng.normal(0, 16, amplitude.size)
    wf = pulses(t, t0, amplitude, chan)
    piled = np.flatnonzero(rng.random(amplitude.size) < pileup)
    if piled.size:
        t1 = rng.uniform(-20e3, nsamples * 16.0, piled.size)
        a1 = sample_energies(rng, piled.size) * chan.gain
        wf[piled] += pulses(t, t1, a1, chan)
    wf += rng.standard_normal(wf.shape, dtype=np.float32) * np.float32(chan.noise)
    wf += np.float32(chan.baseline)
    return np.clip(np.rint(wf), 0, 65535).astype(np.uint16)


def simulate_events(
    detectors: Detectors,
    n_events: int,
    *,
    seed: int,
    start_ns: int = 0,
    rate_hz: float = 200.0,
    nsamples: int = 800,
    pileup: float = 0.02,
    start_unix_s: int = 1_700_000_000,
) -> SparseEvents:
    """`n_events` triggers of a Th-228 run: one or two HPGe hits, scintillation light in the
    SiPMs for some of them, and SiPM-only dark-count triggers; all traces of an event share its
    timestamp.
    """
    rng = np.random.default_rng(seed)
    geds, spms = detectors.of_kind("geds"), detectors.of_kind("spms")
    time = start_ns + np.cumsum(rng.exponential(1e9 / rate_hz, n_events)).astype(np.int64)
    dark = rng.random(n_events) < 0.05 if spms else np.zeros(n_events, bool)
    hit_ged = np.zeros((n_events, len(geds)), bool)
    first = rng.integers(0, len(geds), n_events)
    hit_ged[np.arange(n_events), first] = ~dark
    if len(geds) > 1:
        second = (first + rng.integers(1, len(geds), n_events)) % len(geds)
        hit_ged[np.arange(n_events), second] |= (rng.random(n_events) < 0.1) & ~dark
    light = (rng.random((n_events, len(spms))) < 0.3) & ~dark[:, None]
    light |= dark[:, None] & (rng.random((n_events, len(spms))) < 0.5)
    light[dark & ~light.any(axis=1), 0] = True
    fired = np.concatenate([hit_ged, light], axis=1)
    order = np.array(geds + spms)
    ev, col = np.nonzero(fired)
    trace = order[col]
    wfs = np.zeros((ev.size, nsamples), np.uint16)
    daqe = np.zeros(ev.size, np.float64)
    base = np.zeros(ev.size, np.float64)
    for c in np.unique(trace):
        rows = np.flatnonzero(trace == c)
        chan = detectors.channels[c]
        if chan.kind == "geds":
            amp = sample_energies(rng, rows.size) * chan.gain
        else:
            amp = rng.poisson(np.where(dark[ev[rows]], 1.0, 4.0)).clip(1, None) * chan.gain
        wfs[rows] = _waveforms(rng, chan, amp, nsamples, pileup if chan.kind == "geds" else 0)
        daqe[rows], base[rows] = amp, chan.baseline
    return SparseEvents(
        time_ns=time,
        event_of_trace=ev.astype(np.int64),
        trace=trace.astype(np.int64),
        waveforms=wfs,
        baseline=np.rint(base).astype(np.uint16),
        daqenergy=np.clip(daqe, 0, 65535).astype(np.uint16),
        start_unix_s=start_unix_s,
    )
