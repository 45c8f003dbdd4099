"""Stateful property test: any sequence of changes keeps frozen tags, defaults and versions sound.

Rules: insert constants (overlapping or not), change defaults, invalidate versions and intervals,
freeze global tags, close and reopen the store. Invariants after every step: every answer a
frozen tag gave is unchanged; a default lookup never returns an invalidated version or interval;
no version ever added is lost or changed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tierflow import calib
from tierflow.errors import ConfigError

DETECTORS = ("d0", "d1")
CTYPES = {"stack": calib.Overlap.LATEST_SINCE, "strict": calib.Overlap.REFUSE}
GRID = range(-1, 46)


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="calib-stateful-"))
        self.store = calib.Store(self.folder / "s", create=True, author="machine")
        with self.store.edit() as edit:
            for det in DETECTORS:
                edit.add_detector(det)
                for ctype, overlap in CTYPES.items():
                    edit.add_ctype(det, ctype, overlap=overlap)
        self.added: dict[tuple[str, str, int, int], str] = {}
        self.frozen: dict[str, dict[tuple[str, str, int], str | None]] = {}
        self.counter = 0

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _answers(self, tag: str | None) -> dict[tuple[str, str, int], str | None]:
        out = {}
        for det in DETECTORS:
            for ctype in CTYPES:
                for at in GRID:
                    found = self.store.find(det, ctype, at, tag=tag)
                    out[(det, ctype, at)] = None if found is None else found.hash
        return out

    @rule(
        det=st.sampled_from(DETECTORS),
        ctype=st.sampled_from(list(CTYPES)),
        since=st.integers(0, 30),
        width=st.one_of(st.none(), st.integers(1, 15)),
        make_default=st.booleans(),
    )
    def add(self, det: str, ctype: str, since: int, width: int | None, make_default: bool) -> None:
        self.counter += 1
        until = None if width is None else since + width
        try:
            with self.store.edit() as edit:
                src = edit.add(det, ctype, {"n": self.counter}, since, until, default=make_default)
        except calib.OverlapError:
            assert CTYPES[ctype] is calib.Overlap.REFUSE
            live = [i for i in self.store.intervals(det, ctype) if not i.invalidated]
            assert any(i.overlaps(since, until) for i in live)
            return
        self.added[(det, ctype, src.interval.id, src.version.number)] = src.hash

    def _pick(self, data: st.DataObject) -> tuple[str, str, int, int] | None:
        if not self.added:
            return None
        return data.draw(st.sampled_from(sorted(self.added)))

    @precondition(lambda self: self.added)
    @rule(data=st.data(), reset=st.booleans())
    def set_default(self, data: st.DataObject, reset: bool) -> None:
        det, ctype, iid, number = self._pick(data)  # type: ignore[misc]
        version = self.store.versions(det, ctype, iid)[number - 1]
        try:
            with self.store.edit() as edit:
                edit.set_default(det, ctype, iid, None if reset else number)
        except ConfigError:
            assert version.invalidated is not None
            assert not reset

    @precondition(lambda self: self.added)
    @rule(data=st.data(), whole_interval=st.booleans())
    def invalidate(self, data: st.DataObject, whole_interval: bool) -> None:
        det, ctype, iid, number = self._pick(data)  # type: ignore[misc]
        with self.store.edit() as edit:
            edit.invalidate(det, ctype, iid, None if whole_interval else number, reason="test")

    @rule()
    def freeze_tag(self) -> None:
        name = f"g{len(self.frozen)}"
        self.store.tags.create(name, freeze=True)
        self.frozen[name] = self._answers(name)
        assert self.frozen[name] == self._answers(None)  # frozen = what was live at the time

    @rule()
    def reopen(self) -> None:
        self.store = calib.Store(self.store.path)

    @invariant()
    def frozen_tags_never_change(self) -> None:
        for name, answers in self.frozen.items():
            assert self._answers(name) == answers

    @invariant()
    def defaults_are_never_invalidated(self) -> None:
        for det in DETECTORS:
            for ctype in CTYPES:
                for at in GRID:
                    found = self.store.find(det, ctype, at)
                    if found is not None:
                        assert found.source.version.invalidated is None
                        assert found.source.interval.invalidated is None

    @invariant()
    def no_version_is_lost(self) -> None:
        fresh = calib.Store(self.store.path)
        for (det, ctype, iid, number), digest in self.added.items():
            assert fresh.versions(det, ctype, iid)[number - 1].hash == digest


StoreMachine.TestCase.settings = settings(max_examples=20, stateful_step_count=12, deadline=None)
TestStoreMachine = StoreMachine.TestCase
