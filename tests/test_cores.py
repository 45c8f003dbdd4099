"""The cores a run may use."""

from __future__ import annotations

import os

import pytest

from tierflow import cores


@pytest.mark.parametrize(
    ("load", "expected"), [(0.0, 4), (1.05, 4), (1.6, 3), (2.4, 3), (3.7, 1), (9.0, 1)]
)
def test_idle_cores_leave_out_the_load_of_other_work(
    monkeypatch: pytest.MonkeyPatch, load: float, expected: int
) -> None:
    monkeypatch.setattr(cores, "available_cores", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert cores.idle_cores() == expected


def test_available_cores_are_those_this_process_may_use() -> None:
    assert 1 <= cores.available_cores() <= (os.cpu_count() or 1)
