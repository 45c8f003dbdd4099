"""On-disk layout, atomic commits and the writer lock.

A store is a directory with one HDF5 file per detector (``<name>.h5``) and ``_globaltags.h5``,
or a single HDF5 file (an export) with the same content under ``/detectors/<name>`` and
``/globaltags``. Every container group holds

``log``
    1-D variable-length UTF-8 strings, one JSON event per entry, in order (the history);
``payloads/<sha256>``
    one dataset per distinct payload, named by its content hash (``kind`` attribute).

A commit copies the file, appends to the copy, flushes it to disk and renames it over the
original, all under an exclusive ``flock`` on the store's lock file: readers see the old or the
new file, never a mix; a writer killed mid-way leaves only a stray ``*.tmp-*`` file behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tierflow.calib._model import Event
from tierflow.calib._payload import PayloadKind, read_payload, write_payload
from tierflow.errors import ConfigError, FormatError, TierflowError
from tierflow.files import publish

__all__ = [
    "FORMAT_VERSION",
    "Layout",
    "StoreLockedError",
    "check_name",
    "commit",
    "make_layout",
    "read_log",
    "read_payload_from",
    "writer_lock",
]

FORMAT_VERSION = 1
TAGS_FILE = "_globaltags.h5"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")

before_replace: Callable[[str], None] | None = None
"""Test hook: called with the temporary file's path just before it replaces the original."""


class StoreLockedError(TierflowError, TimeoutError):
    """Another writer held the store's lock for longer than the timeout."""


def check_name(name: str, what: str = "detector") -> str:
    """A name that is safe as a file and group name."""
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith(".h5"):
        raise ConfigError(
            f"invalid {what} name {name!r}: letters, digits and _ . + - only, not starting "
            "with a separator and not ending in .h5"
        )
    return name


class Layout:
    """Where each container lives: a directory of files, or groups inside one file."""

    def __init__(self, path: Path, single_file: bool) -> None:
        self.path = path
        self.single_file = single_file

    @property
    def lock_path(self) -> Path:
        return (
            self.path.with_name(self.path.name + ".lock")
            if self.single_file
            else (self.path / ".lock")
        )

    def detector(self, name: str) -> tuple[Path, str]:
        """(file, group) holding detector `name`."""
        if self.single_file:
            return self.path, f"/detectors/{name}"
        return self.path / f"{name}.h5", "/"

    def tags(self) -> tuple[Path, str]:
        """(file, group) holding the global tags."""
        return (self.path, "/globaltags") if self.single_file else (self.path / TAGS_FILE, "/")

    def detector_names(self) -> list[str]:
        """Names of the detectors on disk."""
        if not self.single_file:
            return sorted(p.stem for p in self.path.glob("*.h5") if not p.name.startswith("_"))
        if not self.path.exists():
            return []
        import h5py

        with h5py.File(self.path, "r") as file:
            return sorted(file["detectors"]) if "detectors" in file else []

    def stamp(self) -> tuple[Any, ...]:
        """Something that changes whenever a commit lands (for cheap refresh checks)."""
        files = [self.path] if self.single_file else sorted(self.path.glob("*.h5"))
        stamps = []
        for file in files:
            with contextlib.suppress(FileNotFoundError):
                st = file.stat()
                stamps.append((file.name, st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(stamps)


def make_layout(path: str | os.PathLike[str], create: bool = False) -> Layout:
    """The layout of the store at `path`: a directory, or one ``.h5`` file (an export)."""
    path = Path(path)
    if path.is_dir() or (not path.exists() and path.suffix not in (".h5", ".hdf5")):
        if not path.exists():
            if not create:
                raise FileNotFoundError(f"no calibration store at {path} (use create=True)")
            path.mkdir(parents=True)
        return Layout(path, single_file=False)
    if not path.exists() and not create:
        raise FileNotFoundError(f"no calibration store file {path} (use create=True)")
    return Layout(path, single_file=True)


@contextlib.contextmanager
def writer_lock(layout: Layout, timeout: float = 60.0) -> Iterator[None]:
    """Hold the store's exclusive writer lock (``flock``; released if the process dies)."""
    layout.lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_path, "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreLockedError(
                        f"another writer has held the store lock for over {timeout:g} s",
                        file=layout.lock_path,
                    ) from None
                time.sleep(0.005)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_log(file: Path, group: str) -> list[Event]:
    """The events stored in `group` of `file` (empty when the container does not exist yet)."""
    if not file.exists():
        return []
    import h5py

    try:
        with h5py.File(file, "r") as handle:
            if group not in handle or "log" not in handle[group]:
                return []
            _check_format(handle, file)
            rows = handle[group]["log"].asstr()[()]
    except OSError as error:
        raise FormatError(f"cannot read calibration store file: {error}", file=file) from None
    try:
        return [Event.from_dict(json.loads(row)) for row in rows]
    except (KeyError, ValueError, TypeError) as error:
        raise FormatError(f"malformed event in the log: {error}", file=file, obj=group) from None


def _check_format(handle: Any, file: Path) -> None:
    version = handle.attrs.get("tierflow_calib_format")
    if version is None or int(version) > FORMAT_VERSION:
        raise FormatError(
            f"not a tierflow calibration store of a known format version (found {version!r}, "
            f"this tierflow reads up to {FORMAT_VERSION})",
            file=file,
        )


def read_payload_from(file: Path, group: str, digest: str) -> tuple[PayloadKind, Any]:
    """Read (and check) payload `digest` of a container."""
    import h5py

    with h5py.File(file, "r") as handle:
        payloads = handle[group].get("payloads")
        if payloads is None or digest not in payloads:
            raise FormatError(f"payload {digest} is missing", file=file, obj=group)
        return read_payload(payloads[digest], digest, str(file))


def commit(
    file: Path,
    group: str,
    events: Sequence[Event],
    payloads: Mapping[str, tuple[PayloadKind, Any]],
) -> None:
    """Append `events` and new `payloads` to a container atomically (caller holds the lock)."""
    import h5py

    fd, tmp_name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if file.exists():
            shutil.copyfile(file, tmp)
        mode = "r+" if file.exists() else "w"
        with h5py.File(tmp, mode) as handle:
            handle.attrs["tierflow_calib_format"] = FORMAT_VERSION
            container = handle.require_group(group)
            _append_log(container, events)
            stored = container.require_group("payloads")
            for digest, (kind, value) in payloads.items():
                if digest not in stored:
                    write_payload(stored, digest, kind, value)
        with open(tmp, "rb+") as raw:
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o644)
        if before_replace is not None:
            before_replace(str(tmp))
        publish(tmp, file)
        _fsync_dir(file.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _append_log(container: Any, events: Sequence[Event]) -> None:
    import h5py

    rows = np.array([json.dumps(e.to_dict(), sort_keys=True) for e in events], dtype=object)
    if "log" not in container:
        container.create_dataset(
            "log", data=rows, dtype=h5py.string_dtype(), maxshape=(None,), chunks=(256,)
        )
        return
    log = container["log"]
    start = log.shape[0]
    log.resize((start + len(rows),))
    log[start:] = rows


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
