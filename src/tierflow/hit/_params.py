"""Parameters from a calibration store, looked up by detector and time.

The hit tier sits below :mod:`tierflow.calib` and does not import it: anything with the
two methods of :class:`ParameterSource` will do (the store, or a fake in tests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tierflow.errors import ConfigError, NotFoundError
from tierflow.hit._config import CalibRef, HitConfig, Operation

__all__ = [
    "TIME_UNITS",
    "ParameterSource",
    "chunk_time",
    "column_calib_attrs",
    "provenance_attrs",
    "resolve_parameters",
]

TIME_UNITS: Mapping[str, float] = {"s": 1e9, "ms": 1e6, "us": 1e3, "µs": 1e3, "ns": 1.0}
"""Nanoseconds per unit of a ``timestamp`` column (no units: seconds, as in LEGEND files)."""


@runtime_checkable
class ParameterSource(Protocol):
    """Where ``{"calib": ctype, "key": ...}`` parameters come from.

    Example
    -------
    >>> class Fixed:
    ...     def lookup(self, detector, ctype, at):
    ...         return {"trapEmax": {"b": 0.25}}
    ...     def provenance(self):
    ...         return {"store": "fixed"}
    >>> isinstance(Fixed(), ParameterSource)
    True
    """

    def lookup(self, detector: str, ctype: str, at: int) -> Any:
        """The payload of calibration type `ctype` for `detector` in force at `at`
        (nanoseconds since the epoch)."""
        ...

    def provenance(self) -> dict[str, str]:
        """Where the payloads come from (store, version, tag, ...), recorded in outputs."""
        ...


def chunk_time(timestamps: Any, units: str | None, where: str) -> int:
    """The first timestamp of a chunk in nanoseconds since the epoch."""
    values = np.asarray(timestamps)
    if len(values) == 0:
        raise ConfigError(f"cannot look up parameters for an empty chunk of {where}")
    scale = TIME_UNITS.get(units or "s")
    if scale is None:
        raise NotFoundError(
            f"unknown units {units!r} of the timestamp of {where}", obj=units, candidates=TIME_UNITS
        )
    return round(float(values[0]) * scale)


def resolve_parameters(
    operation: Operation,
    source: ParameterSource | None,
    detector: str,
    at: int | None,
    payloads: dict[str, Any],
) -> dict[str, Any]:
    """The parameters of `operation` with store references looked up (payloads cached in
    `payloads` by ctype, one lookup per chunk and calibration type)."""
    refs = operation.calib_parameters
    if not refs:
        return dict(operation.parameters)
    if source is None or at is None:
        raise ConfigError(
            f"operation {operation.name!r} takes parameters from the calibration store: "
            "pass parameter_source="
        )
    resolved = dict(operation.parameters)
    for name, ref in refs.items():
        if ref.ctype not in payloads:
            payloads[ref.ctype] = source.lookup(detector, ref.ctype, at)
        resolved[name] = ref.extract(payloads[ref.ctype], detector, at)
    return resolved


def provenance_attrs(config: HitConfig, source: ParameterSource | None) -> dict[str, str]:
    """Attributes recording where store parameters came from (empty when none are used)."""
    if source is None or not config.uses_calib:
        return {}
    return {"calib_provenance": json.dumps(source.provenance(), sort_keys=True)}


def column_calib_attrs(operation: Operation) -> dict[str, str]:
    """A column's record of which parameters came from the store (``{"b": "ecal:x.b"}``)."""
    refs: dict[str, CalibRef] = operation.calib_parameters
    if not refs:
        return {}
    return {"calib_parameters": json.dumps({k: f"{r.ctype}:{r.key}" for k, r in refs.items()})}
