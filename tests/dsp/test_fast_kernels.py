"""Round 3 fast paths: each against the straightforward computation it replaces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.dsp.processors import PROCESSORS
from tierflow.dsp.processors._runs import REFRESH, convolve_runs, make_run_plan

_MODES = {"s": "same", "f": "full", "v": "valid"}


def test_run_plan_splits_taps_and_runs() -> None:
    kern = np.r_[[1.0, 2.0], np.full(7, 0.5), [0.0] * 9, [3.0], np.full(6, -1.0)]
    plan = make_run_plan(kern)
    assert plan.taps.tolist() == [0, 1, 18]
    assert plan.values.tolist() == [1.0, 2.0, 3.0]
    assert list(zip(plan.starts.tolist(), plan.stops.tolist(), strict=True)) == [(2, 9), (19, 25)]
    assert plan.consts.tolist() == [0.5, -1.0]
    assert plan.length == kern.size


def _t0_kernel(rise: int, fall: int) -> np.ndarray:
    return PROCESSORS["t0_filter"](rise, fall, np.zeros(rise + fall, "float32"))[0]


@settings(max_examples=30, deadline=None)
@given(
    rise=st.integers(1, 12),
    fall=st.integers(6, 300),
    n_extra=st.integers(0, 1500),
    mode=st.sampled_from("sfv"),
    seed=st.integers(0, 2**32 - 1),
)
def test_runs_equal_the_float64_convolution(
    rise: int, fall: int, n_extra: int, mode: str, seed: int
) -> None:
    """Sliding sums (refreshed every REFRESH outputs) give the float64 sums, to ~1e-13."""
    kern = _t0_kernel(rise, fall)
    rng = np.random.default_rng(seed)
    n = kern.size + n_extra
    w = (np.cumsum(rng.normal(size=(3, n)), axis=1) * 30 + 2000).astype("float32")
    name = _MODES[mode]
    ref = np.array([np.convolve(x.astype(np.float64), kern.astype(np.float64), name) for x in w])
    out = np.empty(ref.shape)
    start = {"same": (kern.size - 1) // 2, "full": 0, "valid": kern.size - 1}[name]
    convolve_runs(w, make_run_plan(kern), start, out)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12 * np.abs(w).max())


def test_convolve_wf_takes_the_runs_for_the_t0_filter() -> None:
    """The LEGEND t0 filter (8-sample ramp, 125 equal samples) on 8192 samples: float32
    results equal the float64 convolution rounded, and a NaN row gives NaNs."""
    kern = _t0_kernel(8, 125)
    rng = np.random.default_rng(7)
    w = (np.cumsum(rng.normal(size=(4, 8192)), axis=1) * 5 + 300).astype("float32")
    w[2, 4000] = np.nan
    got = PROCESSORS["convolve_wf"](w, kern, "s", np.empty((4, 8192), "float32"))
    assert np.isnan(got[2]).all()
    for r in (0, 1, 3):
        exact = np.convolve(w[r].astype(np.float64), kern.astype(np.float64), "same")
        assert (got[r] == exact.astype(np.float32)).mean() > 0.9999
    assert 4 * REFRESH < 8192  # the windows were refreshed several times


# --- recursive filters: increments first, then the running sums (``_scan``) -------------------


def _trap_norm_one_pass(w: np.ndarray, k: int, m: int) -> np.ndarray:
    """The anchor's loop: float32 steps, divided in float64, summed and rounded to float32."""
    f32, f64 = np.float32, np.float64
    out = np.empty_like(w)
    out[0] = f32(f64(w[0]) / k)
    for i in range(1, len(w)):
        step = w[i]
        if i >= k:
            step = f32(step - w[i - k])
        if i >= k + m:
            step = f32(step - w[i - k - m])
        if i >= 2 * k + m:
            step = f32(step + w[i - 2 * k - m])
        out[i] = f32(f64(out[i - 1]) + f64(step) / k)
    return out


def _asym_one_pass(w: np.ndarray, k: int, m: int, f: int) -> np.ndarray:
    f32, f64 = np.float32, np.float64
    out = np.empty_like(w)
    out[0] = f32(f64(w[0]) / k)
    for i in range(1, len(w)):
        add = f64(w[i] if i < k else f32(w[i] - w[i - k])) / k
        sub = 0.0
        if k + m <= i < k + m + f:
            sub = f64(w[i - k - m]) / f
        elif i >= k + m + f:
            sub = f64(f32(w[i - k - m] - w[i - k - m - f])) / f
        out[i] = f32(f64(out[i - 1]) + add - sub)
    return out


def _wave(seed: int, rows: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.normal(size=(rows, n)), axis=1) * rng.uniform(0.5, 40) + 1000
    return w.astype("float32")


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 6),
    n=st.integers(1100, 2300),  # several chunks of increments
    k=st.integers(1, 300),
    m=st.integers(0, 200),
    f=st.integers(1, 300),
)
def test_trapezoids_equal_the_one_pass_loops(
    seed: int, rows: int, n: int, k: int, m: int, f: int
) -> None:
    w = _wave(seed, rows, n)
    norm = PROCESSORS["trap_norm"](w, k, m)
    asym = PROCESSORS["asym_trap_filter"](w, k, m, f)
    for r in range(rows):
        np.testing.assert_array_equal(norm[r], _trap_norm_one_pass(w[r], k, m))
        np.testing.assert_array_equal(asym[r], _asym_one_pass(w[r], k, m, f))


def _window_left(w: np.ndarray, length: float) -> np.ndarray:
    t = w.dtype.type
    k, out = int(length), np.empty_like(w)
    out[0] = w[0]
    for i in range(1, len(w)):
        out[i] = out[i - 1] + t(t(w[i] - (w[0] if i < k else w[i - k])) / t(length))
    return out


def _window_right(w: np.ndarray, length: float) -> np.ndarray:
    """The anchor's right window, from the end (not by reversal)."""
    t = w.dtype.type
    n, k, out = len(w), int(length), np.empty_like(w)
    out[n - 1] = w[n - 1]
    for i in range(1, n):
        p = n - 1 - i
        other = out[n - 1] if i < k else w[p + k]
        out[p] = out[p + 1] + t(t(w[p] - other) / t(length))
    return out


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1030, 1600),
    length=st.integers(1, 120),
    count=st.integers(1, 4),
    kind=st.integers(0, 2),
)
def test_moving_window_multi_equals_the_anchors_passes(
    seed: int, n: int, length: int, count: int, kind: int
) -> None:
    """Right windows by reversal, scratch rows read forwards or backwards: same bits."""
    w = _wave(seed, 5, n)
    got = PROCESSORS["moving_window_multi"](w, float(length), float(count), kind)
    for r in range(5):
        buf = w[r]
        for i in range(count):
            right = (i % 2 == 1 and kind == 0) or kind == 2
            buf = _window_right(buf, length) if right else _window_left(buf, length)
        np.testing.assert_array_equal(got[r], buf)


def test_moving_window_multi_without_windows_is_nan() -> None:
    w = _wave(1, 3, 50)
    assert np.isnan(PROCESSORS["moving_window_multi"](w, 4.0, 0.0, 0)).all()
    assert np.isnan(PROCESSORS["moving_window_multi"](w, 0.0, 2.0, 0)).all()


def test_has_nan_finds_every_position() -> None:
    from tierflow.dsp.processors._jit import has_nan

    for n in (1, 255, 256, 257, 700, 8192):
        x = np.linspace(-1, 1, n, dtype="float32")
        x[-1] = np.inf
        assert not has_nan(x)
        for at in {0, n // 2, n - 1}:
            y = x.copy()
            y[at] = np.nan
            assert has_nan(y), (n, at)


def test_ffts_into_buffers_are_scipys() -> None:
    import scipy.fft

    from tierflow.dsp.processors._fft import irfft_into, rfft_into

    x = _wave(2, 5, 12000)
    spectra = rfft_into(x, np.empty((5, 6001), "complex64"))
    assert spectra.tobytes() == scipy.fft.rfft(x, axis=-1).tobytes()
    back = irfft_into(spectra, 12000, np.empty((5, 12000), "float32"))
    assert back.tobytes() == scipy.fft.irfft(spectra, 12000, axis=-1).tobytes()


def test_upsampler_repeats_each_sample_centred() -> None:
    w = np.arange(1, 5, dtype="float32")[None]
    out = PROCESSORS["upsampler"](w, 3.0, np.empty((1, 12), "float32"))[0]
    np.testing.assert_array_equal(out[:11], [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, np.nan][:11])
    assert np.isnan(out[11])


@pytest.mark.shared
def test_chunks_read_into_the_same_buffers_give_the_same_tables(
    legend_lh5: Path, reference: Path
) -> None:
    """Chunks of 7 rows (the last one shorter) refill one input table: same outputs."""
    from tierflow.dsp import build_dsp

    raw = legend_lh5 / (
        "prod-ref-l200/generated/tier/raw/phy/p03/r001/"
        "l200-p03-r001-phy-20230322T160139Z-tier_raw.lh5"
    )
    config = reference / "legend/configs/dsp-icpc-with-timestamp.json"
    db = {"pz": {"tau": 27460.5}}
    whole = build_dsp(raw, None, config, lh5_tables="ch1084803/raw", database=db)
    pieces = build_dsp(raw, None, config, lh5_tables="ch1084803/raw", database=db, buffer_len=7)
    assert whole is not None
    assert pieces is not None
    a, b = whole["ch1084803/dsp"], pieces["ch1084803/dsp"]
    assert len(a) == len(b) == 10
    for name in a:
        assert a[name].nda.tobytes() == b[name].nda.tobytes(), name
