"""Byte sources: where a streamer's bytes come from (a file, memory; a socket later).

A source only hands out bytes; framing and decoding live in the streamers and decoders, so
a decoder runs unchanged on a file, a memory buffer or a fake in a test.
"""

from __future__ import annotations

import abc
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["ByteSource", "FileSource", "MemorySource", "make_source"]


class ByteSource(abc.ABC):
    """Sequential bytes with a known position.

    Example
    -------
    >>> src = MemorySource(b"abcdef")
    >>> bytes(src.read(4)), src.position
    (b'abcd', 4)
    """

    name: str = "<bytes>"

    @property
    @abc.abstractmethod
    def position(self) -> int:
        """Bytes handed out so far."""

    @property
    def size(self) -> int | None:
        """Total bytes, when known."""
        return None

    @abc.abstractmethod
    def read(self, n: int) -> npt.NDArray[np.uint8]:
        """Up to `n` more bytes (fewer only at the end)."""

    def peek(self, n: int) -> bytes:
        """The next `n` bytes without consuming them."""
        raise NotImplementedError

    def readinto(self, out: npt.NDArray[np.uint8]) -> int:
        """Fill `out` with the next bytes; returns how many (fewer only at the end)."""
        data = self.read(out.size)
        out[: data.size] = data
        return int(data.size)

    def close(self) -> None:  # noqa: B027 - sources without resources need nothing
        """Release the source."""

    def __enter__(self) -> ByteSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemorySource(ByteSource):
    """Bytes already in memory.

    Example
    -------
    >>> MemorySource(b"xyz").size
    3
    """

    def __init__(
        self, data: bytes | bytearray | memoryview | npt.NDArray[np.uint8], name: str = "<memory>"
    ) -> None:
        self._data = np.frombuffer(
            bytes(data) if not isinstance(data, np.ndarray) else data, dtype=np.uint8
        )
        self._pos = 0
        self.name = name

    @property
    def position(self) -> int:
        return self._pos

    @property
    def size(self) -> int:
        return int(self._data.size)

    def read(self, n: int) -> npt.NDArray[np.uint8]:
        out = self._data[self._pos : self._pos + n]
        self._pos += out.size
        return out

    def peek(self, n: int) -> bytes:
        return self._data[self._pos : self._pos + n].tobytes()


class FileSource(ByteSource):
    """Bytes of a file, read in large sequential blocks.

    Example
    -------
    >>> with FileSource("run.fcio") as src:  # doctest: +SKIP
    ...     head = src.peek(4)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = str(path)
        self._file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        self._size = os.fstat(self._file.fileno()).st_size
        self._pos = 0

    @property
    def position(self) -> int:
        return self._pos

    @property
    def size(self) -> int:
        return self._size

    def read(self, n: int) -> npt.NDArray[np.uint8]:
        buf = np.empty(max(0, min(n, self._size - self._pos)), dtype=np.uint8)
        got = self._file.readinto(buf.data) if buf.size else 0
        self._pos += got
        return buf[:got]

    def readinto(self, out: npt.NDArray[np.uint8]) -> int:
        got = self._file.readinto(out.data) if out.size else 0
        self._pos += got
        return int(got)

    def peek(self, n: int) -> bytes:
        here = self._file.tell()
        data = self._file.read(n)
        self._file.seek(here)
        return data

    def close(self) -> None:
        self._file.close()


def make_source(stream: str | os.PathLike[str] | bytes | ByteSource) -> ByteSource:
    """A source for a path, raw bytes, or an existing source.

    Example
    -------
    >>> make_source(b"1234").size
    4
    """
    if isinstance(stream, ByteSource):
        return stream
    if isinstance(stream, (bytes, bytearray, memoryview)):
        return MemorySource(stream)
    return FileSource(os.path.expandvars(os.fspath(stream)))
