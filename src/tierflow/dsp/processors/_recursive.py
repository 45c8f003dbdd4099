# mypy: allow-untyped-calls, allow-untyped-defs
"""Recursive (IIR) filters: the difference equation, and Butterworth-type designs on top.

``iir_filter`` is a factory (``init_args: [freq, order, ...]``) designing the filter with
scipy (an optional dependency) once per chain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel
from tierflow.dsp.processors._spec import Processor
from tierflow.errors import OptionalDependencyError

__all__ = ["iir_filter", "iir_kernel", "recursive_filter"]


@kernel
def _filter_row(w, a, b, init_in, init_out, out):
    ring = np.full(b.shape[0], np.float64(init_out))
    for i in range(w.shape[0]):
        k = i % ring.shape[0]
        acc = 0.0
        for j in range(a.shape[0]):
            acc += a[j] * (w[i - j] if j <= i else init_in)
        for j in range(1, b.shape[0]):
            acc -= b[j] * ring[(k - j) % ring.shape[0]]
        ring[k] = acc / b[0]
        out[i] = ring[k]


@kernel
def recursive_filter(w, a, b, init_in, init_out, out):
    """``b[0] y[i] = sum_j a[j] w[i-j] - sum_{j>0} b[j] y[i-j]``; before the start the input
    is `init_in` and the output `init_out`."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]) or has_nan(a[r]) or has_nan(b[r]):
            continue
        if np.isnan(init_in[r]) or np.isnan(init_out[r]):
            continue
        if b.shape[1] == 0 or w.shape[1] <= b.shape[1]:
            raise ValueError("recursive_filter needs feedback coefficients and a longer waveform")
        _filter_row(w[r], a[r], b[r], init_in[r], init_out[r], out[r])


@kernel
def iir_kernel(a, b, gain, w, out):
    """A designed filter: starts as if the first sample had always been there."""
    for r in range(w.shape[0]):
        out[r, :] = np.nan
        if has_nan(w[r]):
            continue
        _filter_row(w[r], a, b, w[r, 0], gain * w[r, 0], out[r])


def _critical(freq: Any, f_samp: Any) -> Any:
    """Frequencies as fractions of Nyquist (`f_samp` a sampling frequency or a waveform)."""
    period = getattr(getattr(f_samp, "grid", None), "period", None)
    if period is not None:
        return [float(2 * f * period) for f in np.atleast_1d(freq)]
    if f_samp is None:
        return [float(f) for f in np.atleast_1d(freq)]
    return [float(2 * f / f_samp) for f in np.atleast_1d(freq)]


def iir_filter(
    freq: Any,
    order: int,
    rp: float | None = None,
    rs: float | None = None,
    f_samp: Any = None,
    ftype: str = "butter",
    btype: str = "lowpass",
) -> Processor:
    """A processor applying scipy's ``iirfilter(order, freq, ...)`` design to waveforms."""
    try:
        from scipy import signal
    except ImportError:
        raise OptionalDependencyError("iir_filter needs scipy: pip install scipy") from None
    critical = _critical(freq, f_samp)
    wanted = 1 if btype in ("lowpass", "highpass") else 2
    if btype not in ("lowpass", "highpass", "bandpass", "bandstop") or len(critical) != wanted:
        raise ValueError(f"a {btype} filter needs {wanted} frequencies")
    if not all(0 <= f <= 1 for f in critical):
        raise ValueError("critical frequencies must be between 0 and the Nyquist frequency")
    fc = critical[0] if wanted == 1 else critical
    a, b = signal.iirfilter(int(order), fc, rp=rp, rs=rs, btype=btype, ftype=ftype)
    gain = float(np.sum(a) / np.sum(b))
    return Processor(
        f"{ftype}({freq}, {order}, {btype})",
        "(n)->(n)",
        ("f->f", "d->d"),
        "tierflow.dsp.processors._recursive:iir_kernel",
        bound=(np.asarray(a, np.float64), np.asarray(b, np.float64), gain),
    )
