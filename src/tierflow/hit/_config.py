"""The hit config (pygama's format, unchanged) as typed, validated, immutable objects.

.. code-block:: json

    {
      "outputs": ["calE", "AoE", "quality"],
      "operations": {
        "calE": {"expression": "sqrt(a + b * trapEmax**2)",
                 "parameters": {"a": 1.23, "b": {"calib": "ecal", "key": "trapEmax.b"}},
                 "lgdo_attrs": {"units": "keV"}, "description": "calibrated energy"},
        "AoE": {"expression": "A_max / calE"}
      },
      "aggregations": {"quality": {"bit0": "is_valid_t0", "bit1": "is_valid_tmax"}}
    }
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from tierflow.errors import ConfigError, NotFoundError, closest
from tierflow.expr import Expression, compile_expr, order_by_dependency

__all__ = [
    "Aggregation",
    "CalibRef",
    "ConfigLike",
    "HitConfig",
    "Operation",
    "load_mapping",
    "make_hit_config",
]

ConfigLike = Union["HitConfig", Mapping[str, Any], str, Path]
"""A hit config: made already, a mapping, or a JSON/YAML file."""

_TOP_KEYS = ("outputs", "operations", "aggregations")
_OPERATION_KEYS = ("expression", "parameters", "lgdo_attrs", "description")
_CALIB_KEYS = ("calib", "key")
_BIT_KEY = re.compile(r"bit(\d+)")


def load_mapping(source: Mapping[str, Any] | str | Path, what: str = "config") -> dict[str, Any]:
    """A mapping as it is, or read from a JSON or YAML file (by suffix; JSON otherwise)."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    if not path.is_file():
        raise NotFoundError(f"no {what} file {str(path)!r}", file=path)
    loaded = _parse_file(path, what)
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"the {what} must be a mapping, not {type(loaded).__name__}", file=path)
    return dict(loaded)


def _parse_file(path: Path, what: str) -> Any:
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"cannot read the {what}: {error}", file=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"cannot read the {what}: {error}", file=path) from None


def _check_keys(given: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in given:
        if key not in allowed:
            near = closest(str(key), allowed)
            hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
            raise ConfigError(
                f"unknown key {key!r} in {where} (allowed: {', '.join(allowed)}){hint}"
            )


@dataclass(frozen=True)
class CalibRef:
    """A parameter taken from the calibration store: ``{"calib": ctype, "key": "a.b"}``.

    `key` is a dotted path into the payload (a dict); integer parts index lists."""

    ctype: str
    key: str

    def extract(self, payload: Any, detector: str, at: int) -> Any:
        """The value at `key` inside `payload` (the store's payload for `detector` at `at`)."""
        value = payload
        for part in self.key.split("."):
            parent, value = value, _step(value, part)
            if value is _MISSING:
                raise NotFoundError(
                    f"no key {self.key!r} in the {self.ctype!r} payload of {detector} at {at} ns",
                    obj=part,
                    candidates=payload_keys(parent),
                )
        return value


def _step(value: Any, part: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(part, _MISSING)
    if isinstance(value, (list, tuple)) and part.lstrip("-").isdigit():
        index = int(part)
        return value[index] if -len(value) <= index < len(value) else _MISSING
    return _MISSING


_MISSING = object()


def payload_keys(value: Any) -> list[str]:
    """The keys one level into a payload, for suggestions."""
    return [str(k) for k in value] if isinstance(value, Mapping) else []


Parameter = Union[CalibRef, int, float, bool, np.ndarray]


@dataclass(frozen=True)
class Operation:
    """One output column made by an expression."""

    name: str
    expression: Expression
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    attrs: Mapping[str, Any] = field(default_factory=dict)
    """``lgdo_attrs`` plus ``description``: attributes of the output column."""

    @property
    def calib_parameters(self) -> dict[str, CalibRef]:
        return {k: v for k, v in self.parameters.items() if isinstance(v, CalibRef)}


@dataclass(frozen=True)
class Aggregation:
    """Boolean columns packed into the bits of one unsigned integer column."""

    name: str
    bits: tuple[str, ...]
    """The column of bit 0, bit 1, ..."""

    @property
    def dtype(self) -> np.dtype[Any]:
        """The smallest unsigned integer type with a bit for every column."""
        for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
            if len(self.bits) <= 8 * np.dtype(dtype).itemsize:
                return np.dtype(dtype)
        raise ConfigError(f"aggregation {self.name!r} has {len(self.bits)} bits, more than 64")


@dataclass(frozen=True)
class HitConfig:
    """A validated hit config: operations in evaluation order, aggregations, outputs.

    Make one with :func:`make_hit_config`."""

    operations: tuple[Operation, ...]
    aggregations: tuple[Aggregation, ...] = ()
    outputs: tuple[str, ...] | None = None
    """Columns written, or ``None`` for every input and new column."""

    @property
    def produced(self) -> set[str]:
        """Names of the columns the config makes."""
        return {op.name for op in self.operations} | {a.name for a in self.aggregations}

    def input_names(self) -> list[str]:
        """Names read from the input table (``None`` outputs add every input column).

        A name an operation uses is an input unless it is one of its parameters or an
        earlier operation's output; an operation that uses its own name reads the input."""
        names: dict[str, None] = {}
        made: set[str] = set()
        for op in self.operations:
            for name in op.expression.names:
                if name not in op.parameters and name not in made:
                    names.setdefault(name)
            made.add(op.name)
        for aggregation in self.aggregations:
            names.update(dict.fromkeys(b for b in aggregation.bits if b not in made))
        for output in self.outputs or ():
            if output not in self.produced:
                names.setdefault(output)
        return list(names)

    @property
    def uses_calib(self) -> bool:
        return any(op.calib_parameters for op in self.operations)


def _parameter(value: Any, where: str) -> Parameter:
    if isinstance(value, Mapping):
        _check_keys(value, _CALIB_KEYS, where)
        if not all(isinstance(value.get(k), str) for k in _CALIB_KEYS):
            raise ConfigError(f"{where} needs string 'calib' and 'key' entries")
        return CalibRef(value["calib"], value["key"])
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        array = np.asarray(value)
        if array.dtype.kind in "biuf":
            return array
    raise ConfigError(
        f"{where} must be a number, a list of numbers or {{'calib': ..., 'key': ...}}, "
        f"not {value!r}"
    )


def _operation(name: str, spec: Any) -> Operation:
    where = f"operation {name!r}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a mapping with an 'expression'")
    _check_keys(spec, _OPERATION_KEYS, where)
    if "expression" not in spec:
        raise ConfigError(f"{where} has no 'expression'")
    try:
        expression = compile_expr(spec["expression"])
    except ConfigError as error:
        error.obj = f"operations/{name}/expression"
        raise
    parameters = {
        str(k): _parameter(v, f"parameter {k!r} of {where}")
        for k, v in (spec.get("parameters") or {}).items()
    }
    attrs = dict(spec.get("lgdo_attrs") or {})
    if "description" in spec:
        attrs["description"] = spec["description"]
    return Operation(name, expression, parameters, attrs)


def _aggregation(name: str, spec: Any) -> Aggregation:
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(f"aggregation {name!r} must map bit0, bit1, ... to column names")
    columns = list(spec.values())
    if not all(isinstance(c, str) for c in columns):
        raise ConfigError(f"aggregation {name!r} must map bits to column names")
    numbers = [_BIT_KEY.fullmatch(str(k)) for k in spec]
    if all(numbers):  # bitN keys: the column goes to bit N, whatever the order of keys
        positions = [int(m.group(1)) for m in numbers if m]
        if sorted(positions) != list(range(len(positions))):
            raise ConfigError(
                f"aggregation {name!r} must number its bits bit0..bit{len(positions) - 1}, "
                f"not {', '.join(map(str, spec))}"
            )
        columns = [c for _, c in sorted(zip(positions, columns, strict=True))]
    return Aggregation(name, tuple(columns))


def make_hit_config(config: ConfigLike) -> HitConfig:
    """A :class:`HitConfig` from a mapping or a JSON/YAML file in pygama's format.

    The mapping is not modified. Operations are put in dependency order; a cycle, an
    unknown key or a refused expression is a :class:`~tierflow.errors.ConfigError`.

    Example
    -------
    >>> cfg = make_hit_config({"outputs": ["calE"], "operations": {
    ...     "calE": {"expression": "a * twice", "parameters": {"a": 0.5}},
    ...     "twice": {"expression": "2 * trapEmax"}}})
    >>> [op.name for op in cfg.operations], cfg.input_names()
    (['twice', 'calE'], ['trapEmax'])
    """
    if isinstance(config, HitConfig):
        return config
    raw = load_mapping(config, "hit config")
    _check_keys(raw, _TOP_KEYS, "the hit config")
    operations = {str(k): _operation(str(k), v) for k, v in (raw.get("operations") or {}).items()}
    order = order_by_dependency({k: op.expression for k, op in operations.items()})
    aggregations = tuple(
        _aggregation(str(k), v) for k, v in (raw.get("aggregations") or {}).items()
    )
    outputs = raw.get("outputs")
    if outputs is not None and not (
        isinstance(outputs, (list, tuple)) and all(isinstance(o, str) for o in outputs)
    ):
        raise ConfigError("'outputs' must be a list of column names")
    return HitConfig(
        tuple(operations[name] for name in order),
        aggregations,
        None if outputs is None else tuple(outputs),
    )
