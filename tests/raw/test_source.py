"""Byte sources: files are mapped and read as views; a source that copies gives the same rows."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tierflow.raw import ByteSource, FileSource, MemorySource, make_streamer
from tierflow.raw import _streamer as streamer_module

FILES = [
    ("fcio/l200-p06-r007-cal-20230725T202227Z.fcio", None, {}),
    ("orca/fcio/l200-p13-r007-aph-20250101T003931Z.orca", None, {}),
    ("llamaDAQ/20241218-150158-pulser.bin", "LlamaDaq", {}),
    ("compass/compass_test_data.BIN", "Compass", {}),
]


class CopyingSource(ByteSource):
    """Bytes handed out as copies only, like a socket's."""

    def __init__(self, data: bytes, name: str) -> None:
        self._inner = MemorySource(data)
        self.name = name  # llama files give their start time in the name

    @property
    def position(self) -> int:
        return self._inner.position

    def read(self, n: int) -> np.ndarray:
        return self._inner.read(n).copy()

    def peek(self, n: int) -> bytes:
        return self._inner.peek(n)


def _rows(source: ByteSource, typ: str | None, head: bytes) -> dict[str, dict[str, np.ndarray]]:
    """Every buffer's columns, joined over the chunks, decoded from `source`."""
    streamer = make_streamer(head, typ)
    streamer.open_stream(source, buffer_size=100)
    parts: dict[str, list[dict[str, np.ndarray]]] = {}
    for chunk in streamer:
        for rb in chunk:
            block = rb.drain()
            if block is not None:
                columns = {k: v for k, v in block.columns.items() if isinstance(v, np.ndarray)}
                parts.setdefault(rb.out_name, []).append(columns)
    return {
        name: {k: np.concatenate([p[k] for p in blocks]) for k in blocks[0]}
        for name, blocks in parts.items()
    }


@pytest.mark.shared
@pytest.mark.parametrize(("name", "typ", "kw"), FILES, ids=[f[0].split("/")[0] for f in FILES])
def test_views_and_copies_decode_the_same_rows(
    name: str, typ: str | None, kw: dict[str, str], testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small read blocks: packets cross block ends (carried over, or read again after a
    rewind), and packets longer than a block make the view grow."""
    monkeypatch.setattr(streamer_module, "READ_BLOCK", 4099)
    path = testdata / "legend" / name
    data = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with FileSource(path) as mapped:
            assert mapped.views
            viewed = _rows(mapped, typ, data[:4096])
        copied = _rows(CopyingSource(data, str(path)), typ, data[:4096])
    assert viewed.keys() == copied.keys()
    assert viewed
    for table, columns in viewed.items():
        assert columns.keys() == copied[table].keys()
        for column, values in columns.items():
            np.testing.assert_array_equal(values, copied[table][column], err_msg=table + column)


def test_a_mapped_file_reads_views_and_rewinds(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 40)
    with FileSource(path) as src:
        first = src.read(300)
        assert first.base is not None  # a view of the mapping
        src.rewind(100)
        assert src.position == 200
        assert src.read(4).tolist() == [200, 201, 202, 203]
        assert src.peek(2) == bytes([204, 205])
        src.forget(8192)  # pages given back: read again from the page cache when needed
        assert first[:3].tolist() == [0, 1, 2]
        assert src.read(10**6).size == 256 * 40 - 204


def test_an_empty_file_is_read_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    with FileSource(path) as src:
        assert not src.views
        assert src.read(10).size == 0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_forgotten_pages_leave_the_process_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(np.ones(64 << 20, np.uint8).tobytes())

    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

    with FileSource(path) as src:
        before = rss_mb()
        for _ in range(64):
            assert int(src.read(1 << 20).sum()) == 1 << 20  # every page touched
            src.forget(src.position)
        assert rss_mb() - before < 16  # without forget: the whole 64 MB
