"""A chunk's shuffled bytes go to a buffer of the thread's kept from chunk to chunk: each
chunk still compresses to what it would alone. Small chunks take a path of their own that
gives the same bytes."""

from __future__ import annotations

import zlib
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.lh5 import _chunks
from tierflow.lh5._chunks import DeflatePipeline, _compress_chunk, chunk_pipeline, shuffle_bytes


def test_shuffled_bytes_into_a_given_buffer() -> None:
    values = np.arange(6, dtype="<u2")
    out = np.full(12, 99, np.uint8)
    got = shuffle_bytes(values, 2, out)
    expected = values.view(np.uint8).reshape(-1, 2).T.reshape(-1)
    assert np.array_equal(got, expected)
    assert np.array_equal(shuffle_bytes(values, 2), expected)


def test_compressed_chunks_do_not_depend_on_the_chunk_before(tmp_path: Path) -> None:
    """The shuffle buffer is reused: each chunk compresses as it would alone."""
    with h5py.File(tmp_path / "c.h5", "w") as f:
        ds = f.create_dataset("x", shape=(0,), maxshape=(None,), chunks=(1000,), dtype="<f8",
                              shuffle=True, **hdf5plugin.Zstd())  # fmt: skip
        pipe = chunk_pipeline(ds, lambda data, level: b"", 3, None)
    assert pipe is not None
    rng = np.random.default_rng(3)
    big, small = rng.normal(size=1000), rng.normal(size=1000)
    alone = bytes(_compress_chunk(small, 1000, pipe))
    _compress_chunk(big, 1000, pipe)
    assert bytes(_compress_chunk(small, 1000, pipe)) == alone
    edge = bytes(_compress_chunk(small[:10], 1000, pipe))  # padded with zeros
    padded = np.concatenate([small[:10], np.zeros(990)])
    assert edge == bytes(_compress_chunk(padded, 1000, pipe))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["<u2", ">u4", "<i8", "<f4", ">f8", "|b1", "|S3", "<u1"]),
    st.integers(1, 300),
    st.sampled_from([(), (3,), (2, 5)]),
    st.integers(0, 400),
    st.booleans(),
)
def test_small_chunks_compress_as_the_scratch_path_does(
    dtype: str, length: int, row_shape: tuple[int, ...], extra_rows: int, zstd: bool
) -> None:
    """A small chunk is padded and shuffled in new arrays: the same bytes as the path of
    large chunks (scratch buffers, SIMD shuffle) make."""
    rng = np.random.default_rng(length)
    size = length * int(np.prod(row_shape, dtype=int)) * np.dtype(dtype).itemsize
    chunk = rng.integers(0, 256, size).astype(np.uint8).view(dtype).reshape(length, *row_shape)
    compress = _chunks._zstd_compress if zstd else (lambda data, level: zlib.compress(data, level))
    pipe = DeflatePipeline(3, compress, np.dtype(dtype).itemsize, length + extra_rows)
    small = bytes(_chunks._compress_small(chunk, length + extra_rows, pipe))
    padded = np.zeros((length + extra_rows, *row_shape), dtype)
    padded[:length] = chunk
    flat = shuffle_bytes(padded, pipe.shuffle_size)
    assert small == bytes(compress(np.ascontiguousarray(flat).data, 3))
