"""Fixtures of the shower tests."""

from __future__ import annotations

import pytest

from tierflow.showers import _direct, _lh5format


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 1,024 hits in blocks of 64; two-thread reads from 5,000 hits, by 2,000."""
    monkeypatch.setattr(_lh5format, "HITS_CHUNK_ROWS", 1024)
    monkeypatch.setattr(_lh5format, "BLOCK_ROWS", 64)
    monkeypatch.setattr(_direct, "LARGE_ROWS", 5000)
    monkeypatch.setattr(_direct, "BATCH_ROWS", 2000)
