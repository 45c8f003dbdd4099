"""legend-lh5io reads what tierflow writes (runs where the anchor is installed: .[bench])."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tierflow import lh5
from tierflow.codecs import RadwareSigcompress
from tierflow.types import Array, Table, VectorOfVectors, WaveformTable

anchor = pytest.importorskip("lh5", reason="legend-lh5io is not installed (pip install .[bench])")


def test_anchor_reads_tierflow_tables(tmp_path: Path) -> None:
    file = tmp_path / "ours.lh5"
    values = np.arange(300, dtype="uint16").reshape(3, 100)
    table = Table(
        {
            "e": Array([1.0, 2.0, 3.0], attrs={"units": "keV"}),
            "flag": Array([True, False, True]),
            "vv": VectorOfVectors([[[1], [2, 3]], [], [[4]]]),
            "wf": WaveformTable(values=values, t0=[1.0, 2.0, 3.0], dt=16.0),
        }
    )
    lh5.write(table, "ch1/raw", file, codecs={"wf/values": RadwareSigcompress(codec_shift=-32768)})
    theirs = anchor.read("ch1/raw", str(file))
    np.testing.assert_array_equal(theirs["e"].nda, [1.0, 2.0, 3.0])
    assert theirs["e"].attrs["units"] == "keV"
    np.testing.assert_array_equal(theirs["flag"].nda, [True, False, True])
    assert theirs["vv"].view_as("ak").to_list() == [[[1], [2, 3]], [], [[4]]]
    np.testing.assert_array_equal(theirs["wf"].values.nda, values)
