"""The columns of a table decoded together (lh5._batch, the read path under build_hit) give
exactly what HDF5's own filters give; damaged chunks are errors, undecodable ones go to HDF5;
open files are read without reopening them."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.errors import FormatError
from tierflow.hit import build_hit, make_table_jobs
from tierflow.lh5 import _batch
from tierflow.types import Array, Table, VectorOfVectors

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODECS = {"gzip": {"compression": "gzip", "compression_opts": 4}, "zstd": dict(hdf5plugin.Zstd())}
DTYPES = ["<f4", "<f8", "<i2", "u1", ">u4", "c8", "<i8"]


def _write_table(
    path: Path, columns: dict[str, np.ndarray[Any, Any]], chunk_rows: int, codec: str
) -> None:
    """A table of datasets as LH5 has them, with the given chunking and filters."""
    with h5py.File(path, "w") as f:
        group = f.create_group("t")
        group.attrs["datatype"] = "table{" + ",".join(columns) + "}"
        for i, (name, values) in enumerate(columns.items()):
            ds = group.create_dataset(
                name, data=values, chunks=(chunk_rows, *values.shape[1:]),
                maxshape=(None, *values.shape[1:]), shuffle=i % 2 == 0, **CODECS[codec],
            )  # fmt: skip
            kind = "bool" if values.dtype == np.uint8 and name.startswith("flag") else "real"
            if values.dtype.kind == "c":
                kind = "complex"
            ds.attrs["datatype"] = f"array<{values.ndim}>{{{kind}}}"


def _columns(rows: int, seed: int, dtypes: list[str]) -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    columns = {
        f"c{i}": (rng.normal(0, 1000, rows) * (i + 1)).astype(dtype)
        for i, dtype in enumerate(dtypes)
    }
    columns["wide"] = rng.integers(0, 50, (rows, 3)).astype("<u2")
    columns["flag"] = (rng.random(rows) > 0.5).astype(np.uint8)
    return columns


def _as_hdf5(path: Path, **read: Any) -> Table:
    with lh5.fast_read(enabled=False):
        table: Table = lh5.read("t", path, **read)
    return table


def _same(fast: Table, slow: Table) -> None:
    assert list(fast) == list(slow)
    for name in slow:
        got, expected = fast[name].nda, slow[name].nda  # type: ignore[attr-defined]
        assert got.dtype == expected.dtype
        assert got.tobytes() == expected.tobytes(), name


@PROPERTY
@given(
    rows=st.integers(1, 4000),
    chunk_rows=st.integers(1, 900),
    dtypes=st.lists(st.sampled_from(DTYPES), min_size=1, max_size=4),
    cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    codec=st.sampled_from(sorted(CODECS)),
    threads=st.sampled_from([1, 2]),
)
def test_batched_table_reads_equal_hdf5_reads(
    tmp_path_factory: pytest.TempPathFactory,
    rows: int,
    chunk_rows: int,
    dtypes: list[str],
    cut: tuple[float, float],
    codec: str,
    threads: int,
) -> None:
    path = tmp_path_factory.mktemp("batch") / "t.lh5"
    _write_table(path, _columns(rows, rows, dtypes), chunk_rows, codec)
    start = int(cut[0] * (rows - 1))
    count = max(1, int(cut[1] * (rows - start)))
    shared = _batch.SHARED_MIN_BYTES
    _batch.SHARED_MIN_BYTES = 0  # small batches too are shared with the helper thread
    try:
        with lh5.fast_read(min_bytes=0, threads=threads):
            fast = lh5.read("t", path, start_row=start, n_rows=count)
    finally:
        _batch.SHARED_MIN_BYTES = shared
    _same(fast, _as_hdf5(path, start_row=start, n_rows=count))


def test_the_batch_decodes_the_whole_chunks_and_iterators_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.lh5"
    _write_table(path, _columns(50_000, 3, ["<f8", "<f4", "<i2"]), 1199, "gzip")
    decoded: list[int] = []
    run = _batch.DecodeBatch._run

    def counting(tasks: list[Any], failed: list[Any]) -> None:
        decoded.append(len(tasks))
        run(tasks, failed)

    monkeypatch.setattr(_batch.DecodeBatch, "_run", staticmethod(counting))
    fast = lh5.read("t", path)
    _same(fast, _as_hdf5(path))
    # the 42 chunks of the 3 real and the 2-d column, the last one reaching past the end
    # (bools are not batched: their values are converted as they are read)
    assert decoded[0] == 4 * 42
    pieces = [chunk.data["c0"].nda.copy() for chunk in lh5.LH5Iterator(path, "t", buffer_len=7000)]
    np.testing.assert_array_equal(np.concatenate(pieces), _as_hdf5(path)["c0"].nda)  # type: ignore[attr-defined]


def _damaged(path: Path, stream: bytes) -> None:
    with h5py.File(path, "w") as f:
        group = f.create_group("t")
        group.attrs["datatype"] = "table{x,y}"
        for name in ("x", "y"):
            ds = group.create_dataset(name, data=np.arange(3000.0), chunks=(1000,),
                                      compression="gzip", maxshape=(None,))  # fmt: skip
            ds.attrs["datatype"] = "array<1>{real}"
        group["y"].id.write_direct_chunk((1000,), stream, 0)


def test_a_chunk_of_the_wrong_size_is_an_error_naming_the_column(tmp_path: Path) -> None:
    _damaged(tmp_path / "c.h5", zlib.compress(b"\0" * 80))  # 10 rows, not 1000
    damaged = r"/t/y is damaged: the chunk of rows 1000:2000 does not decompress to 8000 bytes"
    with lh5.fast_read(min_bytes=0), pytest.raises(FormatError, match=damaged) as error:
        lh5.read("t", tmp_path / "c.h5")
    assert error.value.file == str(tmp_path / "c.h5")


def test_a_chunk_that_does_not_decompress_is_left_to_hdf5(tmp_path: Path) -> None:
    _damaged(tmp_path / "c.h5", b"not deflate")
    with lh5.fast_read(min_bytes=0), pytest.raises(FormatError, match="HDF5 cannot read rows"):
        lh5.read("t", tmp_path / "c.h5")
    with h5py.File(tmp_path / "c.h5", "a") as f:  # a chunk HDF5 stored without its filter
        f["t/y"].id.write_direct_chunk((1000,), np.full(1000, 7.0).tobytes(), 1)
    with lh5.fast_read(min_bytes=0):
        table = lh5.read("t", tmp_path / "c.h5")
    expected = np.concatenate([np.arange(1000.0), np.full(1000, 7.0), np.arange(2000.0, 3000.0)])
    np.testing.assert_array_equal(table["y"].nda, expected)  # type: ignore[attr-defined]


def test_iterators_and_table_jobs_use_an_open_file(tmp_path: Path) -> None:
    path = tmp_path / "d.lh5"
    table = Table({"trapEmax": Array(np.arange(5000.0)), "hits": VectorOfVectors([[1]] * 5000)})
    lh5.write(table, "ch1/dsp", path)
    with h5py.File(path, "r") as handle:
        chunks = list(lh5.LH5Iterator(handle, "ch1/dsp", buffer_len=2000, fields=["trapEmax"]))
        assert [c.file for c in chunks] == [str(path)] * 3
        assert handle.id.valid  # the caller's file stays open
        config = {"outputs": ["e"], "operations": {"e": {"expression": "2*trapEmax"}}}
        (job,) = make_table_jobs(handle, json.loads(json.dumps(config)))
        assert job.table == "ch1/dsp"
        assert dict(job.columns) == {"trapEmax": "trapEmax"}
    out = build_hit(path, tmp_path / "h.lh5", hit_config=config)
    np.testing.assert_array_equal(lh5.read("ch1/hit/e", out).nda, 2 * np.arange(5000.0))


@pytest.fixture
def stalled_compression(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No compression thread gets to work: every chunk is compressed when it is written,
    after the next read (the worst case for data that is not copied)."""
    from tierflow.lh5 import _chunks

    blocker = threading.Event()
    pool = ThreadPoolExecutor(1)
    pool.submit(blocker.wait)
    monkeypatch.setattr(_chunks, "_pool", lambda threads, purpose="codec": pool)
    yield
    blocker.set()
    pool.shutdown()


@pytest.mark.usefixtures("stalled_compression")
@pytest.mark.parametrize("outputs", [["timestamp", "e", "hits"], None])
def test_forwarded_columns_survive_the_refilled_read_buffer(
    tmp_path: Path, outputs: list[str] | None
) -> None:
    """Chunk writes are deferred past the next read and do not copy: columns that are the
    input buffer's own memory are copied before they are written."""
    n = 10_000
    rng = np.random.default_rng(7)
    hits = [list(range(i % 4)) for i in range(n)]
    dsp = Table({
        "timestamp": Array(np.arange(n, dtype=np.float64)),
        "trapEmax": Array(rng.normal(3000, 100, n)),
        "hits": VectorOfVectors(hits),
    })  # fmt: skip
    lh5.write(dsp, "ch1/dsp", tmp_path / "d.lh5")
    config: dict[str, Any] = {
        "operations": {
            "timestamp": {"expression": "timestamp"},
            "e": {"expression": "2*trapEmax"},
            "hits": {"expression": "hits"},
        }
    }
    if outputs is not None:
        config["outputs"] = outputs
    out = build_hit(tmp_path / "d.lh5", tmp_path / "h.lh5", hit_config=config, buffer_len=3000)
    hit = lh5.read("ch1/hit", out)
    np.testing.assert_array_equal(hit["timestamp"].nda, np.arange(n, dtype=np.float64))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(hit["e"].nda, 2 * dsp["trapEmax"].nda)  # type: ignore[attr-defined]
    assert hit["hits"].view_as("ak").to_list() == hits
    if outputs is None:  # the input columns, forwarded as they are
        np.testing.assert_array_equal(hit["trapEmax"].nda, dsp["trapEmax"].nda)  # type: ignore[attr-defined]
