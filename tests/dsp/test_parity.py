"""Parity with the anchor (dspeed 2.4.3): the LEGEND HPGe config on the prod-ref phy raw file.

Every output is bit-identical, the cusp and ZAC energies included: ``fft_convolve_wf``
transforms as the anchor's ``scipy.signal.fftconvolve`` does (float32, at
``next_fast_len(n + m - 1)``). Those energies are also checked against an exact float64
evaluation of the same convolution, which bounds the anchor's (and so our) float32 rounding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tierflow import lh5
from tierflow.dsp import build_dsp

pytestmark = pytest.mark.shared

RAW = (
    "prod-ref-l200/generated/tier/raw/phy/p03/r001/l200-p03-r001-phy-20230322T160139Z-tier_raw.lh5"
)
CHANNELS = ["ch1084803", "ch1084804", "ch1121600"]


@pytest.fixture(scope="module")
def produced(legend_lh5: Path, reference: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dsp") / "dsp.lh5"
    build_dsp(
        legend_lh5 / RAW,
        out,
        reference / "legend/configs/dsp-icpc-with-timestamp.json",
        lh5_tables=[f"{ch}/raw" for ch in CHANNELS],
        database={"pz": {"tau": 27460.5}},
    )
    return out


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_output_matches_the_anchor(produced: Path, reference: Path, channel: str) -> None:
    ours = lh5.read(f"{channel}/dsp", produced)
    theirs = lh5.read(f"{channel}/dsp", reference / "legend/dsp/prodref-phy-geds.lh5")
    assert sorted(ours.keys()) == sorted(theirs.keys())
    for name in theirs:
        a, b = ours[name].nda, theirs[name].nda
        assert a.dtype == b.dtype, name
        assert ours[name].attrs.get("units") == theirs[name].attrs.get("units"), name
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_cusp_energy_is_the_exact_convolution(legend_lh5: Path, produced: Path) -> None:
    """cuspEftp against a float64 numpy convolution of the same kernel (from the chain)."""
    from tierflow.dsp import make_processing_chain

    raw = lh5.read("ch1084803/raw", legend_lh5 / RAW)
    config = {
        "outputs": ["cuspEftp"],
        "processors": {
            "wf_blsub": "bl_subtract(waveform, baseline, wf_blsub)",
            "cusp_kernel": {
                "function": "cusp_filter",
                "module": "dspeed.processors",
                "args": [
                    "20*us/wf_blsub.period",
                    "round(3*us/wf_blsub.period)",
                    "450*us/wf_blsub.period",
                    "cusp_kernel(5792, 'f')",
                ],
            },
            "wf_cusp": "fft_convolve_wf(wf_blsub[:6092], cusp_kernel, 'v', wf_cusp(301, 'f'))",
            "cuspEftp": "fixed_time_pickoff(wf_cusp, 50, 'i', cuspEftp)",
        },
    }
    bound = make_processing_chain(config, raw)
    got = bound.process(raw)["cuspEftp"].nda
    kernel = bound.chain.get("cusp_kernel").buffer[0].astype(np.float64)
    wf = (
        raw["waveform"].values.nda.astype(np.float32)
        - raw["baseline"].nda.astype(np.float32)[:, None]
    )
    exact = [np.convolve(w[:6092].astype(np.float64), kernel, "valid")[50] for w in wf]
    np.testing.assert_allclose(got, np.float32(exact), rtol=2e-5)
    stored = lh5.read("ch1084803/dsp", produced)["cuspEftp"].nda
    np.testing.assert_array_equal(stored, got)
