"""The parallel shuffle+deflate write path stores exactly the bytes HDF5's own filters store."""

from __future__ import annotations

import importlib.util
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.errors import NotFoundError, OptionalDependencyError
from tierflow.lh5 import WriteMode
from tierflow.lh5._chunks import (
    DEFLATE_ENGINES,
    POOL_MIN_BYTES,
    DirectChunkWriter,
    deflate_pipeline,
    shuffle_bytes,
    zstd_pipeline,
)
from tierflow.lh5._settings import fast_write, fast_write_settings
from tierflow.lh5._write import deferred_chunk_writes
from tierflow.testing import strategies as tfst
from tierflow.types import Array, ArrayOfEqualSizedArrays, Table, VectorOfVectors

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = ["u1", "i2", "<u4", ">i4", "i8", "f4", "f8", ">f8", "c16", "bool"]


@contextmanager
def two_files() -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder) / "fast.lh5", Path(folder) / "normal.lh5"


def _values(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """Compressible but not trivial values: small integers with some noise."""
    base = rng.integers(0, 50, size=shape) + (rng.random(shape) < 0.1) * rng.integers(0, 10**6)
    if dtype == "bool":
        return np.asarray(base % 2 == 0)
    return np.asarray(base, dtype=dtype)


def _chunks(ds: h5py.Dataset) -> dict[tuple[int, ...], tuple[int, bytes]]:
    """Every stored chunk of `ds`: offset → (filter mask, raw bytes)."""
    found = {}
    for i in range(ds.id.get_num_chunks()):
        offset = ds.id.get_chunk_info(i).chunk_offset
        found[offset] = ds.id.read_direct_chunk(offset)
    return found


def _write_sequence(
    file: Path, parts: list[np.ndarray[Any, Any]], hdf5: dict[str, Any], fast: bool
) -> None:
    with fast_write(enabled=fast, min_bytes=0):
        for i, part in enumerate(parts):
            obj = Array(part) if part.ndim == 1 else ArrayOfEqualSizedArrays(part)
            mode = WriteMode.CREATE if i == 0 else WriteMode.APPEND
            lh5.write(obj, "x", file, mode=mode, hdf5_settings=hdf5)


@PROPERTY
@given(
    dtype=st.sampled_from(DTYPES),
    width=st.sampled_from([(), (1,), (3,), (17,)]),
    chunk_rows=st.integers(1, 300),
    level=st.integers(0, 9),
    shuffle=st.booleans(),
    lengths=st.lists(st.integers(0, 900), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_fast_path_stores_the_bytes_hdf5_stores(
    dtype: str,
    width: tuple[int, ...],
    chunk_rows: int,
    level: int,
    shuffle: bool,
    lengths: list[int],
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    parts = [_values(rng, dtype, (n, *width)) for n in lengths]
    hdf5 = {
        "compression": "gzip",
        "compression_opts": level,
        "shuffle": shuffle,
        "chunks": (chunk_rows, *width),
    }
    with two_files() as (fast, normal):
        _write_sequence(fast, parts, hdf5, fast=True)
        _write_sequence(normal, parts, hdf5, fast=False)
        with h5py.File(fast) as got, h5py.File(normal) as want:
            expected = np.concatenate(parts)
            stored = got["x"][()]
            np.testing.assert_array_equal(
                stored.view(bool) if dtype == "bool" else stored, expected
            )
            assert _chunks(got["x"]) == _chunks(want["x"])


@PROPERTY
@given(tfst.tables(), st.integers(1, 64))
def test_tables_round_trip_through_the_fast_path(table: Table, chunk_rows: int) -> None:
    with two_files() as (file, _), fast_write(min_bytes=0):
        settings = {"compression": "gzip", "shuffle": True}
        lh5.write(table, "t", file, mode=WriteMode.APPEND, hdf5_settings=settings)
        lh5.write(table, "t", file, mode=WriteMode.APPEND, hdf5_settings=settings)
        expected = table.take(np.arange(len(table)))
        expected.extend(table.take(np.arange(len(table))))
        assert lh5.read("t", file) == expected


def test_jagged_append_keeps_offsets_on_the_fast_path(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 40, size=5000)
    flat = rng.normal(size=int(counts.sum())).round(2)
    vov = VectorOfVectors(flattened_data=flat, cumulative_length=np.cumsum(counts))
    with fast_write(min_bytes=0):
        lh5.write(vov, "v", tmp_path / "f.lh5", mode=WriteMode.APPEND)
        lh5.write(vov, "v", tmp_path / "f.lh5", mode=WriteMode.APPEND)
    got = lh5.read("v", tmp_path / "f.lh5")
    assert len(got) == 10_000
    np.testing.assert_array_equal(got.flattened_data.nda, np.concatenate([flat, flat]))
    assert got.cumulative_length.nda[-1] == 2 * counts.sum()


def _dataset(handle: h5py.File, **kwargs: Any) -> h5py.Dataset:
    return handle.create_dataset("x", shape=(1000, 4), dtype="f8", maxshape=(None, 4), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"chunks": (100, 4), "compression": "gzip", "shuffle": True}, (4, 8, 100)),
        ({"chunks": (100, 4), "compression": "gzip", "compression_opts": 9}, (9, 0, 100)),
        ({"chunks": (100, 4), "compression": "lzf"}, None),
        ({"chunks": (100, 4), "compression": "gzip", "fletcher32": True}, None),
        ({"chunks": (100, 2), "compression": "gzip"}, None),  # chunks do not span whole rows
        ({"chunks": (100, 4), "shuffle": True}, None),
        ({"chunks": (100, 4)}, None),
    ],
)
def test_only_deflate_pipelines_take_the_fast_path(
    tmp_path: Path, kwargs: dict[str, Any], expected: tuple[int, int, int] | None
) -> None:
    with h5py.File(tmp_path / "f.h5", "w") as handle:
        pipe = deflate_pipeline(_dataset(handle, **kwargs))
    got = None if pipe is None else (pipe.level, pipe.shuffle_size, pipe.chunk_rows)
    assert got == expected


def test_converted_and_small_writes_below_min_bytes_use_the_normal_path(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "f.h5", "w") as handle:
        ds = _dataset(handle, chunks=(100, 4), compression="gzip", shuffle=True)
        with fast_write(min_bytes=4096):
            writer = DirectChunkWriter()
        with writer:
            assert not writer.write(ds, np.zeros((100, 4)), 0)  # 3.2 kB: below min_bytes
            assert not writer.write(ds, np.zeros((1000, 4), "f4"), 0)  # needs a conversion
            writer = DirectChunkWriter()  # the default: small writes take the fast path too
            assert writer.write(ds, np.ones((1000, 4)), 0)
            writer.flush()
        assert ds.id.get_num_chunks() == 10
        np.testing.assert_array_equal(ds[()], np.ones((1000, 4)))


def test_a_failed_write_leaves_no_chunks(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "f.h5", "w") as handle, fast_write(min_bytes=0):
        ds = _dataset(handle, chunks=(100, 4), compression="gzip")
        writer = DirectChunkWriter()

        def failing_write() -> None:
            with writer:
                assert writer.write(ds, np.ones((1000, 4)), 0)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            failing_write()
        assert ds.id.get_num_chunks() == 0


def test_shuffle_matches_the_hdf5_filter_layout() -> None:
    values = np.array([0x0102, 0x0304, 0x0506], dtype="<u2")
    np.testing.assert_array_equal(shuffle_bytes(values, 2), [2, 4, 6, 1, 3, 5])
    np.testing.assert_array_equal(shuffle_bytes(values, 0), values.view(np.uint8))


def test_fast_write_settings_are_scoped() -> None:
    assert fast_write_settings().enabled
    with fast_write(enabled=False, threads=1) as inside:
        assert not inside.enabled
        assert fast_write_settings().threads == 1
    assert fast_write_settings().enabled
    assert fast_write_settings().threads is None
    with pytest.raises(NotFoundError, match="min_bytes"), fast_write(min_byte=3):
        pass


def test_whole_chunks_are_compressed_by_the_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tierflow.lh5 import _chunks

    calls: list[int] = []
    original = _chunks._compress_chunk

    def counting(chunk: np.ndarray[Any, Any], rows: int, pipe: Any) -> bytes:
        calls.append(len(chunk))
        return original(chunk, rows, pipe)

    monkeypatch.setattr(_chunks, "_compress_chunk", counting)
    values = np.arange(25_500, dtype="f8")
    settings = {"compression": "gzip", "shuffle": True, "chunks": (1000,)}
    lh5.write(Array(values[:10_300]), "x", tmp_path / "f.lh5", hdf5_settings=settings)
    lh5.write(
        Array(values[10_300:]),
        "x",
        tmp_path / "f.lh5",
        "/",
        WriteMode.APPEND,
        hdf5_settings=settings,
    )
    # 10 full chunks and a padded edge; then 700 rows through HDF5 and 15 chunks (the last padded)
    assert calls == [1000] * 10 + [300] + [1000] * 14 + [500]
    np.testing.assert_array_equal(lh5.read("x", tmp_path / "f.lh5").nda, values)


def _jagged_table(rng: np.random.Generator, rows: int) -> Table:
    counts = rng.integers(0, 5, size=rows)
    flat = rng.integers(0, 100, size=int(counts.sum())).astype("f8")
    vov = VectorOfVectors(flattened_data=flat, cumulative_length=np.cumsum(counts))
    return Table({"e": Array(rng.normal(size=rows).round(1)), "v": vov}, size=rows)


def test_deferred_writes_store_what_immediate_writes_store(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    parts = [_jagged_table(rng, n) for n in (5000, 3000, 7001, 10)]
    settings = {"compression": "gzip", "shuffle": True, "chunks": (1024,)}
    with h5py.File(tmp_path / "deferred.lh5", "w") as handle, fast_write(min_bytes=0):
        with deferred_chunk_writes():
            lh5.write(parts[0], "t", handle, mode=WriteMode.APPEND, hdf5_settings=settings)
            assert handle["t/e"].id.get_num_chunks() == 0  # compressed, not written yet
            for part in parts[1:]:
                lh5.write(part, "t", handle, mode=WriteMode.APPEND, hdf5_settings=settings)
        assert handle["t/e"].id.get_num_chunks() == 15
    with fast_write(enabled=False):
        for part in parts:
            lh5.write(part, "t", tmp_path / "normal.lh5", mode="append", hdf5_settings=settings)
    with h5py.File(tmp_path / "deferred.lh5") as got, h5py.File(tmp_path / "normal.lh5") as want:
        for name in ("t/e", "t/v/flattened_data", "t/v/cumulative_length"):
            assert _chunks(got[name]) == _chunks(want[name]), name
    expected = parts[0].take(np.arange(5000))
    for part in parts[1:]:
        expected.extend(part)
    assert lh5.read("t", tmp_path / "deferred.lh5") == expected


def test_deferred_writes_keep_the_values_given(tmp_path: Path) -> None:
    buffer = np.arange(50_000, dtype="f8")
    with h5py.File(tmp_path / "f.lh5", "w") as handle, deferred_chunk_writes():
        lh5.write(Array(buffer), "x", handle, mode=WriteMode.APPEND)
        buffer[:] = -1  # a reader reusing its buffer for the next chunk
    np.testing.assert_array_equal(lh5.read("x", tmp_path / "f.lh5").nda, np.arange(50_000))


def test_deferred_chunks_are_written_at_the_end_of_the_next_write(tmp_path: Path) -> None:
    settings = {"compression": "gzip", "shuffle": True, "chunks": (1000,)}
    with h5py.File(tmp_path / "f.lh5", "w") as handle, deferred_chunk_writes(copy=False):
        lh5.write(Array(np.arange(3000.0)), "a", handle, hdf5_settings=settings)
        assert handle["a"].id.get_num_chunks() == 0
        lh5.write(Array(np.arange(2000.0)), "b", handle, hdf5_settings=settings)
        assert handle["a"].id.get_num_chunks() == 3  # compressed while "b" was made
        assert handle["b"].id.get_num_chunks() == 0
    with h5py.File(tmp_path / "f.lh5") as handle:
        np.testing.assert_array_equal(handle["b"][()], np.arange(2000.0))


def test_a_failed_deferred_write_keeps_the_chunks_of_the_earlier_ones(tmp_path: Path) -> None:
    settings = {"compression": "gzip", "shuffle": True, "chunks": (1000,)}
    with h5py.File(tmp_path / "f.lh5", "w") as handle, deferred_chunk_writes(copy=False):
        lh5.write(Array(np.arange(3000.0)), "a", handle, hdf5_settings=settings)
        with pytest.raises(lh5.ObjectExistsError):
            lh5.write(Array(np.zeros(10)), "a", handle)  # mode CREATE: "a" exists
    np.testing.assert_array_equal(lh5.read("a", tmp_path / "f.lh5").nda, np.arange(3000.0))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sizes=st.lists(st.integers(0, 2500), min_size=1, max_size=6), seed=st.integers(0, 99))
def test_deferred_appends_without_copies_store_every_row(
    tmp_path: Path, sizes: list[int], seed: int
) -> None:
    """Appends that start inside a chunk still pending (joined with it in memory; once it
    is on disk, merged through HDF5) and jagged offsets read back for the next append: each
    dataset's pending chunks are written before the write reads it."""
    rng = np.random.default_rng(seed)
    parts = [_jagged_table(rng, n) for n in sizes]
    settings = {"compression": "zstd", "shuffle": True, "chunks": (700,)}
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "f.lh5"
    with h5py.File(path, "w") as handle, deferred_chunk_writes(copy=False):
        for part in parts:
            lh5.write(part, "t", handle, mode=WriteMode.APPEND, hdf5_settings=settings)
    expected = parts[0].take(np.arange(sizes[0]))
    for part in parts[1:]:
        expected.extend(part)
    assert lh5.read("t", path) == expected


def _fast_zlib() -> Any:
    return lambda data, level: zlib.compress(data, 1)


def test_other_deflate_engines_write_standard_streams(tmp_path: Path) -> None:
    if "test-zlib-1" not in DEFLATE_ENGINES:
        DEFLATE_ENGINES.add("test-zlib-1", _fast_zlib)
    values = np.arange(100_000, dtype="f8") % 977
    with fast_write(engine="test-zlib-1"):
        lh5.write(Array(values), "x", tmp_path / "f.lh5", hdf5_settings={"chunks": (10_000,)})
    with h5py.File(tmp_path / "f.lh5") as handle:
        ds = handle["x"]
        np.testing.assert_array_equal(ds[()], values)  # HDF5's own inflate reads it
        _, raw = ds.id.read_direct_chunk((0,))
        assert raw == zlib.compress(shuffle_bytes(values[:10_000], 8).data, 1)
        assert deflate_pipeline(ds) is not None  # still plain shuffle + deflate on disk


def test_unknown_or_missing_engines_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="libdeflate"), fast_write(engine="libdeflat"):
        lh5.write(Array(np.zeros(10)), "x", tmp_path / "f.lh5")
    for engine, module in (("isal", "isal"), ("libdeflate", "deflate")):
        if importlib.util.find_spec(module) is not None:
            continue
        with pytest.raises(OptionalDependencyError, match=f"pip install {module}"):
            DEFLATE_ENGINES[engine]()


def test_zstd_chunks_are_the_bytes_hdf5plugin_stores(tmp_path: Path) -> None:
    values = np.cumsum(np.random.default_rng(3).normal(size=(50_000, 2)), axis=0)
    settings = {"compression": "zstd", "shuffle": True, "chunks": (7000, 2)}
    with two_files() as (fast, normal):
        lh5.write(Array(values), "x", fast, hdf5_settings=settings)
        with fast_write(enabled=False):
            lh5.write(Array(values), "x", normal, hdf5_settings=settings)
        with h5py.File(fast) as a, h5py.File(normal) as b:
            assert zstd_pipeline(a["x"]) is not None
            assert _chunks(a["x"]) == _chunks(b["x"])
            np.testing.assert_array_equal(a["x"][()], values)


def test_stored_deflate_goes_through_hdf5(tmp_path: Path) -> None:
    """Level 0 (stored blocks): Python's zlib and HDF5's split a chunk over 64 kB into other
    blocks (hypothesis found it: c16 x 17, 241-row chunks); the fast path leaves it to HDF5."""
    with h5py.File(tmp_path / "f.h5", "w") as handle:
        ds = _dataset(handle, chunks=(3000, 4), compression="gzip", compression_opts=0)
        assert deflate_pipeline(ds) is None
        assert not DirectChunkWriter().write(ds, np.ones((1000, 4)), 0)


def test_small_chunks_are_compressed_by_the_writing_thread(tmp_path: Path) -> None:
    """A chunk below POOL_MIN_BYTES is not handed to the pool (a thread waiting for the GIL
    costs more than compressing it); larger ones are, and both are stored alike."""
    with h5py.File(tmp_path / "f.h5", "w") as handle:
        settings: dict[str, Any] = {"compression": "gzip", "shuffle": True, "maxshape": (None,)}
        small = handle.create_dataset("small", (1000,), "f8", chunks=(1000,), **settings)
        rows = POOL_MIN_BYTES  # 8 bytes each
        large = handle.create_dataset("large", (rows,), "f8", chunks=(rows,), **settings)
        writer = DirectChunkWriter()
        assert writer.write(small, np.arange(1000.0), 0)
        assert writer.write(large, np.arange(float(rows)), 0)
        futures = [chunk.job.future for chunk in writer._queue.chunks]
        assert futures[0] is None
        assert futures[1] is not None
        writer.flush()
        np.testing.assert_array_equal(small[()], np.arange(1000.0))
        np.testing.assert_array_equal(large[()], np.arange(float(rows)))
