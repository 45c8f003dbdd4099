"""The columns of one table read decoded together: the chunks of every column in one loop of
C calls, shared by the idle cores.

Reading a table of small-chunk columns (LEGEND's dsp files: ~10 kB chunks) column by column
spends as much time in the Python around each chunk as in decompressing it, and threads per
column only wait for the GIL. Here the columns of a table are first located and their stored
bytes read (:func:`~tierflow.lh5._inflate.plan_chunked`); then :meth:`DecodeBatch.finish`
decodes all their chunks in one list of (source, target) addresses, each chunk one ctypes
call to the codec and one to the SIMD unshuffle, which release the GIL: the threads that
share the list (the caller and, with idle cores, a helper) overlap in C. A dataset's last
chunk, which reaches past its end, is decoded aside and its rows copied; chunks a read takes
in part (an iterator's step ends inside them), and codecs without a C function, go the
per-chunk way of :func:`~tierflow.lh5._inflate.decode_chunked`.

A chunk that does not decompress sends its column to HDF5 (the read's fallback) once every
chunk is done; one that decompresses to the wrong size is a
:class:`~tierflow.errors.FormatError`, as in :func:`~tierflow.lh5._inflate.read_chunked`.

Example
-------
>>> batch = DecodeBatch()  # doctest: +SKIP
>>> batch.add(plan_chunked(ds, 0, n, out), fallback=lambda: ds.read_direct(out))  # doctest: +SKIP
>>> batch.finish()  # `out` holds the rows from here on  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import numpy as np

from tierflow.cores import idle_cores
from tierflow.lh5._chunks import FILTER_DEFLATE, FILTER_ZSTD, _pool, _scratch_bytes
from tierflow.lh5._inflate import ChunkedRead, OpenFiles, decode_chunked
from tierflow.lh5._native import (
    RawDecode,
    Status,
    WrongSizeError,
    raw_libdeflate,
    raw_zstd,
    simd_unshuffle,
)
from tierflow.lh5._settings import fast_read_settings

__all__ = ["DecodeBatch", "raw_decoder"]

SHARED_MIN_BYTES = 1 << 18
"""A batch is shared with a helper thread from this many decoded bytes (below, waking the
thread costs more than it saves)."""


_RAW = {FILTER_DEFLATE: raw_libdeflate, FILTER_ZSTD: raw_zstd}


def raw_decoder(plan: ChunkedRead) -> RawDecode | None:
    """The C decoder of a planned read's codec, when the read's own C path is in use (the
    deflate engine is libdeflate, Zstd is hdf5plugin's) and its shuffle has a SIMD undo."""
    layout = plan.layout
    if layout.decode_into is None or layout.codec not in _RAW:
        return None
    if layout.shuffle_size and (simd_unshuffle() is None or layout.chunk_bytes >= 2**31):
        return None
    return _RAW[layout.codec]()


_Task = tuple[int, int, int, int, int, RawDecode, int, int]
"""One chunk to decode: (source address, stored bytes, target address, chunk bytes, shuffle
element size or 0, decoder, index of its read in the batch, bytes of it the read takes)."""


def _tasks_of(plan: ChunkedRead, index: int, decode: RawDecode) -> tuple[list[_Task], list[int]]:
    """The tasks of a read's chunks it takes all rows of (those of the dataset's last chunk,
    which reaches past its end, are copied from a scratch buffer), and the other chunks."""
    rows, layout = plan.chunks.first_rows, plan.layout
    ends = np.minimum(rows + layout.chunk_rows, plan.rows)
    mine = (rows >= plan.span[0]) & (ends <= plan.span[1])
    picks = np.flatnonzero(mine)
    takes = ((ends - rows) * layout.row_bytes)[picks].tolist()
    targets = plan.target_addresses()[picks].tolist()
    sources = plan.stored.addresses[picks].tolist()
    sizes = plan.chunks.sizes[picks].tolist()
    chunk_bytes, shuffle = layout.chunk_bytes, layout.shuffle_size
    tasks = [
        (source, size, target, chunk_bytes, shuffle, decode, index, take)
        for source, size, target, take in zip(sources, sizes, targets, takes, strict=True)
    ]
    return tasks, np.flatnonzero(~mine).tolist()


Failure = tuple[int, int, int]
"""A chunk that did not decode: (index of its read, :class:`Status`, its target address)."""


def _work(tasks: list[_Task], counter: Iterator[int], failed: list[Failure]) -> None:
    """Decode tasks until none is left (`counter` hands out their indices: ``next`` on an
    ``itertools.count`` is atomic, so threads share the list without a lock)."""
    unshuffle = simd_unshuffle()
    largest = max(task[3] for task in tasks)
    decoded = _scratch_bytes("inflated", largest)  # this thread's: a chunk as stored, decompressed
    unshuffled = np.empty(largest if any(t[3] != t[7] and t[4] for t in tasks) else 0, np.uint8)
    first, second = decoded.ctypes.data, unshuffled.ctypes.data
    for k in counter:
        if k >= len(tasks):
            return
        source, size, target, chunk_bytes, shuffle, decode, read, take = tasks[k]
        whole = take == chunk_bytes  # else the dataset's last chunk: part of it is rows
        status = decode(source, size, target if whole and not shuffle else first, chunk_bytes)
        if status:
            failed.append((read, status, target))  # appends are atomic
            continue
        if shuffle:
            unshuffle(shuffle, chunk_bytes, first, target if whole else second)
        if not whole:
            ctypes.memmove(target, second if shuffle else first, take)


class DecodeBatch:
    """Planned reads whose chunks are decoded together by :meth:`finish`."""

    def __init__(self) -> None:
        self._reads: list[tuple[ChunkedRead, Callable[[], None]]] = []
        self.files: OpenFiles = {}
        """What the reads learnt of their files (:func:`~tierflow.lh5._inflate.plan_chunked`)."""

    def add(self, plan: ChunkedRead, fallback: Callable[[], None]) -> None:
        """Decode `plan` in :meth:`finish`; `fallback` reads it another way (HDF5) if one of
        its chunks does not decompress."""
        self._reads.append((plan, fallback))

    def finish(self) -> None:
        """Decode every read added; their targets hold the rows when this returns."""
        reads, self._reads = self._reads, []
        tasks, failed = self._tasks(reads)
        self._run(tasks, failed)
        for index, status, target in failed:  # damaged files first
            if status == Status.WRONG_SIZE:
                plan = reads[index][0]
                raise plan.damaged(WrongSizeError(_wrong_size(plan, target)))
        for index in sorted({index for index, _, _ in failed}):
            reads[index][1]()  # HDF5 may know the chunk (stored with its filter skipped)

    @staticmethod
    def _tasks(reads: list[tuple[ChunkedRead, Any]]) -> tuple[list[_Task], list[Failure]]:
        """The chunks of the reads decoded in the shared loop; the others are decoded here."""
        tasks: list[_Task] = []
        failed: list[Failure] = []
        for index, (plan, _) in enumerate(reads):
            decode = raw_decoder(plan)
            mine: list[_Task] = []
            if decode is None:
                rest = list(range(len(plan.chunks.sizes)))
            else:
                mine, rest = _tasks_of(plan, index, decode)
            if rest and not decode_chunked(plan, rest):
                failed.append((index, Status.UNDECODABLE, 0))
            tasks += mine
        return tasks, failed

    @staticmethod
    def _run(tasks: list[_Task], failed: list[Failure]) -> None:
        """Decode `tasks` on this thread and, if it pays, a helper."""
        if not tasks:
            return
        counter = itertools.count()
        total = sum(task[3] for task in tasks)
        helpers = (fast_read_settings().threads or idle_cores()) - 1
        futures: list[Future[None]] = []
        if helpers > 0 and total >= SHARED_MIN_BYTES:
            pool = _pool(helpers, "batch")
            futures = [pool.submit(_work, tasks, counter, failed) for _ in range(helpers)]
        try:
            _work(tasks, counter, failed)
        finally:
            for future in futures:
                future.result()  # every task writes into a caller's buffer: all end first


def _wrong_size(plan: ChunkedRead, target: int) -> str:
    """What is wrong with the chunk decoded to `target`, naming its rows."""
    layout = plan.layout
    row = plan.span[0] + (target - int(plan.target.ctypes.data)) // layout.row_bytes
    rows = f"{row}:{row + layout.chunk_rows}"
    return f"the chunk of rows {rows} does not decompress to {layout.chunk_bytes} bytes"
