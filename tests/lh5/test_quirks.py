"""What real LH5 files contain beyond the spec, made here with plain h5py."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from tierflow import lh5
from tierflow.types import Struct, Table, VectorOfVectors


def _column(group: h5py.Group, name: str, data: np.ndarray) -> None:
    group.create_dataset(name, data=data, maxshape=(None,))
    group[name].attrs["datatype"] = "array<1>{real}"


def test_stale_field_list_reads_the_real_children(tmp_path: Path) -> None:
    file = tmp_path / "stale.lh5"
    with h5py.File(file, "w") as handle:
        table = handle.create_group("t")
        table.attrs["datatype"] = "table{b,gone}"  # 'gone' was deleted, 'a' added later
        _column(table, "a", np.arange(3))
        _column(table, "b", np.arange(3) * 2)
    got = lh5.read("t", file)
    assert list(got.keys()) == ["b", "a"]  # the declared ones first, in their order
    assert got["a"].nda.tolist() == [0, 1, 2]


def test_group_without_datatype_is_a_struct(tmp_path: Path) -> None:
    file = tmp_path / "plain.lh5"
    with h5py.File(file, "w") as handle:
        _column(handle.create_group("ch1"), "energy", np.ones(2))
    got = lh5.read("ch1", file)
    assert isinstance(got, Struct)
    assert got["energy"].nda.tolist() == [1.0, 1.0]


def test_insertion_order_is_kept(tmp_path: Path) -> None:
    file = tmp_path / "order.lh5"
    with h5py.File(file, "w", track_order=True) as handle:
        table = handle.create_group("t", track_order=True)
        table.attrs["datatype"] = "table{z,a,m}"
        for name in ("z", "a", "m"):
            _column(table, name, np.arange(2))
    assert list(lh5.read("t", file).keys()) == ["z", "a", "m"]


def _old_vov(file: Path) -> None:
    with h5py.File(file, "w") as handle:
        vov = handle.create_group("v")
        vov.attrs["datatype"] = "array<1>{array<1>{real}}"
        _column(vov, "flattened_data", np.array([1.0, 2.0, 3.0, 99.0, 99.0]))  # stale tail
        _column(vov, "cumulative_length", np.array([2, 3], dtype=np.uint32))


def test_flat_data_longer_than_the_last_offset(tmp_path: Path) -> None:
    file = tmp_path / "old.lh5"
    _old_vov(file)
    got = lh5.read("v", file)
    assert [row.tolist() for row in got] == [[1.0, 2.0], [3.0]]
    assert len(got.flattened_data) == 3


def test_append_to_an_old_jagged_array_cuts_the_stale_tail(tmp_path: Path) -> None:
    file = tmp_path / "old.lh5"
    _old_vov(file)
    lh5.write(VectorOfVectors([[4.0], [5.0, 6.0]]), "v", file, mode=lh5.WriteMode.APPEND)
    got = lh5.read("v", file)
    assert [row.tolist() for row in got] == [[1.0, 2.0], [3.0], [4.0], [5.0, 6.0]]
    with h5py.File(file) as handle:
        assert handle["v/flattened_data"].shape == (6,)


def test_fixed_length_strings_and_scalar_strings(tmp_path: Path) -> None:
    file = tmp_path / "s.lh5"
    with h5py.File(file, "w") as handle:
        handle["names"] = np.array([b"V00048A", b"B00000D"])
        handle["names"].attrs["datatype"] = "array<1>{string}"
        handle["meta"] = "hello"
        handle["meta"].attrs["datatype"] = "string"
    assert lh5.read("names", file).nda.tolist() == [b"V00048A", b"B00000D"]
    assert lh5.read("meta", file).value == "hello"


def test_empty_table_round_trip(tmp_path: Path) -> None:
    file = tmp_path / "e.lh5"
    lh5.write(Table(), "t", file)
    got = lh5.read("t", file)
    assert isinstance(got, Table)
    assert len(got) == 0
