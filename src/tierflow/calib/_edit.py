"""Changes to a store, made in a transaction under the writer lock.

Inside ``with store.edit() as edit:`` each detector touched is re-read from disk under the lock,
so version numbers and overlap checks see every other writer's changes; at the end each touched
detector file is replaced atomically. An exception inside the block discards every change.
"""

from __future__ import annotations

import contextlib
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tierflow.calib._model import Action, Axis, Event, Overlap, Source
from tierflow.calib._payload import PayloadKind, canonical, content_hash
from tierflow.calib._state import DetectorState
from tierflow.calib._storage import check_name, commit, read_log, writer_lock
from tierflow.calib._times import parse_time
from tierflow.errors import ConfigError

if TYPE_CHECKING:
    from tierflow.calib._store import Store

__all__ = ["Editor"]


class Editor:
    """Makes changes to a :class:`Store`; use as ``with store.edit() as edit: ...``.

    Examples
    --------
    >>> with store.edit(author="me") as edit:  # doctest: +SKIP
    ...     edit.add("ch1", "gain", {"a": 1.6}, since=0, until=100, comment="refit")
    """

    def __init__(self, store: Store, author: str) -> None:
        self._store = store
        self.author = author
        self._lock: contextlib.ExitStack | None = None
        self._states: dict[str, DetectorState] = {}
        self._new: dict[str, list[Event]] = {}
        self._payloads: dict[str, dict[str, tuple[PayloadKind, Any]]] = {}

    def __enter__(self) -> Editor:
        if self._store.tags.busy:
            raise ConfigError("a store edit is open already (edits do not nest)")
        self._lock = contextlib.ExitStack()
        self._lock.enter_context(writer_lock(self._store._layout, self._store.lock_timeout))
        self._store.tags.busy = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._lock is not None
        try:
            if kind is None:
                for name, events in self._new.items():
                    file, group = self._store._layout.detector(name)
                    commit(file, group, events, self._payloads.get(name, {}))
                self._store._adopt(self._states)
        finally:
            self._store.tags.busy = False
            self._lock.close()

    # --- detectors and calibration types ------------------------------------------------------

    def add_detector(
        self,
        name: str,
        type: str = "",
        id: str = "",
        *,
        aliases: tuple[str, ...] | list[str] = (),
        predecessor: str | None = None,
        successor: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None:
        """Create detector `name` (type, serial id, aliases, predecessor/successor, tags)."""
        check_name(name)
        for alias in aliases:
            check_name(alias, "alias")
        self._emit(
            name,
            Action.CREATE_DETECTOR,
            type=type,
            id=id,
            aliases=list(aliases),
            predecessor=predecessor,
            successor=successor,
            tags=dict(tags or {}),
        )

    def update_detector(self, name: str, **changes: Any) -> None:
        """Change a detector's descriptive fields (aliases, tags, predecessor, successor...)."""
        allowed = {"type", "id", "aliases", "predecessor", "successor", "tags"}
        unknown = set(changes) - allowed
        if unknown:
            raise ConfigError(
                f"cannot change {sorted(unknown)} of a detector; only {sorted(allowed)}"
            )
        if "aliases" in changes:
            changes["aliases"] = [check_name(a, "alias") for a in changes["aliases"]]
        self._emit(self._name(name), Action.UPDATE_DETECTOR, **changes)

    def add_ctype(
        self,
        detector: str,
        ctype: str,
        *,
        axis: Axis | str = Axis.TIME,
        overlap: Overlap | str = Overlap.REFUSE,
        description: str = "",
    ) -> None:
        """Add calibration type `ctype` to `detector`, with its axis and overlap rule."""
        check_name(ctype, "calibration type")
        self._emit(
            self._name(detector),
            Action.ADD_CTYPE,
            ctype=ctype,
            axis=Axis(axis).value,
            overlap=Overlap(overlap).value,
            description=description,
        )

    # --- constants -----------------------------------------------------------------------------

    def add(
        self,
        detector: str,
        ctype: str,
        value: Any,
        since: Any,
        until: Any = None,
        *,
        comment: str = "",
        tags: dict[str, Any] | None = None,
        produced: int | None = None,
        default: bool = False,
        key: str = "",
        interval_tags: dict[str, Any] | None = None,
        skip_identical: bool = False,
        number: int | None = None,
    ) -> Source:
        """Store `value` as a new version for ``[since, until)`` (a new interval if needed).

        Returns where it went. With `default`, the new version becomes the interval's explicit
        default; otherwise the latest valid version is in force unless a default was set.
        With `skip_identical`, a payload equal to the one in force is not stored again.
        `number` forces the version number (importers keep the original numbering); it must be
        above every existing one.
        """
        name = self._name(detector)
        cstate = self._working(name).ctype(ctype)
        start = parse_time(since)
        end = None if until is None else parse_time(until)
        kind, canon = canonical(value)
        digest = content_hash(kind, canon)
        interval = cstate.exact(start, end)
        if interval is None:
            iid = self.add_interval(name, ctype, start, end, key=key, tags=interval_tags)
        else:
            iid = interval.id
            current = cstate.default_of(iid)
            if (
                skip_identical
                and current is not None
                and cstate.versions[iid][current].hash == digest
            ):
                return Source(name, ctype, interval, cstate.versions[iid][current])
        last = max(cstate.versions[iid], default=0)
        if number is not None and number <= last:
            raise ConfigError(
                f"version {number} is not above the last one ({last}) of "
                f"{cstate.intervals[iid]} of {cstate.where()}"
            )
        number = last + 1 if number is None else int(number)
        self._payloads.setdefault(name, {})[digest] = (kind, canon)
        self._emit(
            name,
            Action.ADD_VERSION,
            ctype=ctype,
            interval=iid,
            version=number,
            hash=digest,
            kind=kind.value,
            produced=produced or time.time_ns(),
            author=self.author,
            comment=comment,
            tags=dict(tags or {}),
        )
        if default:
            self.set_default(name, ctype, iid, number)
        return Source(name, ctype, cstate.intervals[iid], cstate.versions[iid][number])

    def add_interval(
        self,
        detector: str,
        ctype: str,
        since: Any,
        until: Any = None,
        *,
        key: str = "",
        tags: dict[str, Any] | None = None,
    ) -> int:
        """Add an empty interval ``[since, until)`` and return its id (versions come with add)."""
        name = self._name(detector)
        cstate = self._working(name).ctype(ctype)
        iid = max(cstate.intervals, default=-1) + 1
        end = None if until is None else parse_time(until)
        self._emit(
            name,
            Action.ADD_INTERVAL,
            ctype=ctype,
            interval=iid,
            since=parse_time(since),
            until=end,
            key=key,
            tags=dict(tags or {}),
        )
        return iid

    def set_default(self, detector: str, ctype: str, interval: int, version: int | None) -> None:
        """Make `version` the default of `interval` (``None``: the latest valid version)."""
        self._emit(
            self._name(detector),
            Action.SET_DEFAULT,
            ctype=ctype,
            interval=int(interval),
            version=None if version is None else int(version),
        )

    def invalidate(
        self, detector: str, ctype: str, interval: int, version: int | None = None, reason: str = ""
    ) -> None:
        """Invalidate one version, or a whole interval: kept on record, never again in force."""
        name = self._name(detector)
        if version is None:
            self._emit(
                name, Action.INVALIDATE_INTERVAL, ctype=ctype, interval=int(interval), reason=reason
            )
        else:
            self._emit(
                name,
                Action.INVALIDATE_VERSION,
                ctype=ctype,
                interval=int(interval),
                version=int(version),
                reason=reason,
            )

    def note(self, detector: str, text: str, **fields: Any) -> None:
        """Add a free-text record to a detector's history."""
        self._emit(self._name(detector), Action.NOTE, text=text, **fields)

    # --- internals -------------------------------------------------------------------------------

    def _name(self, detector: str) -> str:
        if detector in self._states:
            return detector
        return self._store.state(detector).detector.name

    def _working(self, name: str) -> DetectorState:
        state = self._states.get(name)
        if state is None:
            file, group = self._store._layout.detector(check_name(name))
            state = DetectorState.replay(name, read_log(file, group))
            self._states[name] = state
        return state

    def _emit(self, name: str, action: Action, **fields: Any) -> Event:
        if self._lock is None:
            raise ConfigError("changes are made inside 'with store.edit() as edit:'")
        state = self._working(name)
        event = Event(state.next_seq(), time.time_ns(), self.author, action, fields)
        state.apply(event)  # checks it; raises before anything changes
        self._new.setdefault(name, []).append(event)
        return event
