"""Hits decoded straight from the file (bypassing HDF5's filter pipeline) equal HDF5's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import showers as sh
from tierflow.errors import FormatError
from tierflow.showers import _direct, _lh5format
from tierflow.showers._api import open_store


def _showers(seed: int, n: int, high: int = 3000) -> sh.Showers:
    rng = np.random.default_rng(seed)
    num_points = rng.integers(0, high, n).astype(np.int32)
    flat = rng.normal(0, 100, (int(num_points.sum()), 4)).astype(np.float32)
    flat[:, 2] = rng.integers(0, 78, len(flat))
    flat[:, 3] = np.abs(flat[:, 3])
    return sh.Showers(flat_points=flat, num_points=num_points, energies=rng.uniform(1, 9, n))


def _same(a: sh.Showers, b: sh.Showers) -> bool:
    return a == b and np.array_equal(a.flat.view(np.uint32), b.flat.view(np.uint32))


def _save(tmp_path: Path) -> tuple[sh.Showers, Path]:
    showers = _showers(1, 40, high=900)
    path = tmp_path / "s.lh5"
    sh.save(showers, path)
    return showers, path


@pytest.fixture
def saved(small_chunks: None, packing: str, tmp_path: Path) -> tuple[sh.Showers, Path]:
    """A file of small chunks, its hits columns compressed, plain, or some of each."""
    return _save(tmp_path)


@pytest.fixture
def compressed(small_chunks: None, compress_all: None, tmp_path: Path) -> tuple[sh.Showers, Path]:
    """A file of small chunks, all its hits columns compressed."""
    return _save(tmp_path)


def test_random_reads_decode_directly_and_equal(saved: tuple[sh.Showers, Path]) -> None:
    showers, path = saved
    rng = np.random.default_rng(2)
    with sh.ShowerDataFile(path) as file:
        direct = file.store._direct  # type: ignore[attr-defined]
        assert direct is not None
        assert direct.index.located
        for i in rng.integers(0, len(showers), 30).tolist():
            assert _same(file[i], showers[i : i + 1])
        picked = rng.integers(0, len(showers), 12)
        assert _same(file[picked], showers[picked])
        assert _same(file[7:19], showers[7:19])
        assert _same(file[:], showers)  # batches of ~5,000 hits in two threads
        assert _same(file[np.arange(len(showers))[::-1]], showers[::-1])


def _walk(data: bytes, start: int, n_blocks: int) -> list[int]:
    """The places of a chunk's blocks, from its start, by following their headers."""
    places, pos = [], 12
    for _ in range(n_blocks):
        places.append(pos)
        pos += 4 + int.from_bytes(data[start + pos : start + pos + 4], "big")
    return places


def test_reads_record_the_places_of_the_blocks_they_pass(
    compressed: tuple[sh.Showers, Path],
) -> None:
    showers, path = compressed
    data = path.read_bytes()
    starts = np.array([0, 700, 1500, 5000, 9000], dtype=np.int64)
    stops = np.array([10, 1400, 3100, 5001, 10000], dtype=np.int64)  # 3,311 rows: one kernel call
    rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True)])
    with sh.ShowerDataFile(path) as file:
        direct = file.store._direct  # type: ignore[attr-defined]
        for _ in range(2):  # walking the block headers, then jumping to the places found
            out = np.empty((4, len(rows)), np.float32)
            assert direct.read(starts, stops, out)
            assert np.array_equal(out.T, showers.flat[rows])
        blocks = direct._blocks
        assert blocks.shape == (4, direct.index.n_chunks, 1024 // 64)
        assert np.all(blocks[:, 0, :11] >= 0)  # chunk 0: rows 0 and 700 (block 10) wanted first
        assert np.all(blocks[:, 0, 11:] == -1)
        assert np.all(blocks[:, 1, :8] >= 0)  # chunk 1: rows 1024 and 1500 (block 7)
        assert np.all(blocks[:, 1, 8:] == -1)
        assert np.all(blocks[:, 6, :] == -1)  # no row of chunk 6 was read
        for j in range(4):
            for c in range(direct.index.n_chunks):
                found = blocks[j, c][blocks[j, c] >= 0].tolist()
                walked = _walk(data, int(direct.index.spans[j, c, 0]), 1024 // 64)
                assert found == walked[: len(found)]


def test_files_opened_for_random_reads_are_mapped_at_once_up_to_a_size(
    saved: tuple[sh.Showers, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    showers, path = saved
    with sh.ShowerDataFile(path) as file:
        assert file.store._direct._bytes is not None  # type: ignore[attr-defined]
    monkeypatch.setattr(_direct, "POPULATE_BYTES", path.stat().st_size - 1)
    with sh.ShowerDataFile(path) as file:
        direct = file.store._direct  # type: ignore[attr-defined]
        assert direct.index.located
        assert direct._bytes is None  # mapped by the first read
        assert direct._blocks is None  # blocks found by walking their headers
        assert _same(file[3], showers[3:4])
        assert direct._bytes is not None


def test_reads_from_threads_of_one_open_file_equal(saved: tuple[sh.Showers, Path]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    showers, path = saved
    picks = np.random.default_rng(7).integers(0, len(showers), 80).tolist()
    with sh.ShowerDataFile(path) as file, ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: file[i], picks))
        whole = list(pool.map(lambda _: file[:], range(3)))  # batched reads at once
    assert all(_same(g, showers[i : i + 1]) for g, i in zip(got, picks, strict=True))
    assert all(_same(w, showers) for w in whole)


def test_large_picks_of_small_showers_equal(small_chunks: None, tmp_path: Path) -> None:
    showers = _showers(8, 3000, high=12)  # ~16,000 hits: read in batches
    path = tmp_path / "small.lh5"
    sh.save(showers, path)
    picked = np.sort(np.random.default_rng(9).choice(len(showers), 2500, replace=False))
    with sh.ShowerDataFile(path) as file:
        assert _same(file[picked], showers[picked])
        assert _same(file[picked[::-1]], showers[picked[::-1]])


def test_appended_files_and_scattered_chunks_read_equal(
    small_chunks: None, packing: str, tmp_path: Path
) -> None:
    parts = [_showers(10 + k, 15, high=700) for k in range(3)]
    path = tmp_path / "grown.lh5"
    sh.save(parts[0], path)
    for part in parts[1:]:
        with sh.ShowerDataFile(path, "a") as file:
            file.append(part)
    showers = sh.concatenate(parts)
    assert _same(sh.load(path), showers)  # columns' chunks now alternate in the file
    with sh.ShowerDataFile(path) as file:
        direct = file.store._direct  # type: ignore[attr-defined]
        starts, stops = np.array([5, 3000]), np.array([2100, 9000])
        out = np.empty((4, int((stops - starts).sum())), np.float32)
        space = _direct.Workspace(1024)
        with open(path, "rb") as handle:
            for j in range(4):  # chunks far apart: decoded from the memory map
                assert direct._read_column(handle.fileno(), j, starts, stops, out[j], space) == 0
        rows = np.r_[5:2100, 3000:9000]
        assert np.array_equal(out.T, showers.flat[rows])


def test_full_and_partial_loads_equal(saved: tuple[sh.Showers, Path]) -> None:
    showers, path = saved
    assert _same(sh.load(path), showers)
    assert _same(sh.load(path, 5, 30), showers[5:30])
    assert _same(sh.load(path, 3, 4), showers[3:4])
    assert sh.load(path, 6, 6) == showers[6:6]


def test_small_reads_go_through_hdf5_until_chunks_are_located(
    saved: tuple[sh.Showers, Path],
) -> None:
    showers, path = saved
    with open_store(path) as store:
        direct = store._direct  # type: ignore[attr-defined]
        assert _same(store.read(slice(3, 4)), showers[3:4])
        assert not direct.index.located  # one shower: not worth locating every chunk
        assert _same(store.read(slice(0, len(showers))), showers)
        assert direct.index.located


def test_files_of_other_filters_or_open_for_writing_read_through_hdf5(
    small_chunks: None, tmp_path: Path
) -> None:
    showers = _showers(3, 12, high=500)
    gz = tmp_path / "gz.lh5"
    sh.save(showers, gz, hdf5_settings={"compression": "gzip", "shuffle": True})
    with sh.ShowerDataFile(gz) as file:
        assert file.store._direct is None  # type: ignore[attr-defined]
        assert _same(file[2], showers[2:3])
    assert _same(sh.load(gz), showers)
    with sh.ShowerDataFile(gz, "a") as file:
        assert file.store._direct is None  # type: ignore[attr-defined]


def test_files_of_the_default_block_size_decode_directly(tmp_path: Path) -> None:
    """Files written before the 512-hit blocks (Bitshuffle's default, 2,048) read directly."""
    showers = _showers(4, 30)
    path = tmp_path / "old-default.lh5"
    settings = {"compression": dict(hdf5plugin.Bitshuffle(cname="lz4"))}
    sh.save(showers, path, hdf5_settings=settings)
    with h5py.File(path) as handle:
        assert handle["showers/hits/x"].id.get_create_plist().get_filter(0)[2][3] == 0
    with sh.ShowerDataFile(path) as file:
        assert file.store._direct.block_rows == 2048  # type: ignore[attr-defined]
        for i in (0, 11, 29):
            assert _same(file[i], showers[i : i + 1])
    assert _same(sh.load(path), showers)


def test_new_files_use_512_hit_blocks(compress_all: None, tmp_path: Path) -> None:
    path = tmp_path / "new.lh5"
    sh.save(_showers(5, 3), path)
    with h5py.File(path) as handle:
        options = handle["showers/hits/energy"].id.get_create_plist().get_filter(0)[2]
    assert options[3] == _lh5format.BLOCK_ROWS == 512
    assert options[4] == _direct.LZ4


def test_a_corrupt_chunk_is_a_format_error_naming_the_file(
    compressed: tuple[sh.Showers, Path],
) -> None:
    showers, path = compressed
    with h5py.File(path) as handle:
        offset = handle["showers/hits/y"].id.get_chunk_info(1).byte_offset
    with open(path, "r+b") as raw:
        raw.seek(offset)
        raw.write(b"\xff" * 8)  # the chunk's size in its header
    inside = int(np.searchsorted(showers.offsets, 1024 + 100, side="right")) - 1  # in chunk 1
    with sh.ShowerDataFile(path) as file:
        for index in (slice(None), inside):  # batches through ctypes, one shower through numba
            with pytest.raises(FormatError, match="Bitshuffle") as err:
                file[index]
            assert str(path) in str(err.value)


def test_a_corrupt_block_size_is_a_format_error_every_time(
    compressed: tuple[sh.Showers, Path],
) -> None:
    showers, path = compressed
    with h5py.File(path) as handle:
        offset = handle["showers/hits/y"].id.get_chunk_info(1).byte_offset
    data = path.read_bytes()
    third = offset + _walk(data, offset, 3)[2]
    with open(path, "r+b") as raw:
        raw.seek(third)
        raw.write(b"\xff" * 4)  # the third block of chunk 1 claims 4 GB
    inside = int(np.searchsorted(showers.offsets, 1024 + 600, side="right")) - 1
    assert showers.offsets[inside] >= 1024 + 3 * 64  # its rows start after that block
    with sh.ShowerDataFile(path) as file:
        for _ in range(2):  # walking the headers, then from the places recorded
            with pytest.raises(FormatError, match="Bitshuffle"):
                file[inside]
        assert _same(file[0], showers[0:1])  # chunk 0 is sound


def test_full_loads_need_no_numba(saved: tuple[sh.Showers, Path]) -> None:
    _, path = saved
    code = (
        "import sys; from tierflow import showers; from tierflow.showers import _direct; "
        "_direct.LARGE_ROWS = _direct.BATCH_ROWS = 5000; "
        f"showers.load({str(path)!r}); print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_showers_imports_no_numba() -> None:
    code = "import sys, tierflow.showers; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@st.composite
def _ranges(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    lengths = draw(st.lists(st.integers(0, 50), min_size=1, max_size=12))
    gaps = draw(st.lists(st.integers(0, 30), min_size=len(lengths), max_size=len(lengths)))
    starts = np.cumsum(np.array(gaps) + np.r_[0, lengths[:-1]]).astype(np.int64)
    return starts, starts + np.array(lengths, dtype=np.int64)


def _rows(starts: np.ndarray, stops: np.ndarray) -> list[int]:
    return [r for a, b in zip(starts.tolist(), stops.tolist(), strict=True) for r in range(a, b)]


@settings(max_examples=60, deadline=None)
@given(_ranges(), st.integers(1, 5), st.integers(1, 40))
def test_split_ranges_and_chunks_of_cover_the_rows(
    ranges: tuple[np.ndarray, np.ndarray], parts: int, chunk_rows: int
) -> None:
    starts, stops = ranges
    rows = _rows(starts, stops)
    pieces = _direct.split_ranges(starts, stops, parts)
    assert [r for s, e, _, _ in pieces for r in _rows(s, e)] == rows
    at = 0
    for s, e, lo, hi in pieces:
        assert (lo, hi) == (at, at + len(_rows(s, e)))
        assert hi > lo
        at = hi
    if rows:
        expected = sorted({r // chunk_rows for r in rows})
        assert _direct.chunks_of(starts, stops, chunk_rows).tolist() == expected
