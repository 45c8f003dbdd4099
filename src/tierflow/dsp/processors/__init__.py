"""DSP processors under the names processing-chain configs use, in the :data:`PROCESSORS` registry.

Each :class:`Processor` pairs a gufunc-style signature and its allowed types with a kernel
(numba, compiled on first use and cached on disk; or vectorised numpy). Kernels take blocks of
rows: a waveform argument is ``(rows, n)``, a scalar argument ``(rows,)``; outputs are
written in place. Calling a processor on plain arrays broadcasts scalars and allocates outputs.

Third-party processors register through the ``tierflow.dsp.processors`` entry-point group.

Example
-------
>>> import numpy as np
>>> from tierflow.dsp.processors import PROCESSORS
>>> wf = np.r_[np.zeros(10), np.full(20, 5.0)].astype("float32")
>>> t_min, t_max, a_min, a_max = PROCESSORS["min_max"](wf)
>>> float(t_max[0]), float(a_max[0])
(10.0, 5.0)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tierflow.dsp.processors._spec import Processor, parse_signature
from tierflow.registry import Registry

__all__ = ["FLOAT_TYPES", "PROCESSORS", "Processor", "parse_signature"]

PROCESSORS: Registry[Processor] = Registry(
    "DSP processor", entry_point_group="tierflow.dsp.processors"
)
"""Processor name → :class:`Processor`; numpy functions are under ``numpy.<name>``."""

_PKG = "tierflow.dsp.processors"


def FLOAT_TYPES(pattern: str) -> tuple[str, ...]:  # noqa: N802  (reads like a constant table)
    """The float32 and float64 versions of `pattern`, where ``F`` stands for the float type."""
    return tuple(pattern.replace("F", c) for c in "fd")


def _add(name: str, signature: str, types: Iterable[str], target: str, **flags: Any) -> None:
    PROCESSORS.add(name, Processor(name, signature, tuple(types), f"{_PKG}.{target}", **flags))


# baselines and extrema
_add("min_max", "(n)->(),(),(),()", FLOAT_TYPES("F->FFFF"), "_basic:min_max")
_add("bl_subtract", "(n),()->(n)", FLOAT_TYPES("FF->F"), "_basic:bl_subtract")
_add("linear_slope_fit", "(n)->(),(),(),()", FLOAT_TYPES("F->FFFF"), "_basic:linear_slope_fit")
_add("mean_below_threshold", "(n),()->()", FLOAT_TYPES("FF->F"), "_basic:mean_below_threshold")
# pole-zero
_add("pole_zero", "(n),()->(n)", FLOAT_TYPES("FF->F"), "_pole_zero:pole_zero")
_add("double_pole_zero", "(n),(),(),()->(n)", FLOAT_TYPES("FFFF->F"), "_pole_zero:double_pole_zero")
# trapezoids
_add("trap_filter", "(n),(),()->(n)", FLOAT_TYPES("Fii->F"), "_trap:trap_filter")
_add("trap_norm", "(n),(),()->(n)", FLOAT_TYPES("Fii->F"), "_trap:trap_norm")
_add("asym_trap_filter", "(n),(),(),()->(n)", FLOAT_TYPES("Fiii->F"), "_trap:asym_trap_filter")
_add("trap_pickoff", "(n),(),(),()->()", FLOAT_TYPES("FiiF->F"), "_trap:trap_pickoff")
# pick-offs and time points
_add("fixed_time_pickoff", "(n),(),()->()", FLOAT_TYPES("FFb->F"), "_pickoff:fixed_time_pickoff")
_add("time_point_thresh", "(n),(),(),()->()", FLOAT_TYPES("FFFF->F"), "_pickoff:time_point_thresh")
_add(
    "interpolated_time_point_thresh",
    "(n),(),(),(),()->()",
    FLOAT_TYPES("FFFqb->F"),
    "_pickoff:interpolated_time_point_thresh",
)
_add("time_over_threshold", "(n),()->()", FLOAT_TYPES("FF->F"), "_pickoff:time_over_threshold")
# convolutions and kernels
_add("convolve_wf", "(n),(m),()->(p)", FLOAT_TYPES("FFb->F"), "_convolve:convolve_wf")
_add("fft_convolve_wf", "(n),(m),()->(p)", FLOAT_TYPES("FFb->F"), "_convolve:fft_convolve_wf")
_add(
    "reflected_convolve_wf", "(n),(m)->(p)", FLOAT_TYPES("FF->F"), "_convolve:reflected_convolve_wf"
)
_add("t0_filter", "(),()->(n)", FLOAT_TYPES("FF->F"), "_kernels:t0_filter", const_only=True)
_add("cusp_filter", "(),(),()->(n)", FLOAT_TYPES("FFF->F"), "_kernels:cusp_filter", const_only=True)
_add("zac_filter", "(),(),()->(n)", FLOAT_TYPES("FFF->F"), "_kernels:zac_filter", const_only=True)
_add("moving_slope", "->(n)", FLOAT_TYPES("->F"), "_kernels:moving_slope", const_only=True)
_add(
    "gaussian_filter1d",
    "(),()->(n)",
    FLOAT_TYPES("FF->F"),
    "_kernels:gaussian_filter1d",
    const_only=True,
)
_add("step", "()->(n)", FLOAT_TYPES("F->F"), "_kernels:step", const_only=True)
# moving windows
_add("moving_window_left", "(n),()->(n)", FLOAT_TYPES("FF->F"), "_moving:moving_window_left")
_add("moving_window_right", "(n),()->(n)", FLOAT_TYPES("FF->F"), "_moving:moving_window_right")
_add(
    "moving_window_multi",
    "(n),(),(),()->(n)",
    FLOAT_TYPES("FFFi->F"),
    "_moving:moving_window_multi",
)
_add("avg_current", "(n),()->(m)", FLOAT_TYPES("FF->F"), "_moving:avg_current")
# resampling
_add("windower", "(n),()->(m)", FLOAT_TYPES("FF->F"), "_resample:windower")
_add("upsampler", "(n),()->(m)", FLOAT_TYPES("FF->F"), "_resample:upsampler")
_add(
    "interpolating_upsampler",
    "(n),()->(m)",
    FLOAT_TYPES("Fb->F"),
    "_resample:interpolating_upsampler",
)
_add("presum", "(n),()->(),(m)", FLOAT_TYPES("FF->FF"), "_resample:presum")

# histograms and peak finding (jagged outputs: NaN-padded rows and counts)
_add("histogram", "(n)->(m),(p)", FLOAT_TYPES("F->FF"), "_histogram:histogram")
_add(
    "histogram_stats",
    "(n),(m),(),(),(),()",
    FLOAT_TYPES("FFFFFF"),
    "_histogram:histogram_stats",
    out_args=(2, 3, 4),
)
_add(
    "get_multi_local_extrema",
    "(n),(),(),(),(),()->(m),(m),(),()",
    FLOAT_TYPES("FFFFFF->FFII"),
    "_extrema:get_multi_local_extrema",
)
_add(
    "peak_snr_threshold",
    "(n),(m),(),()->(m),()",
    FLOAT_TYPES("FFFF->FI"),
    "_extrema:peak_snr_threshold",
)
_add("multi_a_filter", "(n),(m)->(m)", FLOAT_TYPES("FF->F"), "_extrema:multi_a_filter")

# thresholds, zero crossings, saturation
_add(
    "multi_time_point_thresh",
    "(n),(m),(),(),()->(m)",
    FLOAT_TYPES("FFFFb->F"),
    "_thresholds:multi_time_point_thresh",
)
_add(
    "bi_level_zero_crossing_time_points",
    "(n),(),(),(),(),(),(m),(m)",
    FLOAT_TYPES("FFFFFIFF"),
    "_thresholds:bi_level_zero_crossing_time_points",
    out_args=(5, 6, 7),
)
_add("saturation", "(n),()->(),()", FLOAT_TYPES("FF->FF"), "_thresholds:saturation")
# spectra
_add("fft", "(n)->(m)", ["f->F", "d->D"], "_spectral:fft")
_add("ifft", "(n)->(m)", ["F->f", "D->d"], "_spectral:ifft")
_add("psd", "(n)->(m)", FLOAT_TYPES("F->F"), "_spectral:psd")
# fits and filters made from init_args, recursive filters, optimum filters
_add("poly_fit", "", [], "_fits:make_poly_fit", factory=True)
_add("poly_diff", "(n),(m)->(),()", FLOAT_TYPES("FF->FF"), "_fits:poly_diff")
_add("poly_exp_rms", "(n),(m)->(),()", FLOAT_TYPES("FF->FF"), "_fits:poly_exp_rms")
_add("optimize_1pz", "(n),(),(),(),()->()", FLOAT_TYPES("FFFFF->F"), "_fits:optimize_1pz")
_add(
    "optimize_2pz",
    "(n),(),(),(),(),(),(),(),()->(),(),()",
    FLOAT_TYPES("FFFFFFFFF->FFF"),
    "_fits:optimize_2pz",
)
_add("iir_filter", "", [], "_recursive:iir_filter", factory=True)
_add(
    "recursive_filter",
    "(n),(p),(q),(),()->(n)",
    ["fddff->f", "ddddd->d"],
    "_recursive:recursive_filter",
)
_add(
    "dplms",
    "(n,n),(m),(),(),(),()->(n)",
    FLOAT_TYPES("FFFFFF->F"),
    "_kernels:dplms",
    const_only=True,
)

# utilities and numpy
_NUMERIC = ["B", "H", "I", "L", "b", "h", "i", "l", "f", "d"]
_add(
    "where",
    "(),(),()->()",
    [f"?{c}{c}->{c}" for c in _NUMERIC],
    "_numpy_ops:where",
    elementwise=True,
)
for _mode in ("round", "floor", "ceil", "trunc"):
    _add(
        f"{_mode}_to_nearest",
        "(),()->()",
        [f"{c}{c}->{c}" for c in _NUMERIC],
        f"_numpy_ops:{_mode}_to_nearest",
        elementwise=True,
    )
for _name in ("amax", "amin"):
    _add(f"numpy.{_name}", "(n),()->()", ["fi->f", "di->d"], f"_numpy_ops:{_name}")
_UFUNCS = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "floor_divide",
    "negative",
    "absolute",
    "sqrt",
    "exp",
    "log",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_not",
    "isnan",
    "isfinite",
    "maximum",
    "minimum",
]


def _ufunc_types(ufunc: np.ufunc) -> list[str]:
    return [t for t in ufunc.types if all(c in "?bBhHiIlLqQefdg->" for c in t)]


for _name in _UFUNCS:
    _ufunc = getattr(np, _name)
    _sig = ",".join(["()"] * _ufunc.nin) + "->" + ",".join(["()"] * _ufunc.nout)
    PROCESSORS.add(
        f"numpy.{_name}",
        Processor(
            f"numpy.{_name}",
            _sig,
            tuple(_ufunc_types(_ufunc)),
            f"{_PKG}._numpy_ops:ufunc_{_name}",
            elementwise=True,
        ),
    )
