"""The store as a parameter source for the hit and dsp tiers (duck-typed, no import of them)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tierflow.calib._payload import PayloadKind

if TYPE_CHECKING:
    from tierflow.calib._store import Store

__all__ = ["ParameterSource"]


class ParameterSource:
    """Answers ``lookup(detector, ctype, at)`` from a store, and says what it used.

    This is the protocol ``tierflow.hit`` defines (``ParameterSource``): `at` is ns since the
    epoch (or a run number for run-indexed types); record payloads come back as plain mutable
    dicts (a fresh copy), array payloads as read-only arrays. :meth:`provenance` lists the store,
    the global tag, and every version actually used, so an output can name its constants.

    Examples
    --------
    >>> source = store.parameter_source(global_tag="prod-v1")  # doctest: +SKIP
    >>> source.lookup("ch1", "gain", 10)["a"]  # doctest: +SKIP
    1.5
    >>> source.provenance()["global_tag"]  # doctest: +SKIP
    'prod-v1'
    """

    def __init__(self, store: Store, global_tag: str | None = None) -> None:
        if global_tag is not None:
            store.tags.get(global_tag)  # fail now, with suggestions, not at the first lookup
        self.store = store
        self.global_tag = global_tag
        self._used: dict[str, str] = {}

    def lookup(self, detector: str, ctype: str, at: int) -> Any:
        """The payload of `ctype` for `detector` in force at `at` (raises when there is none)."""
        payload = self.store.get(detector, ctype, at, tag=self.global_tag)
        source = payload.source
        self._used[f"{source.detector}/{source.ctype}@{source.interval.id}"] = source.label()
        if source.version.kind is PayloadKind.RECORD:
            return payload.unfrozen()
        return payload.value

    def provenance(self) -> dict[str, str]:
        """``calib_store``, ``global_tag`` (empty when live) and ``calib_versions`` (JSON list)."""
        tag = "" if self.global_tag is None else self.global_tag
        frozen = ""
        if self.global_tag is not None:
            frozen = str(self.store.tags.get(self.global_tag).frozen or "")
        return {
            "calib_store": str(self.store.path),
            "global_tag": tag,
            "global_tag_frozen": frozen,
            "calib_versions": json.dumps(sorted(self._used.values())),
        }
