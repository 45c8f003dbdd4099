"""Test kit: locating the shared real data, hypothesis strategies and conformance suites."""

from __future__ import annotations

from tierflow.testing._data import find_shared, find_testdata

__all__ = ["find_shared", "find_testdata"]
