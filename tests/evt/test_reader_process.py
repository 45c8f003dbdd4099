"""The reader process: the fields it reads are those read here, whatever it cannot or does not
read is read here, and it is not used from a fork, when opted out, or once it failed."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import awkward as ak
import h5py
import numpy as np
import pytest

from tierflow import lh5
from tierflow.evt import _reader_process as rp
from tierflow.evt import build_evt
from tierflow.evt._hdf5 import SmallField, make_calls, read_small_fields
from tierflow.evt._slabs import SlabCache
from tierflow.types import Array, Table, VectorOfVectors

N_TABLES = 30
FIELDS = ("e", "flag", "pulses")


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> Iterator[rp.ReaderProcess]:
    """A fresh reader process, ready, that read_shared uses (two idle cores pretended)."""
    monkeypatch.setattr(rp, "idle_cores", lambda: 2)
    monkeypatch.delenv(rp.OPT_OUT, raising=False)
    process = rp.ReaderProcess()
    monkeypatch.setattr(rp, "_reader", process)
    deadline = time.monotonic() + 60
    while not process.usable():
        assert time.monotonic() < deadline, "the reader process did not start"
        time.sleep(0.01)
    requests: list[int] = []
    read = process.read
    monkeypatch.setattr(process, "read", lambda h, p, r: (requests.append(len(p)), read(h, p, r)))
    process.requests = requests  # type: ignore[attr-defined]
    yield process
    process.stop()


def _write(path: Path, n_rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for t in range(N_TABLES):
        lengths = rng.integers(0, 4, n_rows)
        cols = {
            "e": Array(rng.normal(size=n_rows)),
            "flag": Array(rng.random(n_rows) < 0.5),
            "pulses": VectorOfVectors(
                flattened_data=Array(rng.normal(size=int(lengths.sum())).astype(np.float32)),
                cumulative_length=np.cumsum(lengths),
            ),
        }
        lh5.write(Table(cols, size=n_rows), f"ch{t}/hit", path)


def _paths(field: str) -> list[bytes]:
    return [f"ch{t}/hit/{field}".encode() for t in range(N_TABLES)]


def _same(got: list[SmallField | None], want: list[SmallField | None]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a is not None
        assert b is not None
        assert a.values.dtype == b.values.dtype
        assert a.values.tobytes() == b.values.tobytes()
        assert (a.offsets is None) == (b.offsets is None)
        if a.offsets is not None and b.offsets is not None:
            assert a.offsets.tolist() == b.offsets.tolist()
        assert a.datatype == b.datatype


def _both(path: Path) -> Iterator[tuple[list[SmallField | None], list[SmallField | None]]]:
    calls = make_calls()
    with h5py.File(path, "r") as handle:
        assert rp.open_shared(handle)
        try:
            for field in FIELDS:
                shared = rp.read_shared(calls, handle, _paths(field), 2**20, 2**15)
                here = read_small_fields(calls, calls.root(handle), _paths(field), 2**20, 2**15)
                yield shared, here
        finally:
            rp.release()


def test_shared_batches_equal_those_read_here(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "hit.lh5"
    _write(path, 40)
    for shared, here in _both(path):
        _same(shared, here)
    share = (N_TABLES - rp.REQUEST_COST) // 2
    assert reader.requests == [share] * len(FIELDS)


def test_fields_too_large_to_send_are_read_here(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "hit.lh5"
    _write(path, 10_000)  # e: 80 kB, more than the reader sends back
    for shared, here in _both(path):
        _same(shared, here)
    assert len(reader.requests) == len(FIELDS)


def test_another_file_at_the_path_is_not_read(tmp_path: Path, reader: Any) -> None:
    path, other = tmp_path / "hit.lh5", tmp_path / "other.lh5"
    _write(path, 40, seed=1)
    _write(other, 40, seed=2)
    calls = make_calls()
    with h5py.File(path, "r") as handle:
        want = read_small_fields(calls, calls.root(handle), _paths("e"), 2**20, 2**15)
        os.replace(other, path)  # the open file is now nameless; the reader would open other
        rp.open_shared(handle)
        _same(rp.read_shared(calls, handle, _paths("e"), 2**20, 2**15), want)
        rp.release()
    assert reader.requests


def test_a_dead_reader_is_not_used_again(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "hit.lh5"
    _write(path, 40)
    reader._process.kill()
    reader._process.wait()
    calls = make_calls()
    with h5py.File(path, "r") as handle:
        want = read_small_fields(calls, calls.root(handle), _paths("e"), 2**20, 2**15)
        _same(rp.read_shared(calls, handle, _paths("e"), 2**20, 2**15), want)
        assert not reader.usable()
        rp.read_shared(calls, handle, _paths("e"), 2**20, 2**15)
    assert len(reader.requests) == 1


def test_not_used_from_a_fork_nor_when_opted_out(
    reader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rp._shared_reader(rp.MIN_BATCH) is reader
    assert rp._shared_reader(rp.MIN_BATCH - 1) is None  # too few fields to share
    monkeypatch.setenv(rp.OPT_OUT, "0")
    assert rp._shared_reader(rp.MIN_BATCH) is None
    monkeypatch.delenv(rp.OPT_OUT)
    monkeypatch.setattr(reader, "_owner", os.getpid() + 1)  # as seen from a forked child
    assert not reader.usable()
    assert rp._shared_reader(rp.MIN_BATCH) is None


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
def test_release_closes_the_readers_files(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "hit.lh5"
    _write(path, 40)
    fds = Path(f"/proc/{reader._process.pid}/fd")

    def open_in_reader() -> bool:
        return any(os.path.realpath(fd) == str(path.resolve()) for fd in fds.iterdir())

    list(_both(path))  # released at the end
    deadline = time.monotonic() + 10
    while open_in_reader():
        assert time.monotonic() < deadline, "the reader kept the file open"
        time.sleep(0.01)


def _leaves(table: Table, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, obj in table.items():
        out.update(_leaves(obj, f"{prefix}{name}/") if isinstance(obj, Table) else {name: obj})
    return out


@pytest.mark.shared
def test_spms_events_are_the_same_with_the_reader(
    reference: Path, legend_lh5: Path, reader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = legend_lh5 / "l200-truncated/generated/tier"
    stem = "ant/p13/r001/l200-p13-r001-ant-20241210T225016Z"
    info = {
        "tcm": (base / f"tcm/{stem}-tier_tcm.lh5", "hardware_tcm_1"),
        "hit": (base / f"hit/{stem}-tier_hit.lh5", "hit", "ch{}"),
    }
    config = reference / "legend" / "configs" / "pygama-spms-p13-evt-config.yaml"
    shared = build_evt(info, config)
    assert reader.requests, "the reader process was not asked"
    monkeypatch.setenv(rp.OPT_OUT, "0")
    alone = build_evt(info, config)
    assert isinstance(shared, Table)
    assert isinstance(alone, Table)
    mine, theirs = _leaves(shared), _leaves(alone)
    assert sorted(mine) == sorted(theirs)
    for name, obj in theirs.items():
        a, b = mine[name].view_as("ak"), obj.view_as("ak")
        assert str(ak.type(a)) == str(ak.type(b)), name
        assert ak.to_list(ak.nan_to_none(a)) == ak.to_list(ak.nan_to_none(b)), name


def test_a_file_the_reader_was_not_asked_to_open_is_read_here(
    tmp_path: Path, reader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a file is shared is decided once, at its first batch large enough: only
    files the reader opened then are shared with it (it closes those at the end)."""
    path = tmp_path / "hit.lh5"
    _write(path, 40)
    tables = [f"ch{t}/hit" for t in range(N_TABLES)]
    with h5py.File(path, "r") as handle:
        cache = SlabCache(handle)
        cache.prefill(tables[: rp.MIN_BATCH - 1], "e")  # too small to decide on
        monkeypatch.setattr(rp, "idle_cores", lambda: 1)  # busy at the first large batch
        cache.prefill(tables, "flag")
        monkeypatch.setattr(rp, "idle_cores", lambda: 2)
        cache.prefill(tables, "pulses")
        assert len(cache.entries) == 2 * N_TABLES + rp.MIN_BATCH - 1  # all read here
        cache.close()
    assert reader.requests == []


def test_a_build_with_few_channels_does_not_call_on_the_reader(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "hit.lh5"
    _write(path, 40)
    opened: list[str] = []
    with h5py.File(path, "r") as handle:
        cache = SlabCache(handle)
        reader.open = lambda h: opened.append(h.filename)
        for field in FIELDS:
            cache.prefill([f"ch{t}/hit" for t in range(rp.MIN_BATCH - 1)], field)
        cache.close()
    assert opened == []
    assert reader.requests == []


def _start_in_worker() -> bool:
    """In a worker process: whether asking for the reader there would start one."""
    rp._reader = None
    rp.idle_cores = lambda: 2  # type: ignore[assignment]
    rp._shared_reader(rp.MIN_BATCH)
    return rp._reader is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a worker")
def test_workers_start_no_reader_of_their_own() -> None:
    """A build's forked workers leave the cores to their parent (and would exit under a
    reader that is still starting)."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_start_in_worker) is False


def test_a_failed_read_here_still_takes_its_reply(
    tmp_path: Path, reader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else the next batch (as many fields) would take the failed one's reply."""
    path = tmp_path / "hit.lh5"
    _write(path, 40)
    calls = make_calls()
    with h5py.File(path, "r") as handle:
        assert rp.open_shared(handle)
        monkeypatch.setattr(rp, "read_small_fields", _fails)
        with pytest.raises(RuntimeError, match="interrupted"):
            rp.read_shared(calls, handle, _paths("e"), 2**20, 2**15)
        monkeypatch.undo()  # the real reads again (and the reader unpatched: re-patch it)
        monkeypatch.setattr(rp, "idle_cores", lambda: 2)
        monkeypatch.setattr(rp, "_reader", reader)
        want = read_small_fields(calls, calls.root(handle), _paths("flag"), 2**20, 2**15)
        _same(rp.read_shared(calls, handle, _paths("flag"), 2**20, 2**15), want)
        assert reader.usable()
        rp.release()


def _fails(*args: Any) -> None:
    raise RuntimeError("interrupted")


def test_a_reply_to_another_request_gives_the_reader_up(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "hit.lh5"
    _write(path, 40)
    calls = make_calls()
    with h5py.File(path, "r") as handle:
        assert rp.open_shared(handle)
        reader.read(handle, _paths("e")[: N_TABLES // 2], 2**15)  # its reply never taken
        want = read_small_fields(calls, calls.root(handle), _paths("flag"), 2**20, 2**15)
        _same(rp.read_shared(calls, handle, _paths("flag"), 2**20, 2**15), want)
        assert not reader.usable()
