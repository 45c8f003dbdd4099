"""``parse_codec``: a codec from a name, a ``Name(k=v)`` call string, a dict or a codec."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from typing import Any

from tierflow.codecs._base import CODECS, WaveformCodec
from tierflow.errors import ConfigError, NotFoundError

__all__ = ["CodecSpec", "parse_codec"]

CodecSpec = str | Mapping[str, Any] | WaveformCodec
"""What :func:`parse_codec` accepts."""


def parse_codec(spec: CodecSpec) -> WaveformCodec:
    """Make a :class:`WaveformCodec` from its description.

    Parameters
    ----------
    spec
        A codec (returned as is); a dict of HDF5 attributes (``{"codec": name, ...}``);
        or a string: a codec name or class name, optionally called with keyword
        arguments that are int, float or str literals. The string is parsed, never run.

    Raises
    ------
    NotFoundError
        For an unknown codec name, suggesting the closest known ones.
    ConfigError
        For anything else that is not a valid codec description.

    Examples
    --------
    >>> from tierflow.codecs import parse_codec
    >>> parse_codec("RadwareSigcompress(codec_shift=-32768)")
    RadwareSigcompress(codec_shift=-32768)
    >>> parse_codec("uleb128_zigzag_diff")
    ULEB128ZigZagDiff()
    """
    if isinstance(spec, WaveformCodec):
        return spec
    if isinstance(spec, Mapping):
        return WaveformCodec.from_dict(spec)
    if not isinstance(spec, str):
        raise ConfigError(f"cannot make a waveform codec from {type(spec).__name__} {spec!r}")
    name, kwargs = _parse_call(spec)
    codec_cls = _lookup(name)
    known = {f.name for f in dataclasses.fields(codec_cls)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ConfigError(
            f"codec {codec_cls.name!r} has no parameter {unknown[0]!r} "
            f"(parameters: {', '.join(sorted(known)) or 'none'})",
            obj=spec,
        )
    return codec_cls(**kwargs)


def _parse_call(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"Name"`` or ``"Name(k=v, ...)"`` into the name and the literal arguments."""
    try:
        node = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError:
        raise ConfigError("codec description does not parse", obj=spec) from None
    if isinstance(node, ast.Name):
        return node.id, {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.args:
        raise ConfigError("expected a codec name or Name(key=value, ...)", obj=spec)
    kwargs = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ConfigError("** arguments are not allowed", obj=spec)
        kwargs[keyword.arg] = _literal(keyword.value, spec)
    return node.func.id, kwargs


def _literal(node: ast.expr, spec: str) -> int | float | str:
    """The value of an int, float or str literal; numbers may carry a sign."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        number = _constant(node.operand)
        if isinstance(number, (int, float)):
            return -number if isinstance(node.op, ast.USub) else number
    else:
        value = _constant(node)
        if value is not None:
            return value
    raise ConfigError("codec arguments must be int, float or str literals", obj=spec)


def _constant(node: ast.expr) -> int | float | str | None:
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
        return None
    return node.value if isinstance(node.value, (int, float, str)) else None


def _lookup(name: str) -> type[WaveformCodec]:
    """The codec registered as `name`, or whose class is called `name`."""
    by_class = {CODECS[key].__name__: CODECS[key] for key in CODECS}
    if name in by_class:
        return by_class[name]
    if name in CODECS:
        return CODECS[name]
    raise NotFoundError(
        f"no waveform codec named {name!r}", obj=name, candidates=[*CODECS, *by_class]
    )
