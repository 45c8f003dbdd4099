"""Outputs are staged: complete or absent, with ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tierflow.files import staged_path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_output_appears_complete_with_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.bin"
    with staged_path(target) as temp:
        temp.write_bytes(b"data")
        assert not target.exists()
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    assert [p.name for p in target.parent.iterdir()] == ["out.bin"]


def test_failure_leaves_the_old_output_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def write_half_then_crash() -> None:
        with staged_path(target, copy_existing=True) as temp:
            assert temp.read_bytes() == b"old"
            temp.write_bytes(b"half")
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        write_half_then_crash()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
