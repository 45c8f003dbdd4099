"""Processing-chain configs: reading, normalising, database lookups and dependency order.

A config has ``outputs`` and ``processors``; each processor entry (keyed by the names it
computes, comma-separated) is either a dict with ``function``, ``module``, ``args``,
``kwargs``, ``unit``, ``defaults`` ... or a string such as ``"numpy.amax(wf, 1, out)"`` or
``"trapQftp * 16"``. The config given is never modified.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from tierflow.dsp._expr import BUILTINS, MODULES, names_in
from tierflow.errors import ConfigError, NotFoundError
from tierflow.expr import ExpressionError, parse_expression

__all__ = ["DSPConfig", "ProcessorEntry", "db_types", "load_config", "resolve_module"]

_DB = re.compile(r"(?![^\w_.])db\.[\w_.]+")
_KNOWN_KEYS = frozenset(
    {
        "function",
        "module",
        "args",
        "kwargs",
        "init_args",
        "unit",
        "defaults",
        "prereqs",
        "description",
        "lh5_attrs",
        "signature",
        "types",
        "coord_grid",
    }
)
PROCESSOR_MODULES = ("dspeed.processors", "tierflow.dsp.processors", "pygama.dsp.processors")
"""Modules whose functions are looked up by name in :data:`~tierflow.dsp.processors.PROCESSORS`."""


def load_config(config: str | os.PathLike[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """A deep copy of `config`, read from JSON or YAML when it is a path."""
    if config is None:
        raise ConfigError("no DSP config given")
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config))
    path = Path(config)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read DSP config: {error.strerror}", file=path) from None
    if path.suffix == ".json":
        loaded = json.loads(text)
    else:
        import yaml

        loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise ConfigError("a DSP config must be a mapping", file=path)
    return loaded


def db_types(config: Mapping[str, Any]) -> list[str]:
    """The first parts of every ``db.<type>.<key>`` reference in `config`, in order."""
    found: list[str] = []
    for ref in _DB.findall(json.dumps(config)):
        parts = ref.split(".")
        if len(parts) > 1 and parts[1] not in found:
            found.append(parts[1])
    return found


def resolve_module(module: str | None, function: str) -> str:
    """The registry name of `function` from `module` (``numpy.amax``, ``trap_norm``)."""
    if module is not None and not re.fullmatch(r"[A-Za-z_][\w.]*", str(module)):
        raise ConfigError(f"module {module!r} is not a dotted module name", obj=function)
    if module in MODULES:
        return f"numpy.{function}"
    if (
        module is None
        or module in PROCESSOR_MODULES
        or any(module.startswith(m + ".") for m in PROCESSOR_MODULES)
    ):
        return function
    return f"{module}.{function}"


@dataclass
class ProcessorEntry:
    """One processor of a config, normalised."""

    key: str
    names: list[str]
    function: str | None
    module: str | None
    args: list[Any]
    options: dict[str, Any] = field(default_factory=dict)
    prereqs: list[str] = field(default_factory=list)

    @property
    def is_expression(self) -> bool:
        """An inline expression (``"trapQftp * 16"``): no function, one argument."""
        return self.function is None

    @property
    def units(self) -> list[Any]:
        unit = self.options.get("unit")
        if unit is None:
            return []
        return list(unit) if isinstance(unit, list) else [unit] * len(self.names)


def _segments(source: str, nodes: Sequence[ast.AST]) -> list[str]:
    return [ast.get_source_segment(source, n) or "" for n in nodes]


def _split_function(key: str, node: dict[str, Any]) -> tuple[str | None, str | None, list[Any]]:
    """(function, module, args) from an entry whose ``function`` may be a call or expression."""
    text = str(node["function"]).strip()
    try:
        tree = parse_expression(text).body
    except ExpressionError as error:
        error.obj = key
        raise
    module = node.get("module")
    if isinstance(tree, ast.Name):
        return text, module, list(node.get("args", []))
    if isinstance(tree, ast.Attribute) and "args" in node:
        return tree.attr, ast.get_source_segment(text, tree.value), list(node["args"])
    if isinstance(tree, ast.Call) and "args" not in node:
        func = tree.func
        args = _segments(text, [*tree.args, *tree.keywords])
        if isinstance(func, ast.Name) and func.id in BUILTINS and module is None:
            return None, None, [text]
        if isinstance(func, ast.Name):
            return func.id, module, args
        if isinstance(func, ast.Attribute):
            return func.attr, ast.get_source_segment(text, func.value), args
    if "args" in node:
        raise ConfigError(f"cannot give args to the expression {text!r}", obj=key)
    return None, None, [text]


def _lookup(db: Mapping[str, Any] | None, path: str) -> Any:
    node: Any = db
    for part in path.split(".")[1:]:
        node = node[part]
    return node


def substitute_db(
    arg: Any, db: Mapping[str, Any] | None, defaults: Mapping[str, Any], key: str
) -> Any:
    """`arg` with every ``db.a.b`` replaced by its database value (or the entry's default)."""
    if not isinstance(arg, str):
        return arg
    for ref in _DB.findall(arg):
        try:
            value = _lookup(db, ref)
        except (KeyError, TypeError, IndexError):
            if ref not in defaults:
                raise NotFoundError(
                    f"{ref} is neither in the database nor in the defaults of {key!r}",
                    obj=ref,
                    candidates=list(defaults),
                ) from None
            value = defaults[ref]
        if arg == ref:
            return value
        arg = arg.replace(ref, str(value))
    return arg


@dataclass
class DSPConfig:
    """A config's outputs and processor entries, with what each entry needs first."""

    outputs: list[str]
    entries: dict[str, ProcessorEntry]
    by_name: dict[str, ProcessorEntry]

    @classmethod
    def parse(
        cls,
        config: Mapping[str, Any],
        db: Mapping[str, Any] | None = None,
        outputs: Sequence[str] | None = None,
    ) -> DSPConfig:
        """Normalise `config`, filling ``db.*`` references from `db`."""
        procs = config.get("processors", config)
        if outputs is None:
            if "outputs" not in config:
                raise ConfigError("the DSP config has no 'outputs' and none were given")
            outputs = config["outputs"]
        entries: dict[str, ProcessorEntry] = {}
        by_name: dict[str, ProcessorEntry] = {}
        for key, node in procs.items():
            entry = _entry(key, node, db)
            entries[key] = entry
            for name in entry.names:
                by_name[name] = entry
        for entry in entries.values():
            entry.prereqs = _prereqs(entry)
        return cls(list(outputs), entries, by_name)

    def order(self) -> tuple[list[ProcessorEntry], list[str]]:
        """Entries needed by the outputs, dependencies first; and the input names they read."""
        graph: dict[str, list[str]] = {}
        inputs: list[str] = []
        todo = [o for o in self.outputs if o in self.by_name]
        while todo:
            name = todo.pop()
            entry = self.by_name[name]
            if entry.key in graph:
                continue
            graph[entry.key] = [self.by_name[p].key for p in entry.prereqs if p in self.by_name]
            for p in entry.prereqs:
                if p in self.by_name:
                    todo.append(p)
                elif p not in inputs:
                    inputs.append(p)
        try:
            keys = list(TopologicalSorter(graph).static_order())
        except CycleError as error:
            raise ConfigError(f"circular dependency between {error.args[1]}") from None
        return [self.entries[k] for k in keys], inputs


def _entry(key: str, node: Any, db: Mapping[str, Any] | None) -> ProcessorEntry:
    names = [k for k in re.split(r"[,\s]+", key) if k]
    if isinstance(node, str):
        node = {"function": node}
    if not isinstance(node, Mapping) or "function" not in node:
        raise ConfigError(f"processor {key!r} needs a 'function'", obj=key)
    unknown = set(node) - _KNOWN_KEYS
    if unknown:
        bad = sorted(unknown)[0]
        raise NotFoundError(
            f"unknown key {bad!r} in processor {key!r}", obj=bad, candidates=_KNOWN_KEYS
        )
    function, module, args = _split_function(key, dict(node))
    defaults = node.get("defaults") or {}
    args = [substitute_db(a, db, defaults, key) for a in args]
    options = {k: v for k, v in node.items() if k not in ("function", "module", "args")}
    if "init_args" in options:
        options["init_args"] = [substitute_db(a, db, defaults, key) for a in options["init_args"]]
    return ProcessorEntry(key, names, function, module, args, options)


def _prereqs(entry: ProcessorEntry) -> list[str]:
    if "prereqs" in entry.options:
        return list(entry.options["prereqs"])
    found: list[str] = []
    for arg in entry.args:
        if not isinstance(arg, str):
            continue
        try:
            names = names_in(arg)
        except ExpressionError as error:
            error.obj = entry.key
            raise
        found += [n for n in names if n not in entry.names and n not in found]
    return found
