"""Validity coordinates: integer nanoseconds since the epoch (or run numbers), and conversions.

Times are always integers inside the store, so half-open comparisons are exact. Conversions from
float seconds go through the shortest decimal form of the float (``repr``), so ``1500000000.2`` s
becomes exactly ``1500000000200000000`` ns and the order of floats is kept.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import Any

from tierflow.errors import ConfigError

__all__ = ["END", "format_ns", "from_seconds", "parse_time", "to_seconds"]

END = (1 << 63) - 1
"""Sentinel for an open end (``until=None``) in integer arrays."""

_LEGEND_STAMP = re.compile(r"^(\d{8})T(\d{6})Z$")
_SECONDS = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?s$")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def from_seconds(seconds: float | int | str) -> int:
    """Float POSIX seconds → integer ns, through the shortest decimal form of the float.

    Examples
    --------
    >>> from_seconds(1500000000.2)
    1500000000200000000
    """
    text = repr(float(seconds)) if not isinstance(seconds, str) else seconds
    return int((Decimal(text) * 1_000_000_000).to_integral_value())


def to_seconds(ns: int) -> float:
    """Integer ns → float POSIX seconds (for display and DCStore-style output)."""
    return ns / 1e9


def _from_datetime(value: _dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def parse_time(value: Any) -> int:
    """A validity coordinate from what a user may write, as an integer.

    Accepts an ``int`` (ns since the epoch, or a run number, taken as is), a LEGEND time stamp
    ``"20230101T000000Z"``, an ISO date string, seconds written ``"1500000000.5s"``, a
    :class:`datetime.datetime` (naive means UTC) or a ``numpy.datetime64``. A bare float is
    refused: it is ambiguous (seconds or ns?); use :func:`from_seconds`.

    Examples
    --------
    >>> parse_time("20230101T000000Z")
    1672531200000000000
    >>> parse_time("1.5s")
    1500000000
    """
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"a time cannot be a boolean: {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, _dt.datetime):
        return _from_datetime(value)
    if isinstance(value, str):
        return _parse_text(value.strip())
    if isinstance(value, (float, np.floating)):
        raise ConfigError(
            f"a float time {value!r} is ambiguous: pass integer ns, a string like "
            f"'{value}s' for seconds, or use tierflow.calib.from_seconds()"
        )
    raise ConfigError(f"cannot read a time from {value!r} ({type(value).__name__})")


def _parse_text(text: str) -> int:
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if _SECONDS.match(text):
        return from_seconds(text[:-1])
    stamp = _LEGEND_STAMP.match(text)
    if stamp:
        parsed = _dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ")
        return _from_datetime(parsed)
    try:
        return _from_datetime(_dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ConfigError(
            f"cannot read a time from {text!r}: expected integer ns (or run), "
            "'YYYYmmddTHHMMSSZ', an ISO date or seconds like '1500000000.5s'"
        ) from None


def format_ns(ns: int | None) -> str:
    """Human-readable form of a time coordinate (``end`` for an open end)."""
    if ns is None or ns == END:
        return "end"
    seconds, rest = divmod(ns, 1_000_000_000)
    try:
        stamp = _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return str(ns)
    frac = f".{rest:09d}".rstrip("0").rstrip(".")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"
