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


def test_tier_outputs_have_ordinary_permissions(tmp_path: Path) -> None:
    """Outputs made through mkstemp (private to their owner) are published like plain files."""
    import numpy as np

    from tierflow import lh5
    from tierflow.flow.sim import make_detectors, write_daq_file
    from tierflow.hit import build_hit
    from tierflow.raw import build_raw
    from tierflow.types import Array, Table

    expected = 0o666 & ~_umask()
    daq = write_daq_file(tmp_path / "run.fcio", make_detectors(1, 1), 20, seed=1)
    raw = tmp_path / "run_raw.lh5"
    build_raw(daq, out_spec=str(raw))
    lh5.write(Table({"trapEmax": Array(np.arange(10.0))}), "ch1/dsp", tmp_path / "run_dsp.lh5")
    hit = build_hit(
        tmp_path / "run_dsp.lh5",
        hit_config={"outputs": ["e"], "operations": {"e": {"expression": "2 * trapEmax"}}},
    )
    for path in (Path(daq), raw, hit):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path.name


def test_publish_replaces_the_target(tmp_path: Path) -> None:
    from tierflow.files import publish

    (tmp_path / "a.tmp").write_text("new")
    (tmp_path / "a").write_text("old")
    os.chmod(tmp_path / "a.tmp", 0o600)
    publish(tmp_path / "a.tmp", tmp_path / "a")
    assert (tmp_path / "a").read_text() == "new"
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o666 & ~_umask()
    assert not (tmp_path / "a.tmp").exists()


def _join_unlinks() -> None:
    import threading

    from tierflow.files import UNLINK_THREAD

    for thread in threading.enumerate():
        if thread.name == UNLINK_THREAD:
            thread.join()


def test_a_replaced_output_is_deleted_after_the_rename(tmp_path: Path) -> None:
    from tierflow.files import publish

    (tmp_path / "a").write_text("old")
    reader = open(tmp_path / "a")  # noqa: SIM115 (held open across the replacement)
    for k in range(3):
        (tmp_path / "a.tmp").write_text(f"new {k}")
        publish(tmp_path / "a.tmp", tmp_path / "a")
    _join_unlinks()
    assert (tmp_path / "a").read_text() == "new 2"
    assert reader.read() == "old"  # the replaced file lives on for those who have it open
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_without_hard_links_the_output_is_replaced_directly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tierflow.files import publish

    def no_links(*_: object) -> None:
        raise OSError("hard links are not supported here")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "a").write_text("old")
    (tmp_path / "a.tmp").write_text("new")
    publish(tmp_path / "a.tmp", tmp_path / "a")
    assert (tmp_path / "a").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_a_failed_rename_leaves_the_old_output_and_no_second_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tierflow.files import publish

    def refused(*_: object) -> None:
        raise PermissionError("read-only folder")

    monkeypatch.setattr(os, "replace", refused)
    (tmp_path / "a").write_text("old")
    (tmp_path / "a.tmp").write_text("new")
    with pytest.raises(PermissionError):
        publish(tmp_path / "a.tmp", tmp_path / "a")
    _join_unlinks()
    assert (tmp_path / "a").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.tmp"]
