"""The evt config (the anchor's format), parsed once into typed operations.

A config has ``channels`` (name → list, string, or a ``{"module": ..., ...}`` metadata
lookup mapped through :data:`CHANNEL_SOURCES`), optional ``channel_mapping``, ``outputs``
and ordered ``operations``. Nothing in it is passed to ``eval``: expressions go through
:mod:`tierflow.expr`, function calls are parsed with :mod:`ast` and looked up in
:data:`tierflow.evt.EVT_FUNCTIONS`.
"""

from __future__ import annotations

import ast
import enum
import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from tierflow.errors import ConfigError, NotFoundError
from tierflow.registry import Registry

__all__ = [
    "CHANNEL_SOURCES",
    "EvtConfig",
    "FunctionCall",
    "KeepAtCh",
    "Operation",
    "load_mapping",
    "make_evt_config",
]

ConfigLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]

CHANNEL_SOURCES: Registry[Callable[[Mapping[str, Any]], list[str]]] = Registry(
    "evt channel-list source", entry_point_group="tierflow.evt_channel_sources"
)
"""Functions returning channel lists, by the module path a config names
(``{"module": "pygama.evt.modules.legend.metadata", "time_key": ..., ...}``)."""

_CONSTANT_INITIALS = {"np.nan": np.nan, "np.inf": np.inf, "-np.inf": -np.inf}
_KNOWN_KEYS = frozenset(
    {
        "channels",
        "exclude_channels",
        "aggregation_mode",
        "expression",
        "query",
        "parameters",
        "initial",
        "dtype",
        "lgdo_attrs",
        "description",
        "sort",
    }
)


def load_mapping(source: ConfigLike) -> dict[str, Any]:
    """A config as a dict: itself, or read from a JSON or YAML file."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    if not path.exists():
        raise NotFoundError(f"no config file {str(path)!r}", file=str(path))
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it
        loaded = yaml.load(text, Loader=loader)
    else:
        loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ConfigError("an evt config must be a mapping", file=str(path))
    return loaded


@dataclass(frozen=True)
class FunctionCall:
    """An event function named in a config: registry name, constant keyword arguments and
    keyword arguments that refer to evt columns (``evt.x``) or parameters."""

    name: str
    constants: Mapping[str, Any]
    references: Mapping[str, str]


@dataclass(frozen=True)
class Operation:
    """One operation of an evt config, validated."""

    name: str
    expression: str
    mode: str | None = None
    """Aggregation mode name (``first_at``, ``sum``, ``gather``, ``function``...)."""
    mode_arg: str | None = None
    """What follows the colon of ``first_at:dsp.tp_0_est``."""
    channels: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    query: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    initial: Any = np.nan
    dtype: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    sort: str | None = None
    call: FunctionCall | None = None


class KeepAtCh(str, enum.Enum):
    """Where ``keep_at_ch:evt.<ids>`` puts a channel's value."""

    NAMED = "named"
    """In the events whose id names that channel; other events keep the initial value."""
    ANCHOR = "anchor"
    """As the anchor (pygama 2.x) does, for byte parity: in every event the channel has a hit
    in, channels in ascending id order, the last one winning; a channel of the id column
    outside the operation's channels (or excluded) writes the initial value."""


@dataclass(frozen=True)
class EvtConfig:
    """A parsed evt config."""

    channels: Mapping[str, tuple[str, ...]]
    operations: tuple[Operation, ...]
    outputs: tuple[str, ...]
    channel_mapping: Mapping[str, Any] | None = None
    keep_at_ch: KeepAtCh = KeepAtCh.NAMED
    """How ``keep_at_ch`` behaves (not part of the config file: a build_evt option)."""


def _resolve_channels(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            out[key] = (value,)
        elif isinstance(value, (list, tuple)):
            out[key] = tuple(str(v) for v in value)
        elif isinstance(value, Mapping):
            out[key] = tuple(_channels_from_source(key, value))
        else:
            raise ConfigError(f"channels.{key} must be a list, a string or a mapping", obj=key)
    return out


def _channels_from_source(key: str, spec: Mapping[str, Any]) -> list[str]:
    module = spec.get("module")
    if module is None:
        raise ConfigError(f"channels.{key} needs a 'module' naming a channel source", obj=key)
    if "time_key" not in spec:
        raise ConfigError(f"channels.{key} needs a 'time_key'", obj=key)
    name = _registry_name(str(module), CHANNEL_SOURCES)
    options = dict(spec)
    if options["time_key"] == "None":
        options["time_key"] = None
    return list(CHANNEL_SOURCES[name](options))


def _registry_name(path: str, registry: Registry[Any]) -> str:
    """The registry entry for an anchor module path: the full path, or its last two parts."""
    for candidate in (path, ".".join(path.split(".")[-2:]), path.split(".")[-1]):
        if candidate in registry:
            return candidate
    raise NotFoundError(
        f"no {registry.kind} {path!r}", obj=path.split(".")[-1], candidates=list(registry)
    )


def _channel_list(
    spec: Any, groups: Mapping[str, tuple[str, ...]], op: str, key: str
) -> tuple[str, ...]:
    names = [spec] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for name in names:
        if name not in groups:
            raise NotFoundError(
                f"operation {op!r}: {key} names an unknown channel group {name!r}",
                obj=str(name),
                candidates=list(groups),
            )
        out.extend(groups[name])
    return tuple(out)


def _initial(value: Any) -> Any:
    if isinstance(value, str):
        if value in _CONSTANT_INITIALS:
            return _CONSTANT_INITIALS[value]
        raise ConfigError(f"initial value {value!r} is not a number, a boolean or np.nan")
    return value


def _split_mode(text: str) -> tuple[str, str | None]:
    name, sep, arg = text.partition(":")
    return name.strip(), (arg.strip() if sep else None)


def parse_call(text: str, op: str, registry: Registry[Any]) -> FunctionCall:
    """Parse ``package.module.func(<...>, key=value, ...)`` without evaluating it."""
    source = text.strip().replace("<...>", "__placeholder__", 1)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise ConfigError(
            f"operation {op!r}: cannot parse the function call ({error.msg})", obj=op
        ) from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise ConfigError(f"operation {op!r}: 'function' mode needs a function call", obj=op)
    name = ast.unparse(call.func)
    key = _registry_name(name, registry)
    constants: dict[str, Any] = {}
    references: dict[str, str] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ConfigError(f"operation {op!r}: '**' is not allowed", obj=op)
        try:
            constants[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            if not isinstance(keyword.value, (ast.Name, ast.Attribute)):
                raise ConfigError(
                    f"operation {op!r}: argument {keyword.arg!r} must be a constant or a "
                    f"column name, not {ast.unparse(keyword.value)!r}",
                    obj=op,
                ) from None
            references[keyword.arg] = ast.unparse(keyword.value)
    return FunctionCall(key, constants, references)


def _make_operation(
    name: str,
    spec: Mapping[str, Any],
    groups: Mapping[str, tuple[str, ...]],
    functions: Registry[Any],
) -> Operation:
    unknown = set(spec) - _KNOWN_KEYS
    if unknown:
        bad = sorted(unknown)[0]
        raise NotFoundError(
            f"operation {name!r} has an unknown key {bad!r}",
            obj=bad,
            candidates=sorted(_KNOWN_KEYS),
        )
    if "expression" not in spec:
        raise ConfigError(f"operation {name!r} has no expression", obj=name)
    mode, arg = (None, None)
    if "aggregation_mode" in spec:
        mode, arg = _split_mode(str(spec["aggregation_mode"]))
    expression = str(spec["expression"])
    call = parse_call(expression, name, functions) if mode == "function" else None
    attrs = dict(spec.get("lgdo_attrs", {}))
    if "description" in spec:
        attrs["description"] = spec["description"]
    return Operation(
        name=name,
        expression=expression.strip(),
        mode=mode,
        mode_arg=arg,
        channels=_channel_list(spec["channels"], groups, name, "channels")
        if "channels" in spec
        else (),
        exclude=_channel_list(spec["exclude_channels"], groups, name, "exclude_channels")
        if "exclude_channels" in spec
        else (),
        query=spec.get("query"),
        parameters=dict(spec.get("parameters") or {}),
        initial=_initial(spec.get("initial", np.nan)),
        dtype=spec.get("dtype"),
        attrs=attrs,
        sort=spec.get("sort"),
        call=call,
    )


def make_evt_config(source: ConfigLike) -> EvtConfig:
    """Parse and check an evt config (a dict, or a JSON/YAML file); the input is not changed.

    Example
    -------
    >>> config = make_evt_config({
    ...     "channels": {"geds": ["ch1084803", "ch1084804"]},
    ...     "outputs": ["energy_sum"],
    ...     "operations": {"energy_sum": {"channels": "geds", "aggregation_mode": "sum",
    ...                                   "expression": "hit.cuspEmax_ctc_cal", "initial": 0}},
    ... })
    >>> config.operations[0].mode, config.operations[0].channels
    ('sum', ('ch1084803', 'ch1084804'))
    """
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        status = Path(source).stat()  # a file's parse is reused while it is unchanged
        key = (str(Path(source).resolve()), status.st_mtime_ns, status.st_size)
        raw = _read_file(*key)
        channels = raw.get("channels")
        if isinstance(channels, Mapping) and any(isinstance(v, Mapping) for v in channels.values()):
            return _make_evt_config(raw)  # channel sources read other files: every time
        return _file_config(*key)
    return _make_evt_config(source)


@functools.lru_cache(maxsize=32)
def _read_file(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    """The mapping in file `path` as it is at (`mtime_ns`, `size`); shared: do not change."""
    return load_mapping(path)


@functools.lru_cache(maxsize=32)
def _file_config(path: str, mtime_ns: int, size: int) -> EvtConfig:
    return _make_evt_config(_read_file(path, mtime_ns, size))


def _make_evt_config(source: ConfigLike) -> EvtConfig:
    from tierflow.evt._functions import EVT_FUNCTIONS

    raw = load_mapping(source)
    for key in ("channels", "operations"):
        if key not in raw:
            raise ConfigError(f"an evt config needs a {key!r} section", obj=key)
    groups = _resolve_channels(raw["channels"])
    ops = tuple(
        _make_operation(name, spec, groups, EVT_FUNCTIONS)
        for name, spec in raw["operations"].items()
    )
    outputs = tuple(raw.get("outputs", [op.name for op in ops]))
    known = [op.name for op in ops]
    for output in outputs:
        if output not in known:
            raise NotFoundError(
                f"output {output!r} is not an operation", obj=output, candidates=known
            )
    mapping = raw.get("channel_mapping")
    if isinstance(mapping, (str, os.PathLike)):
        mapping = load_mapping(mapping)
    return EvtConfig(groups, ops, outputs, mapping)


def flatten_channels(groups: Mapping[str, Sequence[str]]) -> list[str]:
    """Every channel of every group, in order, once."""
    return list(dict.fromkeys(c for g in groups.values() for c in g))
