"""Write the frozen LH5 fixtures in this folder: ``python tests/data/make_fixtures.py``.

Files written here stay in the repository: every later tierflow must read them into the very
objects :func:`expected_objects` builds (tests/lh5/test_frozen.py). Add a new file for a new
format version; never rewrite an old one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tierflow import lh5
from tierflow.codecs import RadwareSigcompress, ULEB128ZigZagDiff
from tierflow.types import (
    Array,
    ArrayOfDetectorIDs,
    FixedSizeArray,
    Histogram,
    Scalar,
    Struct,
    Table,
    VectorOfVectors,
    WaveformTable,
    axis,
)

HERE = Path(__file__).parent
FORMAT_V1 = HERE / "tierflow-0.1-lh5.lh5"


def expected_objects() -> dict[str, object]:
    """The objects the version-1 fixture holds, by name."""
    rng = np.random.default_rng(7)
    waveforms = (rng.normal(15000, 30, size=(5, 64))).astype(np.uint16)
    return {
        "raw": Table(
            {
                "timestamp": Array(np.linspace(1.6e9, 1.6e9 + 4, 5), attrs={"units": "s"}),
                "flag": Array(np.array([True, False, True, True, False])),
                "channel": ArrayOfDetectorIDs([1104000, 1104001, 1104000, 1104002, 1104000]),
                "evttype": Array(
                    np.array([1, 2, 1, 4, 1]), enum={"phy": 1, "pulser": 2, "bsln": 4}
                ),
                "hits": VectorOfVectors([[1.5], [], [2.5, 3.5], [[]][0], [4.0]]),
                "nested": VectorOfVectors(
                    [[[1], [2, 3]], [], [[4]], [[5, 6, 7]], []], dtype="int16"
                ),
                "waveform": WaveformTable(
                    waveforms, t0=np.zeros(5), dt=16.0, t0_units="ns", dt_units="ns"
                ),
                "names": Array(np.array([b"V00048A", b"B00000D", b"a", b"b", b"c"])),
                "window": FixedSizeArray(np.arange(10.0).reshape(5, 2)),
            }
        ),
        "hist": Histogram(
            np.arange(6.0).reshape(2, 3),
            [axis.Regular(0, 2, 1, units="keV"), axis.Variable((0, 1, 5, 10))],
        ),
        "meta": Struct({"run": Scalar(np.int64(7)), "name": Scalar("cal"), "ok": Scalar(True)}),
    }


CODECS = {"waveform/values": RadwareSigcompress(codec_shift=-32768)}


def main() -> None:
    objects = expected_objects()
    lh5.write(objects["raw"], "raw", FORMAT_V1, mode=lh5.WriteMode.OVERWRITE_FILE, codecs=CODECS)
    lh5.write(
        objects["raw"], "raw_uleb", FORMAT_V1, codecs={"waveform/values": ULEB128ZigZagDiff()}
    )
    lh5.write(objects["hist"], "hist", FORMAT_V1)
    lh5.write(objects["meta"], "meta", FORMAT_V1)


if __name__ == "__main__":
    main()
