"""A reusable conformance suite for DAQ formats: subclass :class:`DecoderConformance` per format.

Every format (streamer and decoders) must:

* detect its own stream from the first bytes;
* declare well-formed decoded values (names, numpy dtypes, layouts) and key lists;
* produce blocks whose columns are declared, of one length, with consistent jagged lengths,
  and that make LH5 tables;
* decode the same rows from a file and from memory, in every chunk mode;
* keep the rows before a truncation, with their packet ids.

Example
-------
>>> class TestMyFormat(DecoderConformance):  # doctest: +SKIP
...     path = "mydaq/run.bin"
...     stream_type = "MyDAQ"
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from tierflow.raw import (
    ChunkMode,
    DataStreamer,
    Jagged,
    Kind,
    MemorySource,
    RowBlock,
    detect_stream_type,
    make_streamer,
)

__all__ = ["DecoderConformance", "decode_all"]


def decode_all(
    source: Any,
    stream_type: str,
    options: dict[str, Any],
    chunk_mode: ChunkMode = ChunkMode.ANY_FULL,
    buffer_size: int = 8192,
) -> tuple[DataStreamer, dict[str, list[tuple[Any, RowBlock]]]]:
    """Decode `source` with the default buffers: blocks by buffer name, with their first key."""
    streamer = make_streamer(source, stream_type, **options)
    out: dict[str, list[tuple[Any, RowBlock]]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamer.open_stream(source, buffer_size=buffer_size, chunk_mode=chunk_mode)
        for chunk in streamer:
            for rb in chunk:
                block = rb.drain()
                if block is not None and len(block):
                    key = rb.key_list[0] if rb.key_list else None
                    out.setdefault(rb.out_name, []).append((key, block))
    streamer.close_stream()
    return streamer, out


def _ids(blocks: list[tuple[Any, RowBlock]]) -> np.ndarray:
    return np.concatenate([np.asarray(b.columns["packet_id"]) for _, b in blocks])


class DecoderConformance:
    """Tests every DAQ format must pass. Subclasses set the class attributes."""

    path: ClassVar[str] = ""
    """The test file, relative to ``testdata/legend``."""
    stream_type: ClassVar[str] = ""
    options: ClassVar[dict[str, str]] = {}
    """Streamer options; values ending in a file name are relative to ``testdata/legend``."""
    detectable: ClassVar[bool] = True
    """Whether the stream type is detected from the content."""
    _cache: ClassVar[dict[str, Any]]

    @pytest.fixture
    def data(self, testdata: Path) -> bytes:
        return (testdata / "legend" / self.path).read_bytes()

    @pytest.fixture
    def opts(self, testdata: Path) -> dict[str, Any]:
        return {k: str(testdata / "legend" / v) for k, v in self.options.items()}

    @pytest.fixture
    def decoded(
        self, testdata: Path, opts: dict[str, Any]
    ) -> tuple[DataStreamer, dict[str, list[tuple[Any, RowBlock]]]]:
        cache = type(self).__dict__.get("_cache")
        if cache is None:
            cache = {}
            type(self)._cache = cache
        if "file" not in cache:
            cache["file"] = decode_all(testdata / "legend" / self.path, self.stream_type, opts)
        return cache["file"]  # type: ignore[no-any-return]

    def test_detects_its_stream(self, testdata: Path) -> None:
        if not self.detectable:
            pytest.skip(f"{self.stream_type} is named, not detected")
        assert detect_stream_type(testdata / "legend" / self.path) == self.stream_type

    def test_declarations_are_well_formed(self, decoded: Any) -> None:
        streamer, _ = decoded
        names = [d.name for d in streamer.decoders.values()]
        assert all(names)
        assert len(set(names)) == len(names)
        for dec in streamer.decoders.values():
            lists = dec.key_lists()
            assert isinstance(lists, list)
            assert all(isinstance(k, list) for k in lists)
            for key in [None, *(k for keys in lists for k in keys)]:
                for name, value in dec.get_decoded_values(key).items():
                    assert name == value.name
                    np.dtype(value.dtype)  # a valid numpy dtype
                    assert isinstance(value.kind, Kind)
                    assert value.length >= 0

    def test_blocks_match_declarations(self, decoded: Any) -> None:
        streamer, blocks = decoded
        assert blocks, "the test file decodes to something"
        owner = {rb.out_name: name for name, rbl in streamer.rb_lib.items() for rb in rbl}
        for out_name, parts in blocks.items():
            dec = streamer.decoders[owner[out_name]]
            for key, block in parts:
                declared = dec.get_decoded_values(key)
                columns = {c for c in block.columns if "/" not in c}
                assert columns <= set(declared), f"{out_name}: {columns - set(declared)}"
                for name, col in block.columns.items():
                    assert len(col) == len(block), f"{out_name}/{name}"
                    if isinstance(col, Jagged):
                        assert int(col.lengths.sum()) == col.flat.size, f"{out_name}/{name}"
                table = dec.make_table(block, key)
                assert len(table) == len(block)

    def test_packet_ids_never_decrease(self, decoded: Any) -> None:
        _, blocks = decoded
        for out_name, parts in blocks.items():
            if "packet_id" in parts[0][1].columns:
                assert (np.diff(_ids(parts).astype(np.int64)) >= 0).all(), out_name

    def test_memory_source_decodes_the_same(
        self, decoded: Any, data: bytes, opts: dict[str, Any], testdata: Path
    ) -> None:
        _, from_file = decoded
        # the same name: some formats take the run start from the file name
        name = str(testdata / "legend" / self.path)
        _, from_memory = decode_all(MemorySource(data, name=name), self.stream_type, opts)
        assert from_memory.keys() == from_file.keys()
        for name in from_file:
            a = RowBlock.concat([b for _, b in from_file[name]])
            b = RowBlock.concat([b for _, b in from_memory[name]])
            assert len(a) == len(b), name
            for col, values in a.columns.items():
                other = b.columns[col]
                if isinstance(values, Jagged):
                    assert isinstance(other, Jagged)
                    np.testing.assert_array_equal(values.flat, other.flat)
                else:
                    np.testing.assert_array_equal(values, other, err_msg=f"{name}/{col}")

    @pytest.mark.parametrize("mode", [ChunkMode.SINGLE_PACKET, ChunkMode.ONLY_FULL])
    def test_chunk_modes_give_the_same_rows(
        self, decoded: Any, data: bytes, opts: dict[str, Any], mode: ChunkMode
    ) -> None:
        _, reference = decoded
        _, got = decode_all(MemorySource(data), self.stream_type, opts, mode, buffer_size=7)
        assert got.keys() == reference.keys()
        for name in reference:
            if "packet_id" in reference[name][0][1].columns:
                np.testing.assert_array_equal(_ids(got[name]), _ids(reference[name]))

    def test_truncation_keeps_the_earlier_rows(
        self, decoded: Any, data: bytes, opts: dict[str, Any]
    ) -> None:
        _, full = decoded
        streamer, cut = decode_all(
            MemorySource(data[: int(len(data) * 0.6)]), self.stream_type, opts
        )
        assert streamer.n_bytes_read <= int(len(data) * 0.6)
        for name, parts in cut.items():
            if name in full and "packet_id" in parts[0][1].columns:
                ids, ref = _ids(parts), _ids(full[name])
                np.testing.assert_array_equal(ids[:-1], ref[: max(ids.size - 1, 0)])
