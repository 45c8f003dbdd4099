"""A second process that reads some of a batch of small fields while this one reads the rest.

Event building with many channels (the SiPM configs: tens of channels, several fields each)
spends most of its time in HDF5 opening and reading small datasets one after the other, under
h5py's lock: HDF5 is not thread-safe, so threads cannot share that work, but a process can.

The reader is a fresh interpreter (running :func:`serve_pipes`), not a fork:
it inherits no HDF5 state or open file and does not run the user's script again. It is
started in the background by the first batch large enough to share while two cores are idle;
until it reports ready, and whenever fewer than two cores are idle, batches are read here
alone. It opens the input read-only and without HDF5's file locking, checks that it opened
the very file this process has open (device and inode), keeps it open for one build and
closes it when told (:meth:`ReaderProcess.release`, before ``build_evt`` returns). It sends
back fields of at most :data:`MAX_FIELD_BYTES` (larger ones cost more to send than to read
again) and None for any other, which this process then reads itself, as it does everything
if the reader fails, takes too long or exits.

``TIERFLOW_READER_PROCESS=0`` in the environment turns it off.

Example
-------
>>> with h5py.File("hit.lh5") as handle:  # doctest: +SKIP
...     fields = read_shared(make_calls(), handle, [b"ch1/hit/energy", b"ch2/hit/energy"],
...                          2**20, 2**15)
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import itertools
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import h5py

from tierflow.cores import idle_cores
from tierflow.evt._hdf5 import Calls, H5pyCalls, SmallField, make_calls, read_small_fields

__all__ = [
    "MAX_FIELD_BYTES",
    "MIN_BATCH",
    "OPT_OUT",
    "REQUEST_COST",
    "ReaderProcess",
    "open_shared",
    "read_shared",
    "release",
    "serve_pipes",
]

REQUEST_COST = 9
"""A request to the reader costs about as much as reading this many small fields here (pipe
round trip, waking the reader, pickling; measured: ~0.5 ms against ~55 µs a field): of a
batch of n fields the reader takes (n - REQUEST_COST) // 2, so both parts end together."""
MAX_FIELD_BYTES = 2**16
"""The largest field the reader sends back."""
MIN_BATCH = 2 * REQUEST_COST
"""Fields in a batch below which it is read here alone (the round trip would cost more)."""
OPT_OUT = "TIERFLOW_READER_PROCESS"
"""Environment variable: ``0`` reads every batch in this process."""

REPLY_SECONDS = 30.0
"""How long a reply may take before the reader is given up."""


class _Request(enum.Enum):
    OPEN = "open"
    """Open a file now, for the reads to come (no reply)."""
    READ = "read"
    """Read fields of a file (replied with the request's number and a list)."""
    RELEASE = "release"
    """Close every file (no reply)."""


_READY = "ready"


class ReaderProcess:
    """The reader process and the two pipes to it (requests, replies)."""

    def __init__(self) -> None:
        requests_in, self._requests_fd = os.pipe()
        self._replies_fd, replies_out = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        start = f"from {__name__} import serve_pipes; serve_pipes({requests_in}, {replies_out})"
        command = [sys.executable, "-c", start]
        self._process = subprocess.Popen(
            command, pass_fds=(requests_in, replies_out), stdin=subprocess.DEVNULL, env=env
        )
        os.close(requests_in)
        os.close(replies_out)
        self._requests = Connection(self._requests_fd, readable=False)
        self._replies = Connection(self._replies_fd, writable=False)
        self._owner = os.getpid()  # a forked child must not talk on its parent's pipes
        self._ready = False
        self._failed = False
        self._numbers = itertools.count()
        self._asked: int | None = None
        """The number of the read whose reply is awaited."""
        self.lock = threading.Lock()
        """Held from a request to its reply (one batch at a time)."""

    def usable(self) -> bool:
        """Whether it is up and may take a request now (never in a forked child)."""
        if self._failed or os.getpid() != self._owner:
            return False
        if not self._ready:
            self._ready = self._reply(0.0) == _READY
        return self._ready

    def open(self, handle: h5py.File) -> None:
        """Have it open the file `handle` has open, ahead of the reads."""
        self._send((_Request.OPEN, *_file_of(handle)))

    def read(self, handle: h5py.File, paths: Sequence[bytes], max_rows: int) -> None:
        """Ask for the fields at `paths` (from the root of the file `handle` has open); every
        read must be followed by :meth:`fields`."""
        self._asked = next(self._numbers)
        self._send((_Request.READ, self._asked, *_file_of(handle), list(paths), max_rows))

    def fields(self, n: int) -> list[SmallField | None]:
        """The reply to :meth:`read` (`n` fields): None for each field it did not read. A
        reply to another request, or none (a wait interrupted), gives the reader up: a
        later request must never take an earlier one's reply."""
        try:
            reply = self._reply(REPLY_SECONDS)
        except BaseException:
            self._failed = True
            raise
        if not isinstance(reply, tuple) or len(reply) != 2 or reply[0] != self._asked:
            self._failed = True
            return [None] * n
        found = reply[1]
        return found if isinstance(found, list) and len(found) == n else [None] * n

    def release(self) -> None:
        """Have it close the files it has open (it does so at once; nothing waits for it)."""
        if self.usable():
            with self.lock:
                self._send((_Request.RELEASE,))

    def stop(self) -> None:
        """End the process: it exits when its request pipe closes, or at once while it is
        still starting (a one-build run need not wait for it)."""
        if os.getpid() != self._owner:
            return
        if not self._ready and self._process.poll() is None:
            self._process.kill()
        self._failed = True
        self._requests.close()
        self._replies.close()
        try:
            self._process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _send(self, message: Any) -> None:
        try:
            self._requests.send(message)
        except OSError:
            self._failed = True

    def _reply(self, timeout: float) -> Any:
        """The next reply, or None (then, but while it starts, the reader is given up)."""
        try:
            if self._replies.poll(timeout):
                return self._replies.recv()
        except (OSError, EOFError):  # it exited
            self._failed = True
        if timeout > 0:  # no reply in time
            self._failed = True
        return None


def _file_of(handle: h5py.File) -> tuple[str, tuple[int, int]]:
    """The path of the file `handle` has open, and its identity (device, inode)."""
    status = os.fstat(handle.id.get_vfd_handle())
    return handle.filename, (status.st_dev, status.st_ino)


_reader: ReaderProcess | None = None
_unstartable = os.name != "posix"
"""Whether a reader cannot be started here (it is given its pipes as inherited descriptors,
which only POSIX systems do; or starting one failed once)."""
_start_lock = threading.Lock()


def _shared_reader(n_fields: int = MIN_BATCH) -> ReaderProcess | None:
    """The reader process when it may take part of `n_fields` fields now; started (in the
    background) on the first call that could use it."""
    global _reader, _unstartable
    if n_fields < MIN_BATCH or os.environ.get(OPT_OUT) == "0" or idle_cores() < 2:
        return None
    if multiprocessing.parent_process() is not None:  # a worker: its parent has the cores
        return None
    with _start_lock:
        if _reader is None:
            if not _unstartable:
                try:
                    _reader = ReaderProcess()
                    atexit.register(_reader.stop)
                except OSError:
                    _unstartable = True
            return None
    return _reader if _reader.usable() else None


def _shareable(handle: h5py.File) -> bool:
    """Whether another process can open the file `handle` has open: a plain read-only file."""
    return handle.driver == "sec2" and handle.mode == "r" and os.path.isfile(handle.filename)


def open_shared(handle: h5py.File) -> bool:
    """Have the reader process open the file `handle` has open, if it may share the reads of
    this file (then call :func:`release` when done with the file); whether it was asked."""
    reader = _shared_reader() if _shareable(handle) else None
    if reader is None or not reader.lock.acquire(blocking=False):
        return False
    try:
        reader.open(handle)
    finally:
        reader.lock.release()
    return True


def read_shared(
    calls: Calls | H5pyCalls,
    handle: h5py.File,
    paths: Sequence[bytes],
    max_bytes: int,
    max_rows: int,
) -> list[SmallField | None]:
    """:func:`~tierflow.evt._hdf5.read_small_fields` of `paths` (from the root of `handle`),
    the last (n - :data:`REQUEST_COST`) // 2 read by the reader process when it is usable
    (see the module's text).

    Only for a file :func:`open_shared` was called for, and said yes to (the reader then
    opens the file while this process does other work, and :func:`release` closes it).
    """
    root = calls.root(handle)
    reader = _shared_reader(len(paths))  # the file was found shareable by open_shared
    if reader is None or not reader.lock.acquire(blocking=False):
        return read_small_fields(calls, root, paths, max_bytes, max_rows)
    try:
        half = len(paths) - (len(paths) - REQUEST_COST) // 2
        theirs = list(paths[half:])
        reader.read(handle, theirs, max_rows)
        try:
            mine = read_small_fields(calls, root, paths[:half], max_bytes, max_rows)
        finally:  # the reply is taken even when the reads here fail
            received = reader.fields(len(theirs))
    finally:
        reader.lock.release()
    again = [i for i, found in enumerate(received) if found is None]
    if again:
        redone = read_small_fields(calls, root, [theirs[i] for i in again], max_bytes, max_rows)
        for i, found in zip(again, redone, strict=True):
            received[i] = found
    return mine + received


def release() -> None:
    """Have the reader process close the files it opened (if it was used)."""
    if _reader is not None:
        _reader.release()


class _Files:
    """The reader's open files, by path (None: not the file the caller has open)."""

    def __init__(self) -> None:
        self._open: dict[str, h5py.File | None] = {}

    def get(self, path: str, identity: tuple[int, int]) -> h5py.File | None:
        """The file at `path`, opened once, when it is the file with `identity`."""
        if path not in self._open:
            try:
                handle: h5py.File | None = h5py.File(path, "r", locking=False)
            except OSError:
                handle = None
            if handle is not None and _file_of(handle)[1] != identity:
                handle.close()  # another file now has that name
                handle = None
            self._open[path] = handle
        return self._open[path]

    def close(self) -> None:
        for handle in self._open.values():
            if handle is not None:
                handle.close()
        self._open.clear()


def _answer(message: tuple[Any, ...], calls: Any, files: _Files) -> list[SmallField | None]:
    """The reply to a read request."""
    _, _, path, identity, paths, max_rows = message
    handle = files.get(path, identity)
    if handle is None:
        return [None] * len(paths)
    return read_small_fields(calls, calls.root(handle), paths, MAX_FIELD_BYTES, max_rows)


def _serve(requests: Connection, replies: Connection) -> None:
    """The reader's loop: answer requests until the request pipe closes (or the reply pipe:
    the caller has exited)."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        _answer_requests(requests, replies)


def _answer_requests(requests: Connection, replies: Connection) -> None:
    from tierflow import lh5

    lh5.load_filter_plugins()
    calls = make_calls()
    files = _Files()
    replies.send(_READY)
    while True:
        try:
            message = requests.recv()
        except EOFError:
            break
        if message[0] is _Request.OPEN:
            files.get(*message[1:])
        elif message[0] is _Request.RELEASE:
            files.close()
        else:
            try:
                answer: list[SmallField | None] | None = _answer(message, calls, files)
            except Exception:  # a failed read is read again by the caller
                answer = None
            replies.send((message[1], answer))
    files.close()


def serve_pipes(requests: int, replies: int) -> None:
    """The reader process's program: requests read from file descriptor `requests`, replies
    written to `replies`."""
    _serve(Connection(requests, writable=False), Connection(replies, readable=False))
