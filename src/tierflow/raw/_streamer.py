"""Streamers: frame packets from a byte source, decode them in blocks, route rows to buffers."""

from __future__ import annotations

import abc
import enum
import logging
import warnings
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError, NotFoundError
from tierflow.raw._buffer import RawBuffer, RawBufferLibrary, RawBufferList, match_keys
from tierflow.raw._decoder import DataDecoder, DecodedValue, Jagged, Kind, RowBlock
from tierflow.raw._source import ByteSource, make_source
from tierflow.types import DataObject

__all__ = [
    "ChunkMode",
    "DataStreamer",
    "DecodeWarning",
    "GarbageDecoder",
    "HeaderBuffer",
    "PacketBatch",
]

log = logging.getLogger(__name__)

READ_BLOCK = 2 << 20
"""Bytes read from the source at a time (larger blocks give no more speed, only memory)."""
MAX_QUEUED_BYTES = 32 << 20
"""Decoded bytes held over all buffers at most: past this, the largest buffers count as full
(one buffer per channel must not hold each its own 10 MB)."""


class DecodeWarning(UserWarning):
    """A packet did not decode, or the stream ended inside a packet."""


class ChunkMode(str, enum.Enum):
    """When :meth:`DataStreamer.read_chunk` hands buffers back."""

    ANY_FULL = "any_full"
    """All buffers with data, as soon as any one is full."""
    ONLY_FULL = "only_full"
    """Only the buffers that are full (fewest writes)."""
    SINGLE_PACKET = "single_packet"
    """All buffers with data after every packet."""


@dataclass
class PacketBatch:
    """Packets of one kind framed out of a block of bytes: payload starts and sizes."""

    data: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]
    sizes: npt.NDArray[np.int64]
    packet_ids: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.starts.size)


@dataclass(eq=False)
class HeaderBuffer(RawBuffer):
    """A buffer holding a whole header object (written once, not row by row)."""

    lgdo: DataObject | None = None


class GarbageDecoder(DataDecoder):
    """Packets that did not decode: the raw bytes, an error code and the byte position."""

    name = "GarbageDecoder"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return [
            DecodedValue("packet_id", "uint32"),
            DecodedValue("position", "int64", units="B", description="byte offset in the input"),
            DecodedValue("code", "int32", description="why the packet did not decode"),
            DecodedValue("packet", "uint8", Kind.JAGGED, description="the raw bytes"),
        ]


def make_garbage(position: int, code: int, raw: npt.NDArray[np.uint8], packet_id: int) -> RowBlock:
    """One garbage row."""
    return RowBlock(
        np.array([None], dtype=object),
        {
            "packet_id": np.array([packet_id], dtype=np.uint32),
            "position": np.array([position], dtype=np.int64),
            "code": np.array([code], dtype=np.int32),
            "packet": Jagged(np.asarray(raw, dtype=np.uint8), np.array([raw.size], dtype=np.int64)),
        },
    )


class DataStreamer(abc.ABC):
    """Base of every DAQ format: opens a source, reads its header, decodes blocks of packets.

    Subclasses implement :meth:`make_decoders`, :meth:`read_header` and :meth:`process`
    (frame and decode whole packets in a block of bytes). The base reads the source in
    large blocks, carries partial packets over, routes decoded rows to raw buffers and
    reports truncation.
    """

    name: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.decoders: dict[str, DataDecoder] = {}
        self.rb_lib: RawBufferLibrary = RawBufferLibrary()
        self.source: ByteSource | None = None
        self.chunk_mode = ChunkMode.ANY_FULL
        self.n_bytes_read = 0
        self.packet_id = 0
        self.stopped_at: int | None = None
        self.garbage = GarbageDecoder()
        self._blocks: Iterator[tuple[str, RowBlock]] | None = None
        self._routes: dict[str, list[tuple[RawBuffer, _KeySet | None]]] = {}
        self._rows = 0

    # -- what a format provides -------------------------------------------------------
    @abc.abstractmethod
    def make_decoders(self) -> list[DataDecoder]:
        """The decoders of this format (after the header is read)."""

    @abc.abstractmethod
    def read_header(self, source: ByteSource) -> list[tuple[str, DataObject]]:
        """Read the file header; return header objects by decoder name."""

    @abc.abstractmethod
    def process(
        self, buf: npt.NDArray[np.uint8], offset: int, final: bool
    ) -> tuple[int, list[tuple[str, RowBlock]]]:
        """Frame and decode the whole packets at the start of `buf`.

        Returns the bytes consumed and decoded blocks by decoder name. `offset` is the
        position of `buf` in the stream; `final` says no more bytes follow.
        """

    @classmethod
    def is_stream(cls, head: bytes) -> bool:
        """Whether a stream starting with `head` is of this format."""
        return False

    # -- the streaming machinery --------------------------------------------------------
    def next_packet_ids(self, n: int) -> npt.NDArray[np.int64]:
        """Ids for `n` new packets, in stream order."""
        ids = np.arange(self.packet_id + 1, self.packet_id + 1 + n, dtype=np.int64)
        self.packet_id += n
        return ids

    def warn_garbage(
        self, position: int, code: int, raw: npt.NDArray[np.uint8], why: str
    ) -> tuple[str, RowBlock]:
        """Record a packet that did not decode, with a warning; decoding goes on."""
        pid = int(self.next_packet_ids(1)[0])
        where = self.source.name if self.source is not None else "stream"
        warnings.warn(
            f"{where}: packet at byte {position} did not decode ({why}); kept as garbage",
            DecodeWarning,
            stacklevel=3,
        )
        return self.garbage.name, make_garbage(position, code, raw, pid)

    def _iter_blocks(self) -> Iterator[tuple[str, RowBlock]]:
        assert self.source is not None
        blocks = self._viewed_blocks if self.source.views else self._read_blocks
        offset, left = yield from blocks(self.source)
        if left:
            self.stopped_at = offset
            warnings.warn(
                f"{self.source.name}: the stream ends inside a packet; decoded up to byte {offset} "
                f"of {offset + left}",
                DecodeWarning,
                stacklevel=2,
            )

    def _decoded(
        self, buf: npt.NDArray[np.uint8], offset: int, final: bool
    ) -> Generator[tuple[str, RowBlock], None, int]:
        """The blocks of the whole packets of `buf`; returns how many bytes they took."""
        consumed, blocks = self.process(buf, offset, final)
        self.n_bytes_read = offset + consumed
        blocks.reverse()
        while blocks:  # hand each block over: once written, nothing here holds it
            yield blocks.pop()
        return consumed

    def _viewed_blocks(
        self, source: ByteSource
    ) -> Generator[tuple[str, RowBlock], None, tuple[int, int]]:
        """Views of the source, each starting at the first packet the last one did not
        finish (given back with ``rewind``); returns where decoding stopped and the bytes
        left after it."""
        offset, size = source.position, READ_BLOCK
        while True:
            buf = source.read(size)
            final = buf.size < size
            consumed = yield from self._decoded(buf, offset, final)
            source.rewind(buf.size - consumed)
            offset += consumed
            source.forget(offset)
            if final:
                return offset, buf.size - consumed
            size = READ_BLOCK if consumed else 2 * size  # a packet longer than the view

    def _read_blocks(
        self, source: ByteSource
    ) -> Generator[tuple[str, RowBlock], None, tuple[int, int]]:
        """Blocks read into buffers, each starting with the bytes of the packet the last one
        did not finish; returns where decoding stopped and the bytes left after it."""
        carry = np.empty(0, dtype=np.uint8)
        offset = source.position
        while True:  # one buffer: the bytes carried over, then new ones read in place
            buf = np.empty(carry.size + READ_BLOCK, np.uint8)
            buf[: carry.size] = carry
            got = source.readinto(buf[carry.size :])
            buf = buf[: carry.size + got]
            final = got == 0
            consumed = yield from self._decoded(buf, offset, final)
            # a copy: a view would keep the whole read block alive
            carry, offset = buf[consumed:].copy(), offset + consumed
            del buf
            if final:
                return offset, carry.size

    def build_default_rb_lib(self, out_stream: str = "") -> RawBufferLibrary:
        """One buffer per decoder (one per key list when it has several), named as the anchor."""
        lib = RawBufferLibrary()
        for dec_name, dec in self.decoders.items():
            stem = dec_name.removesuffix("Decoder")
            lists = dec.key_lists()
            rbl = lib.setdefault(dec_name, RawBufferList())
            for i, keys in enumerate(lists):
                name = (
                    stem
                    if len(lists) == 1
                    else (f"{stem}_{keys[0]}" if len(keys) == 1 else f"{stem}_{i}")
                )
                rbl.append(RawBuffer(key_list=list(keys), out_stream=out_stream, out_name=name))
        return lib

    def _expand_star(self, lib: RawBufferLibrary) -> None:
        star = lib.pop("*", None)
        unknown = [n for n in lib if n not in self.decoders]
        if unknown:
            raise NotFoundError(
                f"out_spec names decoder {unknown[0]!r}, which {self.name} streams do not have",
                obj=unknown[0],
                candidates=list(self.decoders),
            )
        if star is None:
            return
        for dec_name, dec in self.decoders.items():
            if dec_name in lib:
                continue
            stem, lists, tmpl = dec_name.removesuffix("Decoder"), dec.key_lists(), star[0]
            rbl = lib.setdefault(dec_name, RawBufferList())
            for i, keys in enumerate(lists):
                name = tmpl.out_name.replace("{name}", stem)
                if len(lists) > 1:
                    name = f"{name}_{keys[0]}" if len(keys) == 1 else f"{name}_{i}"
                stream = tmpl.out_stream.replace("{name}", stem)
                rbl.append(
                    RawBuffer(
                        key_list=list(keys),
                        out_stream=stream,
                        out_name=name,
                        proc_spec=tmpl.proc_spec,
                    )
                )

    def _resolve(self, buffer_size: int) -> None:
        self._routes = {}
        for dec_name, rbl in self.rb_lib.items():
            dec = self.decoders[dec_name]
            offered = [k for keys in dec.key_lists() for k in keys]
            match_keys(rbl, offered)
            expanded = RawBufferList()
            for rb in rbl:
                if "{key" in rb.out_name:
                    for key in rb.key_list:
                        expanded.append(
                            RawBuffer(
                                [key], rb.out_stream, rb.out_name.format(key=key), rb.proc_spec
                            )
                        )
                else:
                    expanded.append(rb)
            rbl[:] = expanded
            for rb in rbl:
                rb.size = max(buffer_size, dec.max_rows_in_packet())
                _check_one_schema(dec, rb)
            none_only = offered == [None]
            self._routes[dec_name] = [
                (rb, None if none_only else _KeySet(rb.key_list)) for rb in rbl
            ]

    def open_stream(
        self,
        stream: Any,
        rb_lib: RawBufferLibrary | None = None,
        buffer_size: int = 8192,
        chunk_mode: ChunkMode | str = ChunkMode.ANY_FULL,
        out_stream: str = "",
    ) -> list[HeaderBuffer]:
        """Open `stream`, read its header and set up the buffers; returns the header buffers."""
        if buffer_size < 1:
            raise ConfigError(f"buffer_size must be positive, not {buffer_size}")
        self.source = make_source(stream)
        self.chunk_mode = ChunkMode(chunk_mode)
        headers = self.read_header(self.source)
        self.n_bytes_read = self.source.position
        self.decoders = {d.name: d for d in self.make_decoders()}
        self.decoders[self.garbage.name] = self.garbage
        self.rb_lib = rb_lib if rb_lib is not None else self.build_default_rb_lib(out_stream)
        self._expand_star(self.rb_lib)
        self._resolve(buffer_size)
        self._blocks = self._iter_blocks()
        return self._header_buffers(headers, out_stream)

    def _header_buffers(
        self, headers: list[tuple[str, DataObject]], out_stream: str
    ) -> list[HeaderBuffer]:
        out = []
        for dec_name, obj in headers:
            rbl = self.rb_lib.get(dec_name)
            if rbl:
                rb = rbl[0]
                out.append(
                    HeaderBuffer(rb.key_list, rb.out_stream, rb.out_name, rb.proc_spec, lgdo=obj)
                )
        return out

    def route(self, dec_name: str, block: RowBlock) -> None:
        """Put decoded rows into the buffers that want their keys."""
        routes = self._routes.get(dec_name)
        if not routes or not len(block):
            return
        for rb, keys in routes:
            if keys is None:
                rb.add(block)
                continue
            mask = keys.mask(block.keys)
            if mask.all():
                rb.add(block)
            elif mask.any():
                rb.add(block.take(np.flatnonzero(mask)))

    def read_chunk(self) -> list[RawBuffer]:
        """Decode until the chunk mode says to hand buffers back; empty when the stream ends."""
        assert self._blocks is not None, "open_stream first"
        for dec_name, block in self._blocks:
            self.route(dec_name, block)
            full = [rb for rb in self.rb_lib.all_buffers() if rb.is_full()]
            if not full:
                full = self._over_budget()
            if self.chunk_mode is ChunkMode.ONLY_FULL and full:
                return full
            if full or self.chunk_mode is ChunkMode.SINGLE_PACKET:
                return [rb for rb in self.rb_lib.all_buffers() if rb.loc]
        return [rb for rb in self.rb_lib.all_buffers() if rb.loc]

    def _over_budget(self) -> list[RawBuffer]:
        """The largest buffers, holding half the queued bytes, when over `MAX_QUEUED_BYTES`."""
        held = sorted((rb for rb in self.rb_lib.all_buffers() if rb.loc), key=lambda rb: -rb.nbytes)
        total = sum(rb.nbytes for rb in held)
        if total <= MAX_QUEUED_BYTES:
            return []
        out, freed = [], 0
        for rb in held:
            out.append(rb)
            freed += rb.nbytes
            if freed >= total / 2:
                break
        return out

    def __iter__(self) -> Iterator[list[RawBuffer]]:
        while chunk := self.read_chunk():
            yield chunk

    def close_stream(self) -> None:
        """Close the source."""
        if self.source is not None:
            self.source.close()


def _check_one_schema(dec: DataDecoder, rb: RawBuffer) -> None:
    """A buffer is one table: all its keys must decode to the same fields."""
    first: tuple[Any, set[str]] | None = None
    for key in rb.key_list:
        fields = set(dec.get_decoded_values(key))
        if first is None:
            first = (key, fields)
        elif fields != first[1]:
            raise ConfigError(
                f"buffer {rb.out_name!r} of {dec.name} gets keys {first[0]!r} and {key!r}, "
                "which decode to different fields; put them in separate buffers",
                obj=rb.out_name,
            )


class _KeySet:
    """The keys a buffer takes: a set, and its integers as an array for numeric keys."""

    def __init__(self, keys: list[Any]) -> None:
        self.keys = set(keys)
        self.ints = np.array(
            sorted(k for k in self.keys if isinstance(k, (int, np.integer))), dtype=np.int64
        )
        n = len(self.ints)
        # a range of integers is two comparisons: np.isin costs ~15 us a call, and a
        # streamer routes every block it decodes (hundreds a second per buffer)
        self.span = (int(self.ints[0]), int(self.ints[-1])) if n else None
        self.is_range = self.span is not None and self.span[1] - self.span[0] + 1 == n

    def mask(self, keys: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        """Which of `keys` are taken."""
        if keys.dtype.kind in "iu" and self.is_range and self.span is not None:
            first, last = self.span
            return keys == first if first == last else (keys >= first) & (keys <= last)
        if keys.dtype != object:
            return np.isin(keys, self.ints)
        return np.fromiter((k in self.keys for k in keys), dtype=bool, count=keys.size)
