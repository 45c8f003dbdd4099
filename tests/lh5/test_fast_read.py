"""The parallel inflate read path returns exactly what HDF5's own filters return."""

from __future__ import annotations

import importlib.util
import zlib
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.errors import FormatError, NotFoundError
from tierflow.lh5 import _inflate
from tierflow.lh5._inflate import AUTO_ORDER, inflate_engine, read_chunked, unshuffle_into

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = ["u1", "<i2", ">u4", "i8", "<f4", ">f8", "c8"]


def _installed(engine: str) -> bool:
    module = {"zlib": "zlib", "libdeflate": "deflate", "isal": "isal"}[engine]
    return importlib.util.find_spec(module) is not None


ENGINES = [engine for engine in AUTO_ORDER if _installed(engine)]


CODECS = {"gzip": {"compression": "gzip", "compression_opts": 4}, "zstd": dict(hdf5plugin.Zstd())}


def _write(
    path: Path, values: np.ndarray[Any, Any], chunk_rows: int, shuffle: bool, codec: str = "gzip"
) -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "x", data=values, chunks=(chunk_rows, *values.shape[1:]), shuffle=shuffle,
            maxshape=(None, *values.shape[1:]), **CODECS[codec],
        )  # fmt: skip


def _both(path: Path, start: int, count: int, engine: str) -> tuple[Any, Any, bool]:
    with h5py.File(path, "r") as f:
        ds = f["x"]
        expected = ds[start : start + count]
        out = np.full((count + 3, *ds.shape[1:]), 7, dtype=ds.dtype)
        with lh5.fast_read(engine=engine, min_bytes=0):
            used = read_chunked(ds, start, count, out)
    return expected, out, used


@PROPERTY
@given(
    dtype=st.sampled_from(DTYPES),
    rows=st.integers(1, 3000),
    width=st.sampled_from([(), (3,)]),
    chunk_rows=st.integers(1, 700),
    shuffle=st.booleans(),
    cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    engine=st.sampled_from(ENGINES),
    codec=st.sampled_from(sorted(CODECS)),
)
def test_fast_reads_equal_hdf5_reads(
    tmp_path_factory: pytest.TempPathFactory,
    dtype: str,
    rows: int,
    width: tuple[int, ...],
    chunk_rows: int,
    shuffle: bool,
    cut: tuple[float, float],
    engine: str,
    codec: str,
) -> None:
    rng = np.random.default_rng(rows)
    values = (rng.integers(0, 1000, (rows, *width)) * rng.random((rows, *width))).astype(dtype)
    path = tmp_path_factory.mktemp("fast") / "x.h5"
    _write(path, values, chunk_rows, shuffle, codec)
    start = int(cut[0] * (rows - 1))
    count = max(1, int(cut[1] * (rows - start)))
    small_chunks = _inflate.PARALLEL_CHUNK_MIN_BYTES
    _inflate.PARALLEL_CHUNK_MIN_BYTES = 0  # small chunks too are shared among the threads
    try:
        expected, out, used = _both(path, start, count, engine)
    finally:
        _inflate.PARALLEL_CHUNK_MIN_BYTES = small_chunks
    assert used
    assert out[:count].tobytes() == expected.tobytes()
    assert np.all(out[count:] == 7)  # nothing written past the rows asked for


def test_lh5_reads_take_the_fast_path_and_agree(tmp_path: Path) -> None:
    values = np.cumsum(np.random.default_rng(1).normal(size=200_000))
    lh5.write(_table(values), "t", tmp_path / "f.lh5")
    calls: list[bool] = []
    original = _inflate.read_chunked

    def spy(*args: Any) -> bool:
        calls.append(original(*args))
        return calls[-1]

    import tierflow.lh5._read as reader

    reader.read_chunked = spy  # type: ignore[assignment]
    try:
        fast = lh5.read("t/x", tmp_path / "f.lh5", start_row=1234, n_rows=150_000).nda
    finally:
        reader.read_chunked = original  # type: ignore[assignment]
    with lh5.fast_read(enabled=False):
        slow = lh5.read("t/x", tmp_path / "f.lh5", start_row=1234, n_rows=150_000).nda
    assert calls == [True]
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast, values[1234 : 1234 + 150_000])


def _table(values: np.ndarray[Any, Any]) -> Any:
    from tierflow.types import Array, Table

    return Table({"x": Array(values)})


def test_files_open_for_writing_and_other_filters_use_hdf5(tmp_path: Path) -> None:
    values = np.arange(100_000, dtype="f8")
    _write(tmp_path / "g.h5", values, 1000, True)
    out = np.empty_like(values)
    with h5py.File(tmp_path / "g.h5", "r+") as f, lh5.fast_read(min_bytes=0):
        assert not read_chunked(f["x"], 0, len(values), out)
    with h5py.File(tmp_path / "l.h5", "w") as f:
        f.create_dataset("x", data=values, chunks=(1000,), compression="lzf")
    with h5py.File(tmp_path / "l.h5", "r") as f, lh5.fast_read(min_bytes=0):
        assert not read_chunked(f["x"], 0, len(values), out)


def test_missing_chunks_fall_back_to_the_fill_value(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "m.h5", "w") as f:
        ds = f.create_dataset("x", (10_000,), "i4", chunks=(1000,), compression="gzip")
        ds[:3000] = 5  # chunks 3-9 never written
    out = np.empty(10_000, "i4")
    with h5py.File(tmp_path / "m.h5", "r") as f, lh5.fast_read(min_bytes=0):
        assert not read_chunked(f["x"], 0, 10_000, out)
        assert read_chunked(f["x"], 1000, 2000, out)
    assert np.all(out[:2000] == 5)


def test_damaged_chunks_are_errors_or_left_to_hdf5(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "c.h5", "w") as f:
        ds = f.create_dataset("x", (3000,), "f8", chunks=(1000,), compression="gzip")
        ds[:] = 1.0
        ds.id.write_direct_chunk((1000,), zlib.compress(b"\0" * 80), 0)  # 10 rows, not 1000
        ds.id.write_direct_chunk((2000,), b"not deflate", 0)
    out = np.empty(3000)
    with h5py.File(tmp_path / "c.h5", "r") as f, lh5.fast_read(min_bytes=0, engine="zlib"):
        assert read_chunked(f["x"], 0, 1000, out)
        with pytest.raises(FormatError, match=r"/x is damaged: .* 80 bytes, not 8000") as error:
            read_chunked(f["x"], 0, 2000, out)  # HDF5 would return garbage for rows 1010:2000
        assert error.value.file == str(tmp_path / "c.h5")
        assert not read_chunked(f["x"], 2000, 1000, out)  # HDF5 says what is wrong
    with pytest.raises(FormatError, match=r"HDF5 cannot read rows 2000:3000 of /x"):
        lh5.read("x", tmp_path / "c.h5", start_row=2000)


def test_reads_past_the_end_are_errors(tmp_path: Path) -> None:
    from tierflow.lh5 import read_rows

    _write(tmp_path / "e.h5", np.arange(15_000.0), 1000, True)
    with h5py.File(tmp_path / "e.h5", "r") as f, lh5.fast_read(min_bytes=0):
        assert not read_chunked(f["x"], 0, 20_000, np.empty(20_000))
        assert not read_chunked(f["x"], -5, 100, np.empty(100))
        with pytest.raises(FormatError, match="rows 0:20000"):
            read_rows(f["x"], 0, 20_000)
        np.testing.assert_array_equal(read_rows(f["x"], 14_000, 15_000), np.arange(14_000, 15_000))


def test_types_stored_unlike_numpy_go_through_hdf5(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "p.h5", "w") as f:
        kind = h5py.h5t.STD_I16LE.copy()
        kind.set_precision(12)
        space = h5py.h5s.create_simple((60_000,), (h5py.h5s.UNLIMITED,))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((10_000,))
        dcpl.set_deflate(4)
        ds = h5py.Dataset(h5py.h5d.create(f.id, b"x", kind, space, dcpl=dcpl))
        ds[:] = np.arange(-2000, 58_000).astype("i2") % 2000 - 1000
    with h5py.File(tmp_path / "p.h5", "r") as f, lh5.fast_read(min_bytes=0):
        out = np.empty(60_000, "i2")
        assert not read_chunked(f["x"], 0, 60_000, out)
        np.testing.assert_array_equal(lh5.read_rows(f["x"], 0, 5), [-1000, -999, -998, -997, -996])


def test_settings_hold_in_the_column_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tierflow.lh5._read as reader
    from tierflow.types import Array, Table

    monkeypatch.setattr(reader, "PARALLEL_COLUMNS_MIN_BYTES", 0)

    table = Table({f"c{i}": Array(np.arange(200_000.0)) for i in range(3)})
    lh5.write(table, "t", tmp_path / "t.lh5")
    used: list[bool] = []
    original = _inflate.read_chunked

    def spy(*args: Any) -> bool:
        used.append(original(*args))
        return used[-1]

    import tierflow.lh5._read as reader

    reader.read_chunked = spy  # type: ignore[assignment]
    try:
        with lh5.fast_read(enabled=False, threads=3):
            lh5.read("t", tmp_path / "t.lh5")
        assert used == [False, False, False]
        with lh5.fast_read(threads=3):
            lh5.read("t", tmp_path / "t.lh5")
        assert used[3:] == [True, True, True]
    finally:
        reader.read_chunked = original  # type: ignore[assignment]


def test_unshuffle_inverts_the_shuffle_filter() -> None:
    from tierflow.lh5._chunks import shuffle_bytes

    values = np.arange(10, dtype="<u4") * 1_000_003
    out = np.empty(40, np.uint8)
    unshuffle_into(out, shuffle_bytes(values, 4), 4, 10)
    np.testing.assert_array_equal(out.view("<u4"), values)


def test_engines_by_name_and_unknown_ones() -> None:
    data = zlib.compress(b"tierflow" * 100)
    for engine in [*ENGINES, "auto"]:
        assert bytes(inflate_engine(engine)(memoryview(data), 800)) == b"tierflow" * 100
    with pytest.raises(NotFoundError, match="zlib"):
        inflate_engine("zlibb")
    with pytest.raises(NotFoundError, match="threads"), lh5.fast_read(thread=2):
        pass


def test_chunks_on_read_boundaries_are_inflated_once(tmp_path: Path) -> None:
    values = np.cumsum(np.random.default_rng(5).normal(size=10_000))
    _write(tmp_path / "x.h5", values, 1000, True)
    calls: list[int] = []
    zlib_inflate = inflate_engine("zlib")

    def counting(data: memoryview, size: int) -> bytes:
        calls.append(size)
        return zlib_inflate(data, size)

    _inflate._engines["counting"] = counting
    got = []
    with h5py.File(tmp_path / "x.h5", "r") as f, lh5.fast_read(engine="counting", min_bytes=0):
        for start in range(0, 10_000, 700):  # every read but a few ends inside a chunk
            out = np.empty(700)
            count = min(700, 10_000 - start)
            assert read_chunked(f["x"], start, count, out)
            got.append(out[:count].copy())
    np.testing.assert_array_equal(np.concatenate(got), values)
    assert len(calls) == 10  # each of the 10 chunks once
    _write(tmp_path / "x.h5", values[::-1].copy(), 1000, True)  # the same file written again
    with h5py.File(tmp_path / "x.h5", "r") as f, lh5.fast_read(engine="counting", min_bytes=0):
        out = np.empty(700)
        assert read_chunked(f["x"], 9300, 700, out)
    np.testing.assert_array_equal(out, values[::-1][9300:])


def test_columns_read_in_parallel_equal_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tierflow.lh5._read as reader
    from tierflow.types import Array, Table

    monkeypatch.setattr(reader, "PARALLEL_COLUMNS_MIN_BYTES", 0)

    rng = np.random.default_rng(9)
    table = Table({f"c{i}": Array(np.cumsum(rng.normal(size=150_000))) for i in range(6)})
    lh5.write(table, "t", tmp_path / "t.lh5")
    with lh5.fast_read(threads=3):
        parallel = lh5.read("t", tmp_path / "t.lh5", start_row=17, n_rows=140_000)
    with lh5.fast_read(threads=1):
        serial = lh5.read("t", tmp_path / "t.lh5", start_row=17, n_rows=140_000)
    assert list(parallel) == list(serial) == [f"c{i}" for i in range(6)]
    for name in serial:
        np.testing.assert_array_equal(parallel[name].nda, serial[name].nda)
        np.testing.assert_array_equal(parallel[name].nda, table[name].nda[17 : 17 + 140_000])
    with h5py.File(tmp_path / "t.lh5", "a") as f:  # a damaged chunk in the 4th column
        f["t/c3"].id.write_direct_chunk((0,), zlib.compress(b"\0" * 80), 0)
    with lh5.fast_read(threads=3), pytest.raises(FormatError, match="/t/c3 is damaged"):
        lh5.read("t", tmp_path / "t.lh5")


def test_the_calling_thread_reads_columns_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one column thread, the caller takes the columns the thread has not started (it
    used to wait for the thread to read them all)."""
    import threading
    import time

    import tierflow.lh5._read as reader
    from tierflow.types import Array, Table

    monkeypatch.setattr(reader, "PARALLEL_COLUMNS_MIN_BYTES", 0)
    readers: dict[str, str] = {}
    real = reader._Child.read

    def slow_read(child: Any, rows: Any) -> Any:
        readers[child.name] = threading.current_thread().name
        time.sleep(0.02)
        return real(child, rows)

    monkeypatch.setattr(reader._Child, "read", slow_read)
    table = Table({f"c{i}": Array(np.arange(1000.0) * i) for i in range(4)})
    lh5.write(table, "t", tmp_path / "t.lh5")
    with lh5.fast_read(threads=2):
        read = lh5.read("t", tmp_path / "t.lh5")
    assert list(read) == [f"c{i}" for i in range(4)]
    np.testing.assert_array_equal(read["c3"].nda, np.arange(1000.0) * 3)
    assert readers["c3"] == threading.current_thread().name
    assert readers["c0"] != threading.current_thread().name


def test_a_forked_child_reads_after_its_parent_used_the_pools(tmp_path: Path) -> None:
    import multiprocessing

    from tierflow.types import Array, Table

    table = Table({f"c{i}": Array(np.arange(300_000.0) * i) for i in range(3)})
    lh5.write(table, "t", tmp_path / "t.lh5")
    lh5.read("t", tmp_path / "t.lh5")  # the parent's pools and cache are in use
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        sums = pool.apply_async(_column_sums, (str(tmp_path / "t.lh5"),)).get(timeout=60)
    assert sums == [float(np.arange(300_000.0).sum() * i) for i in range(3)]


def _column_sums(path: str) -> list[float]:
    data = lh5.read("t", path)
    return [float(data[f"c{i}"].nda.sum()) for i in range(3)]
