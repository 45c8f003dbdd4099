"""Fixtures shared by every test: the one way tests reach ``../shared``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tierflow.testing import find_shared, find_testdata

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# CI (HYPOTHESIS_PROFILE=ci) must not turn red on an example a random seed happened to find
# that day: there each test's examples follow from its name. Elsewhere they stay random, to
# keep finding new failures.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ``shared`` folder (test data and references); skips with the reason when absent."""
    path = find_shared(PROJECT_ROOT)
    if path is None:
        pytest.skip("../shared is absent: no real test data (set TIERFLOW_SHARED to point at it)")
    return path


@pytest.fixture(scope="session")
def testdata(shared: Path) -> Path:
    """``shared/testdata``; skips when absent."""
    path = find_testdata(PROJECT_ROOT)
    if path is None:
        pytest.skip("shared/testdata is absent (set TIERFLOW_TESTDATA to point at it)")
    return path


@pytest.fixture(scope="session")
def reference(shared: Path) -> Path:
    """``shared/reference``: what the anchors produced from the test data."""
    path = shared / "reference"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: no anchor reference outputs")
    return path


@pytest.fixture(scope="session")
def legend_lh5(testdata: Path) -> Path:
    """``shared/testdata/legend/lh5``."""
    return testdata / "legend" / "lh5"
