# mypy: allow-untyped-calls, allow-untyped-defs
"""Polynomial fits of waveforms and the residuals around them; pole-zero constant fits.

``poly_fit`` is a factory (``init_args: [length, degree]``): it inverts the normal-equation
matrix once and returns a processor that only accumulates the moments of each row.
"""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel
from tierflow.dsp.processors._spec import Processor

__all__ = ["make_poly_fit", "optimize_1pz", "poly_diff", "poly_exp_rms", "poly_fitter"]


@kernel
def poly_fitter(inverse, w, pars):
    """Least-squares polynomial coefficients (lowest order first) of each row."""
    m = pars.shape[1]
    moments = np.zeros(m)
    for r in range(w.shape[0]):
        pars[r, :] = np.nan
        if has_nan(w[r]):
            continue
        moments[:] = 0
        for i in range(w.shape[1]):
            power = 1.0
            for j in range(m):
                moments[j] += w[r, i] * power
                power *= i
        for j in range(m):
            acc = 0.0
            for k in range(m):
                acc += inverse[j, k] * moments[k]
            pars[r, j] = acc


def make_poly_fit(length: int, degree: int) -> Processor:
    """The processor fitting waveforms of `length` samples with a polynomial of `degree`.

    Example
    -------
    >>> import numpy as np
    >>> from tierflow.dsp.processors._fits import make_poly_fit
    >>> fit = make_poly_fit(50, 1)
    >>> pars = fit(np.arange(50, dtype="float64") * 2 + 3, np.zeros(2))
    >>> np.round(pars[0], 6).tolist()
    [3.0, 2.0]
    """
    length, degree = int(length), int(degree)
    if length <= degree or degree < 0:
        raise ValueError("poly_fit needs 0 <= degree < length")
    x = np.arange(length, dtype=np.float64)
    sums = np.array([np.sum(x**j) for j in range(2 * degree + 1)])
    matrix = np.array([sums[i : i + degree + 1] for i in range(degree + 1)])
    inverse = np.linalg.inv(matrix)
    return Processor(
        f"poly_fit({length}, {degree})",
        "(n)->(m)",
        ("f->f", "d->d"),
        "tierflow.dsp.processors._fits:poly_fitter",
        bound=(inverse,),
    )


poly_fit = make_poly_fit


@kernel
def _residuals(w, pars, r, exponential, mean, rms):
    mean[r] = rms[r] = 0
    for i in range(w.shape[1]):
        model = 0.0
        power = 1.0
        for j in range(pars.shape[1]):
            model += pars[r, j] * power
            power *= i
        diff = w[r, i] - (np.exp(model) if exponential else model)
        mean[r] += diff / (i + 1)
        rms[r] += diff * diff
    rms[r] = np.sqrt(rms[r] / (w.shape[1] - 1))


@kernel
def poly_diff(w, pars, mean, rms):
    """Mean (the anchor's running form) and RMS of the waveform minus the polynomial."""
    for r in range(w.shape[0]):
        mean[r] = rms[r] = np.nan
        if not (has_nan(w[r]) or has_nan(pars[r])):
            _residuals(w, pars, r, False, mean, rms)


@kernel
def poly_exp_rms(w, pars, mean, rms):
    """As :func:`poly_diff` for the exponential of the polynomial."""
    for r in range(w.shape[0]):
        mean[r] = rms[r] = np.nan
        if not (has_nan(w[r]) or has_nan(pars[r])):
            _residuals(w, pars, r, True, mean, rms)


@kernel
def _tail_slope(y, tau, beg, end):
    """Slope (times the anchor's normalisation) of the pole-zero corrected ``y[beg:end]``."""
    const = np.exp(-1 / tau)
    acc = y[0]
    sx = sy = sxy = 0.0
    for i in range(1, end):
        acc = acc + y[i] - y[i - 1] * const
        if i >= beg:
            sx += i
            sy += acc
            sxy += i * acc
    if beg == 0:
        sy += y[0]
    return sx * sy - (end - beg) * sxy


@kernel
def optimize_1pz(w, baseline, t_beg, t_end, p0, tau_out):
    """The decay constant whose pole-zero correction leaves ``w[t_beg:t_end]`` flat.

    Solves for a zero slope of the corrected tail by the secant method from `p0` (the
    anchor minimises the absolute slope with Minuit; both find the same root).
    """
    for r in range(w.shape[0]):
        tau_out[r] = np.nan
        if has_nan(w[r]) or np.isnan(baseline[r]) or np.isnan(p0[r]):
            continue
        beg, end = int(t_beg[r]), int(t_end[r])
        if beg != t_beg[r] or end != t_end[r] or beg < 0 or end > w.shape[1] or end - beg < 2:
            raise ValueError("optimize_1pz needs integer t_beg < t_end inside the waveform")
        y = w[r].astype(np.float64) - baseline[r]
        a, b = float(p0[r]), float(p0[r]) * 1.01
        fa, fb = _tail_slope(y, a, beg, end), _tail_slope(y, b, beg, end)
        for _ in range(100):
            if fb == fa or not np.isfinite(fb):
                break
            a, b, fa = b, b - fb * (b - a) / (fb - fa), fb
            fb = _tail_slope(y, b, beg, end)
            if abs(b - a) <= 1e-10 * abs(b):
                break
        tau_out[r] = b
