"""Parity with the anchor (legend-daq2lh5 1.7.1 + fcio 0.7.10) on the shared DAQ files.

Every dataset of every reference table is compared: values, dtype, shape and units; and
every object's attributes.
Known anchor bugs, where our numbers are right and the anchor's are not, are listed in
``ANCHOR_BUGS`` with the reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from tierflow import lh5
from tierflow.raw import build_raw

pytestmark = pytest.mark.shared

CASES = {
    "fcio-spms-2021": ("fcio/L200-comm-20211130-phy-spms.fcio", {}, ["FCEvent", "FCStatus"]),
    "fcio-p06-cal": ("fcio/l200-p06-r007-cal-20230725T202227Z.fcio", {}, ["FCEvent"]),
    "llama-pulser": (
        "llamaDAQ/20241218-150158-pulser.bin",
        {"in_stream_type": "LlamaDaq"},
        ["LLAMAEvent_0", "LLAMAEvent_4", "LLAMAHeader"],
    ),
    "compass": (
        "compass/compass_test_data.BIN",
        {"compass_config_file": "compass/compass_test_data_settings.xml"},
        ["CompassEvent", "CompassHeader"],
    ),
    "orca-fc-geds-2022": (
        "orca/fc/L200-comm-20220519-phy-geds.orca",
        {},
        ["ORFlashCamADCWaveform", "ORFlashCamListenerConfig", "ORRunDecoderForRun", "OrcaHeader"],
    ),
    "orca-fcio-p13-aph": (
        "orca/fcio/l200-p13-r007-aph-20250101T003931Z.orca",
        {},
        [
            "ORFCIOConfig_fcid_1",
            "ORFCIOConfig_swtid_1",
            "ORFCIOEventHeader_fcid_1",
            "ORFCIOEventHeader_swtid_1",
            "ORFCIOEvent_0",
            "ORFCIOEvent_swtid_1",
            "ORRunDecoderForRun",
            "OrcaHeader",
        ],
    ),
}

ANCHOR_BUGS = {
    # The anchor never fills energy_calibrated when the file has no calibrated energy: its
    # buffer's uninitialised memory is written. We write NaN.
    ("CompassEvent", "energy_calibrated"),
}
# FCConfig: the anchor writes the config struct's empty buffer (uninitialised memory, one row
# per trace) instead of the config; we write the config, one row. Not compared.


def _datasets(group: h5py.Group | h5py.Dataset, prefix: str = "") -> dict[str, h5py.Dataset]:
    if isinstance(group, h5py.Dataset):
        return {"": group}
    out: dict[str, Any] = {}
    for name, obj in group.items():
        if isinstance(obj, h5py.Dataset):
            out[prefix + name] = obj
        else:
            out.update(_datasets(obj, prefix + name + "/"))
    return out


@pytest.fixture(scope="module")
def outputs(
    testdata: Path, reference: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    out = {}
    base = testdata / "legend"
    tmp = tmp_path_factory.mktemp("raw")
    for case, (inp, given, _) in CASES.items():
        kw: dict[str, Any] = {
            k: (str(base / v) if k.endswith("_file") else v) for k, v in given.items()
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build_raw(base / inp, out_spec=str(tmp / f"{case}.lh5"), overwrite=True, **kw)
        out[case] = tmp / f"{case}.lh5"
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_same_tables_field_by_field(case: str, outputs: dict[str, Path], reference: Path) -> None:
    ref = h5py.File(reference / "legend" / "raw" / f"{case}-default.lh5")
    ours = h5py.File(outputs[case])
    assert set(ref) == set(ours), "same table names under the default out_spec"
    for table in CASES[case][2]:
        theirs, mine = _datasets(ref[table]), _datasets(ours[table])
        assert set(theirs) == set(mine), table
        for name, ds in theirs.items():
            if (table, name) in ANCHOR_BUGS:
                continue
            a, b = ds[()], mine[name][()]
            assert np.asarray(a).dtype == np.asarray(b).dtype, f"{table}/{name}"
            np.testing.assert_array_equal(a, b, err_msg=f"{table}/{name}")
            assert ds.attrs.get("units") == mine[name].attrs.get("units"), f"{table}/{name} units"


@pytest.mark.parametrize("case", list(CASES))
def test_same_attributes_on_every_object(
    case: str, outputs: dict[str, Path], reference: Path
) -> None:
    """Units, descriptions and the rest, as the anchor writes them; ``datatype`` is left out:
    the anchor lists a struct's fields sorted by name, we in their order (both read alike)."""
    ref = h5py.File(reference / "legend" / "raw" / f"{case}-default.lh5")
    ours = h5py.File(outputs[case])
    differ: list[str] = []

    def visit(name: str, obj: Any) -> None:
        theirs = {k: str(v) for k, v in obj.attrs.items() if k != "datatype"}
        mine = {k: str(v) for k, v in ours[name].attrs.items() if k != "datatype"}
        if theirs != mine:
            differ.append(f"{name}: {theirs} != {mine}")

    ref.visititems(visit)
    assert not differ, "\n".join(differ[:5])


@pytest.mark.parametrize(
    ("case", "inp", "table", "kw"),
    [
        ("fcio-p06-cal", "fcio/l200-p06-r007-cal-20230725T202227Z.fcio", "FCEvent", {}),
        (
            "compass",
            "compass/compass_test_data.BIN",
            "CompassEvent",
            {"compass_config_file": "compass/compass_test_data_settings.xml"},
        ),
    ],
)
def test_uleb128_waveforms_identical(
    case: str,
    inp: str,
    table: str,
    kw: dict[str, str],
    testdata: Path,
    reference: Path,
    tmp_path: Path,
) -> None:
    base = testdata / "legend"
    files: dict[str, Any] = {k: str(base / v) for k, v in kw.items()}
    spec = {
        "*": {
            "{name}": {
                "key_list": ["*"],
                "out_stream": str(tmp_path / "o.lh5"),
                "proc_spec": {"compression": {"waveform/values": "uleb128_zigzag_diff"}},
            }
        }
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(base / inp, out_spec=spec, overwrite=True, **files)
    ref = reference / "legend" / "raw" / f"{case}-uleb128.lh5"
    ours = h5py.File(tmp_path / "o.lh5")
    assert ours[f"{table}/waveform/values"].attrs["codec"] == "uleb128_zigzag_diff"
    np.testing.assert_array_equal(
        ours[f"{table}/waveform/values/encoded_data/flattened_data"][()],
        h5py.File(ref)[f"{table}/waveform/values/encoded_data/flattened_data"][()],
    )
    np.testing.assert_array_equal(
        lh5.read(f"{table}/waveform/values", tmp_path / "o.lh5").nda,
        lh5.read(f"{table}/waveform/values", ref).nda,
    )
