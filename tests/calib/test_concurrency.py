"""Two writers at once, writers killed mid-write, a lock held too long."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tierflow import calib
from tierflow.calib._storage import make_layout, writer_lock

WRITER = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from tierflow import calib
    from tierflow.calib import _storage
    path, who, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    store = calib.Store(path, author=who)
    if mode == "die-before-rename":
        _storage.before_replace = lambda tmp: os.kill(os.getpid(), 9)
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for n in range(count):
        with store.edit() as edit:
            edit.add("ch1", "gain", np.full(1000, n, dtype="f8"), 0, 100, comment=f"{who}-{n}")
    """
)


def _spawn(path: Path, who: str, count: int, mode: str = "normal") -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), who, str(count), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _go(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    store = calib.Store(tmp_path / "store", create=True)
    with store.edit() as edit:
        edit.add_detector("ch1")
        edit.add_ctype("ch1", "gain")
    return store.path


def _consistent(path: Path) -> list[calib.Version]:
    store = calib.Store(path)
    intervals = store.intervals("ch1", "gain")
    if not intervals:
        return []
    assert len(intervals) == 1
    versions = store.versions("ch1", "gain", 0)
    assert [v.number for v in versions] == list(range(1, len(versions) + 1))
    for v in versions:  # every payload is there and matches its hash
        value = store.get("ch1", "gain", 0, version=v.number).value
        assert value[0] == int(v.comment.rsplit("-", 1)[1])
    return versions


def test_two_writers_both_succeed(path: Path) -> None:
    a, b = _spawn(path, "alice", 12), _spawn(path, "bob", 12)
    _go(a, b)
    assert a.wait(60) == 0
    assert b.wait(60) == 0
    versions = _consistent(path)
    assert len(versions) == 24
    assert sorted(v.comment for v in versions) == sorted(
        [f"alice-{n}" for n in range(12)] + [f"bob-{n}" for n in range(12)]
    )


def test_writer_killed_before_rename_leaves_previous_state(path: Path) -> None:
    good = _spawn(path, "good", 2)
    _go(good)
    assert good.wait(60) == 0
    before = (path / "ch1.h5").read_bytes()
    doomed = _spawn(path, "doomed", 1, "die-before-rename")
    _go(doomed)
    assert doomed.wait(60) == -signal.SIGKILL
    assert (path / "ch1.h5").read_bytes() == before
    assert len(_consistent(path)) == 2
    after = _spawn(path, "after", 1)  # the dead writer's lock went with it
    _go(after)
    assert after.wait(60) == 0
    assert len(_consistent(path)) == 3


def test_writer_killed_at_a_random_moment(path: Path) -> None:
    rng = np.random.default_rng(7)
    for _ in range(3):
        proc = _spawn(path, "victim", 1000)
        _go(proc)
        time.sleep(float(rng.uniform(0.05, 0.4)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        _consistent(path)  # readable, numbered without gaps, every payload intact


def test_lock_held_too_long_gives_a_clear_error(path: Path) -> None:
    store = calib.Store(path, lock_timeout=0.1)
    with writer_lock(make_layout(path)):
        with pytest.raises(calib.StoreLockedError, match="another writer"), store.edit() as edit:
            edit.add("ch1", "gain", {"a": 1}, 0, 1)
        with pytest.raises(calib.StoreLockedError):
            store.tags.create("x")
    assert store.find("ch1", "gain", 0) is None
