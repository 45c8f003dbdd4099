"""Chunked iteration over many files: buffers reused, entry lists, masks and friends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tierflow import lh5
from tierflow.errors import MismatchError
from tierflow.lh5 import LH5Iterator
from tierflow.types import Array, Table, VectorOfVectors


@pytest.fixture
def files(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    dsp, hit = [], []
    for i in range(3):
        n = 10 + i
        ids = np.arange(n) + 100 * i
        lh5.write(
            Table({"id": Array(ids), "v": VectorOfVectors([[j] * (j % 3) for j in ids])}),
            "ch/dsp",
            tmp_path / f"dsp{i}.lh5",
        )
        lh5.write(Table({"e": Array(ids * 2.0)}), "ch/hit", tmp_path / f"hit{i}.lh5")
        dsp.append(tmp_path / f"dsp{i}.lh5")
        hit.append(tmp_path / f"hit{i}.lh5")
    return dsp, hit


def _all_ids(files: list[Path]) -> np.ndarray:
    return np.concatenate([lh5.read("ch/dsp/id", f).nda for f in files])


def test_chunks_cover_every_row_once(files: tuple[list[Path], list[Path]]) -> None:
    dsp, _ = files
    it = LH5Iterator(dsp, "ch/dsp", buffer_len=4)
    seen, buffers = [], set()
    for chunk in it:
        seen.append(chunk.data["id"].nda.copy())
        buffers.add(id(chunk.data["id"]._buffer))
    np.testing.assert_array_equal(np.concatenate(seen), _all_ids(dsp))
    assert len(it) == 33
    assert len(buffers) == 1


def test_entry_list_and_mask(files: tuple[list[Path], list[Path]]) -> None:
    dsp, _ = files
    ids = _all_ids(dsp)
    entries = [0, 5, 9, 10, 11, 32]
    got = np.concatenate(
        [c.data["id"].nda.copy() for c in LH5Iterator(dsp, "ch/dsp", entries=entries, buffer_len=2)]
    )
    np.testing.assert_array_equal(got, ids[entries])
    mask = ids % 2 == 0
    picked = [(len(c), c.entries) for c in LH5Iterator(dsp, "ch/dsp", mask=mask, buffer_len=5)]
    assert sum(n for n, _ in picked) == mask.sum()
    np.testing.assert_array_equal(np.concatenate([e for _, e in picked]), np.flatnonzero(mask))


def test_friend_columns_side_by_side(files: tuple[list[Path], list[Path]]) -> None:
    dsp, hit = files
    it = LH5Iterator(dsp, "ch/dsp", buffer_len=7, friend=LH5Iterator(hit, "ch/hit", buffer_len=7))
    for chunk in it:
        np.testing.assert_array_equal(chunk.data["e"].nda, chunk.data["id"].nda * 2.0)


def test_field_selection(files: tuple[list[Path], list[Path]]) -> None:
    dsp, _ = files
    chunk = next(iter(LH5Iterator(dsp, "ch/dsp", fields=["v"])))
    assert list(chunk.data.keys()) == ["v"]


def test_friend_follows_the_selection(files: tuple[list[Path], list[Path]]) -> None:
    dsp, hit = files
    friend = LH5Iterator(hit, "ch/hit", buffer_len=3)
    chunks = LH5Iterator(dsp, "ch/dsp", buffer_len=3, entries=[1, 4, 12, 30], friend=friend)
    for chunk in chunks:
        np.testing.assert_array_equal(chunk.data["e"].nda, chunk.data["id"].nda * 2.0)


def test_friend_with_other_rows_is_refused(files: tuple[list[Path], list[Path]]) -> None:
    dsp, hit = files
    with pytest.raises(MismatchError, match="same rows per source"):
        LH5Iterator(dsp, "ch/dsp", friend=LH5Iterator(hit[:2], "ch/hit"))
