"""Import of psana PSCalib DCStore files (``<dettype>-<detid>.h5``) into a store.

DCStore keeps one file per detector: calibration types, float-second validity ranges with an
*inclusive* end, numbered versions with a default (0 = "use last"), tags and free-text history.
The importer reads the HDF5 tree itself (DCStore is not needed) and repairs what DCStore loses:

- a version group without its ``version`` dataset (written after a reload) is recovered from the
  group name ``vNNNN`` rather than skipped;
- a default set after a reload is only in the history ("sets default version N"): the last such
  record wins over the stored ``versdef``;
- ranges become half-open ``[begin, end)`` in integer ns; the latest ``begin`` wins where ranges
  overlap (:attr:`Overlap.LATEST_SINCE`), and a range without versions no longer shadows older
  ones;
- physically deleted ranges and versions are kept on record as history notes.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tierflow.calib._model import Axis, Overlap
from tierflow.calib._times import from_seconds
from tierflow.errors import FormatError

if TYPE_CHECKING:
    from tierflow.calib._edit import Editor
    from tierflow.calib._store import Store

__all__ = ["ImportReport", "import_dcstore"]

_VERSION_GROUP = re.compile(r"^v(\d{4,})$")
_DEFAULT_RECORD = re.compile(r"set_vnum_defdef sets default version (\d+)")
_ADD_VERSION_RECORD = re.compile(r"^add version (\d+): ?(.*)$", re.S)


@dataclass
class ImportReport:
    """What an import stored, and what it had to repair (one line per repair)."""

    detector: str
    source: str
    intervals: int = 0
    versions: int = 0
    notes: list[str] = field(default_factory=list)


def _scalar(node: Any) -> Any:
    value = node[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size == 1 else value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.item() if isinstance(value, np.generic) else value


def _parameters(group: Any) -> dict[str, Any]:
    params = group.get("_parameters")
    return {} if params is None else {k: _scalar(params[k]) for k in sorted(params)}


def _history(group: Any) -> list[tuple[str, str]]:
    hist = group.get("_history")
    return [] if hist is None else [(k, str(_scalar(hist[k]))) for k in sorted(hist, key=float)]


def import_dcstore(
    store: Store,
    path: str | os.PathLike[str],
    *,
    detector: str | None = None,
    author: str | None = None,
) -> ImportReport:
    """Import one DCStore file into `store` as a new detector; returns what was done.

    Parameters
    ----------
    store
        The target store.
    path
        A DCStore HDF5 file.
    detector
        Name for the detector (default: the file's ``detname``, else its file name).
    author
        Recorded as the author of the import (default: the store's).

    Examples
    --------
    >>> report = import_dcstore(store, "cspad-987654.h5")  # doctest: +SKIP
    >>> at = from_seconds(1500000500.0)
    >>> store.get("cspad-987654", "pedestals", at=at).version  # doctest: +SKIP
    2
    """
    import h5py

    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise FormatError(f"cannot open DCStore file: {error}", file=path) from None
    with handle, store.edit(author) as edit:
        name, report = _import_detector(edit, handle, path, detector)
        edit.note(name, f"imported from DCStore file {path.name}", sha256=digest)
        for ctype in sorted(
            k for k in handle if isinstance(handle[k], h5py.Group) and not k.startswith("_")
        ):
            _import_ctype(edit, name, handle[ctype], report)
    return report


def _import_detector(
    edit: Editor, handle: Any, path: Path, detector: str | None
) -> tuple[str, ImportReport]:
    stem_type, _, stem_id = path.stem.partition("-")
    dettype = str(_scalar(handle["dettype"])) if "dettype" in handle else stem_type
    detid = str(_scalar(handle["detid"])) if "detid" in handle else stem_id
    name = detector or (str(_scalar(handle["detname"])) if "detname" in handle else path.stem)
    if not dettype:
        raise FormatError(
            "not a DCStore file: no dettype, and the name is not <type>-<id>.h5", file=path
        )
    tags = _parameters(handle)
    if "tscfile" in handle:
        tags["dcstore_tscfile"] = float(_scalar(handle["tscfile"]))
    links = {k: str(_scalar(handle[k])) for k in ("predecessor", "successor") if k in handle}
    edit.add_detector(
        name,
        dettype,
        detid,
        tags=tags,
        predecessor=links.get("predecessor"),
        successor=links.get("successor"),
    )
    for stamp, text in _history(handle):
        edit.note(name, text, dcstore_time=stamp, dcstore_level="detector")
    return name, ImportReport(name, str(path))


def _import_ctype(edit: Editor, name: str, group: Any, report: ImportReport) -> None:
    ctype = group.name.rsplit("/", 1)[-1]
    edit.add_ctype(
        name,
        ctype,
        axis=Axis.TIME,
        overlap=Overlap.LATEST_SINCE,
        description="imported from DCStore",
    )
    tags = _parameters(group)
    if tags:
        edit.note(name, f"calibration type {ctype} tags", ctype=ctype, tags=tags)
    for stamp, text in _history(group):
        edit.note(name, text, ctype=ctype, dcstore_time=stamp)
        if text.startswith("del range"):
            report.notes.append(f"{ctype}: range deleted in DCStore, data gone: {text!r}")
    ranges = [group[k] for k in group if "begin" in group[k]]
    for node in sorted(ranges, key=lambda r: (float(_scalar(r["begin"])), r.name)):
        _import_range(edit, name, ctype, node, report)


def _bounds(node: Any) -> tuple[int, int | None]:
    begin = from_seconds(float(_scalar(node["begin"])))
    end = _scalar(node["end"])
    if isinstance(end, str):
        if end != "end":
            raise FormatError(f"range end {end!r} is neither a number nor 'end'", obj=node.name)
        return begin, None
    return begin, from_seconds(float(end))


def _import_range(edit: Editor, name: str, ctype: str, node: Any, report: ImportReport) -> None:
    since, until = _bounds(node)
    key = str(_scalar(node["range"])) if "range" in node else node.name.rsplit("/", 1)[-1]
    history = _history(node)
    comments = {int(m[1]): m[2] for _, t in history if (m := _ADD_VERSION_RECORD.match(t))}
    iid = edit.add_interval(name, ctype, since, until, key=key, tags=_parameters(node))
    report.intervals += 1
    versions = _read_versions(node, key, ctype, report)
    for number, vnode in versions:
        edit.add(
            name,
            ctype,
            vnode["data"][()],
            since,
            until,
            number=number,
            produced=from_seconds(float(_scalar(vnode["tsprod"]))),
            comment=comments.get(number, ""),
            tags=_parameters(vnode),
        )
        report.versions += 1
    for stamp, text in history:
        edit.note(name, text, ctype=ctype, interval=iid, dcstore_time=stamp)
    default = _intended_default(node, history, {n for n, _ in versions}, key, report)
    if default is not None:
        edit.set_default(name, ctype, iid, default)
    if not versions:
        report.notes.append(f"{ctype} {key}: no versions left; it no longer shadows older ranges")


def _read_versions(node: Any, key: str, ctype: str, report: ImportReport) -> list[tuple[int, Any]]:
    found = []
    for child in node:
        match = _VERSION_GROUP.match(child)
        if not match or "data" not in node[child]:
            continue
        vnode = node[child]
        if "version" in vnode:
            number = int(_scalar(vnode["version"]))
        else:
            number = int(match[1])
            report.notes.append(
                f"{ctype} {key} {child}: no 'version' dataset (DCStore skips "
                f"this group as corrupted); recovered as version {number}"
            )
        found.append((number, vnode))
    return sorted(found, key=lambda item: item[0])


def _intended_default(
    node: Any, history: list[tuple[str, str]], numbers: set[int], key: str, report: ImportReport
) -> int | None:
    stored = int(_scalar(node["versdef"])) if "versdef" in node else 0
    requested = [int(m[1]) for _, t in history if (m := _DEFAULT_RECORD.search(t))]
    chosen = requested[-1] if requested else stored
    if requested and chosen != stored:
        report.notes.append(
            f"{key}: default {chosen} was set after a reload but DCStore kept "
            f"versdef={stored}; using {chosen}"
        )
    if chosen == 0:
        return None
    if chosen not in numbers:
        report.notes.append(f"{key}: default version {chosen} does not exist; using the latest")
        return None
    return chosen
