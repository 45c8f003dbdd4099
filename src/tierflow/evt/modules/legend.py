"""LEGEND helpers: channel lists from the detector metadata, channel ids to detector names.

A config's channel group may be a metadata lookup::

    channels:
      geds_on:
        module: pygama.evt.modules.legend.metadata
        meta_path: /data/legend-metadata     # with legendmeta installed
        time_key: 20230322T160139Z
        system: geds
        selectors: {analysis.usability: "on"}

Without `legendmeta`, ``channelmap`` may name a JSON/YAML channel map instead (detector
name → record with ``system`` and ``daq.rawid``). Selectors are dotted paths into each
record compared with the value; nothing is evaluated.

Example
-------
>>> chmap = {"V01": {"system": "geds", "daq": {"rawid": 1084803},
...                  "analysis": {"usability": "on"}},
...          "S01": {"system": "spms", "daq": {"rawid": 1057600}}}
>>> channels_from_channelmap(chmap, "geds", {"analysis.usability": "on"})
['ch1084803']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tierflow.errors import ConfigError, NotFoundError, OptionalDependencyError
from tierflow.evt._config import CHANNEL_SOURCES, load_mapping
from tierflow.evt._data import EventChunk
from tierflow.evt._functions import register_evt_function
from tierflow.types import Array, VectorOfVectors

__all__ = ["channels_from_channelmap", "convert_rawid", "metadata"]

_MISSING = object()


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def channels_from_channelmap(
    chmap: Mapping[str, Any],
    system: str,
    selectors: Mapping[str, Any] | None = None,
    table_fmt: str = "ch{}",
) -> list[str]:
    """Channel names (``ch<rawid>``) of the `system` in a channel map whose records match
    every selector (dotted path → value), in the map's order."""
    out = []
    for name, record in chmap.items():
        if not isinstance(record, Mapping) or record.get("system") != system:
            continue
        rawid = _lookup(record, "daq.rawid")
        if rawid is _MISSING:
            raise ConfigError(f"channel map entry {name!r} has no daq.rawid", obj=str(name))
        if all(_lookup(record, k) == v for k, v in (selectors or {}).items()):
            out.append(table_fmt.format(rawid))
    return out


def _channelmap(params: Mapping[str, Any]) -> Mapping[str, Any]:
    if "channelmap" in params:
        return load_mapping(params["channelmap"])
    if "meta_path" not in params:
        raise ConfigError("a metadata channel list needs 'meta_path' or 'channelmap'")
    try:
        import legendmeta
    except ImportError:
        raise OptionalDependencyError(
            "channel lists from 'meta_path' need legendmeta: pip install pylegendmeta "
            "(or give 'channelmap': a JSON/YAML channel map file)"
        ) from None
    import os

    meta = legendmeta.LegendMetadata(path=os.path.expandvars(str(params["meta_path"])))
    chmap: Mapping[str, Any] = meta.channelmap(params["time_key"])
    return chmap


def metadata(params: Mapping[str, Any]) -> list[str]:
    """The channel list a config's ``{"module": "...legend.metadata", ...}`` group names."""
    if "system" not in params:
        raise ConfigError("a metadata channel list needs a 'system' (geds, spms, ...)")
    return channels_from_channelmap(
        _channelmap(params), str(params["system"]), params.get("selectors")
    )


def convert_rawid(
    chunk: EventChunk,
    channels: Sequence[str],
    channel_mapping: Mapping[str, Any] | None = None,
    *,
    rawid_obj: Array | VectorOfVectors,
) -> Array | VectorOfVectors:
    """Detector names of channel ids through the config's ``channel_mapping``
    (``ch1084803`` → ``V01240A``); id 0 gives ``"0000000"``.

    Example
    -------
    >>> # pygama.evt.modules.legend.convert_rawid(<...>, rawid_obj=evt.energy_id)
    """
    if channel_mapping is None:
        raise ConfigError("convert_rawid needs the config's channel_mapping")
    fmt = chunk.hit_fmt
    flat = (
        rawid_obj.flattened_data.view_as("np")
        if isinstance(rawid_obj, VectorOfVectors)
        else rawid_obj.nda
    )
    unique, inverse = np.unique(np.asarray(flat), return_inverse=True)
    names = []
    for rawid in unique.tolist():
        channel = fmt.format(rawid)
        if rawid == 0:
            names.append("0000000")
        elif channel in channel_mapping:
            names.append(str(channel_mapping[channel]))
        else:
            raise NotFoundError(
                f"channel {channel!r} is not in channel_mapping",
                obj=channel,
                candidates=list(channel_mapping),
            )
    detector = np.array(names)[inverse.reshape(-1)] if names else np.array([], dtype="U7")
    if isinstance(rawid_obj, VectorOfVectors):
        return VectorOfVectors(
            flattened_data=Array(detector),
            cumulative_length=np.array(rawid_obj.cumulative_length.nda),
        )
    return Array(detector)


CHANNEL_SOURCES.add("pygama.evt.modules.legend.metadata", metadata)
CHANNEL_SOURCES.add("legend.metadata", metadata)
register_evt_function("legend", "convert_rawid", convert_rawid)
