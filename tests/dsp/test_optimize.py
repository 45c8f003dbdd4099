"""optimize_2pz: the anchor's double pole-zero optimiser, against its answers."""

from __future__ import annotations

import numpy as np
import pytest

from tierflow.dsp.processors import PROCESSORS

T = np.arange(4000.0)
TAIL = 900 * np.exp(-(T - 500) / 2000) + 100 * np.exp(-(T - 500) / 100)
WAVEFORM = np.where(T >= 500, TAIL, 0) + 25.0
ARGS = (25.0, 1000, 3900, 5000, 0.5, 1900, 90, 0.12)
# dspeed 2.4.3's optimize_2pz on the same inputs (float64 and float32 signatures)
ANCHOR_64 = (1999.680000909713, 85.09025483010493, 0.11673341732429635)
ANCHOR_32 = (1999.6800537109375, 85.09012603759766, 0.1167333647608757)


def _slope(w: np.ndarray, tau1: float, tau2: float, frac: float) -> float:
    corrected = PROCESSORS["double_pole_zero"](w - 25.0, tau1, tau2, frac)[0, 1000:3900]
    return float(np.polyfit(np.arange(1000, 3900), corrected, 1)[0])


def test_optimize_2pz_gives_the_anchors_answer() -> None:
    got = PROCESSORS["optimize_2pz"](WAVEFORM, *ARGS)
    assert tuple(float(g[0]) for g in got) == pytest.approx(ANCHOR_64, rel=1e-12)
    got32 = PROCESSORS["optimize_2pz"](WAVEFORM.astype(np.float32), *(np.float32(a) for a in ARGS))
    assert all(g.dtype == np.float32 for g in got32)
    assert tuple(float(g[0]) for g in got32) == pytest.approx(ANCHOR_32, rel=1e-6)


def test_optimize_2pz_flattens_the_tail() -> None:
    """The constants found leave the window flat, unlike the start values."""
    tau1, tau2, frac = (float(v[0]) for v in PROCESSORS["optimize_2pz"](WAVEFORM, *ARGS))
    assert abs(_slope(WAVEFORM, tau1, tau2, frac)) < 1e-6
    assert abs(_slope(WAVEFORM, *ARGS[-3:])) > 1e-3
    assert 0 <= frac <= 0.5
    assert 0 <= tau2 <= tau1 <= 5000


def test_optimize_2pz_rows_nan_and_bad_windows() -> None:
    rows = np.stack([WAVEFORM, WAVEFORM])
    rows[1, 7] = np.nan
    tau1, tau2, frac = PROCESSORS["optimize_2pz"](rows, *ARGS)
    assert float(tau1[0]) == pytest.approx(ANCHOR_64[0], rel=1e-12)
    assert np.isnan([tau1[1], tau2[1], frac[1]]).all()
    with pytest.raises(ValueError, match="outside the waveform"):
        PROCESSORS["optimize_2pz"](WAVEFORM, 25.0, 1000, 4500, 5000, 0.5, 1900, 90, 0.12)
    with pytest.raises(ValueError, match="whole-sample"):
        PROCESSORS["optimize_2pz"](WAVEFORM, 25.0, 1000.5, 3900, 5000, 0.5, 1900, 90, 0.12)


def test_optimize_2pz_in_a_chain() -> None:
    """Bound in a chain: constants broadcast over the rows of each block."""
    from tierflow.dsp import ProcessingChain

    chain = ProcessingChain(block_width=2)
    chain.add_variable("wf", shape=(4000,), dtype="float64")
    chain.add_processor(
        PROCESSORS["optimize_2pz"],
        ["wf", *ARGS, "tau1", "tau2", "frac"],
    )
    out = chain.run({"wf": np.stack([WAVEFORM] * 3)}, ["tau1", "tau2", "frac"])
    np.testing.assert_allclose(out["tau1"], ANCHOR_64[0], rtol=1e-12)
    np.testing.assert_allclose(out["frac"], ANCHOR_64[2], rtol=1e-12)
