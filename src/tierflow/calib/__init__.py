"""Calibration-constants store: validity intervals, immutable versions, global tags, lookups.

Constants (pedestals, gains, energy scales, cut values, matrices, pargen results) are stored per
detector and calibration type in validity intervals ``[since, until)`` (integer ns since the
epoch, or run numbers). Each interval holds immutable versions identified by content hash, with
a default; nothing is ever deleted, only invalidated, and every change is in the history.
Global tags freeze a whole configuration so a lookup through them never changes.

Examples
--------
>>> import numpy as np, tempfile
>>> from tierflow import calib
>>> store = calib.Store(tempfile.mkdtemp() + "/calib", create=True)
>>> with store.edit() as edit:
...     edit.add_detector("ch1", type="ged")
...     edit.add_ctype("ch1", "pedestal")
...     _ = edit.add("ch1", "pedestal", np.array([1.0, 2.0]), since=0, until=None)
>>> store.get("ch1", "pedestal", at=5).value
array([1., 2.])
>>> _ = store.tags.create("v1", freeze=True)
>>> store.get("ch1", "pedestal", at=5, tag="v1").source.version.number
1
"""

from __future__ import annotations

from tierflow.calib._dcstore import ImportReport, import_dcstore
from tierflow.calib._edit import Editor
from tierflow.calib._legend import import_legend_validity
from tierflow.calib._model import (
    Action,
    Axis,
    CalibType,
    Detector,
    Event,
    Interval,
    Overlap,
    Payload,
    Source,
    Version,
)
from tierflow.calib._payload import PayloadKind, content_hash
from tierflow.calib._source import ParameterSource
from tierflow.calib._state import GlobalTag, OverlapError
from tierflow.calib._storage import StoreLockedError
from tierflow.calib._store import InvalidatedError, Lookups, NoConstantsError, Store
from tierflow.calib._tags import GlobalTags
from tierflow.calib._times import from_seconds, parse_time

__all__ = [
    "Action",
    "Axis",
    "CalibType",
    "Detector",
    "Editor",
    "Event",
    "GlobalTag",
    "GlobalTags",
    "ImportReport",
    "Interval",
    "InvalidatedError",
    "Lookups",
    "NoConstantsError",
    "Overlap",
    "OverlapError",
    "ParameterSource",
    "Payload",
    "PayloadKind",
    "Source",
    "Store",
    "StoreLockedError",
    "Version",
    "content_hash",
    "from_seconds",
    "import_dcstore",
    "import_legend_validity",
    "parse_time",
]
