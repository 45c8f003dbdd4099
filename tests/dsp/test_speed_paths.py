"""The fast paths give the same bits as the straightforward computations they replace."""

from __future__ import annotations

import numpy as np

from tierflow.dsp.processors import PROCESSORS


def _welford_row(w: np.ndarray) -> tuple[float, float, float, float]:
    """One row as the anchor computes it: the running mean and variance in w's precision."""
    t = w.dtype.type
    mean = stdev = t(0)
    sum_xy = sum_y = 0.0
    for i, x in enumerate(w):
        temp = t(x - mean)
        mean = t(np.float64(mean) + np.float64(temp) / (i + 1))
        stdev = t(stdev + t(temp * t(x - mean)))
        sum_xy += float(x) * i
        sum_y += float(x)
    n = len(w)
    sum_x, sum_x2 = n * (n - 1) // 2, (n - 1) * n * (2 * n - 1) // 6
    slope = t((n * sum_xy - sum_x * sum_y) / (n * sum_x2 - sum_x * sum_x))
    intercept = t((sum_y - sum_x * np.float64(slope)) / n)
    return mean, t(np.sqrt(t(np.float64(stdev) / (n - 1)))), slope, intercept


def test_linear_slope_fit_rows_together_match_rows_alone() -> None:
    rng = np.random.default_rng(3)
    w = (rng.normal(size=(5, 200)) * 20 + rng.normal(size=(5, 1)) * 500).astype("float32")
    w[2, 7] = np.nan
    got = PROCESSORS["linear_slope_fit"](w)
    for r in range(5):
        if r == 2:
            assert all(np.isnan(g[r]) for g in got)
            continue
        expected = _welford_row(w[r])
        for g, e in zip(got, expected, strict=True):
            assert g[r] == e, (r, g[r], e)


def test_fft_convolution_is_not_fooled_by_a_reused_buffer() -> None:
    """A second call on the same buffer with new contents transforms the new contents."""
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 1000))
    kernel = rng.normal(size=800)
    conv = PROCESSORS["fft_convolve_wf"]
    out = np.empty((3, 201))
    first = conv(w, kernel, "v", out).copy()
    np.testing.assert_allclose(first[1], np.convolve(w[1], kernel, "valid"), rtol=1e-9)
    w[1] *= 2
    second = conv(w, kernel, "v", out)
    np.testing.assert_allclose(second[1], 2 * first[1], rtol=1e-9)
    np.testing.assert_array_equal(second[0], first[0])
    w[0, 0] = np.nan
    third = conv(w, kernel, "v", out)
    assert np.isnan(third[0]).all()
    np.testing.assert_array_equal(third[1], second[1])


def _rows_alone(name: str, w: np.ndarray, *params: np.ndarray) -> np.ndarray:
    """`name` run one row at a time (no grouping of rows)."""
    return np.concatenate(
        [PROCESSORS[name](w[r : r + 1], *(p[r] for p in params)) for r in range(len(w))]
    )


def _mixed_rows(n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(5)
    w = (np.cumsum(rng.normal(size=(11, n)), axis=1) * 7 + 300).astype("float32")
    w[4, 17] = np.nan
    return w


def test_recursive_filters_grouped_rows_match_rows_alone() -> None:
    """Rows run together in groups (sharing parameters) give each row's bits as alone.

    The parameters change along the rows (groups break there) and one row holds a NaN.
    """
    w = _mixed_rows()
    rise = np.array([20] * 6 + [15] * 5, dtype="int32")
    flat = np.array([7] * 9 + [3] * 2, dtype="int32")
    fall = np.full(11, 40, dtype="int32")
    cases = {
        "trap_norm": (rise, flat),
        "trap_filter": (rise, flat),
        "asym_trap_filter": (rise, flat, fall),
        "pole_zero": (np.array([500.0] * 5 + [np.nan] + [800.0] * 5, dtype="float32"),),
        "moving_window_multi": (
            np.array([9.0] * 7 + [4.0] * 4, dtype="float32"),
            np.full(11, 3.0, dtype="float32"),
            np.array([0] * 3 + [1] * 3 + [2] * 5, dtype="int32"),
        ),
    }
    for name, params in cases.items():
        together = PROCESSORS[name](w, *params)
        np.testing.assert_array_equal(together, _rows_alone(name, w, *params), err_msg=name)
        assert np.isnan(together[4]).all(), name


def test_min_max_first_extrema_and_nan_rows() -> None:
    w = np.array(
        [[3, 1, 1, 5, 5, 0, 0], [2, 2, 2, 2, 2, 2, 2], [1, np.nan, 0, 9, 9, 9, 9]],
        dtype="float32",
    )
    t_min, t_max, a_min, a_max = PROCESSORS["min_max"](w)
    np.testing.assert_array_equal(t_min[:2], [5, 0])
    np.testing.assert_array_equal(t_max[:2], [3, 0])
    np.testing.assert_array_equal(a_min[:2], [0, 2])
    np.testing.assert_array_equal(a_max[:2], [5, 2])
    assert np.isnan([t_min[2], t_max[2], a_min[2], a_max[2]]).all()


def test_convolve_wf_by_fft_matches_the_direct_sums() -> None:
    """A long kernel goes through a float64 FFT; the float32 results equal the direct ones."""
    from tierflow.dsp.processors._convolve import _by_fft, _direct

    rng = np.random.default_rng(6)
    w = (np.cumsum(rng.normal(size=(4, 2048)), axis=1) * 10).astype("float32")
    kern = rng.normal(size=133).astype("float32")
    assert _by_fft(2048, 133, "same", 2048)
    got = PROCESSORS["convolve_wf"](w, kern, "s", np.empty((4, 2048), "float32"))
    direct = np.empty_like(got)
    _direct(w, np.broadcast_to(kern, (4, 133)), 66, direct)
    np.testing.assert_allclose(got, direct, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(got[1], np.convolve(w[1], kern, "same"), rtol=1e-4, atol=1e-3)
