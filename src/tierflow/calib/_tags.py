"""Global tags: named configurations that, once frozen, answer the same forever; and exports."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierflow.calib._model import Action, Event
from tierflow.calib._payload import PayloadKind
from tierflow.calib._state import DetectorState, GlobalTag, GlobalTagState
from tierflow.calib._storage import (
    check_name,
    commit,
    make_layout,
    read_log,
    read_payload_from,
    writer_lock,
)
from tierflow.errors import ConfigError

if TYPE_CHECKING:
    from tierflow.calib._store import Store

__all__ = ["GlobalTags"]


class GlobalTags:
    """The global tags of a store (``store.tags``).

    Examples
    --------
    >>> store.tags.create("prod-v1", "first production")  # doctest: +SKIP
    >>> store.tags.freeze("prod-v1")  # doctest: +SKIP
    >>> store.get("ch1", "gain", at=10, tag="prod-v1")  # doctest: +SKIP
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self.busy = False
        self.state = GlobalTagState()
        self.reload()

    def reload(self) -> None:
        """Re-read the tags from disk."""
        file, group = self._store._layout.tags()
        self.state = GlobalTagState()
        for event in read_log(file, group):
            self.state.apply(event)

    def names(self) -> list[str]:
        """Every global tag's name."""
        return sorted(self.state.tags)

    def get(self, name: str) -> GlobalTag:
        """Global tag `name` (closest names suggested when absent)."""
        return self.state.get(name)

    def create(self, name: str, description: str = "", *, freeze: bool = False) -> GlobalTag:
        """A new global tag; it follows the live defaults until :meth:`freeze`."""
        check_name(name, "global tag")
        self._change(Action.CREATE_TAG, name=name, description=description)
        return self.freeze(name) if freeze else self.get(name)

    def freeze(self, name: str) -> GlobalTag:
        """Pin every (detector, ctype, interval) to the version in force now; irreversible."""
        self.get(name)
        return self._change(Action.FREEZE_TAG, name=name, pins=None)

    def _change(self, action: Action, **fields: Any) -> GlobalTag:
        if self.busy:
            raise ConfigError("global tags cannot change inside a store edit; do it after")
        layout = self._store._layout
        with writer_lock(layout, self._store.lock_timeout):
            self.reload()
            if action is Action.FREEZE_TAG:
                self._store._forget()  # pins must see every writer's latest changes
                fields["pins"] = _pins(self._store)
            event = Event(
                len(self.state.events) + 1, time.time_ns(), self._store.author, action, fields
            )
            self.state.apply(event)
            file, group = layout.tags()
            commit(file, group, [event], {})
        self._store._resolved.clear()
        return self.get(str(fields["name"]))

    def export(self, name: str, path: str | os.PathLike[str]) -> Path:
        """Write tag `name` (its pinned versions only, payloads included) to one HDF5 file.

        The file opens as a read-only-in-spirit :class:`Store` that answers through the tag (or
        without it) exactly as the source store answers through the tag. An unfrozen tag is
        exported as a snapshot of the versions in force now, frozen in the file.
        """
        tag = self.get(name)
        pins = list(tag.pins) if tag.frozen is not None else _pins(self._store)
        target = Path(path)
        if target.exists():
            raise ConfigError(f"export target {target} exists already")
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        layout = make_layout(partial, create=True)
        for detector in sorted({p[0] for p in pins}):
            events, payloads = _export_detector(self._store, detector, pins)
            commit(*layout.detector(detector), events, payloads)
        created = Event(
            1,
            tag.created or time.time_ns(),
            self._store.author,
            Action.CREATE_TAG,
            {"name": name, "description": tag.description},
        )
        frozen = Event(
            2,
            tag.frozen or time.time_ns(),
            self._store.author,
            Action.FREEZE_TAG,
            {"name": name, "pins": [list(p) for p in pins]},
        )
        commit(*layout.tags(), [created, frozen], {})
        os.replace(partial, target)
        return target


def _pins(store: Store) -> list[tuple[str, str, int, int, str]]:
    pins = []
    for name in store.detector_names():
        for cname, cstate in store.state(name).ctypes.items():
            for iid in cstate.intervals:
                number = cstate.default_of(iid)
                if number is not None:
                    pins.append((name, cname, iid, number, cstate.versions[iid][number].hash))
    return pins


def _export_detector(
    store: Store, name: str, pins: list[tuple[str, str, int, int, str]]
) -> tuple[list[Event], dict[str, tuple[PayloadKind, Any]]]:
    state: DetectorState = store.state(name)
    det = state.detector
    events: list[Event] = []

    def emit(action: Action, **fields: Any) -> None:
        events.append(Event(len(events) + 1, time.time_ns(), store.author, action, fields))

    emit(
        Action.CREATE_DETECTOR,
        type=det.type,
        id=det.id,
        aliases=list(det.aliases),
        predecessor=det.predecessor,
        successor=det.successor,
        tags=det.tags,
    )
    payloads: dict[str, tuple[PayloadKind, Any]] = {}
    file, group = store._layout.detector(name)
    for cname in sorted({p[1] for p in pins if p[0] == name}):
        cstate = state.ctype(cname)
        c = cstate.ctype
        emit(
            Action.ADD_CTYPE,
            ctype=cname,
            axis=c.axis.value,
            overlap=c.overlap.value,
            description=c.description,
        )
        for _, _, iid, number, digest in (p for p in pins if p[0] == name and p[1] == cname):
            interval, version = cstate.interval(iid), cstate.versions[iid][number]
            emit(
                Action.ADD_INTERVAL,
                ctype=cname,
                interval=iid,
                since=interval.since,
                until=interval.until,
                key=interval.key,
                tags=interval.tags,
            )
            emit(
                Action.ADD_VERSION,
                ctype=cname,
                interval=iid,
                version=number,
                hash=digest,
                kind=version.kind.value,
                produced=version.produced,
                author=version.author,
                comment=version.comment,
                tags=version.tags,
            )
            payloads[digest] = read_payload_from(file, group, digest)
    return events, payloads
