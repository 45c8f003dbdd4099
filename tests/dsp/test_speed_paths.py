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
