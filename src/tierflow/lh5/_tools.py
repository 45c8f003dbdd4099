"""Looking into LH5 files: ``ls`` with glob patterns and ``show`` as a tree."""

from __future__ import annotations

import fnmatch
from typing import Any

import h5py

from tierflow.lh5._core import FileLike, open_lh5, resolve
from tierflow.lh5._read import ReadContext, datatype_of, n_rows_of
from tierflow.types import ArrayType, EncodedArrayType, EqualSizedArrayType, StructType, TableType

__all__ = ["ls", "show"]

LEAF_GROUPS = "jagged or encoded arrays are shown as one object, not as their datasets"


def ls(file: FileLike, pattern: str = "*") -> list[str]:
    """Paths of the objects matching `pattern`, one glob per level (``"ch*/raw"``).

    A pattern ending in ``/`` lists the children of the groups it matches.

    Example
    -------
    >>> ls("raw.lh5", "ch*/raw")  # doctest: +SKIP
    ['ch1084803/raw', 'ch1084804/raw']
    """
    parts = [p for p in pattern.strip("/").split("/") if p] or ["*"]
    if pattern.endswith("/") and pattern.strip("/"):
        parts.append("*")
    with open_lh5(file) as handle:
        return sorted(_match(handle["/"], "", parts), key=_natural)


def _natural(path: str) -> tuple[Any, ...]:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path))


def _match(group: h5py.Group, prefix: str, parts: list[str]) -> list[str]:
    head, rest = parts[0], parts[1:]
    names = [n for n in group if fnmatch.fnmatchcase(n, head)]
    if not rest:
        return [prefix + n for n in names]
    found: list[str] = []
    for name in names:
        sub = group[name]
        if isinstance(sub, h5py.Group):
            found += _match(sub, f"{prefix}{name}/", rest)
    return found


def show(file: FileLike, name: str = "/", *, attrs: bool = False, depth: int | None = None) -> str:
    """A tree of the objects under `name` with their types, shapes, units and filters.

    Example
    -------
    >>> print(show("raw.lh5", "ch1084803/raw", depth=1))  # doctest: +SKIP
    """
    with open_lh5(file) as handle:
        root = resolve(handle, name)
        ctx = ReadContext(str(handle.filename), "/" + name.strip("/"))
        lines = [_describe(root, name.strip("/") or "/", ctx, attrs)]
        if isinstance(root, h5py.Group) and not _is_leaf_group(root, ctx):
            lines += _tree(root, ctx, "", attrs, depth)
    return "\n".join(lines)


def _is_leaf_group(group: h5py.Group, ctx: ReadContext) -> bool:
    node = datatype_of(group, ctx)
    return isinstance(node, (ArrayType, EqualSizedArrayType))


def _tree(
    group: h5py.Group, ctx: ReadContext, indent: str, attrs: bool, depth: int | None
) -> list[str]:
    if depth is not None and depth <= 0:
        return []
    node = datatype_of(group, ctx)
    names = list(getattr(node, "fields", ())) if isinstance(node, (StructType, TableType)) else []
    names = [n for n in names if n in group] + [n for n in group if n not in names]
    lines = []
    for i, name in enumerate(names):
        last = i == len(names) - 1
        sub, sub_ctx = group[name], ctx.child(name)
        lines.append(indent + ("└── " if last else "├── ") + _describe(sub, name, sub_ctx, attrs))
        if isinstance(sub, h5py.Group) and not _is_leaf_group(sub, sub_ctx):
            more = None if depth is None else depth - 1
            lines += _tree(sub, sub_ctx, indent + ("    " if last else "│   "), attrs, more)
    return lines


_FILTER_NAMES = {
    1: "gzip",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    32000: "lzf",
    32001: "blosc",
    32004: "lz4",
    32008: "bitshuffle",
    32015: "zstd",
    32026: "blosc2",
}


def _filter_names(ds: h5py.Dataset) -> list[str]:
    plist = ds.id.get_create_plist()
    codes = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    return [_FILTER_NAMES.get(code, f"filter {code}") for code in codes]


def _describe(h5obj: Any, name: str, ctx: ReadContext, attrs: bool) -> str:
    node = datatype_of(h5obj, ctx)
    parts = [name, str(node)]
    if isinstance(h5obj, h5py.Dataset):
        parts.append(f"{h5obj.shape} {h5obj.dtype}")
        filters = _filter_names(h5obj)
        if filters:
            parts.append(f"[{', '.join(filters)}]")
    elif isinstance(node, (ArrayType, EqualSizedArrayType, TableType)):
        parts.append(f"{n_rows_of(h5obj, node, ctx)} rows")
        codec = h5obj.attrs.get("codec")
        encoded = isinstance(node, EqualSizedArrayType) and node.encoded
        if (
            codec is not None
            or encoded
            or (isinstance(node, ArrayType) and isinstance(node.element, EncodedArrayType))
        ):
            parts.append(f"codec {codec}")
    units = h5obj.attrs.get("units")
    if units:
        parts.append(f"[{units.decode() if isinstance(units, bytes) else units}]")
    if attrs:
        extra = {k: v for k, v in h5obj.attrs.items() if k not in ("datatype", "units")}
        if extra:
            parts.append(
                str({k: (v.decode() if isinstance(v, bytes) else v) for k, v in extra.items()})
            )
    return " · ".join(parts)
