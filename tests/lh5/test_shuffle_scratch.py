"""A chunk's shuffled bytes go to a buffer of the thread's kept from chunk to chunk: each
chunk still compresses to what it would alone."""

from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

from tierflow.lh5._chunks import _compress_chunk, chunk_pipeline, shuffle_bytes


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
