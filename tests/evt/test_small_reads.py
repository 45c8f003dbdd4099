"""Batched reads of the event tier: whole small fields of many tables in one batch of HDF5
calls, prefilled slab caches, string attributes and small time-coincidence maps, each
against the one-object-at-a-time paths (h5py, lh5, the lazy slab cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.evt import TCM, _hdf5, _tcm
from tierflow.evt._slabs import SlabCache
from tierflow.evt._tcm import read_tcm
from tierflow.types import Array, Table, VectorOfVectors

BACKENDS = [
    pytest.param(_hdf5.hdf5_calls, id="ctypes"),
    pytest.param(_hdf5.H5pyCalls, id="h5py"),
]
FIELDS = ("e", "flag", "count", "pulses", "valid", "hits")


def _calls(make: Any) -> Any:
    calls = make()
    if calls is None:
        pytest.skip("the HDF5 functions cannot be bound here")
    return calls


def _write_tables(path: Path, n_tables: int, n: int, dtype: str, seed: int) -> None:
    """Tables ``ch0/hit``, ... with flat and jagged numbers and booleans."""
    rng = np.random.default_rng(seed)
    for t in range(n_tables):
        lengths = rng.integers(0, 4, n)
        total = int(lengths.sum())
        cols = {
            "e": Array((rng.normal(size=n) * 100).astype(dtype)),
            "flag": Array(rng.random(n) < 0.5),
            "count": Array(rng.integers(0, 200, n).astype(np.uint8)),
            "pulses": VectorOfVectors(
                flattened_data=Array((rng.normal(size=total) * 100).astype(dtype)),
                cumulative_length=np.cumsum(lengths),
            ),
            "valid": VectorOfVectors(
                flattened_data=Array(rng.random(total) < 0.5), cumulative_length=np.cumsum(lengths)
            ),
            "hits": VectorOfVectors(
                flattened_data=Array(rng.integers(0, 9, total).astype(np.int16)),
                cumulative_length=np.cumsum(lengths),
            ),
        }
        lh5.write(Table(cols, size=n), f"ch{t}/hit", path)


@pytest.mark.parametrize("make", BACKENDS)
@settings(max_examples=15, deadline=None)
@given(
    dtype=st.sampled_from(["<f8", "<f4", "<i8", "<u2"]),
    n=st.integers(1, 30),
    seed=st.integers(0, 2**16),
)
def test_small_fields_equal_h5py(
    tmp_path_factory: pytest.TempPathFactory, make: Any, dtype: str, n: int, seed: int
) -> None:
    calls = _calls(make)
    path = tmp_path_factory.mktemp("small") / "hit.lh5"
    _write_tables(path, 3, n, dtype, seed)
    with h5py.File(path, "r") as f:
        for field in FIELDS:
            paths = [f"ch{t}/hit/{field}".encode() for t in range(3)]
            got = _hdf5.read_small_fields(calls, calls.root(f), paths, 2**20)
            for t, small in enumerate(got):
                assert small is not None, field
                obj = f[f"ch{t}/hit/{field}"]
                if isinstance(obj, h5py.Dataset):
                    assert small.offsets is None
                    want = obj[...]
                else:
                    assert small.offsets is not None
                    offsets = obj["cumulative_length"][...]
                    assert small.offsets.dtype == offsets.dtype
                    assert small.offsets.tolist() == offsets.tolist()
                    want = obj["flattened_data"][...]
                assert small.values.dtype == want.dtype, field
                assert small.values.tobytes() == want.tobytes(), field
                expected = obj.attrs["datatype"] if want.dtype.kind in "iu" else None
                assert small.datatype == expected, field


@pytest.mark.parametrize("make", BACKENDS)
def test_small_fields_leave_the_rest_to_other_paths(tmp_path: Path, make: Any) -> None:
    calls = _calls(make)
    path = tmp_path / "hit.lh5"
    _write_tables(path, 1, 40, "<f8", 1)
    with h5py.File(path, "a") as f:
        f["ch0/hit/big"] = np.arange(5.0).astype(">f8")  # big-endian
        f["ch0/hit/text"] = np.array([b"ab", b"cd"])
        f["ch0/hit/square"] = np.zeros((2, 2))
    names = [b"e", b"pulses", b"big", b"text", b"square", b"nope", b"pulses/nope"]
    with h5py.File(path, "r") as f:
        root = calls.root(f)
        got = _hdf5.read_small_fields(calls, root, [b"ch0/hit/" + n for n in names], 2**20)
        assert [g is not None for g in got] == [True, True, False, False, False, False, False]
        assert _hdf5.read_small_fields(calls, root, [b"ch0/hit/e"], 8 * 39) == [None]
        assert _hdf5.read_small_fields(calls, root, [b"ch0/hit/e"], 2**20, 39) == [None]
        assert _hdf5.read_small_fields(calls, root, [b"ch0/hit/e"], 2**20, 40)[0] is not None
        # the row limit is for rows, not for the values of jagged arrays
        pulses = _hdf5.read_small_fields(calls, root, [b"ch0/hit/pulses"], 2**20, 40)[0]
        assert pulses is not None
        assert len(pulses.values) > 40


def test_string_attributes_equal_h5py(tmp_path: Path) -> None:
    calls = _calls(_hdf5.hdf5_calls)
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["a"] = np.arange(3.0)
        f["a"].attrs["datatype"] = "array<1>{real}"
        f["a"].attrs["units"] = "ns"
        f["a"].attrs["description"] = "é, with non-ASCII text"
        f["b"] = np.arange(3.0)
        f["b"].attrs["units"] = "ns"
        f["b"].attrs["n"] = 3  # not a string: h5py reads it
        f["c"] = np.arange(3.0)
        f["c"].attrs.create("units", np.bytes_("ns"))  # fixed-length: h5py gives bytes
        f["d"] = np.arange(3.0)
    with h5py.File(path, "r") as f:
        for name, expected in (("a", True), ("b", False), ("c", False), ("d", True)):
            hid = calls.open(calls.root(f), name.encode())
            got = calls.string_attributes(hid)
            calls.close(hid)
            assert (got is not None) == expected, name
            if got is not None:
                assert got == dict(f[name].attrs)
                assert list(got) == list(f[name].attrs)
        cache = SlabCache(f)
        for name in "abcd":
            want = {k: v for k, v in f[name].attrs.items() if k != "datatype"}
            assert dict(cache.attrs(name)) == want
        cache.close()


def _results(cache: SlabCache, rows: np.ndarray) -> list[Any]:
    span = (int(rows.min()), int(rows.max()) + 1)
    out: list[Any] = []
    for field in FIELDS:
        path = f"ch0/hit/{field}"
        taken = cache.take(path, rows, span)
        out.append(taken.view_as("ak").tolist())
        inner = taken.flattened_data.nda if isinstance(taken, VectorOfVectors) else taken.nda
        out.append(inner.dtype)
    for field in FIELDS:
        ends, values, first = cache.slab_lists(f"ch0/hit/{field}", rows, span) or (None,) * 3
        out.append((first, None if ends is None else ends.tolist(), values.tolist()))
        out.append(values.dtype)
    plain = cache.take_read("ch0/hit/e", rows, span)
    out.append(None if plain is None else (plain.tolist(), plain.dtype))
    return out


@settings(max_examples=15, deadline=None)
@given(
    dtype=st.sampled_from(["<f8", "<f4", "<i4"]),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**16),
    fixed_length=st.booleans(),
)
def test_prefilled_slabs_equal_lazy_reads(
    tmp_path_factory: pytest.TempPathFactory, dtype: str, n: int, seed: int, fixed_length: bool
) -> None:
    path = tmp_path_factory.mktemp("prefill") / "hit.lh5"
    _write_tables(path, 1, n, dtype, seed)
    if fixed_length:  # as another writer might store the datatype
        with h5py.File(path, "a") as f:
            for field in FIELDS:
                text = f[f"ch0/hit/{field}"].attrs["datatype"]
                del f[f"ch0/hit/{field}"].attrs["datatype"]
                f[f"ch0/hit/{field}"].attrs.create("datatype", np.bytes_(text))
    rows = np.unique(np.random.default_rng(seed).integers(0, n, max(1, n // 2)))
    with h5py.File(path, "r") as handle:
        lazy, prefilled = SlabCache(handle), SlabCache(handle)
        for field in FIELDS:
            prefilled.prefill(["ch0/hit"], field)
            assert f"ch0/hit/{field}" in prefilled.entries
        assert prefilled.take_read("ch0/hit/e", rows, (0, n + 1)) is None  # out of range
        first, second = _results(prefilled, rows), _results(lazy, rows)
        assert first == second
        assert prefilled.size("ch0/hit/pulses") == lazy.size("ch0/hit/pulses") == n
        lazy.close()
        prefilled.close()


def test_prefill_skips_what_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "hit.lh5"
    _write_tables(path, 2, 10, "<f8", 3)
    with h5py.File(path, "r") as handle:
        cache = SlabCache(handle)
        cache.prefill(["ch0/hit", "ch9/hit"], "e")  # a missing table
        cache.prefill(["ch0/hit"], "nope")  # a missing field
        assert list(cache.entries) == ["ch0/hit/e"]
        assert cache.lookup("ch9/hit", "e") is None
        cache.close()


@pytest.mark.parametrize(
    ("start", "count"), [(0, None), (0, 3), (2, 4), (5, None), (9, 5), (10, 3), (3, 0)]
)
def test_small_maps_are_read_as_the_general_path_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: int, count: int | None
) -> None:
    rng = np.random.default_rng(4)
    lengths = rng.integers(0, 4, 10)
    total = int(lengths.sum())
    tcm = TCM(rng.integers(1, 60, total), rng.integers(0, 99, total), np.cumsum(lengths))
    path = tmp_path / "tcm.lh5"
    lh5.write(tcm.to_table(), "hardware_tcm_1", path)
    fast = read_tcm(path, "hardware_tcm_1", start_row=start, n_rows=count)
    monkeypatch.setattr(_tcm, "_read_small_map", lambda *args: None)
    slow = read_tcm(path, "hardware_tcm_1", start_row=start, n_rows=count)
    for name in ("table_key", "row_in_table", "cumulative_length"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype, name
        assert a.tolist() == b.tolist(), name


@pytest.mark.parametrize("make", BACKENDS)
def test_tables_whose_fields_differ_in_layout(tmp_path: Path, make: Any) -> None:
    calls = _calls(make)
    path = tmp_path / "hit.lh5"
    jagged = VectorOfVectors(
        flattened_data=Array(np.array([1.5, 2.5, 3.5])), cumulative_length=np.array([1, 3])
    )
    layouts: list[Any] = [jagged, Array(np.array([4.0, 5.0])), jagged, jagged]
    for t, column in enumerate(layouts):
        lh5.write(Table({"x": column}), f"ch{t}/hit", path)
    with h5py.File(path, "r") as f:
        paths = [f"ch{t}/hit/x".encode() for t in range(4)] + [b"ch1/hit/x"]
        got = _hdf5.read_small_fields(calls, calls.root(f), paths, 2**20)
    assert [None if g is None or g.offsets is None else g.offsets.tolist() for g in got] == [
        [1, 3],
        None,
        [1, 3],
        [1, 3],
        None,
    ]
    assert [g.values.tolist() for g in got if g is not None] == [[1.5, 2.5, 3.5], [4.0, 5.0]] + [
        [1.5, 2.5, 3.5]
    ] * 2 + [[4.0, 5.0]]


def test_datatype_attributes_are_read_as_text_attribute_reads_them(tmp_path: Path) -> None:
    calls = _calls(_hdf5.hdf5_calls)
    path = tmp_path / "d.h5"
    values = {
        "utf8": "array<1>{bool}",
        "fixed": np.bytes_("array<1>{bool}"),
        "many": ["array<1>{bool}", "x"],
        "one_of_many": ["array<1>{bool}"],
        "number": 3,
    }
    with h5py.File(path, "w") as f:
        for name, value in values.items():
            f[name] = np.arange(3)
            f[name].attrs["datatype"] = value
        ascii_text = h5py.string_dtype("ascii")
        f["ascii"] = np.arange(3)
        f["ascii"].attrs.create("datatype", "array<1>{real}", dtype=ascii_text)
        f["none"] = np.arange(3)
    with h5py.File(path, "r") as f:
        for name in [*values, "ascii", "none"]:
            hid = calls.open(calls.root(f), name.encode())
            got, want = calls._attributes.datatype(hid), calls.text_attribute(hid, b"datatype")
            calls.close(hid)
            assert got == want, name
            expected = {"utf8": "array<1>{bool}", "fixed": "array<1>{bool}"}
            expected["ascii"] = "array<1>{real}"
            assert got == expected.get(name), name
