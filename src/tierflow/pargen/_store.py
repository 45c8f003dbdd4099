"""Pargen results into the calibration store: one record per detector and calibration type.

A record is any result with ``to_dict()`` (energy, A/E, LQ calibrations, filter optimisations,
fit results) or a plain dict; it is stored as a JSON record payload in a validity interval,
creating the detector and the calibration type when they are new.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tierflow.errors import ConfigError

__all__ = ["load_record", "store_record"]


class _Record(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def _plain(record: _Record | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(record, Mapping):
        return dict(record)
    if callable(getattr(record, "to_dict", None)):
        return record.to_dict()
    raise ConfigError(f"cannot store a {type(record).__name__}: it has no to_dict()")


def store_record(
    store: Any,
    detector: str,
    ctype: str,
    record: _Record | Mapping[str, Any],
    since: Any,
    until: Any = None,
    *,
    comment: str = "",
    detector_type: str = "",
    skip_identical: bool = True,
) -> Any:
    """Store `record` for `detector` and `ctype` valid in ``[since, until)``; returns its
    :class:`~tierflow.calib.Source`.

    Parameters
    ----------
    store
        A :class:`tierflow.calib.Store` (or its path; created if missing).
    detector, ctype
        Where it goes (created when new; `detector_type` describes a new detector).
    record
        A result with ``to_dict()`` or a plain dict.
    since, until
        The validity interval (times or run numbers, as the store takes them).
    skip_identical
        Do not store a record equal to the one already in force again.

    Example
    -------
    >>> import tempfile
    >>> from tierflow import calib
    >>> store = calib.Store(tempfile.mkdtemp() + "/calib", create=True)
    >>> src = store_record(store, "V01", "ecal", {"hit": {"a": 1.0}}, since=0)
    >>> load_record(store, "V01", "ecal", at=5)["hit"]["a"]
    1.0
    """
    from tierflow import calib

    if not isinstance(store, calib.Store):
        store = calib.Store(store, create=True)
    payload = _plain(record)
    new_detector = detector not in store.detector_names()
    known = set() if new_detector else {c.name for c in store.ctypes(detector)}
    with store.edit() as edit:
        if new_detector:
            edit.add_detector(detector, type=detector_type)
        if ctype not in known:
            edit.add_ctype(detector, ctype, description="pargen record")
        return edit.add(
            detector,
            ctype,
            payload,
            since=since,
            until=until,
            comment=comment,
            skip_identical=skip_identical,
        )


def load_record(store: Any, detector: str, ctype: str, at: Any) -> dict[str, Any]:
    """The record of `detector` and `ctype` in force at `at` (plain dicts and lists)."""
    from tierflow import calib

    if not isinstance(store, calib.Store):
        store = calib.Store(store)
    return _thaw(store.get(detector, ctype, at=at).value)  # type: ignore[no-any-return]


def _thaw(value: Any) -> Any:
    """Plain dicts and lists from the store's read-only views."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value
