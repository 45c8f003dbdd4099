"""Parity with the anchor (dspeed 2.4.3) on its SiPM config: jagged (``vector_len``) outputs.

``data/sipm-dspeed-2.4.3.lh5`` holds dspeed's outputs, with the intermediate ones (histogram,
its mode and width, extrema candidates and their counts, the Gaussian kernel), for the SiPM
raw file in the shared test data; ``data/make_sipm_reference.py`` made it. Every value is
bit-identical, with the same dtype and units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tierflow import lh5
from tierflow.dsp import build_dsp
from tierflow.types import VectorOfVectors

pytestmark = pytest.mark.shared

ANCHOR = Path(__file__).parent / "data" / "sipm-dspeed-2.4.3.lh5"
RAW = "L200-comm-20211130-phy-spms.lh5"
CONFIG = "legend/configs/dspeed-sipm-dsp-config.json"


@pytest.fixture(scope="module")
def produced(legend_lh5: Path, reference: Path) -> dict[str, object]:
    outputs = [name.rsplit("/", 1)[-1] for name in lh5.ls(ANCHOR, "ch0/dsp/*")]
    result = build_dsp(legend_lh5 / RAW, None, reference / CONFIG, outputs=outputs)
    assert result is not None
    return dict(result)


@pytest.mark.parametrize("channel", [f"ch{i}" for i in range(6)])
def test_every_sipm_output_is_bit_identical(produced: dict[str, object], channel: str) -> None:
    ours = produced[f"{channel}/dsp"]
    theirs = lh5.read(f"{channel}/dsp", ANCHOR)
    assert sorted(ours.keys()) == sorted(theirs.keys())  # type: ignore[attr-defined]
    for name in theirs:
        a, b = ours[name], theirs[name]  # type: ignore[index]
        assert type(a) is type(b), name
        assert a.attrs.get("units") == b.attrs.get("units"), name
        if isinstance(b, VectorOfVectors):
            np.testing.assert_array_equal(a.cumulative_length.nda, b.cumulative_length.nda)
            a, b = a.flattened_data, b.flattened_data
        assert a.nda.dtype == b.nda.dtype, name
        np.testing.assert_array_equal(a.nda, b.nda, err_msg=name)


def test_sipm_triggers_are_found(produced: dict[str, object]) -> None:
    """Not vacuous: every channel has waveforms with several accepted peaks."""
    for table in produced.values():
        lengths = np.diff(table["trigger_pos"].cumulative_length.nda, prepend=0)  # type: ignore[index]
        assert lengths.max() >= 2
        energies = table["energies"].flattened_data.nda  # type: ignore[index]
        assert np.all(np.isfinite(energies))
        assert np.all(energies > 0)


def test_sipm_output_file_round_trips(legend_lh5: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "sipm_dsp.lh5"
    build_dsp(legend_lh5 / RAW, out, reference / CONFIG, lh5_tables="ch2")
    table = lh5.read("ch2/dsp", out)
    theirs = lh5.read("ch2/dsp", ANCHOR, fields=["energies", "trigger_pos"])
    for name in ("energies", "trigger_pos"):
        assert isinstance(table[name], VectorOfVectors)
        np.testing.assert_array_equal(
            table[name].flattened_data.nda, theirs[name].flattened_data.nda
        )
