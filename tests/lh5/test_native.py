"""The C codecs called through ctypes give what the Python bindings and HDF5 give."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.lh5 import _chunks, _native
from tierflow.lh5._chunks import shuffle_bytes, stored_layout
from tierflow.lh5._lowlevel import create_dataset, created_layout
from tierflow.lh5._settings import dataset_kwargs
from tierflow.types import Array

PROPERTY = settings(max_examples=40, deadline=None)


def _needed(found: Any) -> Any:
    if found is None:
        pytest.skip("this build of deflate/hdf5plugin does not export the C function")
    return found


@PROPERTY
@given(st.binary(min_size=1, max_size=5000), st.integers(0, 9))
def test_libdeflate_into_inverts_zlib(data: bytes, level: int) -> None:
    decode = _needed(_native.libdeflate_into())
    out = np.empty(len(data), np.uint8)
    decode(np.frombuffer(zlib.compress(data, level), np.uint8), out)
    assert out.tobytes() == data


@PROPERTY
@given(st.binary(min_size=1, max_size=5000), st.integers(1, 9))
def test_zstd_into_inverts_zstandard_and_compresses_alike(data: bytes, level: int) -> None:
    decode, compress = _needed(_native.zstd_into()), _needed(_native.zstd_compressor())
    frame = compress(np.frombuffer(data, np.uint8), level)
    assert frame.tobytes() == zstandard.ZstdCompressor(level=level).compress(data)
    out = np.empty(len(data), np.uint8)
    decode(frame, out)
    assert out.tobytes() == data


@pytest.mark.parametrize("codec", ["deflate", "zstd"])
def test_wrong_sizes_and_garbage_are_told_apart(codec: str) -> None:
    if codec == "deflate":
        decode, stream = _needed(_native.libdeflate_into()), zlib.compress(b"x" * 100)
    else:
        decode = _needed(_native.zstd_into())
        stream = zstandard.ZstdCompressor().compress(b"x" * 100)
    data = np.frombuffer(stream, np.uint8)
    with pytest.raises(_native.WrongSizeError):
        decode(data, np.empty(99, np.uint8))
    with pytest.raises(_native.WrongSizeError):
        decode(data, np.empty(101, np.uint8))
    with pytest.raises(_native.UndecodableError):
        decode(np.frombuffer(b"\x00garbage" * 4, np.uint8), np.empty(100, np.uint8))


@PROPERTY
@given(st.binary(min_size=0, max_size=800), st.sampled_from([2, 3, 4, 8, 16]))
def test_simd_shuffle_is_the_shuffle_filter(data: bytes, size: int) -> None:
    _needed(_native.simd_shuffle())
    values = np.frombuffer(data[: len(data) - len(data) % size], np.uint8)
    expected = values.reshape(-1, size).T.reshape(-1)
    np.testing.assert_array_equal(shuffle_bytes(values, size), expected)


SETTINGS = [
    {"compression": "gzip", "shuffle": True},
    {"compression": "zstd", "shuffle": True},
    {"compression": "zstd", "shuffle": False},
    {"compression": "gzip", "compression_opts": 1},
]


@pytest.mark.parametrize("dtype", ["u1", "<f4", "<f8", "<i2"])
@pytest.mark.parametrize("hdf5_settings", SETTINGS)
@pytest.mark.parametrize("shape", [(5000,), (300, 4)])
def test_created_layout_is_the_stored_one(
    tmp_path: Path, dtype: str, hdf5_settings: dict[str, Any], shape: tuple[int, ...]
) -> None:
    data = np.zeros(shape, dtype)
    kwargs = dataset_kwargs(data.shape, data.dtype, hdf5_settings)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        ds = create_dataset(f, "x", data, kwargs)
        assert ds is not None
        assert created_layout(data, kwargs) == stored_layout(ds)


def test_lh5_writes_take_the_fast_path_with_the_created_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new compressed column is compressed by the pool, not by HDF5's filter."""
    compressed: list[int] = []
    real = _chunks._compress_chunk

    def counting(chunk: Any, rows: int, pipe: Any) -> Any:
        compressed.append(len(chunk))
        return real(chunk, rows, pipe)

    monkeypatch.setattr(_chunks, "_compress_chunk", counting)
    values = np.random.default_rng(3).normal(size=200_000)
    path = tmp_path / "f.lh5"
    lh5.write(Array(values), "x", path, hdf5_settings={"compression": "zstd", "shuffle": True})
    assert sum(compressed) == len(values)
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["x"][:], values)
        assert str(hdf5plugin.ZSTD_ID) in f["x"]._filters


@PROPERTY
@given(st.binary(min_size=0, max_size=_native.SMALL_FRAME_BYTES), st.integers(1, 9))
def test_zstd_compressor_gives_the_same_frame_from_bytes(data: bytes, level: int) -> None:
    """Small chunks come as bytes and go through the thread's buffer: the frame is the one an
    array of the same bytes gives, and the buffer is not handed out."""
    compress = _needed(_native.zstd_compressor())
    frame = compress(data, level)
    assert isinstance(frame, bytes)
    assert frame == compress(np.frombuffer(data, np.uint8), level).tobytes()
    assert zstandard.ZstdDecompressor().decompress(frame) == data


def test_zstd_compressor_refuses_bytes_beyond_its_buffer() -> None:
    compress = _needed(_native.zstd_compressor())
    with pytest.raises(ValueError, match="SMALL_FRAME_BYTES"):
        compress(bytes(_native.SMALL_FRAME_BYTES + 1), 3)


@pytest.mark.parametrize("size", [0, 1, 255, 4096, 128 << 10, (128 << 10) + 1, 1 << 20])
def test_zstd_bound_is_the_library_s(size: int) -> None:
    lib = _needed(_native._zstd_library())
    assert _native._zstd_bound(size) == lib.ZSTD_compressBound(size)
