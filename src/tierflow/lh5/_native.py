"""C decompressors called through ``ctypes``: they write straight into the caller's buffer
and let go of the GIL while they work, so that the column threads of a read overlap.

The Python bindings of libdeflate (``deflate``) and Zstd (``zstandard``) return new
``bytes`` and, for deflate, hold the GIL; on LEGEND's files of small chunks that made
threads useless. The same C functions are exported by libraries tierflow already installs:
libdeflate by the ``deflate`` wheel, Zstd by hdf5plugin's Zstd filter (the very code HDF5
would run). Each is looked up once, checked on a sample, and is ``None`` when it is not
there; the callers then use the Python bindings.

Example
-------
>>> decode = libdeflate_into()
>>> out = np.empty(3, np.uint8)
>>> if decode is not None:
...     decode(np.frombuffer(zlib.compress(b"abc"), np.uint8), out)
...     print(out.tobytes())
b'abc'
"""

from __future__ import annotations

import ctypes
import enum
import glob
import importlib.util
import os
import threading
import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "SMALL_FRAME_BYTES",
    "Compressor",
    "DecodeInto",
    "RawDecode",
    "Signatures",
    "Status",
    "UndecodableError",
    "WrongSizeError",
    "declared",
    "hdf5plugin_library",
    "libdeflate_into",
    "raw_libdeflate",
    "raw_zstd",
    "simd_shuffle",
    "simd_unshuffle",
    "zstd_compressor",
    "zstd_into",
]

DecodeInto = Callable[[npt.NDArray[np.uint8], npt.NDArray[np.uint8]], None]
"""Decompress a whole stream (first argument) into a buffer of exactly its decoded size."""


class WrongSizeError(OSError):
    """A stream that decompresses, to the wrong size: damaged (HDF5 would not notice)."""


class UndecodableError(OSError):
    """A stream that does not decompress at all."""


def _library(path: str | None) -> ctypes.CDLL | None:
    try:
        return None if path is None else ctypes.CDLL(path)
    except OSError:
        return None


def hdf5plugin_library(stem: str) -> str | None:
    """The path of hdf5plugin's filter library named like `stem` (``"h5zstd"``), found
    without importing hdf5plugin; None if there is none."""
    return _package_file("hdf5plugin", os.path.join("plugins", f"*{stem}*"))


def _package_file(package: str, pattern: str) -> str | None:
    """The first file matching `pattern` in the folder of `package` (not imported)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(glob.glob(os.path.join(next(iter(spec.submodule_search_locations)), pattern)))
    return found[0] if found else None


def _works(decode: DecodeInto, compress: Callable[[bytes], bytes]) -> bool:
    sample = bytes(range(256)) * 8
    out = np.empty(len(sample), np.uint8)
    try:
        decode(np.frombuffer(compress(sample), np.uint8), out)
    except OSError:
        return False
    return out.tobytes() == sample


T = TypeVar("T")


class _PerThread(Generic[T]):
    """One codec state (or buffer) per thread (they may not be shared), made on first use."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._local = threading.local()

    def get(self) -> T:
        state: T | None = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = self._make()
        return state


_VOID, _SIZE = ctypes.c_void_p, ctypes.c_size_t
Signatures = dict[str, tuple[Any, list[Any]]]
"""C function name → (result type, argument types)."""

_LIBDEFLATE: Signatures = {
    "libdeflate_alloc_decompressor": (_VOID, []),
    "libdeflate_zlib_decompress": (ctypes.c_int, [_VOID, _VOID, _SIZE, _VOID, _SIZE, _VOID]),
}
_ZSTD: Signatures = {
    "ZSTD_createDCtx": (_VOID, []),
    "ZSTD_createCCtx": (_VOID, []),
    "ZSTD_isError": (ctypes.c_uint, [_SIZE]),
    "ZSTD_getErrorCode": (ctypes.c_int, [_SIZE]),
    "ZSTD_compressBound": (_SIZE, [_SIZE]),
    "ZSTD_decompressDCtx": (_SIZE, [_VOID, _VOID, _SIZE, _VOID, _SIZE]),
    "ZSTD_compressCCtx": (_SIZE, [_VOID, _VOID, _SIZE, _VOID, _SIZE, ctypes.c_int]),
}


def declared(path: str | None, signatures: Signatures) -> ctypes.CDLL | None:
    """The library at `path` with the types of `signatures` declared, or None if it lacks
    one of them."""
    lib = _library(path)
    if lib is None or not all(hasattr(lib, name) for name in signatures):
        return None
    for name, (result, arguments) in signatures.items():
        getattr(lib, name).restype = result
        getattr(lib, name).argtypes = arguments
    return lib


@lru_cache(maxsize=1)
def _zstd_library() -> ctypes.CDLL | None:
    """hdf5plugin's Zstd filter: the Zstd that HDF5 itself runs on these datasets."""
    return declared(hdf5plugin_library("h5zstd"), _ZSTD)


class Status(enum.IntEnum):
    """What became of a stream given to a :data:`RawDecode`."""

    DONE = 0
    UNDECODABLE = 1
    """Not a valid stream: HDF5 may know better (a chunk stored with its filter skipped)."""
    WRONG_SIZE = 2
    """A valid stream of the wrong size: the file is damaged."""


RawDecode = Callable[[int, int, int, int], int]
"""(source address, stored bytes, target address, decoded bytes) → a :class:`Status`; the
GIL is let go during the call."""


@lru_cache(maxsize=1)
def raw_libdeflate() -> RawDecode | None:
    """``libdeflate_zlib_decompress`` from the ``deflate`` wheel on addresses, or None."""
    lib = declared(_package_file("deflate", "_deflate*.so"), _LIBDEFLATE)
    if lib is None:
        return None
    function = lib.libdeflate_zlib_decompress
    states = _PerThread(lib.libdeflate_alloc_decompressor)

    def decode(source: int, size: int, target: int, decoded: int) -> int:
        # no "actual size" pointer: libdeflate then insists on filling the target exactly
        code = function(states.get(), source, size, target, decoded, None)
        if code == 0:
            return Status.DONE
        return Status.UNDECODABLE if code == 1 else Status.WRONG_SIZE  # 1: LIBDEFLATE_BAD_DATA

    return decode


_ZSTD_DST_TOO_SMALL = 70
"""``ZSTD_error_dstSize_tooSmall`` (zstd_errors.h; stable since Zstd 1.3)."""


@lru_cache(maxsize=1)
def raw_zstd() -> RawDecode | None:
    """``ZSTD_decompressDCtx`` from hdf5plugin's Zstd filter on addresses, or None."""
    lib = _zstd_library()
    if lib is None:
        return None
    function, is_error = lib.ZSTD_decompressDCtx, lib.ZSTD_isError
    error_code = lib.ZSTD_getErrorCode
    states = _PerThread(lib.ZSTD_createDCtx)

    def decode(source: int, size: int, target: int, decoded: int) -> int:
        done = function(states.get(), target, decoded, source, size)
        if done == decoded:
            return Status.DONE
        if is_error(done) and error_code(done) != _ZSTD_DST_TOO_SMALL:
            return Status.UNDECODABLE
        return Status.WRONG_SIZE

    return decode


def _into(raw: RawDecode, codec: str) -> DecodeInto:
    """`raw` on arrays, raising :class:`UndecodableError` or :class:`WrongSizeError`."""

    def decode(stream: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]) -> None:
        status = raw(stream.ctypes.data, len(stream), out.ctypes.data, len(out))
        if status == Status.UNDECODABLE:
            raise UndecodableError(f"the {codec} stream does not decompress")
        if status == Status.WRONG_SIZE:
            raise WrongSizeError(f"a chunk does not decompress to {len(out)} bytes")

    return decode


@lru_cache(maxsize=1)
def libdeflate_into() -> DecodeInto | None:
    """``libdeflate_zlib_decompress`` from the ``deflate`` wheel, or None."""
    raw = raw_libdeflate()
    decode = None if raw is None else _into(raw, "deflate")
    return decode if decode is not None and _works(decode, zlib.compress) else None


@lru_cache(maxsize=1)
def zstd_into() -> DecodeInto | None:
    """``ZSTD_decompressDCtx`` from hdf5plugin's Zstd filter, or None."""
    raw = raw_zstd()
    decode = None if raw is None else _into(raw, "Zstd")
    return decode if decode is not None and _works(decode, _zstd_sample_compress()) else None


def _zstd_sample_compress() -> Callable[[bytes], bytes]:
    def compress(data: bytes) -> bytes:
        if importlib.util.find_spec("zstandard") is None:
            return b""  # nothing to check against: the C path is not used
        import zstandard

        return bytes(zstandard.ZstdCompressor(level=3).compress(data))

    return compress


SMALL_FRAME_BYTES = 1 << 15
"""Bytes given to :func:`zstd_compressor`'s compress as ``bytes``: at most this many (their
frame goes through a buffer of the thread's, not a new array)."""


def _zstd_bound(size: int) -> int:
    """``ZSTD_COMPRESSBOUND``: the largest frame of `size` bytes (zstd.h's macro)."""
    small = ((128 << 10) - size) >> 11 if size < 128 << 10 else 0
    return size + (size >> 8) + small


def _frame_buffer() -> tuple[npt.NDArray[np.uint8], int]:
    buffer = np.empty(_zstd_bound(SMALL_FRAME_BYTES), np.uint8)
    return buffer, buffer.ctypes.data


Compressor = Callable[[npt.NDArray[Any] | bytes, int], npt.NDArray[np.uint8] | bytes]
"""(contiguous array, or bytes of at most :data:`SMALL_FRAME_BYTES`; level) → the frame."""


@lru_cache(maxsize=1)
def zstd_compressor() -> Compressor | None:
    """``ZSTD_compressCCtx`` from hdf5plugin's Zstd filter (the bytes its filter writes), as
    (contiguous array, level) → a new array of the frame, or (bytes, level) → bytes; or
    None. Small chunks come as bytes: for a few kB, making and addressing a new array costs
    as much as compressing."""
    lib = _zstd_library()
    if lib is None:
        return None
    function = lib.ZSTD_compressCCtx
    states, buffers = _PerThread(lib.ZSTD_createCCtx), _PerThread(_frame_buffer)

    def compress(data: npt.NDArray[Any] | bytes, level: int) -> npt.NDArray[np.uint8] | bytes:
        if isinstance(data, bytes):  # ctypes passes the address of the bytes' own buffer
            out, target = buffers.get()
            if len(data) > SMALL_FRAME_BYTES:
                raise ValueError(f"{len(data)} bytes: more than SMALL_FRAME_BYTES")
            size = function(states.get(), target, len(out), data, len(data), level)
            _check(size, len(out), len(data), level)
            return out[:size].tobytes()
        out = np.empty(_zstd_bound(data.nbytes), np.uint8)
        target, source = out.ctypes.data, data.ctypes.data
        size = function(states.get(), target, len(out), source, data.nbytes, level)
        _check(size, len(out), data.nbytes, level)
        return out[:size]

    return compress


def _check(size: int, room: int, given: int, level: int) -> None:
    """A Zstd result larger than the room given is an error code."""
    if size > room:
        raise OSError(f"Zstd cannot compress {given} bytes at level {level}")


def _blosc2(name: str) -> Any:
    """``blosc2_(un)shuffle(typesize, nbytes, src, dest)`` from hdf5plugin's Blosc2 plugin, or
    None."""
    signature = (ctypes.c_int32, [ctypes.c_int32, ctypes.c_int32, _VOID, _VOID])
    lib = declared(hdf5plugin_library("h5blosc2"), {name: signature})
    return None if lib is None else getattr(lib, name)


def _transposes(function: Any, expected: npt.NDArray[np.uint8]) -> bool:
    sample = np.arange(24, dtype=np.uint8)  # 8 elements of 3 bytes
    result = np.zeros(24, np.uint8)
    return bool(function(3, 24, sample.ctypes.data, result.ctypes.data) == 24) and bool(
        np.array_equal(result, expected)
    )


@lru_cache(maxsize=1)
def simd_unshuffle() -> Any:
    """c-blosc2's SIMD ``blosc2_unshuffle`` (HDF5's shuffle filter undone), checked on a
    sample; ``None`` when it is not usable."""
    function = _blosc2("blosc2_unshuffle")
    expected = np.arange(24, dtype=np.uint8).reshape(3, 8).T.reshape(-1)
    return function if function is not None and _transposes(function, expected) else None


@lru_cache(maxsize=1)
def simd_shuffle() -> Any:
    """c-blosc2's SIMD ``blosc2_shuffle`` (HDF5's shuffle filter), checked on a sample;
    ``None`` when it is not usable."""
    function = _blosc2("blosc2_shuffle")
    expected = np.arange(24, dtype=np.uint8).reshape(8, 3).T.reshape(-1)
    return function if function is not None and _transposes(function, expected) else None
