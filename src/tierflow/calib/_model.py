"""The store's records: detectors, calibration types, intervals, versions, payloads, events.

Everything here is an immutable value. The state of a detector is the fold of its event log
(see ``_state``); nothing is ever removed, only superseded or invalidated.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from tierflow.calib._payload import PayloadKind, thaw
from tierflow.calib._times import format_ns

__all__ = [
    "Action",
    "Axis",
    "CalibType",
    "Detector",
    "Event",
    "Interval",
    "Overlap",
    "Payload",
    "Source",
    "Version",
]


class Axis(str, enum.Enum):
    """What validity coordinates count."""

    TIME = "time"
    """Nanoseconds since the POSIX epoch (UTC)."""
    RUN = "run"
    """Run numbers."""


class Overlap(str, enum.Enum):
    """What happens when a new interval overlaps existing ones of the same calibration type."""

    REFUSE = "refuse"
    """The insert fails and names the interval it conflicts with."""
    LATEST_SINCE = "latest-since"
    """Overlaps are allowed; at each time the interval with the latest ``since`` wins (DCStore's
    rule, also LEGEND validity files); ties go to the later insert."""


class Action(str, enum.Enum):
    """Kinds of event in a detector's (or the global tags') history."""

    CREATE_DETECTOR = "create-detector"
    UPDATE_DETECTOR = "update-detector"
    ADD_CTYPE = "add-ctype"
    ADD_INTERVAL = "add-interval"
    ADD_VERSION = "add-version"
    SET_DEFAULT = "set-default"
    INVALIDATE_VERSION = "invalidate-version"
    INVALIDATE_INTERVAL = "invalidate-interval"
    NOTE = "note"
    CREATE_TAG = "create-tag"
    FREEZE_TAG = "freeze-tag"


@dataclass(frozen=True)
class Event:
    """One entry of a history: what was done, when (wall-clock ns), by whom, with which fields."""

    seq: int
    time: int
    author: str
    action: Action
    fields: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The plain-dict form stored in the log."""
        return {
            "seq": self.seq,
            "time": self.time,
            "author": self.author,
            "action": self.action.value,
            **self.fields,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Event:
        """Inverse of :meth:`to_dict`; raises ``KeyError``/``ValueError`` on a malformed record."""
        rest = {k: v for k, v in record.items() if k not in ("seq", "time", "author", "action")}
        return cls(
            int(record["seq"]),
            int(record["time"]),
            str(record["author"]),
            Action(record["action"]),
            rest,
        )

    def __str__(self) -> str:
        details = " ".join(f"{k}={v!r}" for k, v in self.fields.items())
        return f"#{self.seq} {format_ns(self.time)} {self.author} {self.action.value} {details}"


@dataclass(frozen=True)
class Detector:
    """A detector: unique name, type, serial id, aliases, predecessor/successor, free tags."""

    name: str
    type: str = ""
    id: str = ""
    aliases: tuple[str, ...] = ()
    predecessor: str | None = None
    successor: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CalibType:
    """A calibration type of one detector: its axis, overlap rule and description."""

    name: str
    axis: Axis = Axis.TIME
    overlap: Overlap = Overlap.REFUSE
    description: str = ""


@dataclass(frozen=True)
class Interval:
    """A validity interval ``[since, until)``; ``until=None`` is open-ended."""

    id: int
    since: int
    until: int | None
    key: str = ""
    tags: dict[str, Any] = field(default_factory=dict)
    invalidated: str | None = None

    def contains(self, at: int) -> bool:
        """Whether `at` lies in ``[since, until)``."""
        return self.since <= at and (self.until is None or at < self.until)

    def overlaps(self, since: int, until: int | None) -> bool:
        """Whether ``[since, until)`` shares any point with this interval."""
        below = until is None or self.since < until
        above = self.until is None or since < self.until
        return below and above

    def __str__(self) -> str:
        label = f" {self.key!r}" if self.key else ""
        return f"interval #{self.id}{label} [{self.since}, {self.until or 'end'})"


@dataclass(frozen=True)
class Version:
    """One immutable version of the constants of an interval."""

    number: int
    hash: str
    kind: PayloadKind
    produced: int
    author: str = ""
    comment: str = ""
    tags: dict[str, Any] = field(default_factory=dict)
    invalidated: str | None = None


@dataclass(frozen=True)
class Source:
    """Where a payload came from: enough to fetch exactly the same constants again."""

    detector: str
    ctype: str
    interval: Interval
    version: Version
    global_tag: str | None = None

    @property
    def hash(self) -> str:
        """The payload's content hash."""
        return self.version.hash

    def label(self) -> str:
        """Compact ``detector/ctype@since:vN:hash12`` form for attributes and logs."""
        return (
            f"{self.detector}/{self.ctype}@{self.interval.since}:v{self.version.number}:"
            f"{self.hash[:12]}"
        )


@dataclass(frozen=True)
class Payload:
    """Constants and where they came from. ``value`` is read-only (use :meth:`unfrozen`)."""

    value: Any
    source: Source

    @property
    def version(self) -> int:
        """The version number."""
        return self.source.version.number

    @property
    def hash(self) -> str:
        """The content hash."""
        return self.source.version.hash

    def unfrozen(self) -> Any:
        """A mutable deep copy of the value (plain dicts and lists, writable arrays)."""
        return thaw(self.value)
