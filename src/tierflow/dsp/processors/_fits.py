# mypy: allow-untyped-calls, allow-untyped-defs
"""Polynomial fits of waveforms and the residuals around them; pole-zero constant fits.

``poly_fit`` is a factory (``init_args: [length, degree]``): it inverts the normal-equation
matrix once and returns a processor that only accumulates the moments of each row.
"""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors._jit import has_nan, kernel
from tierflow.dsp.processors._spec import Processor

__all__ = [
    "make_poly_fit",
    "optimize_1pz",
    "optimize_2pz",
    "poly_diff",
    "poly_exp_rms",
    "poly_fitter",
]


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


def _flat_tail_objective(y: np.ndarray, beg: int, end: int):  # type: ignore[no-untyped-def]
    """|slope| (the anchor's normalisation) of ``y[beg:end]`` after a double pole-zero."""
    from tierflow.dsp.processors._pole_zero import double_pole_zero

    x = np.arange(beg, end)
    rows = y.reshape(1, -1)
    corrected = np.empty_like(rows)

    def objective(pars: np.ndarray) -> float:
        tau1, tau2, frac = (np.array([p], dtype=np.float64) for p in pars)
        double_pole_zero(rows, tau1, tau2, frac, corrected)
        tail = corrected[0, beg:end]
        return float(np.abs(np.sum(x) * np.sum(tail) - len(x) * np.sum(x * tail)))

    return objective


def _check_window(t_beg: float, t_end: float, n: int) -> tuple[int, int]:
    if np.floor(t_beg) != t_beg or np.floor(t_end) != t_end:
        raise ValueError("optimize_2pz needs whole-sample t_beg and t_end")
    if not (0 <= t_beg <= n and 0 <= t_end <= n):
        raise ValueError(f"optimize_2pz window {t_beg:g}-{t_end:g} outside the waveform (0-{n})")
    return int(t_beg), int(t_end)


def optimize_2pz(
    w: np.ndarray,
    baseline: np.ndarray,
    t_beg: np.ndarray,
    t_end: np.ndarray,
    tau_max: np.ndarray,
    frac_max: np.ndarray,
    p0: np.ndarray,
    p1: np.ndarray,
    p2: np.ndarray,
    tau1_out: np.ndarray,
    tau2_out: np.ndarray,
    frac_out: np.ndarray,
) -> None:
    """Double pole-zero constants (long `tau1`, short `tau2`, fraction) flattening a tail.

    As the anchor: Minuit, from the start values `p0`, `p1`, `p2` within ``[0, tau_max]``
    (both decay constants) and ``[0, frac_max]``, minimises the absolute least-squares slope
    of ``w[t_beg:t_end] - baseline`` after :func:`double_pole_zero` (simplex, then migrad).
    Rows holding a NaN give NaN. Times are in samples. A zero slope is one condition on three
    constants, so the answer depends on the start values, as in the anchor.

    Example
    -------
    >>> import numpy as np
    >>> from tierflow.dsp.processors import PROCESSORS
    >>> t = np.arange(4000.0)
    >>> tail = 900 * np.exp(-(t - 500) / 2000) + 100 * np.exp(-(t - 500) / 100)
    >>> w = np.where(t >= 500, tail, 0) + 25
    >>> fit = PROCESSORS["optimize_2pz"](w, 25, 1000, 3900, 5000, 0.5, 1900, 90, 0.12)
    >>> [round(float(v[0]), 4) for v in fit]  # a flat tail; the anchor's answer to the bit
    [1999.68, 85.0903, 0.1167]
    """
    from iminuit import Minuit

    for r in range(w.shape[0]):
        tau1_out[r] = tau2_out[r] = frac_out[r] = np.nan
        start = (p0[r], p1[r], p2[r])
        if np.isnan(w[r]).any() or np.isnan([baseline[r], t_beg[r], t_end[r], *start]).any():
            continue
        beg, end = _check_window(float(t_beg[r]), float(t_end[r]), w.shape[1])
        y = np.asarray(w[r], dtype=np.float64) - baseline[r]
        fit = Minuit(_flat_tail_objective(y, beg, end), [float(p) for p in start])
        fit.errordef = Minuit.LEAST_SQUARES
        fit.limits = [(0, tau_max[r]), (0, tau_max[r]), (0, frac_max[r])]
        fit.print_level = -1
        fit.strategy = 1
        fit.simplex().migrad()
        tau1_out[r], tau2_out[r], frac_out[r] = fit.values
