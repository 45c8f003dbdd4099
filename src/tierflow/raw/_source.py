"""Byte sources: where a streamer's bytes come from (a file, memory; a socket later).

A source only hands out bytes; framing and decoding live in the streamers and decoders, so
a decoder runs unchanged on a file, a memory buffer or a fake in a test.
"""

from __future__ import annotations

import abc
import contextlib
import mmap
import os
from pathlib import Path
from typing import BinaryIO

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
    views: bool = False
    """:meth:`read` hands out views of the source's own memory, no copies; such a source
    can :meth:`rewind`."""

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

    def rewind(self, n: int) -> None:
        """Hand the last `n` bytes read back: they come again with the next :meth:`read`
        (sources with :attr:`views` only)."""
        raise NotImplementedError

    def forget(self, before: int) -> None:  # noqa: B027 - most sources hold nothing to free
        """The bytes before position `before` are not read again: the memory holding them
        may be given back."""

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

    views = True

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

    def rewind(self, n: int) -> None:
        self._pos -= n

    def peek(self, n: int) -> bytes:
        return self._data[self._pos : self._pos + n].tobytes()


class FileSource(ByteSource):
    """Bytes of a file: a regular file is mapped into memory and read without copies (the
    pages already read are given back as decoding goes on); anything else is read in large
    sequential blocks.

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
        self._forgotten = 0
        self._map = _mapped(self._file, self._size)
        self._data = None if self._map is None else np.frombuffer(self._map, np.uint8)
        self.views = self._data is not None

    @property
    def position(self) -> int:
        return self._pos

    @property
    def size(self) -> int:
        return self._size

    def read(self, n: int) -> npt.NDArray[np.uint8]:
        if self._data is not None:
            out = self._data[self._pos : self._pos + max(n, 0)]
            self._pos += out.size
            return out
        buf = np.empty(max(0, min(n, self._size - self._pos)), dtype=np.uint8)
        got = self._file.readinto(buf.data) if buf.size else 0
        self._pos += got
        return buf[:got]

    def readinto(self, out: npt.NDArray[np.uint8]) -> int:
        if self._data is not None:
            return super().readinto(out)
        got = self._file.readinto(out.data) if out.size else 0
        self._pos += got
        return int(got)

    def rewind(self, n: int) -> None:
        if self._data is None:
            raise NotImplementedError(f"{self.name} is read in blocks: it cannot rewind")
        self._pos -= n

    def forget(self, before: int) -> None:
        """Unmap the pages before `before`: they stay in the page cache, out of this
        process's memory (a view of them reads them again from there)."""
        end = before - before % mmap.PAGESIZE
        if self._map is not None and end > self._forgotten:
            self._map.madvise(mmap.MADV_DONTNEED, self._forgotten, end - self._forgotten)
            self._forgotten = end

    def peek(self, n: int) -> bytes:
        if self._data is not None:
            return self._data[self._pos : self._pos + n].tobytes()
        here = self._file.tell()
        data = self._file.read(n)
        self._file.seek(here)
        return data

    def close(self) -> None:
        self._data = None
        if self._map is not None:
            with contextlib.suppress(BufferError):  # views are held: it goes with the last
                self._map.close()
        self._file.close()


def _mapped(file: BinaryIO, size: int) -> mmap.mmap | None:
    """`file` mapped read-only, or None when it cannot be (empty, a pipe, no madvise)."""
    if size == 0 or not hasattr(mmap, "MADV_DONTNEED"):
        return None
    try:
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


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
