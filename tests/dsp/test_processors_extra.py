"""The SiPM and remaining processors: analytic answers, then NaN / flat / short waveforms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tierflow.dsp.processors import PROCESSORS

P = PROCESSORS


def pulses(n: int = 400, at: tuple[int, ...] = (100, 250), height: float = 50.0) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    total = np.ones(n)
    for a in at:
        total += height * np.exp(-0.5 * ((t - a) / 4.0) ** 2)
    return total


def test_gaussian_filter1d_is_a_normalised_gaussian() -> None:
    kernel = P["gaussian_filter1d"](2.0, 3.0, np.zeros(13))[0]
    assert kernel.sum() == pytest.approx(1.0)
    assert np.argmax(kernel) == 6
    assert kernel[5] / kernel[6] == pytest.approx(np.exp(-1 / 8))
    with pytest.raises(ValueError, match="length must be 13"):
        P["gaussian_filter1d"](2.0, 3.0, np.zeros(11))


def test_histogram_of_a_ramp_is_flat_and_skips_the_maximum() -> None:
    w = np.arange(100, dtype=np.float64)
    weights, borders = P["histogram"](w, np.zeros(10), np.zeros(11))
    np.testing.assert_array_equal(borders[0], np.linspace(0, 99, 11))
    assert weights[0].sum() == 99  # the sample at the maximum is not counted
    assert weights[0].min() >= 9
    assert weights[0].max() <= 10


def test_histogram_stats_finds_the_mode_and_half_width() -> None:
    weights = np.array([0, 1, 2, 6, 10, 6, 2, 1, 0, 0], dtype=np.float64)
    edges = np.arange(11, dtype=np.float64)
    mode, top, hwhm = np.zeros(1), np.zeros(1), np.zeros(1)
    P["histogram_stats"](weights, edges, mode, top, hwhm, np.nan)
    assert (mode[0], top[0], hwhm[0]) == (4, 4.0, 2.0)
    P["histogram_stats"](weights, edges, mode, top, hwhm, 6.2)
    assert (mode[0], top[0]) == (6, 6.0)


def test_get_multi_local_extrema_finds_both_pulses_each_way() -> None:
    w = pulses()
    for direction, expected in [(0, [100, 250]), (1, [250, 100]), (2, [100, 250]), (3, [100, 250])]:
        vt_max, _vt_min, n_max, _n_min = P["get_multi_local_extrema"](
            w,
            5.0,
            5.0,
            direction,
            20.0,
            10.0,
            np.zeros(5),
            np.zeros(5),
            np.zeros(1, "u4"),
            np.zeros(1, "u4"),
        )
        assert int(n_max[0]) == 2, direction
        np.testing.assert_array_equal(vt_max[0, :2], expected)
        assert np.isnan(vt_max[0, 2:]).all()


def test_peak_snr_threshold_and_multi_a_filter_keep_clean_peaks() -> None:
    w = pulses()
    w[240:250] = -40.0  # a deep undershoot next to the second pulse: rejected
    kept, n = P["peak_snr_threshold"](
        w, np.array([100.0, 250.0, np.nan]), 0.5, 20, np.zeros(3), np.zeros(1, "u4")
    )
    assert int(n[0]) == 1
    assert kept[0, 0] == 100
    amps = P["multi_a_filter"](w, kept[0], np.zeros(3))
    assert amps[0, 0] == w[100]
    assert np.isnan(amps[0, 1:]).all()


def test_multi_time_point_thresh_on_a_ramp() -> None:
    ramp = np.clip(np.arange(400.0) - 100, 0, 100)
    for mode, shift in [("i", 0.0), ("a", 1.0), ("n", 0.5)]:
        out = P["multi_time_point_thresh"](
            ramp, np.array([90.5, 10.5, 50.5]), 150, 1, mode, np.zeros(3)
        )
        np.testing.assert_array_equal(out[0], np.array([190.0, 110.0, 150.0]) + shift)
    lin = P["multi_time_point_thresh"](ramp, np.array([10.25]), 150, 1, "l", np.zeros(1))
    assert lin[0, 0] == pytest.approx(110.25)


def test_bi_level_zero_crossing_finds_a_bipolar_pulse() -> None:
    t = np.arange(300.0)
    w = 10 * np.sin(2 * np.pi * (t - 100) / 40) * ((t >= 100) & (t < 140))
    n, pol, times = np.zeros(1, "u4"), np.zeros(4), np.zeros(4)
    P["bi_level_zero_crossing_time_points"](w, 5.0, -5.0, 30, 0, n, pol, times)
    assert int(n[0]) == 1
    assert pol[0] == 1
    assert times[0] == 120


def test_saturation_counts_zeros_and_the_top_code() -> None:
    w = np.array([0, 0, 5, 4084, 4084, 4084, 7], dtype=np.float64)  # 2**12 - 12
    lo, hi = P["saturation"](w, 12)
    assert (lo[0], hi[0]) == (2, 3)


def test_fft_psd_and_ifft_of_a_cosine() -> None:
    n = 64
    w = np.cos(2 * np.pi * 4 * np.arange(n) / n)
    spectrum = P["fft"](w, np.zeros(n // 2 + 1, complex))[0]
    assert np.argmax(np.abs(spectrum)) == 4
    assert abs(spectrum[4]) == pytest.approx(n / 2)
    power = P["psd"](w, np.zeros(n // 2 + 1))[0]
    assert power[4] == pytest.approx(n / 4)
    assert power.sum() - power[4] < 1e-20
    back = P["ifft"](spectrum, np.zeros(n))[0]
    np.testing.assert_allclose(back, w, atol=1e-12)


def test_poly_fit_and_residuals() -> None:
    x = np.arange(80.0)
    w = 2.0 - 0.5 * x + 0.01 * x**2
    pars = P["poly_fit"].make(80, 2)(w, np.zeros(3))
    np.testing.assert_allclose(pars[0], [2.0, -0.5, 0.01], atol=1e-9)
    _mean, rms = P["poly_diff"](w + 3.0, pars[0])
    assert rms[0] == pytest.approx(3.0 * np.sqrt(80 / 79))
    _, rms_exp = P["poly_exp_rms"](np.exp(w), pars[0])
    assert rms_exp[0] < 1e-12 * np.exp(w).max()
    _, rms_exp = P["poly_exp_rms"](np.exp(w) + 1.0, pars[0])
    assert rms_exp[0] == pytest.approx(np.sqrt(80 / 79), rel=1e-3)


def test_optimize_1pz_recovers_the_decay_constant() -> None:
    t = np.arange(3000.0)
    w = np.where(t >= 200, 1000 * np.exp(-(t - 200) / 450.0), 0) + 20.0
    tau = P["optimize_1pz"](w, 20.0, 800, 2900, 300.0)
    assert tau[0] == pytest.approx(450.0, rel=1e-6)


def test_recursive_and_iir_filters() -> None:
    w = np.r_[np.zeros(50), np.ones(150)]
    # a one-pole low pass y[i] = 0.1 x[i] + 0.9 y[i-1]: the step response is 1 - 0.9**(k+1)
    out = P["recursive_filter"](w, np.array([0.1]), np.array([1.0, -0.9]), 0.0, 0.0)[0]
    k = np.arange(150)
    np.testing.assert_allclose(out[50:], 1 - 0.9 ** (k + 1), rtol=1e-12)
    pytest.importorskip("scipy")
    low = P["iir_filter"].make(0.05, 2)
    smooth = low(w)[0]
    assert smooth[:50] == pytest.approx(0.0)
    assert smooth[-1] == pytest.approx(1.0, abs=1e-3)


def test_dplms_kernel_of_white_noise_is_normalised() -> None:
    length = 20
    reference = np.r_[np.zeros(30), np.ones(30)]
    kern = P["dplms"](np.eye(length), reference, 1.0, 1.0, 1.0, 0, np.zeros(length))[0]
    response = np.convolve(reference, kern, mode="valid")
    assert response.max() == pytest.approx(1.0)


# --- edge cases: NaN rows give NaN (or empty), flat and short rows do not crash ---------------
waves = arrays(np.float64, st.integers(25, 80), elements=st.floats(-100, 100))


def _nan_or_empty(value: np.ndarray) -> bool:
    return bool(np.isnan(value).all() or (value == 0).all())


@settings(max_examples=25, deadline=None)
@given(w=waves, nan_at=st.integers(0, 24), flat=st.booleans())
def test_edge_cases(w: np.ndarray, nan_at: int, flat: bool) -> None:
    if flat:
        w = np.full_like(w, w[0])
    n = len(w)
    zeros_u4 = np.zeros(1, "u4")
    calls: dict[str, Any] = {
        "histogram": lambda x: P["histogram"](x, np.zeros(10), np.zeros(11))[1],
        "extrema": lambda x: P["get_multi_local_extrema"](
            x, 1.0, 1.0, 3, 0.0, 0.0, np.zeros(5), np.zeros(5), zeros_u4.copy(), zeros_u4.copy()
        )[0],
        "multi_thresh": lambda x: P["multi_time_point_thresh"](
            x, np.array([0.0, 1.0]), 3, 1, "l", np.zeros(2)
        ),
        "saturation": lambda x: P["saturation"](x, 12)[0],
        "psd": lambda x: P["psd"](x, np.zeros(n // 2 + 1)),
        "poly_diff": lambda x: P["poly_diff"](x, np.array([1.0, 0.5]))[1],
        "recursive": lambda x: P["recursive_filter"](
            x, np.array([0.5]), np.array([1.0, -0.5]), 0.0, 0.0
        ),
        "multi_a": lambda x: P["multi_a_filter"](x, np.array([1.0, 2.0]), np.zeros(2)),
    }
    for name, call in calls.items():
        result = call(w)
        assert np.all(np.isfinite(result) | np.isnan(result)), name
        bad = w.copy()
        bad[nan_at] = np.nan
        assert _nan_or_empty(call(bad)), name
    if flat:
        assert P["histogram"](w, np.zeros(10), np.zeros(11))[0].sum() == 0
        vt_max = calls["extrema"](w)
        assert np.isnan(vt_max).all()
