"""Helpers for the calibration-store tests: a fresh store with one detector per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierflow import calib


@pytest.fixture
def store(tmp_path: Path) -> calib.Store:
    """A store with detector ``ch1`` (alias ``V01``), ``gain`` (refuse) and ``peds`` (stacked)."""
    s = calib.Store(tmp_path / "store", create=True, author="tester")
    with s.edit() as edit:
        edit.add_detector("ch1", "ged", "V01234A", aliases=["V01"], tags={"string": 1})
        edit.add_ctype("ch1", "gain", description="energy scale")
        edit.add_ctype("ch1", "peds", overlap=calib.Overlap.LATEST_SINCE)
    return s
