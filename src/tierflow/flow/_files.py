"""File sets: input files found by patterns with ``{key}`` fields, and paths made from keys."""

from __future__ import annotations

import glob
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tierflow.errors import ConfigError, NotFoundError

__all__ = ["FileKey", "find_inputs", "format_path", "pattern_fields"]


@dataclass(frozen=True, order=True)
class FileKey:
    """The keys of one input file (experiment, period, run, data type, timestamp...).

    Example
    -------
    >>> FileKey.of({"run": "r001", "timestamp": "20230101T000000Z"}).group(["timestamp"])
    FileKey(items=(('run', 'r001'),))
    """

    items: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, keys: Mapping[str, str]) -> FileKey:
        return cls(tuple(keys.items()))

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)

    def group(self, drop: Sequence[str]) -> FileKey:
        """The key without the fields in `drop` (e.g. a run's key from a file's)."""
        return FileKey(tuple((k, v) for k, v in self.items if k not in drop))

    def __str__(self) -> str:
        return "-".join(v for _, v in self.items)


def pattern_fields(pattern: str) -> list[str]:
    """The ``{field}`` names of a path pattern, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name]


def _regex(pattern: str) -> re.Pattern[str]:
    out, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(pattern):
        out.append(re.escape(literal))
        if name:
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+?)")
            seen.add(name)
    return re.compile("".join(out) + r"\Z")


def find_inputs(patterns: Sequence[str], root: Path) -> dict[FileKey, Path]:
    """Input files matching `patterns` (relative to `root`) with their keys, sorted by key."""
    found: dict[FileKey, Path] = {}
    for pattern in patterns:
        regex = _regex(str(root / pattern))
        globbed = str(root / re.sub(r"\{[^}]*\}", "*", pattern))
        for name in sorted(glob.glob(globbed)):
            match = regex.match(name)
            if match is None or name.endswith(".tmp"):
                continue
            key = FileKey.of(match.groupdict())
            if key in found and found[key] != Path(name):
                raise ConfigError(f"two input files have the keys {key}: {found[key]} and {name}")
            found[key] = Path(name)
    return dict(sorted(found.items()))


def format_path(template: str, keys: Mapping[str, str], root: Path) -> Path:
    """`template` with its ``{field}`` names filled from `keys`, under `root`."""
    try:
        return root / template.format(**keys)
    except KeyError as error:
        name = str(error.args[0])
        raise NotFoundError(
            f"output template {template!r} uses {{{name}}}, which is not a key of the inputs",
            obj=name,
            candidates=keys,
        ) from None
