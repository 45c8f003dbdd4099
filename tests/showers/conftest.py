"""Fixtures of the shower tests."""

from __future__ import annotations

import pytest

from tierflow.showers import _direct, _lh5format


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 1,024 hits in blocks of 64 (2,048 when no column is compressed); two-thread
    reads from 5,000 hits, by 2,000."""
    monkeypatch.setattr(_lh5format, "HITS_CHUNK_ROWS", 1024)
    monkeypatch.setattr(_lh5format, "PLAIN_CHUNK_ROWS", 2048)
    monkeypatch.setattr(_lh5format, "BLOCK_ROWS", 64)
    monkeypatch.setattr(_direct, "LARGE_ROWS", 5000)
    monkeypatch.setattr(_direct, "BATCH_ROWS", 2000)


@pytest.fixture
def compress_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """New files compress every hits column, whatever it saves (the layout before plain
    columns were chosen for what compresses little)."""
    monkeypatch.setattr(_lh5format, "compresses_well", lambda *_: True)


PACKINGS = {
    "compressed": lambda values, *_: True,
    "plain": lambda values, *_: False,
    "mixed": lambda values, *_: values.dtype.itemsize < 4,  # narrow ones compressed
}


@pytest.fixture(params=list(PACKINGS))
def packing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """New files with every hits column compressed, none, or the narrow ones only."""
    monkeypatch.setattr(_lh5format, "compresses_well", PACKINGS[request.param])
    return str(request.param)
