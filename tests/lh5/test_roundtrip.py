"""Write → read is the identity for every type, in every write mode (hypothesis properties)."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.lh5 import WriteMode
from tierflow.testing import strategies as tfst
from tierflow.types import Array, Table, VectorOfVectors

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def lh5_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder) / "f.lh5"


def _copy(obj: Any) -> Any:
    return copy.deepcopy(obj)


@PROPERTY
@given(tfst.data_objects(), st.sampled_from(["gzip", "lzf", "zstd", None]))
def test_create_then_read_is_identity(obj: Any, compression: str | None) -> None:
    with lh5_file() as file:
        lh5.write(obj, "obj", file, hdf5_settings={"compression": compression})
        assert lh5.read("obj", file) == obj


@PROPERTY
@given(tfst.data_objects(), tfst.data_objects())
def test_overwrite_replaces_the_object(first: Any, second: Any) -> None:
    with lh5_file() as file:
        lh5.write(first, "obj", file, group="g")
        lh5.write(Array([1, 2]), "other", file, group="g")
        lh5.write(second, "obj", file, group="g", mode=WriteMode.OVERWRITE)
        assert lh5.read("g/obj", file) == second
        assert lh5.read("g/other", file) == Array([1, 2])


@PROPERTY
@given(tfst.data_objects())
def test_overwrite_file_leaves_only_the_new_object(obj: Any) -> None:
    with lh5_file() as file:
        lh5.write(Array([1.0]), "old", file)
        lh5.write(obj, "new", file, mode=WriteMode.OVERWRITE_FILE)
        assert lh5.ls(file) == ["new"]
        assert lh5.read("new", file) == obj


@PROPERTY
@given(st.data())
def test_append_rows_equals_extend(data: st.DataObject) -> None:
    first = data.draw(tfst.tables())
    order = data.draw(st.permutations(range(len(first))))
    second = first.take(np.asarray(order, dtype=np.intp))
    expected = _copy(first)
    expected.extend(_copy(second))
    with lh5_file() as file:
        lh5.write(first, "t", file, mode=WriteMode.APPEND)
        lh5.write(second, "t", file, mode=WriteMode.APPEND)
        assert lh5.read("t", file) == expected


@PROPERTY
@given(st.data())
def test_append_jagged_keeps_offsets(data: st.DataObject) -> None:
    first = data.draw(tfst.vectors_of_vectors())
    second = first.take(slice(0, data.draw(st.integers(0, len(first)))))
    expected = _copy(first)
    expected.extend(_copy(second))
    with lh5_file() as file:
        lh5.write(first, "v", file, mode=WriteMode.APPEND)
        lh5.write(second, "v", file, mode=WriteMode.APPEND)
        got = lh5.read("v", file)
    assert got == expected
    assert int(got.cumulative_length.nda[-1] if len(got) else 0) == _n_flat(got)


def _n_flat(vov: VectorOfVectors) -> int:
    return len(vov.flattened_data)


@PROPERTY
@given(st.data())
def test_append_column(data: st.DataObject) -> None:
    table = data.draw(tfst.tables(depth=0))
    extra = data.draw(tfst.tables(n_rows=len(table), depth=0))
    extra = Table({f"x_{k}": v for k, v in extra.items()}, size=len(table))
    with lh5_file() as file:
        lh5.write(table, "t", file)
        lh5.write(extra, "t", file, mode=WriteMode.APPEND_COLUMN)
        got = lh5.read("t", file)
    assert list(got.keys()) == list(table.keys()) + list(extra.keys())
    for name in got:
        assert got[name] == (table[name] if name in table else extra[name])


@PROPERTY
@given(tfst.tables(), st.data())
def test_rows_read_equal_rows_taken(table: Table, data: st.DataObject) -> None:
    n = len(table)
    start = data.draw(st.integers(0, n))
    count = data.draw(st.integers(0, n - start))
    picks = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=8)) if n else []
    with lh5_file() as file:
        lh5.write(table, "t", file)
        part = lh5.read("t", file, start_row=start, n_rows=count)
        picked = lh5.read("t", file, rows=np.asarray(picks, dtype=np.intp))
    for name in table:
        assert part[name] == table[name].take(slice(start, start + count))
        assert picked[name] == table[name].take(np.asarray(picks, dtype=np.intp))


@PROPERTY
@given(
    st.lists(tfst.tables(depth=0), min_size=1, max_size=1).flatmap(
        lambda t: st.tuples(st.just(t[0]), st.integers(1, 4))
    )
)
def test_many_files_read_as_one(case: tuple[Table, int]) -> None:
    table, copies = case
    expected = _copy(table)
    for _ in range(copies - 1):
        expected.extend(_copy(table))
    with tempfile.TemporaryDirectory() as folder:
        files = [Path(folder) / f"{i}.lh5" for i in range(copies)]
        for file in files:
            lh5.write(table, "t", file)
        got = lh5.read("t", files)
        assert got == expected
        if len(expected):
            rows = np.array([0, len(expected) - 1])
            assert lh5.read("t", files, rows=rows) == expected.take(rows)


def test_buffer_is_refilled_not_reallocated(tmp_path: Path) -> None:
    file = tmp_path / "b.lh5"
    table = Table(
        {"e": Array(np.arange(100.0)), "v": VectorOfVectors([[i] * (i % 3) for i in range(100)])}
    )
    lh5.write(table, "t", file)
    buffer = lh5.read("t", file, n_rows=50)
    energy_memory = buffer["e"]._buffer
    again = lh5.read("t", file, start_row=50, n_rows=50, obj=buffer)
    assert again["e"]._buffer is energy_memory
    np.testing.assert_array_equal(again["e"].nda, np.arange(50.0, 100.0))
    assert again["v"] == table["v"].take(slice(50, 100))


def test_layout_follows_the_format(tmp_path: Path) -> None:
    file = tmp_path / "layout.lh5"
    table = Table(
        {"a": Array([1, 2], attrs={"units": "ns"}), "v": VectorOfVectors([[1.0], [2.0, 3.0]])}
    )
    lh5.write(table, "t", file)
    with h5py.File(file) as handle:
        assert handle["t"].attrs["datatype"] == "table{a,v}"
        assert handle["t/a"].attrs["datatype"] == "array<1>{real}"
        assert handle["t/a"].attrs["units"] == "ns"
        assert handle["t/v"].attrs["datatype"] == "array<1>{array<1>{real}}"
        assert handle["t/v/cumulative_length"].attrs["datatype"] == "array<1>{real}"
        assert handle["t/v/flattened_data"].attrs["datatype"] == "array<1>{real}"
        assert handle["t/a"].maxshape == (None,)
        assert handle["t/a"].compression == "gzip"
        assert handle["t/a"].shuffle


def test_append_to_encoded_waveforms_uses_the_codec_on_disk(tmp_path: Path) -> None:
    from tierflow.codecs import ULEB128ZigZagDiff
    from tierflow.types import ArrayOfEqualSizedArrays, WaveformTable

    file = tmp_path / "wf.lh5"
    values = np.arange(40, dtype=np.uint16).reshape(4, 10)
    table = Table({"wf": WaveformTable(values)})
    lh5.write(table, "t", file, codecs={"wf/values": ULEB128ZigZagDiff()})
    lh5.write(table, "t", file, mode=WriteMode.APPEND)
    encoded = lh5.read("t/wf/values", file, decompress=False)
    assert encoded.attrs["codec"] == "uleb128_zigzag_diff"
    decoded = lh5.read("t/wf/values", file)
    assert isinstance(decoded, ArrayOfEqualSizedArrays)
    np.testing.assert_array_equal(decoded.nda, np.concatenate([values, values]))


def test_codec_for_a_non_waveform_field_is_refused(tmp_path: Path) -> None:
    import pytest

    from tierflow.errors import MismatchError

    with pytest.raises(MismatchError, match="waveform codec"):
        lh5.write(
            Table({"e": Array([1.0])}), "t", tmp_path / "x.lh5", codecs={"e": "uleb128_zigzag_diff"}
        )
