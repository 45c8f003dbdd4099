"""The low-level HDF5 reads of the event tier (object ids, types asked of HDF5, whole small
datasets in one read) against h5py's high-level reads and lh5."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import awkward as ak
import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.evt import TCM, _hdf5, _slabs, build_evt
from tierflow.evt._config import make_evt_config
from tierflow.evt._slabs import SlabCache
from tierflow.types import Array, Table, VectorOfVectors

DTYPES = ["<f4", "<f8", ">f8", "<i2", "<u1", ">i4", "<u8", "<f2"]
BACKENDS = [
    pytest.param(_hdf5.hdf5_calls, id="ctypes"),
    pytest.param(_hdf5.H5pyCalls, id="h5py"),
]


def _calls(make: Any) -> Any:
    calls = make()
    if calls is None:
        pytest.skip("the HDF5 functions cannot be bound here")
    return calls


@pytest.mark.parametrize("make", BACKENDS)
@settings(max_examples=20, deadline=None)
@given(dtype=st.sampled_from(DTYPES), n=st.integers(0, 40))
def test_dataset_types_and_whole_reads_equal_h5py(
    tmp_path_factory: pytest.TempPathFactory, make: Any, dtype: str, n: int
) -> None:
    calls = _calls(make)
    path = tmp_path_factory.mktemp("ll") / "d.h5"
    data = (np.arange(n) * 3 - 7).astype(dtype)
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "x", data=data, chunks=(8,), maxshape=(None,), compression="gzip", shuffle=True
        )
    with h5py.File(path, "r") as f:
        hid = calls.open(calls.root(f), b"x")
        assert calls.is_dataset(hid)
        assert calls.shape(hid) == (n,)
        plain = calls.plain_dtype(hid)
        if dtype.startswith(">"):
            assert plain is None  # big-endian: left to h5py
        else:
            assert plain == np.dtype(dtype)
            out = np.empty(n, dtype=plain)
            assert calls.read(hid, out)
            assert out.tolist() == data.tolist()
        calls.close(hid)
        assert calls.open(calls.root(f), b"nope") is None


@pytest.mark.parametrize("make", BACKENDS)
def test_other_types_and_attributes(tmp_path: Path, make: Any) -> None:
    calls = _calls(make)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["b"] = np.array([True, False])  # h5py writes an enum
        f["s"] = np.array([b"ab", b"cd"])
        f["b"].attrs["datatype"] = "array<1>{bool}"  # variable-length
        f["s"].attrs.create("datatype", np.bytes_("array<1>{string}"))  # fixed-length
        f["s"].attrs["n"] = 3
        f["s"].attrs["many"] = np.array([b"abc", b"de"])  # not one string
        f["s"].attrs["vmany"] = ["abc", "de"]
    with h5py.File(tmp_path / "d.h5", "r") as f:
        root = calls.root(f)
        b, s = calls.open(root, b"b"), calls.open(root, b"s")
        assert calls.plain_dtype(b) is None
        assert calls.plain_dtype(s) is None
        assert calls.text_attribute(b, b"datatype") == "array<1>{bool}"
        assert calls.text_attribute(s, b"datatype") == "array<1>{string}"
        assert calls.text_attribute(s, b"n") is None  # not a string
        assert calls.text_attribute(s, b"missing") is None
        assert calls.text_attribute(s, b"many") is None
        assert calls.text_attribute(s, b"vmany") is None
        group = calls.open(root, b"/")
        assert not calls.is_dataset(group)
        for hid in (b, s, group):
            calls.close(hid)


def test_big_endian_columns_are_read_through_h5py(tmp_path: Path) -> None:
    path = tmp_path / "hit.lh5"
    lh5.write(Table({"e": Array(np.arange(5.0))}), "ch1/hit", path)
    with h5py.File(path, "a") as f:
        attrs = dict(f["ch1/hit/e"].attrs)
        del f["ch1/hit/e"]
        f["ch1/hit/e"] = np.arange(5.0).astype(">f8")
        f["ch1/hit/e"].attrs.update(attrs)
    with h5py.File(path, "r") as handle:
        cache = SlabCache(handle)
        got = cache.take("ch1/hit/e", np.array([1, 4]))
        assert got.nda.tolist() == [1.0, 4.0]
        cache.close()


def _write_hit(path: Path, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 4, n)
    counts = rng.integers(0, 200, lengths.sum()).astype(np.uint8)
    cols = {
        "counts": VectorOfVectors(
            flattened_data=Array(counts), cumulative_length=np.cumsum(lengths)
        ),
        "flags": VectorOfVectors(
            flattened_data=Array(counts > 100), cumulative_length=np.cumsum(lengths)
        ),
        "small": Array(rng.integers(0, 255, n).astype(np.uint8)),
        "e": Array(rng.normal(size=n).astype(np.float32)),
    }
    lh5.write(Table(cols), "ch1/hit", path)
    return {"lengths": lengths, "counts": counts}


def test_integers_and_booleans_are_told_apart_by_the_datatype(tmp_path: Path) -> None:
    path = tmp_path / "hit.lh5"
    _write_hit(path, 30)
    rows = np.array([0, 3, 4, 29])
    with h5py.File(path, "r") as handle:
        cache = SlabCache(handle)
        for field in ("counts", "flags", "small", "e"):
            assert cache.lookup("ch1/hit", field) == f"ch1/hit/{field}"
            got = ak.to_list(cache.take(f"ch1/hit/{field}", rows).view_as("ak"))
            full = lh5.read(f"ch1/hit/{field}", handle)
            want = ak.to_list(full.view_as("ak")[rows])
            assert got == want, field
        assert cache.take("ch1/hit/flags", rows).flattened_data.nda.dtype == np.bool_
        assert cache.take("ch1/hit/counts", rows).flattened_data.nda.dtype == np.uint8
        assert cache.take("ch1/hit/small", rows).nda.dtype == np.uint8
        assert cache.lookup("ch1/hit", "nope") is None
        assert cache.lookup("ch2/hit", "e") is None


def test_a_fixed_length_datatype_attribute_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "hit.lh5"
    _write_hit(path, 10)
    with h5py.File(path, "a") as f:  # as another writer might store it
        for name in ("ch1/hit/flags", "ch1/hit/small"):
            text = f[name].attrs["datatype"]
            del f[name].attrs["datatype"]
            f[name].attrs.create("datatype", np.bytes_(text))
    with h5py.File(path, "r") as handle:
        cache = SlabCache(handle)
        flags = cache.take("ch1/hit/flags", np.array([0, 1]))
        assert flags.flattened_data.nda.dtype == np.bool_
        assert cache.take("ch1/hit/small", np.array([0, 1])).nda.dtype == np.uint8


def test_a_failed_low_level_read_falls_back_to_lh5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hit.lh5"
    _write_hit(path, 20)

    def fail(self: object, ds: object) -> None:
        return None  # as when HDF5 cannot apply a filter

    monkeypatch.setattr(_slabs._Objects, "read_whole", fail)
    with h5py.File(path, "r") as handle:
        got = SlabCache(handle).take("ch1/hit/e", np.array([2, 5]))
        assert got.nda.tolist() == lh5.read("ch1/hit/e", handle).nda[[2, 5]].tolist()


def _tiny_inputs(folder: Path) -> dict[str, tuple[str, ...]]:
    lh5.write(Table({"e": Array(np.array([1.0, 2.0, 3.0]))}), "ch1/hit", folder / "hit.lh5")
    tcm = TCM(np.array([1, 1, 1]), np.array([0, 1, 2]), np.array([1, 2, 3]))
    lh5.write(tcm.to_table(), "hardware_tcm_1", folder / "tcm.lh5")
    (folder / "dsp.lh5").write_text("not an HDF5 file")
    return {
        "tcm": (str(folder / "tcm.lh5"), "hardware_tcm_1"),
        "hit": (str(folder / "hit.lh5"), "hit", "ch{}"),
        "dsp": (str(folder / "dsp.lh5"), "dsp", "ch{}"),
    }


TINY = {
    "channels": {"all": ["ch1"]},
    "outputs": ["e"],
    "operations": {
        "e": {"channels": "all", "aggregation_mode": "sum", "expression": "hit.e", "initial": 0}
    },
}


def test_tiers_the_config_does_not_read_are_not_opened(tmp_path: Path) -> None:
    info = _tiny_inputs(tmp_path)
    table = build_evt(info, TINY)
    assert table is not None
    assert table["e"].nda.tolist() == [1.0, 2.0, 3.0]
    reading_dsp = {**TINY, "operations": {"e": {**TINY["operations"]["e"], "expression": "dsp.e"}}}
    with pytest.raises(OSError, match=r"(?i)file signature|unable to"):
        build_evt(info, reading_dsp)


def test_a_config_file_is_parsed_again_when_it_changes(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "evt.yaml"
    path.write_text(yaml.safe_dump(TINY))
    first = make_evt_config(path)
    assert make_evt_config(str(path)) is first  # unchanged: the same parse
    changed = {**TINY, "outputs": ["e", "e2"]}
    changed["operations"] = {**TINY["operations"], "e2": {"expression": "evt.e * 2"}}
    path.write_text(yaml.safe_dump(changed))
    os.utime(path, ns=(1, 1))  # a new modification time even on coarse clocks
    assert make_evt_config(path).outputs == ("e", "e2")
