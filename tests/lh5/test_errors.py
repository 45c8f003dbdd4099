"""Bad input gets a clear error naming the file and the object."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from tierflow import lh5
from tierflow.errors import DatatypeError, FormatError, MismatchError, NotFoundError
from tierflow.lh5 import ObjectExistsError, WriteMode
from tierflow.types import Array, Table, VectorOfVectors


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    file = tmp_path / "t.lh5"
    table = Table({"energy": Array([1.0, 2.0, 3.0]), "hits": VectorOfVectors([[1], [], [2, 3]])})
    lh5.write(table, "ch1/dsp", file)
    return file


def test_missing_object_suggests_closest(table_file: Path) -> None:
    with pytest.raises(NotFoundError) as info:
        lh5.read("ch1/dps", table_file)
    message = str(info.value)
    assert "'dsp'" in message
    assert str(table_file) in message
    assert "/ch1/dps" in message
    with pytest.raises(KeyError):  # the builtin it refines
        lh5.read("ch1/dsp/enrgy", table_file)


def test_missing_field_in_selection_suggests_closest(table_file: Path) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'energy'"):
        lh5.read("ch1/dsp", table_file, fields=["enrgy"])


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such LH5 file"):
        lh5.read("x", tmp_path / "absent.lh5")


def test_not_hdf5_is_a_format_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.lh5"
    bad.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(FormatError, match="cannot open as HDF5"):
        lh5.read("x", bad)


def test_datatype_that_does_not_parse(table_file: Path) -> None:
    with h5py.File(table_file, "a") as handle:
        handle["ch1/dsp/energy"].attrs["datatype"] = "array<1>{reel}"
    with pytest.raises(DatatypeError) as info:
        lh5.read("ch1/dsp/energy", table_file)
    assert "reel" in str(info.value)
    assert "/ch1/dsp/energy" in str(info.value)


def test_offsets_not_monotonic(table_file: Path) -> None:
    with h5py.File(table_file, "a") as handle:
        handle["ch1/dsp/hits/cumulative_length"][...] = [2, 1, 3]
    with pytest.raises(FormatError, match="not monotonic") as info:
        lh5.read("ch1/dsp/hits", table_file)
    assert str(table_file) in str(info.value)


def test_offsets_overrun_the_data(table_file: Path) -> None:
    with h5py.File(table_file, "a") as handle:
        handle["ch1/dsp/hits/cumulative_length"][...] = [1, 1, 9]
    with pytest.raises(FormatError, match="ends at 9"):
        lh5.read("ch1/dsp/hits", table_file)


def test_columns_of_unequal_length(table_file: Path) -> None:
    with h5py.File(table_file, "a") as handle:
        handle["ch1/dsp/energy"].resize(5, axis=0)
    with pytest.raises(FormatError, match="unequal lengths"):
        lh5.read("ch1/dsp", table_file)
    with pytest.raises(MismatchError):
        Table({"a": Array([1, 2]), "b": Array([1])})


def test_append_of_another_type(table_file: Path) -> None:
    other = Table({"energy": Array(np.array([[1.0, 2.0]])), "hits": VectorOfVectors([[1]])})
    with pytest.raises(MismatchError) as info:
        lh5.write(other, "ch1/dsp", table_file, mode=WriteMode.APPEND)
    assert "/ch1/dsp/energy" in str(info.value)
    strings = Table({"energy": Array(np.array([b"a"])), "hits": VectorOfVectors([[1]])})
    with pytest.raises(MismatchError):
        lh5.write(strings, "ch1/dsp", table_file, mode=WriteMode.APPEND)
    missing = Table({"energy": Array([1.0])})
    with pytest.raises(MismatchError, match="differs"):
        lh5.write(missing, "ch1/dsp", table_file, mode=WriteMode.APPEND)


def test_create_refuses_to_replace(table_file: Path) -> None:
    with pytest.raises(ObjectExistsError):
        lh5.write(Array([1]), "ch1/dsp", table_file)
    with pytest.raises(FileExistsError):  # the builtin it refines
        lh5.write(Array([1]), "ch1/dsp", table_file, mode="create")


def test_failed_write_of_a_new_file_leaves_nothing(tmp_path: Path) -> None:
    class Broken(Array):
        @property
        def nda(self) -> np.ndarray:
            raise RuntimeError("disk on fire")

    target = tmp_path / "new.lh5"
    table = Table({"a": Array([1, 2]), "b": Broken([1, 2])})
    with pytest.raises(RuntimeError, match="disk on fire"):
        lh5.write(table, "t", target)
    assert list(tmp_path.iterdir()) == []


def test_unknown_hdf5_setting_suggests(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'compression'"):
        lh5.write(Array([1]), "a", tmp_path / "x.lh5", hdf5_settings={"compresion": "gzip"})


def test_write_modes_by_the_anchors_names(tmp_path: Path) -> None:
    assert WriteMode.parse("of") is WriteMode.OVERWRITE_FILE
    assert WriteMode.parse("write_safe") is WriteMode.CREATE
    assert WriteMode.parse("ac") is WriteMode.APPEND_COLUMN
    lh5.write(Array([1]), "a", tmp_path / "m.lh5", mode="a")
    lh5.write(Array([2]), "a", tmp_path / "m.lh5", mode="a")
    assert lh5.read("a", tmp_path / "m.lh5").nda.tolist() == [1, 2]
    with pytest.raises(NotFoundError, match="did you mean 'append'"):
        WriteMode.parse("apend")
