"""Each processor against an analytic answer, plus edge cases (NaN, flat, short waveforms)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tierflow.dsp.processors import PROCESSORS

P = PROCESSORS


def step(n: int = 200, at: int = 50, height: float = 100.0) -> np.ndarray:
    return np.where(np.arange(n) >= at, height, 0.0).astype(np.float32)


def test_trap_norm_of_a_step_has_a_flat_top_at_the_step_height() -> None:
    out = P["trap_norm"](step(), 20, 10)
    np.testing.assert_allclose(out[0, 50 + 20 : 50 + 30], 100.0, rtol=1e-6)
    np.testing.assert_allclose(out[0, :50], 0.0)
    np.testing.assert_allclose(out[0, 50 + 50 :], 0.0, atol=1e-4)


def test_trap_filter_is_rise_times_trap_norm() -> None:
    w = np.random.default_rng(1).normal(size=300).astype(np.float32)
    np.testing.assert_allclose(P["trap_filter"](w, 12, 4), 12 * P["trap_norm"](w, 12, 4), atol=1e-4)


def test_asym_trap_of_a_step_peaks_at_the_height() -> None:
    out = P["asym_trap_filter"](step(), 8, 4, 30)
    assert out[0].max() == pytest.approx(100.0, rel=1e-6)
    assert np.argmax(out[0]) == 50 + 8 - 1


def test_trap_pickoff_matches_trap_norm() -> None:
    w = np.random.default_rng(2).normal(size=300).astype(np.float32)
    full = P["trap_norm"](w, 10, 5)
    picked = P["trap_pickoff"](w, 10, 5, 100.0)
    assert picked[0] == pytest.approx(full[0, 100], abs=1e-4)


def test_pole_zero_turns_an_exponential_into_a_step() -> None:
    tau = 500.0
    t = np.arange(400)
    w = np.where(t >= 100, 1000 * np.exp(-(t - 100) / tau), 0).astype(np.float32)
    out = P["pole_zero"](w, tau)
    np.testing.assert_allclose(out[0, 100:], 1000.0, rtol=1e-4)


def test_double_pole_zero_turns_two_exponentials_into_a_step() -> None:
    t = np.arange(-50.0, 600.0)
    frac, tau1, tau2 = 0.1, 400.0, 40.0
    w = np.where(t >= 0, (1 - frac) * np.exp(-t / tau1) + frac * np.exp(-t / tau2), 0.0)
    out = P["double_pole_zero"](w, tau1, tau2, frac)
    np.testing.assert_allclose(out[0, 50:], 1.0, rtol=1e-9)
    np.testing.assert_allclose(out[0, :50], 0.0)


def test_linear_slope_fit_of_a_line() -> None:
    w = (3.0 + 0.5 * np.arange(101)).astype(np.float64)
    mean, std, slope, intercept = P["linear_slope_fit"](w)
    assert slope[0] == pytest.approx(0.5)
    assert intercept[0] == pytest.approx(3.0)
    assert mean[0] == pytest.approx(28.0)
    assert std[0] == pytest.approx(np.std(w, ddof=1))


def test_min_max_and_bl_subtract() -> None:
    w = np.array([3, 1, 4, 1, 5, 9, 2, 6], np.float32)
    t_min, t_max, a_min, a_max = P["min_max"](w)
    assert (t_min[0], t_max[0], a_min[0], a_max[0]) == (1, 5, 1, 9)
    np.testing.assert_array_equal(P["bl_subtract"](w, 1.0)[0], w - 1)
    assert P["mean_below_threshold"](w, 3.5)[0] == pytest.approx(np.mean([3, 1, 1, 2]))


def test_time_point_thresh_on_a_ramp() -> None:
    w = np.arange(100, dtype=np.float32)
    assert P["time_point_thresh"](w, 40.5, 0.0, 1.0)[0] == 40
    assert P["time_point_thresh"](w, 40.5, 99.0, 0.0)[0] == 41
    assert np.isnan(P["time_point_thresh"](w, 500.0, 0.0, 1.0)[0])
    linear = P["interpolated_time_point_thresh"](w, 40.25, 0.0, 1, "l")
    assert linear[0] == pytest.approx(40.25)


def test_fixed_time_pickoff_modes() -> None:
    w = np.arange(10, dtype=np.float64) ** 2
    assert P["fixed_time_pickoff"](w, 3.0, "i")[0] == 9
    assert P["fixed_time_pickoff"](w, 3.5, "l")[0] == pytest.approx(12.5)
    assert P["fixed_time_pickoff"](w, 3.4, "n")[0] == 9
    assert P["fixed_time_pickoff"](w, 3.4, "c")[0] == 16
    assert P["fixed_time_pickoff"](w, 3.5, "h")[0] == pytest.approx(12.25)
    assert np.isnan(P["fixed_time_pickoff"](w, 20.0, "l")[0])
    with pytest.raises(ValueError, match="integer"):
        P["fixed_time_pickoff"](w, 3.5, "i")


@pytest.mark.parametrize("name", ["convolve_wf", "fft_convolve_wf"])
@pytest.mark.parametrize(("mode", "length"), [("f", 259), ("v", 141), ("s", 200)])
def test_convolutions_match_numpy(name: str, mode: str, length: int) -> None:
    rng = np.random.default_rng(3)
    w, k = rng.normal(size=200), rng.normal(size=60)
    out = np.zeros((1, length))
    P[name](w, k, mode, out)
    full = {"f": "full", "v": "valid", "s": "same"}[mode]
    np.testing.assert_allclose(out[0], np.convolve(w, k, full), atol=1e-9)


def test_long_kernel_fft_convolution_matches_numpy() -> None:
    rng = np.random.default_rng(4)
    w, k = rng.normal(size=(3, 2000)), rng.normal(size=1500)
    out = np.zeros((3, 501))
    P["fft_convolve_wf"](w, k, "v", out)
    np.testing.assert_allclose(out, [np.convolve(x, k, "valid") for x in w], atol=1e-9)


def test_kernels() -> None:
    t0 = np.zeros((1, 12))
    P["t0_filter"](4.0, 8.0, t0)
    assert t0[0, :4].sum() == pytest.approx(1.0)
    assert t0[0, 4:].sum() == pytest.approx(-1.0)
    cusp = np.zeros((1, 101))
    P["cusp_filter"](10.0, 11.0, 1e-9, cusp)
    np.testing.assert_allclose(cusp[0, 45:56], 1.0)
    zac = np.zeros((1, 101))
    P["zac_filter"](10.0, 11.0, 1e-9, zac)
    assert abs(zac[0].sum()) < 1e-9


def test_moving_windows_and_current() -> None:
    ramp = np.arange(50, dtype=np.float32) * 2
    np.testing.assert_allclose(P["avg_current"](ramp, 5.0, np.zeros((1, 45), np.float32))[0], 2.0)
    flat = np.full(40, 7.0, np.float32)
    for name in ("moving_window_left", "moving_window_right"):
        np.testing.assert_allclose(P[name](flat, 5.0)[0], 7.0)
    np.testing.assert_allclose(P["moving_window_multi"](flat, 4.0, 3.0, 0)[0], 7.0)
    left = P["moving_window_left"](ramp, 4.0)[0]
    assert left[20] == pytest.approx(np.mean(ramp[17:21]))


def test_resampling() -> None:
    w = np.arange(10, dtype=np.float32)
    up = P["upsampler"](w, 4.0, np.zeros((1, 40), np.float32))[0]
    assert list(up[17:23]) == [4, 5, 5, 5, 5, 6]  # centred: sample 5 covers 18..21
    window = P["windower"](w, 3.0, np.zeros((1, 4), np.float32))[0]
    np.testing.assert_array_equal(window, [3, 4, 5, 6])
    tail = P["windower"](w, 8.0, np.zeros((1, 4), np.float32))[0]
    assert list(tail[:2]) == [8, 9]
    assert np.isnan(tail[2:]).all()
    out = np.zeros((1, 5), np.float32)
    P["presum"](w, 1.0, np.zeros(1, np.float32), out)
    np.testing.assert_allclose(out[0], [0.5, 2.5, 4.5, 6.5, 8.5])
    lin = P["interpolating_upsampler"](w, "l", np.zeros((1, 20), np.float32))[0]
    assert lin[3] == pytest.approx(1.5)


def test_utilities() -> None:
    assert P["round_to_nearest"](np.array([2.4, 2.6]), 0.5).tolist() == [2.5, 2.5]
    assert P["floor_to_nearest"](np.array([7.0]), 4.0).tolist() == [4.0]
    where = P["where"](np.array([True, False]), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert where.tolist() == [1.0, 4.0]
    assert P["time_over_threshold"](np.array([0, 5, 6, 1, 7.0]), 4.0)[0] == 3


WAVEFORM_PROCESSORS = [
    ("trap_norm", (10, 5)),
    ("trap_filter", (10, 5)),
    ("asym_trap_filter", (4, 2, 8)),
    ("pole_zero", (400.0,)),
    ("bl_subtract", (3.0,)),
    ("moving_window_left", (4.0,)),
    ("moving_window_right", (4.0,)),
    ("moving_window_multi", (4.0, 3.0, 0)),
    ("min_max", ()),
    ("linear_slope_fit", ()),
    ("time_point_thresh", (1.0, 10.0, 0.0)),
    ("fixed_time_pickoff", (10.5, "l")),
]


@pytest.mark.parametrize(("name", "extra"), WAVEFORM_PROCESSORS)
@settings(max_examples=15, deadline=None)
@given(wf=arrays(np.float32, 64, elements=st.floats(-1e3, 1e3, width=32)), at=st.integers(0, 63))
def test_nan_input_gives_nan_output(name: str, extra: tuple, wf: np.ndarray, at: int) -> None:
    wf[at] = np.nan
    result = P[name](wf, *extra)
    for out in result if isinstance(result, tuple) else (result,):
        assert np.isnan(out).all()


@pytest.mark.parametrize(("name", "extra"), WAVEFORM_PROCESSORS[:7])
@settings(max_examples=10, deadline=None)
@given(level=st.floats(-1e3, 1e3, width=32))
def test_flat_waveforms_stay_flat(name: str, extra: tuple, level: float) -> None:
    wf = np.full(64, level, np.float64)
    out = P[name](wf, *extra)[0]
    expected = {
        "bl_subtract": level - 3.0,
        "pole_zero": None,
        "trap_filter": None,
        "trap_norm": None,
        "asym_trap_filter": None,
    }.get(name, level)
    if expected is not None:
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert np.isfinite(out).all()


@settings(max_examples=20, deadline=None)
@given(wf=arrays(np.float64, st.integers(20, 80), elements=st.floats(-100, 100)))
def test_trap_norm_is_the_difference_of_two_moving_sums(wf: np.ndarray) -> None:
    out = P["trap_norm"](wf, 5, 3)[0]
    i = len(wf) - 1
    expected = (wf[i - 4 : i + 1].sum() - wf[i - 12 : i - 7].sum()) / 5
    assert out[i] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("trap_norm", (np.zeros(10, np.float32), 8, 4)),
        ("asym_trap_filter", (np.zeros(10), 4, 4, 4)),
    ],
)
def test_short_waveforms_are_rejected(name: str, args: tuple) -> None:
    with pytest.raises(ValueError, match="wider than the waveform"):
        P[name](*args)


def test_unknown_processor_suggests_names() -> None:
    from tierflow.errors import NotFoundError

    with pytest.raises(NotFoundError, match="trap_norm"):
        P["trap_nrom"]
