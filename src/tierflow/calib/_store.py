"""The calibration-constants store: open, look up (one or a million), browse.

Changes go through :meth:`Store.edit` (``_edit``), global tags through :attr:`Store.tags`
(``_tags``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tierflow.calib._model import CalibType, Detector, Event, Interval, Payload, Source, Version
from tierflow.calib._payload import freeze
from tierflow.calib._state import CtypeState, DetectorState
from tierflow.calib._storage import Layout, make_layout, read_log, read_payload_from
from tierflow.calib._timeline import Timeline, make_timeline
from tierflow.calib._times import format_ns, parse_time
from tierflow.errors import ConfigError, MismatchError, NotFoundError

if TYPE_CHECKING:
    from tierflow.calib._edit import Editor
    from tierflow.calib._source import ParameterSource
    from tierflow.calib._tags import GlobalTags

__all__ = ["InvalidatedError", "Lookups", "NoConstantsError", "Store"]


class NoConstantsError(NotFoundError):
    """Nothing is in force at the time asked for, or the interval has no such version."""


class InvalidatedError(NoConstantsError):
    """An explicitly requested version was invalidated."""


@dataclass
class _Resolved:
    """What one (detector, ctype, tag) resolves to: a timeline and its payloads, made lazily."""

    state: DetectorState
    ctype: CtypeState
    timeline: Timeline
    payloads: list[Payload | None]
    tag: str | None


class Store:
    """A calibration-constants store (a directory of per-detector HDF5 files, or one file).

    Parameters
    ----------
    path
        The store directory, or a single ``.h5`` file (as written by an export).
    create
        Make an empty store when `path` does not exist.
    author
        Recorded with every change (default: the login name).
    lock_timeout
        Seconds a writer waits for another writer before :class:`StoreLockedError`.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> store = Store(tempfile.mkdtemp() + "/calib", create=True)
    >>> with store.edit() as edit:
    ...     edit.add_detector("ch1", type="ged")
    ...     edit.add_ctype("ch1", "gain")
    ...     _ = edit.add("ch1", "gain", {"a": 1.5}, since=0, until=100)
    >>> store.get("ch1", "gain", at=10).value["a"]
    1.5
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        author: str | None = None,
        lock_timeout: float = 60.0,
    ) -> None:
        self._layout: Layout = make_layout(path, create=create)
        self.author = author or _login()
        self.lock_timeout = lock_timeout
        self._states: dict[str, DetectorState] = {}
        self._aliases: dict[str, str] | None = None
        self._values: dict[tuple[str, str], Any] = {}
        self._resolved: dict[tuple[str, str, str | None], _Resolved] = {}
        self._stamp = self._layout.stamp()
        from tierflow.calib._tags import GlobalTags

        self.tags: GlobalTags = GlobalTags(self)
        """The store's global tags: create, freeze, look up, export."""

    @property
    def path(self) -> Path:
        """Where the store lives."""
        return self._layout.path

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # --- browsing ------------------------------------------------------------------------------

    def detectors(self) -> list[Detector]:
        """Every detector in the store, by name."""
        return [self.state(name).detector for name in self.detector_names()]

    def detector_names(self) -> list[str]:
        """Names of every detector in the store."""
        return sorted(set(self._layout.detector_names()) | set(self._states))

    def ctypes(self, detector: str) -> list[CalibType]:
        """The calibration types of `detector`."""
        return [c.ctype for c in self.state(detector).ctypes.values()]

    def intervals(self, detector: str, ctype: str) -> list[Interval]:
        """Every interval of (`detector`, `ctype`), invalidated ones included, by id."""
        return list(self.state(detector).ctype(ctype).intervals.values())

    def versions(self, detector: str, ctype: str, interval: int) -> list[Version]:
        """Every version of an interval, invalidated ones included, by number."""
        cstate = self.state(detector).ctype(ctype)
        return [
            cstate.versions[cstate.interval(interval).id][n]
            for n in sorted(cstate.versions[interval])
        ]

    def history(self, detector: str | None = None) -> list[Event]:
        """Every change of `detector` in order (the global tags' history when ``None``)."""
        return list(self.tags.state.events if detector is None else self.state(detector).events)

    # --- lookups -------------------------------------------------------------------------------

    def get(
        self, detector: str, ctype: str, at: Any, version: int | None = None, tag: str | None = None
    ) -> Payload:
        """The constants of `ctype` for `detector` in force at `at`, with their source.

        Parameters
        ----------
        detector
            Detector name or alias.
        ctype
            Calibration type.
        at
            Time (int ns since the epoch, or see :func:`parse_time`) or run number.
        version
            A specific version of the interval in force instead of its default.
        tag
            A global tag: frozen, it answers as it did when frozen, forever.

        Raises
        ------
        NotFoundError
            Nothing in force at `at`, or no such version (closest names suggested).
        InvalidatedError
            The version asked for was invalidated.

        Examples
        --------
        >>> payload = store.get("ch1", "gain", at=10)  # doctest: +SKIP
        >>> payload.value, payload.source.version.number, payload.hash  # doctest: +SKIP
        """
        resolved = self._resolve(detector, ctype, tag)
        coordinate = at if type(at) is int else parse_time(at)
        entry = resolved.timeline.find(coordinate)
        if entry < 0:
            raise self._nothing_at(resolved, coordinate)
        if version is not None:
            return self._explicit(resolved, entry, int(version))
        payload = resolved.payloads[entry]
        return payload if payload is not None else self._load(resolved, entry)

    def find(
        self, detector: str, ctype: str, at: Any, version: int | None = None, tag: str | None = None
    ) -> Payload | None:
        """Like :meth:`get`, but ``None`` when nothing (valid) is there."""
        try:
            return self.get(detector, ctype, at, version=version, tag=tag)
        except NoConstantsError:  # a wrong name still raises: it is an error, not an absence
            return None

    def get_many(
        self,
        detectors: str | Sequence[str] | np.ndarray,
        ctype: str,
        at: Any,
        tag: str | None = None,
        codes: np.ndarray | None = None,
    ) -> Lookups:
        """Vectorised :meth:`get` for many (detector, time) pairs.

        Parameters
        ----------
        detectors
            One name for all times, a name per time, or (with `codes`) the distinct names.
        ctype
            Calibration type.
        at
            Integer coordinates (int64 array).
        tag
            A global tag.
        codes
            Optional integer index into `detectors` per time (skips grouping strings).

        Examples
        --------
        >>> hits = store.get_many(["ch1", "ch1"], "gain", np.array([10, 500]))  # doctest: +SKIP
        >>> hits.values("a")  # doctest: +SKIP
        array([1.5, nan])
        """
        times = np.asarray(at, dtype=np.int64).reshape(-1)
        names, codes = _group_codes(detectors, codes, len(times))
        index = np.full(len(times), -1, dtype=np.int64)
        payloads: list[Payload] = []
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
        for code, name in enumerate(names):
            rows = order[bounds[code] : bounds[code + 1]]
            if len(rows):
                self._fill(self._resolve(str(name), ctype, tag), times[rows], rows, index, payloads)
        return Lookups(index, payloads)

    def _fill(
        self,
        resolved: _Resolved,
        times: np.ndarray,
        rows: np.ndarray,
        index: np.ndarray,
        payloads: list[Payload],
    ) -> None:
        found = resolved.timeline.find_many(times)
        used = np.unique(found[found >= 0])
        remap = np.full(len(resolved.timeline.entries) + 1, -1, dtype=np.int64)
        for entry in used.tolist():
            remap[entry] = len(payloads)
            payload = resolved.payloads[entry]
            payloads.append(payload if payload is not None else self._load(resolved, entry))
        index[rows] = remap[found]

    def parameter_source(self, global_tag: str | None = None) -> ParameterSource:
        """An object with ``lookup(detector, ctype, at)`` and ``provenance()`` for the hit tier."""
        from tierflow.calib._source import ParameterSource

        return ParameterSource(self, global_tag)

    def edit(self, author: str | None = None) -> Editor:
        """A transaction: changes made inside ``with store.edit() as edit:`` land together."""
        from tierflow.calib._edit import Editor

        return Editor(self, author or self.author)

    def refresh(self) -> bool:
        """Reload if another process changed the store since it was read; True if it did."""
        stamp = self._layout.stamp()
        if stamp == self._stamp:
            return False
        self._forget()
        self._stamp = stamp
        self.tags.reload()
        return True

    # --- internals -------------------------------------------------------------------------------

    def state(self, detector: str) -> DetectorState:
        """The state of `detector` (name or alias), read from disk on first use."""
        state = self._states.get(detector)
        if state is not None:
            return state
        file, group = self._layout.detector(detector) if _safe(detector) else (Path(), "")
        events = read_log(file, group) if group else []
        if events:
            state = DetectorState.replay(detector, events)
            self._states[detector] = state
            return state
        name = self._alias_map().get(detector)
        if name is not None:
            return self.state(name)
        candidates = self.detector_names()
        raise NotFoundError(
            f"no detector {detector!r} in the store",
            file=self.path,
            obj=detector,
            candidates=candidates + list(self._alias_map()),
        )

    def _alias_map(self) -> dict[str, str]:
        if self._aliases is None:
            self._aliases = {}
            for name in self._layout.detector_names():
                for alias in self.state(name).detector.aliases:
                    self._aliases[alias] = name
        return self._aliases

    def _forget(self) -> None:
        self._states.clear()
        self._aliases = None
        self._resolved.clear()

    def _adopt(self, states: dict[str, DetectorState]) -> None:
        """Take the fresh states of a committed transaction."""
        self._resolved.clear()
        self._aliases = None
        self._states.update(states)
        self._stamp = self._layout.stamp()

    def _resolve(self, detector: str, ctype: str, tag: str | None) -> _Resolved:
        key = (detector, ctype, tag)
        resolved = self._resolved.get(key)
        if resolved is None:
            state = self.state(detector)
            cstate = state.ctype(ctype)
            timeline = cstate.timeline() if tag is None else self._tag_timeline(cstate, tag)
            resolved = _Resolved(state, cstate, timeline, [None] * len(timeline.entries), tag)
            self._resolved[key] = resolved
        return resolved

    def _tag_timeline(self, cstate: CtypeState, tag: str) -> Timeline:
        global_tag = self.tags.get(tag)
        if global_tag.frozen is None:
            return cstate.timeline()
        candidates = []
        for iid, number, _ in global_tag.pins_of(cstate.detector, cstate.ctype.name):
            interval = cstate.interval(iid)
            candidates.append((iid, interval.since, interval.until, number))
        return make_timeline(candidates)

    def _load(self, resolved: _Resolved, entry: int) -> Payload:
        iid, number = resolved.timeline.entries[entry]
        payload = self._payload(resolved, iid, number)
        resolved.payloads[entry] = payload
        return payload

    def _payload(self, resolved: _Resolved, iid: int, number: int) -> Payload:
        cstate = resolved.ctype
        version = cstate.versions[iid][number]
        name = resolved.state.detector.name
        key = (name, version.hash)
        if key not in self._values:
            file, group = self._layout.detector(name)
            self._values[key] = freeze(read_payload_from(file, group, version.hash)[1])
        source = Source(name, cstate.ctype.name, cstate.intervals[iid], version, resolved.tag)
        return Payload(self._values[key], source)

    def _explicit(self, resolved: _Resolved, entry: int, number: int) -> Payload:
        cstate = resolved.ctype
        iid = resolved.timeline.entries[entry][0]
        if number not in cstate.versions[iid]:
            raise NoConstantsError(
                f"no version {number} in {cstate.intervals[iid]} of {cstate.where()} "
                f"(versions: {sorted(cstate.versions[iid])})",
                obj=str(number),
            )
        version = cstate.versions[iid][number]
        if version.invalidated is not None and resolved.tag is None:
            raise InvalidatedError(
                f"version {number} of {cstate.intervals[iid]} of {cstate.where()} was "
                f"invalidated: {version.invalidated or 'no reason given'}",
                obj=str(number),
            )
        return self._payload(resolved, iid, number)

    def _nothing_at(self, resolved: _Resolved, at: int) -> NoConstantsError:
        cstate = resolved.ctype
        live = [i for i in cstate.intervals.values() if cstate.default_of(i.id) is not None]
        near = sorted(live, key=lambda i: abs(i.since - at))[:3]
        where = f" through global tag {resolved.tag!r}" if resolved.tag else ""
        return NoConstantsError(
            f"no {cstate.ctype.name!r} constants for {cstate.detector!r} in force at {at} "
            f"({format_ns(at)}){where}; nearest intervals: {', '.join(map(str, near)) or 'none'}",
            obj=str(at),
        )


@dataclass(frozen=True)
class Lookups:
    """The result of :meth:`Store.get_many`: an index per pair into a list of payloads."""

    index: np.ndarray
    """int64 per pair: position in :attr:`payloads`, -1 where nothing is in force."""
    payloads: list[Payload]

    @property
    def found(self) -> np.ndarray:
        """Boolean mask of the pairs that have constants."""
        return self.index >= 0

    def values(self, key: str | None = None, fill: float = np.nan) -> np.ndarray:
        """Values per pair: record field `key` (dotted path) as floats, or stacked arrays."""
        table = [_field(p.value, key) if key else p.value for p in self.payloads]
        if key is not None or all(np.ndim(v) == 0 for v in table):
            gathered: np.ndarray = np.append(np.asarray(table, dtype=np.float64), fill)
            return gathered[self.index]  # type: ignore[no-any-return]
        shapes = {np.shape(v) for v in table}
        if len(shapes) > 1:
            raise MismatchError(
                f"array payloads of different shapes {sorted(shapes)} cannot be "
                "stacked; iterate over the lookups instead"
            )
        stacked = np.stack([np.asarray(v) for v in table]) if table else np.empty((0,))
        out = np.empty((len(self.index), *stacked.shape[1:]), dtype=stacked.dtype)
        hit = self.found
        out[hit] = stacked[self.index[hit]]
        if not hit.all():
            out[~hit] = fill if stacked.dtype.kind == "f" else 0
        return out

    def __iter__(self) -> Iterator[Payload | None]:
        return (self.payloads[i] if i >= 0 else None for i in self.index.tolist())

    def __len__(self) -> int:
        return len(self.index)


def _field(value: Any, key: str) -> Any:
    for part in key.split("."):
        if not hasattr(value, "keys") or part not in value:
            candidates = list(value) if hasattr(value, "keys") else []
            raise NotFoundError(f"payload has no field {key!r}", obj=part, candidates=candidates)
        value = value[part]
    return value


def _group_codes(
    detectors: str | Sequence[str] | np.ndarray, codes: np.ndarray | None, n: int
) -> tuple[Sequence[str], np.ndarray]:
    if isinstance(detectors, str):
        return [detectors], np.zeros(n, dtype=np.int64)
    if codes is not None:
        codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        if len(codes) != n or (n and (codes.min() < 0 or codes.max() >= len(detectors))):
            raise ConfigError("codes must index the detector names, one per time")
        return list(detectors), codes
    names = np.asarray(detectors).reshape(-1)
    if len(names) != n:
        raise ConfigError(f"{len(names)} detectors for {n} times")
    seen: dict[str, int] = {}  # a dict beats sorting a million strings with np.unique
    codes = np.fromiter(
        (seen.setdefault(x, len(seen)) for x in names.tolist()), dtype=np.int64, count=n
    )
    return [str(name) for name in seen], codes


def _safe(name: str) -> bool:
    from tierflow.calib._storage import _NAME

    return bool(_NAME.match(name))


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
