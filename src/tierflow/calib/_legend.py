"""Import of LEGEND-style metadata trees: ``validity.yaml`` plus the JSON/YAML files it applies.

A validity file is a list of entries ``{valid_from: YYYYmmddTHHMMSSZ, category, mode, apply}``.
Per category the running file list is transformed by each entry (``reset``, ``append``,
``remove``, ``replace [old, new]``; the first entry always resets); the files in force are
merged in order (later keys win, nested dicts merged). Each top-level key of the merged dict is a
detector; its value becomes the payload of ``[valid_from, next valid_from)``, and equal payloads
in a row share one interval.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierflow.calib._model import Axis, Overlap
from tierflow.calib._payload import canonical, content_hash
from tierflow.calib._times import parse_time
from tierflow.errors import ConfigError, FormatError, NotFoundError

if TYPE_CHECKING:
    from tierflow.calib._edit import Editor
    from tierflow.calib._store import Store

__all__ = ["Mode", "files_in_force", "import_legend_validity"]

_VALIDITY_NAMES = ("validity.yaml", "validity.yml", "validity.json", "validity.jsonl")


class Mode(str, enum.Enum):
    """How an entry changes the running list of files."""

    RESET = "reset"
    APPEND = "append"
    REMOVE = "remove"
    REPLACE = "replace"


def _load(path: Path) -> Any:
    import yaml

    text = path.read_text()
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise FormatError(f"cannot parse: {error}", file=path) from None


def _entries(path: Path) -> list[dict[str, Any]]:
    raw = _load(path)
    if not isinstance(raw, list):
        raise FormatError("a validity file is a list of entries", file=path)
    default_mode = Mode.RESET if path.suffix == ".jsonl" else Mode.APPEND
    entries = []
    for n, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or "valid_from" not in entry or "apply" not in entry:
            raise FormatError(f"entry {n} needs 'valid_from' and 'apply'", file=path, obj=str(n))
        apply = entry["apply"]
        categories = entry.get("category", "all")
        try:
            mode = Mode(entry.get("mode", default_mode))
        except ValueError:
            raise FormatError(
                f"entry {n}: unknown mode {entry.get('mode')!r} (one of {[m.value for m in Mode]})",
                file=path,
                obj=str(n),
            ) from None
        entries.append(
            {
                "since": parse_time(str(entry["valid_from"])),
                "mode": mode,
                "apply": [apply] if isinstance(apply, str) else list(apply),
                "categories": [categories] if isinstance(categories, str) else list(categories),
            }
        )
    return sorted(entries, key=lambda e: e["since"])


def files_in_force(
    path: str | os.PathLike[str], category: str = "all"
) -> list[tuple[int, list[str]]]:
    """(since ns, files in force) per change for `category` (falling back to ``all``)."""
    entries = _entries(Path(path))
    chosen = category if any(category in e["categories"] for e in entries) else "all"
    running: list[str] = []
    out: list[tuple[int, list[str]]] = []
    for entry in (e for e in entries if chosen in e["categories"]):
        running = _transform(running, entry["mode"] if out else Mode.RESET, entry["apply"], path)
        if out and out[-1][0] == entry["since"]:
            out[-1] = (entry["since"], list(running))
        else:
            out.append((entry["since"], list(running)))
    return out


def _transform(running: list[str], mode: Mode, apply: list[str], path: Any) -> list[str]:
    if mode is Mode.RESET:
        return list(apply)
    if mode is Mode.APPEND:
        return running + [f for f in apply if f not in running]
    if mode is Mode.REMOVE:
        return [f for f in running if f not in apply]
    if len(apply) != 2 or apply[0] not in running:
        raise FormatError(f"'replace' needs [old, new] with old in force; got {apply}", file=path)
    return [apply[1] if f == apply[0] else f for f in running]


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value
    return into


def _merged(folder: Path, files: Iterable[str]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in files:
        file = folder / name
        if not file.exists():
            raise NotFoundError(
                f"validity file names {name!r}, which is not there",
                file=folder,
                obj=name,
                candidates=[p.name for p in folder.iterdir()],
            )
        content = _load(file)
        if not isinstance(content, Mapping):
            raise FormatError("a metadata file must hold a mapping of detector → values", file=file)
        _merge(merged, content)
    return merged


def import_legend_validity(
    store: Store,
    folder: str | os.PathLike[str],
    ctype: str,
    *,
    category: str = "all",
    detector_type: str = "",
    author: str | None = None,
) -> dict[str, int]:
    """Import a LEGEND metadata folder (``validity.yaml`` + files) as calibration type `ctype`.

    Detectors missing from the store are created (type `detector_type`), and so is `ctype`
    (time axis, overlaps refused). Re-importing the same tree adds nothing. Returns the number of
    intervals per detector.

    Examples
    --------
    >>> import_legend_validity(store, "metadata/hit_pars", "hit_pars")  # doctest: +SKIP
    {'ch1084803': 2, 'ch1084804': 1}
    """
    folder = Path(folder)
    validity = next((folder / n for n in _VALIDITY_NAMES if (folder / n).exists()), None)
    if validity is None:
        raise NotFoundError(
            f"no validity file in {folder}",
            file=folder,
            obj="validity.yaml",
            candidates=[p.name for p in folder.iterdir()] if folder.is_dir() else (),
        )
    changes = files_in_force(validity, category)
    timeline = [(since, _merged(folder, files)) for since, files in changes]
    detectors = sorted({d for _, content in timeline for d in content})
    counts: dict[str, int] = {}
    with store.edit(author) as edit:
        for det in detectors:
            _ensure(edit, store, det, ctype, detector_type)
            counts[det] = _import_detector(edit, det, ctype, timeline, validity.name)
    return counts


def _ensure(edit: Editor, store: Store, det: str, ctype: str, detector_type: str) -> None:
    if det not in store.detector_names():
        edit.add_detector(det, detector_type)
    if ctype not in edit._working(det).ctypes:
        edit.add_ctype(
            det,
            ctype,
            axis=Axis.TIME,
            overlap=Overlap.REFUSE,
            description="imported from a LEGEND validity tree",
        )


def _import_detector(
    edit: Editor, det: str, ctype: str, timeline: list[tuple[int, dict[str, Any]]], source: str
) -> int:
    spans: list[tuple[int, int | None, Any, str]] = []
    for n, (since, content) in enumerate(timeline):
        until = timeline[n + 1][0] if n + 1 < len(timeline) else None
        if det not in content:
            continue
        if not isinstance(content[det], Mapping):
            raise ConfigError(f"{source}: the value of {det!r} is not a mapping")
        digest = content_hash(*canonical(content[det]))
        if spans and spans[-1][1] == since and spans[-1][3] == digest:
            spans[-1] = (spans[-1][0], until, spans[-1][2], digest)
        else:
            spans.append((since, until, content[det], digest))
    for since, until, value, _ in spans:
        edit.add(det, ctype, value, since, until, comment=f"from {source}", skip_identical=True)
    return len(spans)
