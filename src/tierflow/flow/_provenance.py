"""Provenance of outputs (version, config hash, inputs, calibration versions) and atomic outputs."""

from __future__ import annotations

import datetime
import json
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PREFIX", "Provenance", "read_provenance", "staged_output", "write_provenance"]

PREFIX = "tierflow_"
"""Prefix of the provenance attributes on the root group of LH5 outputs."""
TEMP_SUFFIX = ".flow.tmp"
DOCUMENT_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Provenance:
    """What made an output: tier, tierflow version, config hash, inputs, calibration used."""

    tier: str
    config_hash: str
    inputs: Sequence[str]
    calib: Mapping[str, str] = field(default_factory=dict)
    version: str = ""

    def to_attrs(self) -> dict[str, str]:
        """Flat string attributes, as stored."""
        from tierflow import __version__

        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        out = {
            "tier": self.tier,
            "version": self.version or __version__,
            "config_hash": self.config_hash,
            "inputs": json.dumps([str(p) for p in self.inputs]),
            "created": now,
        }
        out.update(
            {k if k.startswith("calib") else f"calib_{k}": str(v) for k, v in self.calib.items()}
        )
        return out


def _is_document(path: Path) -> bool:
    return path.suffix in DOCUMENT_SUFFIXES or path.name.endswith(
        tuple(s + TEMP_SUFFIX for s in DOCUMENT_SUFFIXES)
    )


def write_provenance(path: str | os.PathLike[str], provenance: Provenance) -> None:
    """Record `provenance` in an LH5 file's root attributes or a JSON/YAML document's
    ``provenance`` key."""
    target = Path(path)
    attrs = provenance.to_attrs()
    if _is_document(target):
        doc = json.loads(target.read_text())
        doc["provenance"] = attrs
        target.write_text(json.dumps(doc, indent=1))
        return
    import h5py

    with h5py.File(target, "a") as handle:
        for key, value in attrs.items():
            handle.attrs[PREFIX + key] = value


def read_provenance(path: str | os.PathLike[str]) -> dict[str, str]:
    """The provenance attributes of an output (empty when it has none or cannot be read)."""
    target = Path(path)
    if _is_document(target):
        try:
            doc = json.loads(target.read_text())
        except (OSError, ValueError):
            return {}
        prov = doc.get("provenance", {}) if isinstance(doc, dict) else {}
        return {str(k): str(v) for k, v in prov.items()}
    import h5py

    try:
        with h5py.File(target, "r") as handle:
            return {
                k[len(PREFIX) :]: _text(v) for k, v in handle.attrs.items() if k.startswith(PREFIX)
            }
    except OSError:
        return {}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def staged_output(output: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to `output`, renamed to it when the block succeeds.

    Temporary files a killed worker left for the same output are removed first.

    Example
    -------
    >>> import tempfile; d = Path(tempfile.mkdtemp())
    >>> with staged_output(d / "a.json") as temp:
    ...     _ = temp.write_text("{}")
    >>> sorted(p.name for p in d.iterdir())
    ['a.json']
    """
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*{TEMP_SUFFIX}*"):
        stale.unlink(missing_ok=True)
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}{target.suffix}"
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
