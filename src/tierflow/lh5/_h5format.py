"""HDF5's on-disk structures, encoded: what a new LH5 file is made of, as bytes.

The subset written is the one HDF5 1.8 and later read and extend without a conversion, with
nothing to checksum: a version-0 superblock, version-1 object headers, groups whose links are
messages in their object header ("compact" new-style groups), chunked datasets indexed by a
version-1 B-tree (layout version 3, what h5py makes by default), attributes and
variable-length strings in a global heap. Every address and length is 8 bytes, little-endian.
The layouts are those of the HDF5 File Format Specification, version 3.0; the messages
written match h5py's byte for byte where h5py makes the same object.

Example
-------
>>> len(superblock(eof=4096, root=96))
96
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "ATTRIBUTE",
    "BTREE_K",
    "CONSTANT",
    "DATASPACE",
    "DATATYPE",
    "FILL_VALUE",
    "FILTER_PIPELINE",
    "GROUP_INFO",
    "LAYOUT",
    "LINK",
    "LINK_INFO",
    "SUPERBLOCK_SIZE",
    "UNDEFINED",
    "VLEN_STRING",
    "ChunkEntry",
    "attribute_message",
    "chunk_btree_nodes",
    "chunked_layout_message",
    "contiguous_layout_message",
    "dataspace_message",
    "datatype_message",
    "fill_value_message",
    "filter_pipeline_message",
    "global_heap",
    "group_messages",
    "link_message",
    "object_header",
    "superblock",
]

UNDEFINED = 0xFFFF_FFFF_FFFF_FFFF
"""The undefined address (and the unlimited dimension size)."""
SUPERBLOCK_SIZE = 96
BTREE_K = 32
"""Half the capacity of a chunk B-tree node (version-0 superblocks store none: HDF5's
default applies)."""
_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_GROUP_LEAF_K = 4
_GROUP_INTERNAL_K = 16

# message types
DATASPACE = 0x01
LINK_INFO = 0x02
DATATYPE = 0x03
FILL_VALUE = 0x05
LINK = 0x06
LAYOUT = 0x08
GROUP_INFO = 0x0A
FILTER_PIPELINE = 0x0B
ATTRIBUTE = 0x0C
CONSTANT = 0x01
"""Message flag: the message's value never changes (HDF5 sets it on types and fills)."""

_FILTER_NAMES = {1: b"deflate", 2: b"shuffle"}  # HDF5's names of the filters written here


def _pad8(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 8)


def superblock(eof: int, root: int) -> bytes:
    """The version-0 superblock: 8-byte addresses and lengths, HDF5's default node sizes, the
    root group's object header at `root` (no cached symbol table), the file `eof` bytes long."""
    head = _SIGNATURE + bytes([0, 0, 0, 0, 0, 8, 8, 0])
    head += struct.pack("<HHI", _GROUP_LEAF_K, _GROUP_INTERNAL_K, 0)
    head += struct.pack("<QQQQ", 0, UNDEFINED, eof, UNDEFINED)
    root_entry = struct.pack("<QQII", 0, root, 0, 0) + b"\0" * 16
    return head + root_entry


def object_header(messages: Sequence[tuple[int, bytes, int]]) -> bytes:
    """A version-1 object header holding `messages` (type, body, flags), each padded to 8."""
    body = b"".join(
        struct.pack("<HHB3x", kind, len(padded), flags) + padded
        for kind, data, flags in messages
        for padded in (_pad8(data),)
    )
    return struct.pack("<BBHII4x", 1, 0, len(messages), 1, len(body)) + body


@lru_cache(maxsize=1024)
def dataspace_message(shape: tuple[int, ...], maxshape: tuple[int | None, ...] | None) -> bytes:
    """A version-1 dataspace: scalar when `shape` is ``()``; `maxshape` None entries are
    unlimited."""
    flags = 1 if maxshape is not None and shape else 0
    data = struct.pack("<BBBB4x", 1, len(shape), flags, 0)
    data += struct.pack(f"<{len(shape)}Q", *shape)
    if flags:
        limits = [UNDEFINED if m is None else m for m in maxshape or ()]
        data += struct.pack(f"<{len(limits)}Q", *limits)
    return data


_FLOAT_LAYOUT = {  # size → (sign bit, exponent location, exponent size, mantissa size, bias)
    2: (15, 10, 5, 10, 15),
    4: (31, 23, 8, 23, 127),
    8: (63, 52, 11, 52, 1023),
}


VLEN_STRING = "vlen-utf8"
"""The datatype key of a variable-length UTF-8 string (as h5py's ``string_dtype()``)."""


@lru_cache(maxsize=256)
def datatype_message(dtype: np.dtype[Any] | str) -> bytes:
    """The datatype message of a numeric `dtype` (integers, floats, booleans as h5py's enum),
    of fixed-length bytes, or of :data:`VLEN_STRING`."""
    if isinstance(dtype, str):
        if dtype != VLEN_STRING:
            raise ValueError(f"no HDF5 datatype for {dtype!r}")
        char = struct.pack("<B3sIHH", 0x10, b"\0\0\0", 1, 0, 8)  # unsigned 8-bit, a byte each
        return struct.pack("<B3sI", 0x19, bytes([0x01, 0x01, 0x00]), 16) + char
    big = dtype.byteorder == ">"
    size = dtype.itemsize
    if dtype.kind == "S":  # fixed-length ASCII, null-padded: numpy's bytes, as h5py stores them
        return struct.pack("<B3sI", 0x13, bytes([0x01, 0, 0]), size)
    if dtype.kind == "b":  # h5py's boolean: an enum of int8, FALSE = 0 and TRUE = 1
        base = struct.pack("<B3sIHH", 0x10, bytes([0x08, 0, 0]), 1, 0, 8)
        members = b"FALSE\0\0\0TRUE\0\0\0\0" + bytes([0, 1])
        return struct.pack("<B3sI", 0x18, bytes([2, 0, 0]), 1) + base + members
    if dtype.kind in "iu":
        flags = (0x01 if big else 0) | (0x08 if dtype.kind == "i" else 0)  # order, sign
        return struct.pack("<B3sIHH", 0x10, bytes([flags, 0, 0]), size, 0, 8 * size)
    if dtype.kind == "f" and size in _FLOAT_LAYOUT:
        sign, exp_at, exp_size, mant_size, bias = _FLOAT_LAYOUT[size]
        bits = bytes([(0x01 if big else 0) | 0x20, sign, 0])  # mantissa normalised: msb implied
        props = struct.pack("<HHBBBBI", 0, 8 * size, exp_at, exp_size, 0, mant_size, bias)
        return struct.pack("<B3sI", 0x11, bits, size) + props
    raise ValueError(f"no HDF5 datatype written here for {dtype}")


@lru_cache(maxsize=4)
def fill_value_message(chunked: bool, vlen: bool = False) -> bytes:
    """The version-2 fill value message of h5py's datasets: the default fill (zeros), space
    allocated incrementally (chunked) or late, written if set (on allocation: strings)."""
    alloc, write = (3, 2) if chunked else (2, 0 if vlen else 2)
    return struct.pack("<BBBBI", 2, alloc, write, 1, 0)


@lru_cache(maxsize=256)
def filter_pipeline_message(filters: tuple[tuple[int, tuple[int, ...]], ...]) -> bytes:
    """A version-1 filter pipeline of (filter id, client values), each marked optional."""
    data = struct.pack("<BB6x", 1, len(filters))
    for code, values in filters:
        name = _FILTER_NAMES.get(code, b"")
        name_field = _pad8(name + b"\0") if name else b""
        data += struct.pack("<HHHH", code, len(name_field), 1, len(values)) + name_field
        data += struct.pack(f"<{len(values)}I", *values)
        if len(values) % 2:
            data += b"\0" * 4
    return data


def chunked_layout_message(btree: int, chunks: tuple[int, ...], itemsize: int) -> bytes:
    """A version-3 chunked layout: the chunk B-tree at `btree`, chunks of `chunks` elements."""
    dims = (*chunks, itemsize)
    return struct.pack(f"<BBBQ{len(dims)}I", 3, 2, len(dims), btree, *dims)


def contiguous_layout_message(address: int, size: int) -> bytes:
    """A version-3 contiguous layout of `size` bytes at `address`."""
    return struct.pack("<BBQQ", 3, 1, address, size)


def attribute_message(name: str, datatype: bytes, dataspace: bytes, value: bytes) -> bytes:
    """A version-1 attribute: `name`, its encoded datatype and dataspace, its raw `value`."""
    return _attribute_head(name, datatype, dataspace) + value


@lru_cache(maxsize=1024)
def _attribute_head(name: str, datatype: bytes, dataspace: bytes) -> bytes:
    encoded = name.encode("utf-8") + b"\0"
    head = struct.pack("<BxHHH", 1, len(encoded), len(datatype), len(dataspace))
    return head + _pad8(encoded) + _pad8(datatype) + _pad8(dataspace)


def group_messages() -> list[tuple[int, bytes, int]]:
    """The link info and group info messages of a new-style group with compact links."""
    link_info = struct.pack("<BBQQ", 0, 0, UNDEFINED, UNDEFINED)
    return [(LINK_INFO, link_info, 0), (GROUP_INFO, struct.pack("<BB", 0, 0), 0)]


def link_message(name: str, address: int) -> bytes:
    """A hard link named `name` (UTF-8) to the object header at `address`."""
    encoded = name.encode("utf-8")
    size = len(encoded)
    width, code = (1, 0) if size < 1 << 8 else (2, 1) if size < 1 << 16 else (4, 2)
    flags = code | 0x10  # name character set present: UTF-8
    fmt = {1: "B", 2: "H", 4: "I"}[width]
    return struct.pack(f"<BBB{fmt}", 1, flags, 1, size) + encoded + struct.pack("<Q", address)


class ChunkEntry(NamedTuple):
    """A stored chunk: its offset in elements (per dimension), address, size, filter mask."""

    offset: tuple[int, ...]
    address: int
    size: int
    mask: int = 0


def _chunk_key(size: int, mask: int, offset: tuple[int, ...]) -> bytes:
    return struct.pack(f"<II{len(offset)}Q", size, mask, *offset)


def chunk_node_size(rank: int) -> int:
    """Bytes allocated to a chunk B-tree node of a `rank`-dimensional dataset (room for
    2K children, as HDF5 allocates them: it grows nodes in place)."""
    key = 8 + 8 * (rank + 1)
    return 24 + 2 * BTREE_K * (key + 8) + key


def chunk_btree_nodes(
    entries: Sequence[ChunkEntry], itemsize: int, first_address: int
) -> list[bytes]:
    """The nodes of the B-tree indexing `entries` (in offset order), laid out one after the
    other from `first_address`, the root first; each node is :func:`chunk_node_size` bytes.

    A node's keys are its children's left keys and, last, the next node's first key; the
    right-most key is the last chunk's offset with its element dimension one element size on,
    as HDF5 writes it.
    """
    rank = len(entries[0].offset) if entries else 1
    node_size = chunk_node_size(rank)
    items = [(_chunk_key(e.size, e.mask, (*e.offset, 0)), e.address) for e in entries]
    last = entries[-1].offset if entries else (0,) * rank
    final = _chunk_key(0, 0, (*last, itemsize))
    levels = []  # per level from the leaves up: its nodes' items
    while True:
        nodes = [items[i : i + 2 * BTREE_K] for i in range(0, len(items), 2 * BTREE_K)] or [[]]
        levels.append(nodes)
        if len(nodes) == 1:
            break
        items = [(node[0][0], -1) for node in nodes]  # child addresses known once laid out
    order = [(d, i) for d in range(len(levels) - 1, -1, -1) for i in range(len(levels[d]))]
    address = {node: first_address + n * node_size for n, node in enumerate(order)}
    out = []
    for d, i in order:
        node = levels[d][i]
        children = [
            child if d == 0 else address[(d - 1, i * 2 * BTREE_K + j)]
            for j, (_, child) in enumerate(node)
        ]
        is_last = i + 1 == len(levels[d])
        right_key = final if is_last else levels[d][i + 1][0][0]
        head = struct.pack(
            "<4sBBHQQ",
            b"TREE",
            1,
            d,
            len(node),
            address[(d, i - 1)] if i else UNDEFINED,
            UNDEFINED if is_last else address[(d, i + 1)],
        )
        body = b"".join(
            key + struct.pack("<Q", child) for (key, _), child in zip(node, children, strict=True)
        )
        raw = head + body + right_key
        out.append(raw + b"\0" * (node_size - len(raw)))
    return out


def global_heap(strings: Sequence[bytes]) -> bytes:
    """A global heap collection holding `strings` as objects 1, 2, …; at least 4096 bytes,
    the rest free space (object 0)."""
    body = b"".join(
        struct.pack("<HHIQ", index, 1, 0, len(s)) + _pad8(s) for index, s in enumerate(strings, 1)
    )
    size = max(4096, 16 + len(body) + 16)
    free = size - 16 - len(body)
    return (
        b"GCOL"
        + struct.pack("<B3xQ", 1, size)
        + body
        + struct.pack("<HHIQ", 0, 0, 0, free)
        + b"\0" * (free - 16)
    )
