"""The production config: inputs with keys, output templates per tier, tier configs, calib store."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tierflow.errors import ConfigError, NotFoundError

__all__ = [
    "FORMAT_VERSION",
    "CalibSettings",
    "ProductionConfig",
    "config_hash",
    "load_mapping",
    "make_production_config",
]

FORMAT_VERSION = 1
_KEYS = {"format_version", "inputs", "outputs", "tiers", "tier_config", "calib", "root"}


def load_mapping(value: Any, base: Path, what: str) -> dict[str, Any]:
    """A dict from a mapping or a JSON/YAML file (relative to `base`); never the caller's."""
    if isinstance(value, Mapping):
        return copy.deepcopy(dict(value))
    if isinstance(value, (str, os.PathLike)):
        path = base / value
        if not path.is_file():
            raise NotFoundError(f"{what}: no file {str(path)!r}", file=path)
        text = path.read_text()
        if path.suffix == ".json":
            loaded = json.loads(text)
        else:
            import yaml

            loaded = yaml.safe_load(text)
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"{what}: the file does not hold a mapping", file=path)
        return dict(loaded)
    raise ConfigError(f"{what}: expected a mapping or a file name, not {type(value).__name__}")


def config_hash(config: Any) -> str:
    """A short, stable hash of a JSON-able config (key order does not matter).

    Example
    -------
    >>> config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    True
    """
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CalibSettings:
    """Where calibration constants go and come from: a store directory and a global tag."""

    store: Path | None = None
    global_tag: str | None = None


@dataclass(frozen=True)
class ProductionConfig:
    """A whole production: which files, which tiers, where outputs go, how each tier runs.

    Paths are relative to `root` (by default the config file's directory).

    Example
    -------
    >>> cfg = make_production_config({
    ...     "inputs": "daq/{run}-{timestamp}.fcio",
    ...     "outputs": {"raw": "raw/{run}-{timestamp}_raw.lh5"},
    ...     "tiers": ["raw"], "tier_config": {"raw": {}}}, root="/data")
    >>> cfg.tiers
    ('raw',)
    """

    root: Path
    inputs: tuple[str, ...]
    outputs: Mapping[str, str]
    tiers: tuple[str, ...]
    tier_config: Mapping[str, Mapping[str, Any]]
    calib: CalibSettings = field(default_factory=CalibSettings)

    def output_template(self, tier: str) -> str:
        if tier not in self.outputs:
            raise NotFoundError(
                f"no output template for tier {tier!r}", obj=tier, candidates=self.outputs
            )
        return self.outputs[tier]

    def step_config(self, tier: str) -> Mapping[str, Any]:
        return self.tier_config.get(tier, {})


def _check_keys(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise NotFoundError(f"unknown key {key!r} in {where}", obj=key, candidates=allowed)


def make_production_config(
    config: Mapping[str, Any] | str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> ProductionConfig:
    """Validate a production config (a mapping or a YAML/JSON file) into a
    :class:`ProductionConfig`; unknown keys are errors naming the closest ones."""
    if isinstance(config, (str, os.PathLike)):
        path = Path(config).resolve()
        raw = load_mapping(path.name, path.parent, "production config")
        base = path.parent
    else:
        raw, base = copy.deepcopy(dict(config)), Path.cwd()
    _check_keys(raw, _KEYS, "the production config")
    version = raw.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ConfigError(f"production config format_version {version} (this reads 1)")
    base = Path(root) if root is not None else base / raw.get("root", ".")
    for key in ("inputs", "outputs", "tiers"):
        if key not in raw:
            raise ConfigError(f"the production config needs {key!r}", obj=key)
    inputs = raw["inputs"]
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    tiers = tuple(raw["tiers"])
    tier_config = {
        tier: load_mapping(value, base, f"tier_config.{tier}")
        for tier, value in (raw.get("tier_config") or {}).items()
    }
    calib = raw.get("calib") or {}
    _check_keys(calib, {"store", "global_tag"}, "calib")
    store = calib.get("store")
    settings = CalibSettings(None if store is None else base / store, calib.get("global_tag"))
    return ProductionConfig(base, inputs, dict(raw["outputs"]), tiers, tier_config, settings)
