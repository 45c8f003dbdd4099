"""In-memory state of one detector and of the global tags: the fold of their event logs.

``apply`` checks each event against the state before taking it, both when a change is made and
when a log is replayed from disk, so a log that breaks the rules is reported, not half-applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tierflow.calib._model import (
    Action,
    Axis,
    CalibType,
    Detector,
    Event,
    Interval,
    Overlap,
    Version,
)
from tierflow.calib._payload import PayloadKind
from tierflow.calib._timeline import Timeline, make_timeline
from tierflow.errors import ConfigError, NotFoundError

__all__ = ["CtypeState", "DetectorState", "GlobalTag", "GlobalTagState", "OverlapError"]


class OverlapError(ConfigError):
    """A new interval overlaps one already in force and the calibration type refuses overlaps."""


class CtypeState:
    """Intervals, versions and defaults of one calibration type of one detector."""

    def __init__(self, ctype: CalibType, detector: str) -> None:
        self.ctype = ctype
        self.detector = detector
        self.intervals: dict[int, Interval] = {}
        self.versions: dict[int, dict[int, Version]] = {}
        self.defaults: dict[int, int | None] = {}
        self._timeline: Timeline | None = None

    def where(self) -> str:
        return f"{self.detector}/{self.ctype.name}"

    def interval(self, iid: int) -> Interval:
        """The interval with id `iid`."""
        try:
            return self.intervals[iid]
        except KeyError:
            raise NotFoundError(
                f"no interval #{iid} in {self.where()}",
                obj=str(iid),
                candidates=[str(i) for i in self.intervals],
            ) from None

    def version(self, iid: int, number: int) -> Version:
        """Version `number` of interval `iid`."""
        known = self.versions[self.interval(iid).id]
        if number not in known:
            raise NotFoundError(
                f"no version {number} in {self.intervals[iid]} of {self.where()} "
                f"(versions: {sorted(known)})",
                obj=str(number),
            )
        return known[number]

    def exact(self, since: int, until: int | None) -> Interval | None:
        """The live interval with exactly these bounds, if any."""
        for interval in self.intervals.values():
            if (interval.since, interval.until) == (since, until) and not interval.invalidated:
                return interval
        return None

    def default_of(self, iid: int) -> int | None:
        """The version in force in interval `iid` (explicit default, else latest valid)."""
        if self.intervals[iid].invalidated:
            return None
        valid = {n: v for n, v in self.versions[iid].items() if v.invalidated is None}
        chosen = self.defaults.get(iid)
        if chosen is not None and chosen in valid:
            return chosen
        return max(valid) if valid else None

    def timeline(self) -> Timeline:
        """The live timeline (cached until the next change)."""
        if self._timeline is None:
            candidates = []
            for iid, interval in self.intervals.items():
                number = self.default_of(iid)
                if number is not None:
                    candidates.append((iid, interval.since, interval.until, number))
            self._timeline = make_timeline(candidates)
        return self._timeline

    # --- changes -------------------------------------------------------------------------------

    def add_interval(self, fields: dict[str, Any]) -> None:
        since, until = int(fields["since"]), fields["until"]
        until = None if until is None else int(until)
        if until is not None and until <= since:
            raise ConfigError(f"empty interval [{since}, {until}) in {self.where()}")
        if self.ctype.overlap is Overlap.REFUSE:
            for other in self.intervals.values():
                if not other.invalidated and other.overlaps(since, until):
                    raise OverlapError(
                        f"[{since}, {until or 'end'}) overlaps {other} of {self.where()}; "
                        "invalidate it first, or use a calibration type with overlap="
                        "'latest-since'",
                        obj=self.where(),
                    )
        iid = int(fields["interval"])
        if iid in self.intervals:
            raise ConfigError(f"interval #{iid} exists already in {self.where()}")
        self.intervals[iid] = Interval(
            iid, since, until, str(fields.get("key", "")), dict(fields.get("tags") or {})
        )
        self.versions[iid] = {}

    def add_version(self, fields: dict[str, Any]) -> None:
        iid, number = int(fields["interval"]), int(fields["version"])
        if self.interval(iid).invalidated:
            raise ConfigError(f"{self.intervals[iid]} of {self.where()} is invalidated")
        if number in self.versions[iid] or number < 1:
            raise ConfigError(f"version {number} cannot be added to {self.intervals[iid]}")
        self.versions[iid][number] = Version(
            number,
            str(fields["hash"]),
            PayloadKind(fields["kind"]),
            int(fields["produced"]),
            str(fields.get("author", "")),
            str(fields.get("comment", "")),
            dict(fields.get("tags") or {}),
        )
        self._timeline = None

    def set_default(self, fields: dict[str, Any]) -> None:
        iid, number = int(fields["interval"]), fields["version"]
        if number is not None:
            version = self.version(iid, int(number))
            if version.invalidated:
                raise ConfigError(f"version {number} of {self.intervals[iid]} is invalidated")
            number = int(number)
        self.defaults[self.interval(iid).id] = number
        self._timeline = None

    def invalidate_version(self, fields: dict[str, Any]) -> None:
        iid, number = int(fields["interval"]), int(fields["version"])
        version = self.version(iid, number)
        self.versions[iid][number] = replace(version, invalidated=str(fields.get("reason", "")))
        self._timeline = None

    def invalidate_interval(self, fields: dict[str, Any]) -> None:
        iid = int(fields["interval"])
        interval = self.interval(iid)
        self.intervals[iid] = replace(interval, invalidated=str(fields.get("reason", "")))
        self._timeline = None


_CTYPE_ACTIONS: dict[Action, Callable[[CtypeState, dict[str, Any]], None]] = {
    Action.ADD_INTERVAL: CtypeState.add_interval,
    Action.ADD_VERSION: CtypeState.add_version,
    Action.SET_DEFAULT: CtypeState.set_default,
    Action.INVALIDATE_VERSION: CtypeState.invalidate_version,
    Action.INVALIDATE_INTERVAL: CtypeState.invalidate_interval,
}


def _detector_from(name: str, fields: dict[str, Any], base: Detector | None = None) -> Detector:
    base = base or Detector(name)
    changes = {
        k: v
        for k, v in fields.items()
        if k in ("type", "id", "aliases", "predecessor", "successor", "tags")
    }
    if "aliases" in changes:
        changes["aliases"] = tuple(changes["aliases"])
    return replace(base, **changes)


@dataclass
class DetectorState:
    """A detector, its calibration types, and its history."""

    detector: Detector
    ctypes: dict[str, CtypeState] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    @classmethod
    def replay(cls, name: str, events: list[Event]) -> DetectorState:
        """Rebuild a detector from its log."""
        state = cls(Detector(name))
        for event in events:
            state.apply(event)
        return state

    def ctype(self, name: str) -> CtypeState:
        """The state of calibration type `name`; suggests close names when absent."""
        try:
            return self.ctypes[name]
        except KeyError:
            raise NotFoundError(
                f"detector {self.detector.name!r} has no calibration type {name!r} "
                f"(it has {sorted(self.ctypes)})",
                obj=name,
                candidates=self.ctypes,
            ) from None

    def next_seq(self) -> int:
        return len(self.events) + 1

    def apply(self, event: Event) -> None:
        """Check `event` against the state and take it."""
        if event.seq != self.next_seq():
            raise ConfigError(f"event #{event.seq} out of order (expected #{self.next_seq()})")
        action, fields = event.action, event.fields
        if action is Action.CREATE_DETECTOR:
            if self.events:
                raise ConfigError(f"detector {self.detector.name!r} exists already")
            self.detector = _detector_from(self.detector.name, fields)
        elif not self.events:
            raise ConfigError(f"the log of {self.detector.name!r} does not start with its creation")
        elif action is Action.UPDATE_DETECTOR:
            self.detector = _detector_from(self.detector.name, fields, self.detector)
        elif action is Action.ADD_CTYPE:
            self._add_ctype(fields)
        elif action in _CTYPE_ACTIONS:
            _CTYPE_ACTIONS[action](self.ctype(str(fields["ctype"])), fields)
        elif action is not Action.NOTE:
            raise ConfigError(f"event {action.value!r} does not belong in a detector log")
        self.events.append(event)

    def _add_ctype(self, fields: dict[str, Any]) -> None:
        name = str(fields["ctype"])
        if name in self.ctypes:
            raise ConfigError(f"{self.detector.name!r} has calibration type {name!r} already")
        ctype = CalibType(
            name,
            Axis(fields.get("axis", "time")),
            Overlap(fields.get("overlap", "refuse")),
            str(fields.get("description", "")),
        )
        self.ctypes[name] = CtypeState(ctype, self.detector.name)


@dataclass(frozen=True)
class GlobalTag:
    """A named configuration: live until frozen, then a fixed set of (interval, version) pins."""

    name: str
    description: str = ""
    created: int = 0
    frozen: int | None = None
    """Wall-clock ns of the freeze, ``None`` while the tag follows the live defaults."""
    pins: tuple[tuple[str, str, int, int, str], ...] = ()
    """(detector, ctype, interval id, version, hash) in force when frozen."""

    def pins_of(self, detector: str, ctype: str) -> list[tuple[int, int, str]]:
        """The (interval id, version, hash) pins of one (detector, ctype)."""
        return [(p[2], p[3], p[4]) for p in self.pins if p[0] == detector and p[1] == ctype]


@dataclass
class GlobalTagState:
    """Every global tag of a store, and their history."""

    tags: dict[str, GlobalTag] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def get(self, name: str) -> GlobalTag:
        """The global tag `name`; suggests close names when absent."""
        try:
            return self.tags[name]
        except KeyError:
            raise NotFoundError(
                f"no global tag {name!r} (there are {sorted(self.tags)})",
                obj=name,
                candidates=self.tags,
            ) from None

    def apply(self, event: Event) -> None:
        """Check `event` against the state and take it."""
        if event.seq != len(self.events) + 1:
            raise ConfigError(f"global-tag event #{event.seq} out of order")
        name = str(event.fields["name"])
        if event.action is Action.CREATE_TAG:
            if name in self.tags:
                raise ConfigError(f"global tag {name!r} exists already")
            self.tags[name] = GlobalTag(name, str(event.fields.get("description", "")), event.time)
        elif event.action is Action.FREEZE_TAG:
            tag = self.get(name)
            if tag.frozen is not None:
                raise ConfigError(f"global tag {name!r} is frozen already; it never changes")
            pins = tuple(
                (str(p[0]), str(p[1]), int(p[2]), int(p[3]), str(p[4]))
                for p in event.fields["pins"]
            )
            self.tags[name] = replace(tag, frozen=event.time, pins=pins)
        elif event.action is not Action.NOTE:
            raise ConfigError(f"event {event.action.value!r} does not belong in the global tags")
        self.events.append(event)
