"""Every object of every real LH5 file reads completely, and equals a plain h5py read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers the Zstd filter for plain h5py reads)
import numpy as np
import pytest

from tierflow import lh5
from tierflow.types import (
    Array,
    ArrayOfEncodedEqualSizedArrays,
    ArrayOfEqualSizedArrays,
    Histogram,
    Scalar,
    Struct,
    VectorOfEncodedVectors,
    VectorOfVectors,
)

pytestmark = pytest.mark.shared

P14_RAW = (
    "prod-ref-l200/generated/tier/raw/cal/p14/r005/l200-p14-r004-cal-20250606T010224Z-tier_raw.lh5"
)
EVT = (
    "l200-truncated/generated/tier/evt/ant/p13/r001/l200-p13-r001-ant-20241210T225016Z-tier_evt.lh5"
)
CAL_DSP = "l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
PHY_RAW = (
    "prod-ref-l200/generated/tier/raw/phy/p03/r001/l200-p03-r001-phy-20230322T160139Z-tier_raw.lh5"
)


def _lh5_files(shared: Path) -> list[Path]:
    roots = [shared / "testdata" / "legend" / "lh5", shared / "reference" / "legend"]
    return sorted(p for root in roots for p in root.rglob("*.lh5"))


def _plain(ds: h5py.Dataset) -> Any:
    if ds.dtype.kind == "O":
        return np.asarray(ds.asstr()[()], dtype=str)
    data = ds[()]
    if ds.attrs.get("datatype", "").endswith("{bool}") or ds.attrs.get("datatype") == "bool":
        return np.asarray(data).astype(bool)
    return data


def _compare(obj: Any, h5obj: Any, path: str) -> int:
    """Assert `obj` holds exactly what h5py reads at `h5obj`; returns datasets compared."""
    if isinstance(obj, Scalar):
        expected = _plain(h5obj)
        value = (
            expected.item() if isinstance(expected, np.ndarray) and expected.ndim == 0 else expected
        )
        assert obj.value == (value.decode() if isinstance(value, bytes) else value), path
        return 1
    if isinstance(obj, Array):
        np.testing.assert_array_equal(obj.nda, _plain(h5obj), err_msg=path)
        assert obj.nda.dtype == _plain(h5obj).dtype, path
        return 1
    if isinstance(obj, VectorOfVectors):
        offsets = h5obj["cumulative_length"][()]
        np.testing.assert_array_equal(obj.cumulative_length.nda, offsets, err_msg=path)
        inner = h5obj["flattened_data"]
        if isinstance(obj.flattened_data, VectorOfVectors):
            return 1 + _compare(obj.flattened_data, inner, path + "/flattened_data")
        end = int(offsets[-1]) if len(offsets) else 0
        np.testing.assert_array_equal(obj.flattened_data.nda, _plain(inner)[:end], err_msg=path)
        return 2
    if isinstance(obj, (ArrayOfEncodedEqualSizedArrays, VectorOfEncodedVectors)):
        return _compare(obj.encoded_data, h5obj["encoded_data"], path + "/encoded_data")
    if isinstance(obj, Histogram):
        np.testing.assert_array_equal(obj.weights.nda, h5obj["weights"][()])
        assert len(obj.binning) == len(h5obj["binning"])
        return 1
    assert isinstance(obj, Struct), (path, type(obj))
    assert set(obj.keys()) == set(h5obj.keys()), path
    return sum(_compare(obj[name], h5obj[name], f"{path}/{name}") for name in obj)


def test_every_object_of_every_file_reads_as_h5py_does(shared: Path) -> None:
    files = _lh5_files(shared)
    assert len(files) >= 40
    compared = 0
    for file in files:
        with h5py.File(file) as handle:
            for top in handle:
                obj = lh5.read(top, file, decompress=False)
                compared += _compare(obj, handle[top], f"{file.name}:{top}")
    assert compared > 4500  # 4940 datasets in the shared files


def test_compressed_waveforms_decode_to_their_decoded_size(legend_lh5: Path) -> None:
    file = legend_lh5 / P14_RAW
    codecs_seen = set()
    for table in lh5.ls(file, "ch*/raw"):
        for field in ("waveform_windowed", "waveform_presummed"):
            encoded = lh5.read(f"{table}/{field}/values", file, decompress=False)
            decoded = lh5.read(f"{table}/{field}/values", file)
            codecs_seen.add(encoded.attrs["codec"])
            assert isinstance(decoded, ArrayOfEqualSizedArrays)
            assert decoded.nda.shape == (len(encoded), encoded.decoded_size)
            # encoding again gives as many bytes per waveform, and the same waveforms
            # (not always the same bytes: the anchor's radware leaves a padding word uninitialised)
            again = ArrayOfEncodedEqualSizedArrays.encode(decoded, encoded.codec)
            np.testing.assert_array_equal(
                again.encoded_data.cumulative_length.nda, encoded.encoded_data.cumulative_length.nda
            )
            assert again.decode() == decoded
    assert codecs_seen == {"radware_sigcompress", "uleb128_zigzag_diff"}


def test_hard_linked_tables_read_the_same(legend_lh5: Path) -> None:
    file = legend_lh5 / P14_RAW
    with h5py.File(file) as handle:
        pairs = [(f"raw/{name}", f"ch{obj['channel'][0]}") for name, obj in handle["raw"].items()]
    assert pairs
    a = lh5.read("raw/V00048A", file, fields=["timestamp", "daqenergy"])
    b = lh5.read("ch1105604/raw", file, fields=["timestamp", "daqenergy"])
    assert a == b


def test_bools_written_as_uint8_read_as_bool(legend_lh5: Path) -> None:
    file = legend_lh5 / EVT
    with h5py.File(file) as handle:
        names: list[str] = []
        handle.visititems(
            lambda n, o: (
                names.append(n)
                if isinstance(o, h5py.Dataset)
                and o.dtype == np.uint8
                and "bool" in o.attrs.get("datatype", "")
                else None
            )
        )
    assert names
    for name in names:
        leaf = lh5.read(name, file)
        assert leaf.nda.dtype == np.bool_
        with h5py.File(file) as handle:
            np.testing.assert_array_equal(leaf.nda, handle[name][()] != 0)


def test_rows_and_fields_of_a_real_table(legend_lh5: Path) -> None:
    file = legend_lh5 / PHY_RAW
    name = lh5.ls(file, "ch*/raw")[0]
    whole = lh5.read(name, file)
    part = lh5.read(name, file, start_row=3, n_rows=5, fields=["timestamp", "waveform"])
    assert list(part.keys()) == ["timestamp", "waveform"]
    np.testing.assert_array_equal(part["timestamp"].nda, whole["timestamp"].nda[3:8])
    np.testing.assert_array_equal(part["waveform/values"].nda, whole["waveform/values"].nda[3:8])
    mask = np.zeros(len(whole), dtype=bool)
    mask[[0, 2, len(whole) - 1]] = True
    picked = lh5.read(name, file, rows=mask, fields=["waveform/values"])
    np.testing.assert_array_equal(picked["waveform/values"].nda, whole["waveform/values"].nda[mask])


def test_read_as_pandas(legend_lh5: Path) -> None:
    file = legend_lh5 / "prod-ref-l200/generated/tier/dsp/cal/p03/r000" / CAL_DSP
    frame = lh5.read_as("ch1104000/dsp", file, "pd", fields=["cuspEmax", "tp_0_est"])
    assert list(frame.columns) == ["cuspEmax", "tp_0_est"]
    assert len(frame) == 38343
    with h5py.File(file) as handle:
        np.testing.assert_array_equal(
            frame["cuspEmax"].to_numpy(), handle["ch1104000/dsp/cuspEmax"][()]
        )


def test_zstd_data_reads_in_a_fresh_process(legend_lh5: Path) -> None:
    """Nothing but tierflow imported: the Zstd filter must still be found."""
    import subprocess
    import sys

    code = (
        "import sys; from tierflow import lh5;"
        f"t = lh5.read('ch1105600/raw', {str(legend_lh5 / P14_RAW)!r});"
        "print(len(t), t['waveform_windowed/values'].nda.shape)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["1", "(1,", "1400)"]
