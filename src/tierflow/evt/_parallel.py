"""Event building on several processes, with the very chunks one process would see.

The events are split into contiguous ranges that start on chunk boundaries (multiples of
``buffer_len``), so every chunk, and hence ``tcm.index``, ``keep_at_idx`` and every other
per-chunk quantity, is the one a single process computes. The parent starts the workers by
forking (they inherit the config, registries and compiled kernels; nothing is pickled on the
way in), computes the first range itself, then hands on the workers' tables in order:
the output is the same, bit for bit, as with one process.

Each worker hands its tables over as one pickle file in memory-backed scratch space
(``/dev/shm`` where writable: much faster than the pipe of the process pool), which the
parent reads when it reaches that range. Warnings raised in a worker are raised again in
the parent; an exception in a worker is raised by the parent when it reaches that range.

Extra processes pay off only on idle cores and large tables: every process reads the
metadata of every column and whole storage chunks at its range's edges, so by default
(:func:`plan_workers`) they are used only on cores the load average shows idle, with at
least :data:`MIN_EVENTS_PER_WORKER` events each.
"""

from __future__ import annotations

import itertools
import math
import mmap
import multiprocessing
import os
import pickle
import struct
import sys
import tempfile
import warnings
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from tierflow import lh5
from tierflow.cores import available_cores, idle_cores
from tierflow.errors import ConfigError
from tierflow.types import Table

__all__ = [
    "PARENT_WEIGHT",
    "EventRange",
    "can_fork",
    "plan_workers",
    "run_ranges",
    "split_events",
]

EventRange = tuple[int, int]
"""Events ``start:stop`` of the map."""
TableSource = Callable[[EventRange], Generator[Table, None, None]]
"""The evt tables of the chunks of an event range, in order."""

MIN_EVENTS_PER_WORKER = 100_000
"""With ``n_workers=None``, each extra process gets at least this many events (a fork,
and the transfer of its tables, cost a few tens of milliseconds)."""

_SOURCES: dict[int, TableSource] = {}
"""The table source of each running job, set before the workers fork (they find it here)."""
_job_ids = itertools.count()


def can_fork() -> bool:
    """Whether workers can be forked safely here: on Linux (macOS and Windows spawn), and
    not from a daemonic process (a ``multiprocessing.Pool`` or Dask worker may not have
    children)."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


def plan_workers(n_workers: int | None, n_events: int, buffer_len: int) -> int:
    """Processes to use for `n_events` events in chunks of `buffer_len`.

    ``None`` means one per idle core (:func:`idle_cores`), each extra one with at least
    :data:`MIN_EVENTS_PER_WORKER` events; never more than there are chunks, and one where
    workers cannot be forked.

    Example
    -------
    >>> plan_workers(2, 50, 10) in (1, 2)
    True
    """
    if n_workers is not None and (isinstance(n_workers, bool) or n_workers < 1):
        raise ConfigError(f"n_workers must be a positive integer or None, not {n_workers!r}")
    if buffer_len < 1:
        raise ConfigError(f"buffer_len must be positive, not {buffer_len!r}")
    if n_workers is None:
        n_workers = min(idle_cores(), max(1, n_events // MIN_EVENTS_PER_WORKER))
    n_chunks = math.ceil(n_events / buffer_len)
    workers = max(1, min(n_workers, n_chunks))
    return workers if can_fork() else 1


def split_events(
    n_events: int, buffer_len: int, parts: int, first_weight: float = 1.0
) -> list[EventRange]:
    """At most `parts` contiguous event ranges covering ``0:n_events``, each starting on a
    chunk boundary, with chunk counts as near as can be to equal shares, the first weighing
    `first_weight` times the others (see :data:`PARENT_WEIGHT`).

    Example
    -------
    >>> split_events(95, 10, 3)
    [(0, 30), (30, 70), (70, 95)]
    >>> split_events(100, 10, 2, first_weight=1.5)
    [(0, 60), (60, 100)]
    """
    n_chunks = math.ceil(n_events / buffer_len)
    total = first_weight + parts - 1
    shares = [0.0] + [(first_weight + i) / total for i in range(parts)]
    bounds = [round(share * n_chunks) * buffer_len for share in shares]
    bounds[-1] = n_events
    return [(a, min(b, n_events)) for a, b in itertools.pairwise(bounds) if a < b]


PARENT_WEIGHT = 1.25
"""Share of the parent's range against a worker's: the parent starts at once and reads no
memory copied on write, while each worker starts a little later, runs slower at first (its
pages are copied as it writes them) and then writes its tables out (measured on two idle
cores: 1.25 makes both finish together)."""


def run_ranges(source: TableSource, ranges: Sequence[EventRange]) -> Generator[Table, None, None]:
    """The tables of all `ranges` in order: the first computed here, the others by one
    forked worker each. The workers start now (before the caller opens any file).

    Example
    -------
    >>> tables = run_ranges(source, split_events(10**6, 10**4, 2))  # doctest: +SKIP
    """
    job = next(_job_ids)
    _SOURCES[job] = source
    folder = tempfile.TemporaryDirectory(prefix="tierflow-evt-", dir=_scratch())
    executor = ProcessPoolExecutor(
        max(1, len(ranges) - 1), mp_context=multiprocessing.get_context("fork")
    )
    try:  # with "fork", the pool forks all its workers at the first submit
        futures = [
            executor.submit(_work, job, events, os.path.join(folder.name, f"{i}.pickle"))
            for i, events in enumerate(ranges[1:])
        ]
    except BaseException:
        executor.shutdown(cancel_futures=True)
        folder.cleanup()
        raise
    finally:
        del _SOURCES[job]
    return _collect(executor, folder, source, ranges[0], futures)


def _scratch() -> str | None:
    """Memory-backed scratch space when there is some (the workers' tables pass through it)."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def _collect(
    executor: ProcessPoolExecutor,
    folder: tempfile.TemporaryDirectory[str],
    source: TableSource,
    first: EventRange,
    futures: Sequence[Future[tuple[str, list[Warning]]]],
) -> Generator[Table, None, None]:
    threads = max(1, available_cores() // (len(futures) + 1))
    try:
        with lh5.fast_read(threads=threads):
            yield from source(first)
        for future in futures:
            yield from _load(*future.result())
    finally:
        executor.shutdown(cancel_futures=True)
        folder.cleanup()


def _load(path: str, caught: Sequence[Warning]) -> list[Table]:
    """A worker's tables (and its warnings, raised again here); their arrays map the file
    (copy on write), so nothing is copied until used."""
    for message in caught:
        warnings.warn(message, stacklevel=1)
    with open(path, "rb") as stream:
        data = memoryview(mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_COPY))
    os.unlink(path)  # the mapping stays
    (count,) = struct.unpack_from("<Q", data, 0)
    sizes = struct.unpack_from(f"<{count}Q", data, 8)
    pieces, start = [], 8 * (count + 1)
    for size in sizes:
        pieces.append(data[start : start + size])
        start += size
    tables: list[Table] = pickle.loads(pieces[0], buffers=pieces[1:])  # our worker's file
    return tables


def _dump(tables: list[Table], path: str) -> None:
    """Write `tables` to `path` for :func:`_load`: sizes, then the pickle and the arrays'
    buffers out of band (pickle protocol 5: written straight from the arrays)."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(tables, protocol=5, buffer_callback=buffers.append)
    raws = [buffer.raw() for buffer in buffers]
    sizes = [len(head), *(raw.nbytes for raw in raws)]
    with open(path, "wb") as stream:
        stream.write(struct.pack(f"<{len(sizes) + 1}Q", len(sizes), *sizes))
        stream.write(head)
        for raw in raws:
            stream.write(raw)


def _work(job: int, events: EventRange, path: str) -> tuple[str, list[Warning]]:
    """In a worker: write the tables of `events` to `path`; the warnings raised meanwhile."""
    with warnings.catch_warnings(record=True) as caught, lh5.fast_read(threads=1):
        tables = list(_SOURCES[job](events))
    _dump(tables, path)
    return path, [w.message for w in caught if isinstance(w.message, Warning)]
