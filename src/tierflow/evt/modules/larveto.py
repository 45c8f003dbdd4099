"""The liquid-argon veto: how likely the SiPM light of an event is to belong to its HPGe hit.

The L200 classifier (the anchor's ``pygama.evt.modules.larveto``) combines, per event,

* a time term: each SiPM pulse (``n`` photo-electrons, arrival time ``t`` relative to the
  HPGe ``t0``) adds ``-n log p(t)``, with ``p`` the LAr scintillation time pdf (singlet and
  triplet exponentials convolved with a normal resolution, plus a uniform background); the
  sum is divided by the event's total number of photo-electrons ``N``;
* an amplitude term: ``log`` of the random-coincidence density of ``N`` (tabulated up to
  15 p.e., continued exponentially beyond).

Events without light get ``+inf``. Everything is vectorised over the flat pulses of a chunk.

Example
-------
>>> import numpy as np
>>> round(float(l200_rc_amp_logpdf(np.array([2.0]), [0.5, 0.25, 0.125])[0]), 4)
-2.0794
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError, MismatchError
from tierflow.evt._data import EventChunk
from tierflow.evt._functions import register_evt_function
from tierflow.types import Array, VectorOfVectors

__all__ = [
    "geds_coincidence_classifier",
    "l200_combined_test_stat",
    "l200_rc_amp_logpdf",
    "l200_tc_time_pdf",
    "l200_test_stat",
    "pulse_amp_round",
]

FloatArray = npt.NDArray[np.float64]


def pulse_amp_round(amp: Any) -> Any:
    """The most likely whole number of photo-electrons of pulses of amplitude `amp` (p.e.):
    amplitudes below 1 go up to 1 (``ceil``), others to the nearest integer (halves up).

    Example
    -------
    >>> pulse_amp_round(np.array([0.2, 1.49, 1.5, 3.7]))
    array([1., 1., 2., 4.])
    """
    amp = np.asarray(amp, dtype=np.float64)
    return np.where(amp < 1, np.ceil(amp), np.floor(amp + 0.5))


def l200_tc_time_pdf(
    t0: Any,
    *,
    domain_ns: tuple[float, float] = (-1_000, 5_000),
    tau_singlet_ns: float = 6,
    tau_triplet_ns: float = 1100,
    sing2tot_ratio: float = 1 / 3,
    t0_res_ns: float = 35,
    t0_bias_ns: float = -80,
    bkg_prob: float = 0.42,
) -> FloatArray:
    """The L200 LAr scintillation time pdf at pulse times `t0` (ns, relative to the HPGe t0):
    ``(1 - bkg) [(1 - s) EMG(τ_triplet) + s EMG(τ_singlet)] + bkg U(domain)``, where ``EMG``
    is an exponential convolved with a normal of mean `t0_bias_ns` and width `t0_res_ns`.

    Raises
    ------
    MismatchError
        If a time is outside `domain_ns` (mask the pulses first).

    Example
    -------
    >>> t = np.linspace(-1000, 5000, 60001)
    >>> round(float(np.sum(l200_tc_time_pdf(t)) * 0.1), 3)  # less the triplet's tail
    0.996
    """
    from scipy import stats

    t0 = np.asarray(t0, dtype=np.float64)
    lo, hi = domain_ns
    if np.any(t0 > hi) or np.any(t0 < lo):
        bad = t0[(t0 > hi) | (t0 < lo)]
        raise MismatchError(
            f"SiPM pulse times {bad[:3].tolist()} ns are outside the time pdf's domain "
            f"{tuple(domain_ns)}; restrict them with dt_range_ns"
        )
    triplet = stats.exponnorm.pdf(t0, tau_triplet_ns / t0_res_ns, loc=t0_bias_ns, scale=t0_res_ns)
    singlet = stats.exponnorm.pdf(t0, tau_singlet_ns / t0_res_ns, loc=t0_bias_ns, scale=t0_res_ns)
    uniform = stats.uniform.pdf(t0, lo, hi - lo)
    signal = (1 - sing2tot_ratio) * triplet + sing2tot_ratio * singlet
    result: FloatArray = (1 - bkg_prob) * signal + bkg_prob * uniform
    return result


def l200_rc_amp_logpdf(
    n_pes: Any, rc_density: Sequence[float] | None = None, logexp_cont_slope: float = -1 / 10
) -> FloatArray:
    """log of the random-coincidence density of a total of `n_pes` photo-electrons: the
    tabulated `rc_density` up to ``min(len - 1, 15)`` p.e., then a decaying exponential
    (slope `logexp_cont_slope`) from the last tabulated value; NaN stays NaN.

    Example
    -------
    >>> l200_rc_amp_logpdf(np.array([0.0, 3.0]), [1.0, 0.5])
    array([ 0.        , -0.89314718])
    """
    if not logexp_cont_slope < 0:
        raise ConfigError(f"logexp_cont_slope must be negative, not {logexp_cont_slope}")
    density = np.asarray([1.0] if rc_density is None else rc_density, dtype=np.float64)
    n = np.asarray(n_pes, dtype=np.float64)
    limit = min(len(density) - 1, 15)
    tabulated = n <= limit  # False for NaN, which goes through the continuation
    index = np.zeros(n.shape, dtype=np.int64)
    index[tabulated] = np.trunc(n[tabulated]).astype(np.int64)  # int(): towards zero
    with np.errstate(divide="ignore"):
        log_density = np.log(density)
    continued = logexp_cont_slope * (n - limit) + log_density[limit]
    result: FloatArray = np.where(tabulated, log_density[index], continued)
    return result


def l200_test_stat(
    relative_t0: Any,
    amp: Any,
    ts_bkg_prob: float,
    rc_density: Sequence[float] | None = None,
) -> FloatArray:
    """The classifier from pulses grouped by event (2-level jagged: event → pulse).

    `relative_t0` are pulse times relative to the HPGe t0 (ns), `amp` amplitudes (p.e.).
    """
    import awkward as ak

    counts = np.asarray(ak.num(relative_t0, axis=-1), dtype=np.int64)
    flat_t0 = np.asarray(ak.flatten(relative_t0, axis=None), dtype=np.float64)
    flat_amp = np.asarray(ak.flatten(amp, axis=None), dtype=np.float64)
    if len(flat_t0) != len(flat_amp):
        raise MismatchError("pulse times and amplitudes have different structures")
    return _test_stat_flat(flat_t0, flat_amp, counts, ts_bkg_prob, rc_density)


def _test_stat_flat(
    t0: FloatArray,
    amp: FloatArray,
    counts: npt.NDArray[np.int64],
    ts_bkg_prob: float,
    rc_density: Sequence[float] | None,
) -> FloatArray:
    n_events = len(counts)
    event = np.repeat(np.arange(n_events), counts)
    n_pes = pulse_amp_round(amp)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = n_pes * np.log(l200_tc_time_pdf(t0, bkg_prob=ts_bkg_prob))
    ts_time = -np.bincount(event, weights=terms, minlength=n_events)
    n_pe_tot = np.bincount(event, weights=n_pes, minlength=n_events)
    n_pe_tot = np.where(n_pe_tot == 0, np.nan, n_pe_tot)
    ts_amp = l200_rc_amp_logpdf(n_pe_tot, rc_density)
    with np.errstate(invalid="ignore"):
        result: FloatArray = np.where(np.isnan(n_pe_tot), np.inf, ts_time / n_pe_tot + ts_amp)
    return result


def l200_combined_test_stat(
    t0: Any,
    amp: Any,
    geds_t0: Any,
    ts_bkg_prob: float,
    rc_density: Sequence[float] | None = None,
) -> FloatArray:
    """The classifier from 3-level jagged pulse data (event → SiPM channel → pulse): the
    channels of an event are merged, times taken relative to the event's `geds_t0` (ns).

    Example
    -------
    >>> import awkward as ak
    >>> t0 = ak.Array([[[-60.0, 10.0], [300.0]], [[]]])
    >>> amp = ak.Array([[[1.2, 0.4], [2.6]], [[]]])
    >>> ts = l200_combined_test_stat(t0, amp, np.array([0.0, 0.0]), 0.42, [0.6, 0.3, 0.1])
    >>> bool(np.isfinite(ts[0])), float(ts[1])
    (True, inf)
    """
    import awkward as ak

    t0 = ak.flatten(t0, axis=-1)
    amp = ak.flatten(amp, axis=-1)
    geds = np.asarray(ak.to_numpy(ak.Array(geds_t0)), dtype=np.float64)
    counts = np.asarray(ak.num(t0, axis=-1), dtype=np.int64)
    if len(geds) != len(counts):
        raise MismatchError(f"{len(geds)} HPGe t0 values for {len(counts)} events")
    flat_t0 = np.asarray(ak.flatten(t0, axis=None), dtype=np.float64)
    flat_amp = np.asarray(ak.flatten(amp, axis=None), dtype=np.float64)
    relative = flat_t0 - np.repeat(geds, counts)
    return _test_stat_flat(relative, flat_amp, counts, ts_bkg_prob, rc_density)


def _as_ak(obj: Any) -> Any:
    if isinstance(obj, (VectorOfVectors, Array)):
        return obj.view_as("ak")
    return obj


def geds_coincidence_classifier(
    chunk: EventChunk,
    channels: Sequence[str],
    channel_mapping: Mapping[str, Any] | None = None,
    *,
    spms_t0: Any,
    spms_amp: Any,
    geds_t0_ns: Any,
    ts_bkg_prob: float,
    rc_density: Sequence[float] | None = None,
) -> Array:
    """The HPGe / SiPM coincidence classifier of each event (an evt function; the anchor's
    ``pygama.evt.modules.spms.geds_coincidence_classifier``): lower means more LAr-like.

    Example
    -------
    >>> # in a config: pygama.evt.modules.spms.geds_coincidence_classifier(<...>,
    >>> #     spms_t0=evt.spms_t0, spms_amp=evt.spms_amp, geds_t0_ns=evt.geds_t0,
    >>> #     ts_bkg_prob=0.42, rc_density=[...])
    """
    return Array(
        l200_combined_test_stat(
            _as_ak(spms_t0), _as_ak(spms_amp), _as_ak(geds_t0_ns), ts_bkg_prob, rc_density
        )
    )


register_evt_function("spms", "geds_coincidence_classifier", geds_coincidence_classifier)
register_evt_function("larveto", "geds_coincidence_classifier", geds_coincidence_classifier)
