"""Raw buffers and their routing: which decoded rows go to which output table.

The out_spec shorthand is the anchor's (legend-daq2lh5), so existing JSON/YAML specs work
unchanged::

    FCEventDecoder:
      "ch{key:07d}":                      # one buffer per key
        key_list: [[1000000, 1000005]]     # an inclusive key range
        out_stream: "$DATADIR/{file_key}_geds.lh5:/geds"   # env vars, keywords, file:group
    "*":                                   # every other decoder
      "{name}":
        key_list: ["*"]
        out_stream: "out_{name}.lh5"

Expansions, in order: ``[first, last]`` key ranges; ``{key...}`` in a buffer name (one
buffer per key); keywords (``kw_dict``), ``{key}`` and ``{name}`` in ``out_stream`` and
``out_name``; environment variables in ``out_stream``; the ``*`` decoder and ``*``/glob keys,
matched when the streamer knows its decoders and keys.
"""

from __future__ import annotations

import copy
import fnmatch
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError
from tierflow.raw._decoder import Jagged, RowBlock

__all__ = ["RawBuffer", "RawBufferLibrary", "RawBufferList", "expand_rblist_dict"]


@dataclass(eq=False)
class RawBuffer:
    """Decoded rows waiting to be written to one table of one output stream.

    Parameters
    ----------
    key_list
        Keys (e.g. channels) whose rows go here.
    out_stream
        ``file.lh5`` or ``file.lh5:/group``.
    out_name
        Name of the table in the output.
    proc_spec
        Per-buffer processing (see :mod:`tierflow.raw._proc`).
    size
        Rows at which the buffer is full (the streamer sets ``buffer_size``).
    max_bytes
        Decoded bytes at which the buffer is full. Each flush is one LH5 append, whose
        fixed cost is high (about 1 ms per dataset), so flushes should be large; the rows
        are copied into columns reused from one flush to the next, so the memory held is
        about this much per busy buffer.

    Example
    -------
    >>> rb = RawBuffer(key_list=[1, 2], out_stream="out.lh5:/geds", out_name="raw")
    >>> rb.out_file, rb.out_group
    ('out.lh5', '/geds')
    """

    key_list: list[Any] = field(default_factory=list)
    out_stream: str = ""
    out_name: str = ""
    proc_spec: dict[str, Any] | None = None
    size: int = 8192
    max_bytes: int = 10 << 20
    loc: int = 0
    nbytes: int = 0
    _store: _Store | None = field(default=None, repr=False)

    @property
    def out_file(self) -> str:
        """The file part of :attr:`out_stream`."""
        return self.out_stream.split(":", 1)[0]

    @property
    def out_group(self) -> str:
        """The group part of :attr:`out_stream` (``/`` when none)."""
        _, _, group = self.out_stream.partition(":")
        return group or "/"

    def add(self, block: RowBlock) -> None:
        """Queue decoded rows (copied into the buffer's columns: `block` can be freed)."""
        if len(block):
            if self._store is None or (self._store.rows == 0 and not self._store.takes(block)):
                per_row = max(1, block.nbytes // len(block))
                self._store = _Store(block, min(self.size, self.max_bytes // per_row) + len(block))
            self._store.append(block)
            self.loc += len(block)
            self.nbytes += block.nbytes

    def is_full(self) -> bool:
        """Whether the buffer has reached its size in rows or bytes."""
        return self.loc >= self.size or self.nbytes >= self.max_bytes

    def drain(self, n_max: int | None = None) -> RowBlock | None:
        """All queued rows (at most `n_max`) as one block of its own; the buffer is empty after."""
        parts = self.drain_parts(n_max)
        return _copy(parts[0]) if parts else None

    def drain_parts(
        self, n_max: int | None = None, merge_bytes: int | None = None, *, keep: bool = True
    ) -> list[RowBlock]:
        """The queued rows (at most `n_max`) to write; the buffer is empty after.

        The rows are views of the buffer's columns, valid until the next :meth:`add`:
        write them first. A buffer drained because it was full keeps its columns for the
        next rows (no new allocation, no copy at drain), unless `keep` is False: then the
        columns are the caller's (for writes that finish later) and new ones are made for the
        next rows; others release them. `merge_bytes` is accepted for compatibility: the rows
        are one block already.
        """
        store, full = self._store, self.is_full()
        self.loc, self.nbytes = 0, 0
        if store is None or store.rows == 0:
            return []
        out = store.view(store.rows if n_max is None else min(n_max, store.rows))
        store.rows = 0
        if not (full and keep):
            self._store = None
        return [out] if len(out) else []


class _Store:
    """The queued rows of one buffer: columns with room to grow, reused after a flush."""

    def __init__(self, first: RowBlock, rows: int) -> None:
        # room for `rows` rows up front (untouched pages cost no memory): no regrowth
        self.rows = 0
        self.keys = np.empty(rows, first.keys.dtype)
        self.cols: dict[str, Any] = {
            name: Jagged(np.empty(0, c.flat.dtype), np.empty(rows, np.int64))
            if isinstance(c, Jagged)
            else np.empty((rows, *c.shape[1:]), c.dtype)
            for name, c in first.columns.items()
        }
        self.flat = dict.fromkeys(self.cols, 0)

    def takes(self, block: RowBlock) -> bool:
        """Whether `block` has the columns (names, kinds, row shapes) of these."""
        if block.columns.keys() != self.cols.keys():
            return False
        return all(
            isinstance(c, Jagged) == isinstance(self.cols[n], Jagged)
            and (isinstance(c, Jagged) or c.shape[1:] == self.cols[n].shape[1:])
            for n, c in block.columns.items()
        )

    def append(self, block: RowBlock) -> None:
        if not self.takes(block):
            raise ValueError(
                f"rows with columns {sorted(block.columns)} can't join rows with "
                f"{sorted(self.cols)} in one buffer"
            )
        end = self.rows + len(block)
        self.keys = _room(self.keys, end, block.keys.dtype, self.rows)
        self.keys[self.rows : end] = block.keys
        for name, col in block.columns.items():
            dest = self.cols[name]
            if isinstance(col, Jagged):
                stop = self.flat[name] + col.flat.size
                flat = _room(dest.flat, stop, col.flat.dtype, self.flat[name])
                lens = _room(dest.lengths, end, np.dtype(np.int64), self.rows)
                flat[self.flat[name] : stop] = col.flat
                lens[self.rows : end] = col.lengths
                self.cols[name], self.flat[name] = Jagged(flat, lens), stop
            else:
                dest = self.cols[name] = _room(dest, end, col.dtype, self.rows)
                dest[self.rows : end] = col
        self.rows = end

    def view(self, n: int) -> RowBlock:
        """The first `n` rows (views); jagged content is reset for the next rows."""
        cols: dict[str, Any] = {}
        for name, c in self.cols.items():
            if isinstance(c, Jagged):
                lens = c.lengths[:n]
                cols[name] = Jagged(c.flat[: int(lens.sum())], lens)
                self.flat[name] = 0
            else:
                cols[name] = c[:n]
        return RowBlock(self.keys[:n], cols)


def _room(arr: npt.NDArray[Any], rows: int, dtype: np.dtype[Any], used: int) -> npt.NDArray[Any]:
    """`arr`, or a larger copy of its first `used` rows, with room for `rows` rows of `dtype`."""
    want = np.result_type(arr.dtype, dtype) if arr.dtype != dtype else arr.dtype
    if rows <= arr.shape[0] and want == arr.dtype:
        return arr
    out = np.empty((max(rows, arr.shape[0] * 3 // 2), *arr.shape[1:]), want)
    out[:used] = arr[:used]
    return out


def _copy(block: RowBlock) -> RowBlock:
    cols = {
        k: Jagged(v.flat.copy(), v.lengths.copy()) if isinstance(v, Jagged) else v.copy()
        for k, v in block.columns.items()
    }
    return RowBlock(block.keys.copy(), cols)


class RawBufferList(list[RawBuffer]):
    """The buffers fed by one decoder."""

    def keyed(self) -> dict[Any, RawBuffer]:
        """Buffers by key (several keys may share a buffer)."""
        return {key: rb for rb in self for key in rb.key_list}

    def set_from_dict(
        self, config: Mapping[str, Any], kw_dict: Mapping[str, Any] | None = None
    ) -> None:
        """Add the buffers described by an out_spec entry (shorthand expanded)."""
        spec = copy.deepcopy(dict(config))
        expand_rblist_dict(spec, dict(kw_dict or {}))
        for name, info in spec.items():
            self.append(
                RawBuffer(
                    key_list=list(info["key_list"]),
                    out_stream=info.get("out_stream", ""),
                    out_name=info.get("out_name", name),
                    proc_spec=info.get("proc_spec"),
                )
            )

    def get_list_of(self, attribute: str) -> list[Any]:
        """Distinct values of a buffer attribute, in order."""
        out: list[Any] = []
        for rb in self:
            if getattr(rb, attribute) not in out:
                out.append(getattr(rb, attribute))
        return out


class RawBufferLibrary(dict[str, RawBufferList]):
    """Buffer lists by decoder name (``*`` for every decoder not named).

    Example
    -------
    >>> lib = RawBufferLibrary({"FCEventDecoder": {"ch{key}": {"key_list": [[1, 3]],
    ...                         "out_stream": "o.lh5"}}})
    >>> [rb.out_name for rb in lib["FCEventDecoder"]]
    ['ch1', 'ch2', 'ch3']
    """

    def __init__(
        self, config: Mapping[str, Any] | None = None, kw_dict: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__()
        if config is not None:
            self.set_from_dict(config, kw_dict)

    def set_from_dict(
        self, config: Mapping[str, Any], kw_dict: Mapping[str, Any] | None = None
    ) -> None:
        """Add the buffers of an out_spec dict (the caller's dict is not changed)."""
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"an out_spec is a mapping of decoder names, not {type(config).__name__}"
            )
        for list_name, entry in config.items():
            if not isinstance(entry, Mapping):
                raise ConfigError(
                    f"out_spec[{list_name!r}] must map buffer names to settings", obj=list_name
                )
            self.setdefault(list_name, RawBufferList()).set_from_dict(entry, kw_dict)

    def get_list_of(self, attribute: str) -> list[Any]:
        """Distinct values of a buffer attribute over all lists."""
        out: list[Any] = []
        for rbl in self.values():
            out += [v for v in rbl.get_list_of(attribute) if v not in out]
        return out

    def all_buffers(self) -> Iterable[RawBuffer]:
        """Every buffer of every list."""
        for rbl in self.values():
            yield from rbl


def _expand_ranges(keys: list[Any]) -> list[Any]:
    out: list[Any] = []
    for key in keys:
        if isinstance(key, list) and len(key) == 2 and all(isinstance(k, int) for k in key):
            out.extend(range(key[0], key[1] + 1))
        else:
            out.append(key)
    return out


def _is_wildcard(keys: list[Any]) -> bool:
    return len(keys) == 1 and isinstance(keys[0], str) and "*" in keys[0]


def _format(text: str, kw: Mapping[str, Any], what: str, name: str) -> str:
    try:
        return text.format(**kw)
    except KeyError as err:
        raise ConfigError(
            f"{what} of buffer {name!r} uses {{{err.args[0]}}}, which is not a known keyword "
            f"(known: {sorted(kw)})",
            obj=name,
        ) from None


def expand_rblist_dict(config: dict[str, Any], kw_dict: dict[str, Any]) -> None:
    """Expand the shorthand of one decoder's out_spec entry in place (see module docs).

    Example
    -------
    >>> spec = {"g{key:0>3d}": {"key_list": [[1, 2]], "out_stream": "{key}.lh5"}}
    >>> expand_rblist_dict(spec, {})
    >>> sorted(spec), spec["g002"]["out_stream"]
    (['g001', 'g002'], '2.lh5')
    """
    for name in list(config):
        if name == "":
            raise ConfigError("a buffer name can't be empty")
        info = config[name]
        if not isinstance(info, dict) or "key_list" not in info:
            raise ConfigError(f"buffer {name!r} has no key_list", obj=name)
        info["key_list"] = _expand_ranges(list(info["key_list"]))
        if "{key" in name and not _is_wildcard(info["key_list"]):
            wild = [k for k in info["key_list"] if isinstance(k, str) and "*" in k]
            for key in info["key_list"]:
                if key not in wild:
                    config[name.format(key=key)] = {**info, "key_list": [key]}
            if wild:  # patterns are matched when the stream's keys are known
                info["key_list"] = wild
            else:
                config.pop(name)
    for name, info in config.items():
        kw = dict(kw_dict)
        if len(info["key_list"]) == 1 and not _is_wildcard(info["key_list"]):
            kw["key"] = info["key_list"][0]
        if name != "*":
            kw.setdefault("name", name)
        if "out_stream" in info:
            stream = info["out_stream"]
            if "{name}" not in stream or "name" in kw:
                stream = _format(stream, kw, "out_stream", name)
            info["out_stream"] = os.path.expandvars(stream)
        if "out_name" in info and ("{name}" not in info["out_name"] or "name" in kw):
            info["out_name"] = _format(info["out_name"], kw, "out_name", name)


def match_keys(rbl: RawBufferList, offered: list[Any]) -> None:
    """Resolve ``*``/glob keys of the buffers of one decoder against the keys it offers.

    Explicit keys are taken first, then glob patterns, then a lone ``*`` takes the rest.
    """
    explicit = {k for rb in rbl for k in rb.key_list if not (isinstance(k, str) and "*" in k)}
    remaining = [k for k in offered if k not in explicit and str(k) not in explicit]
    globbed = [
        rb for rb in rbl if any(isinstance(k, str) and "*" in k and k != "*" for k in rb.key_list)
    ]
    lone = [rb for rb in rbl if "*" in rb.key_list]
    if len(lone) > 1:
        raise ConfigError("only one '*' key is allowed per decoder")
    for rb in globbed + lone:
        patterns = [k for k in rb.key_list if isinstance(k, str) and "*" in k]
        keep = [k for k in rb.key_list if not (isinstance(k, str) and "*" in k)]
        hits = [k for k in remaining if any(fnmatch.fnmatchcase(str(k), p) for p in patterns)]
        remaining = [k for k in remaining if k not in hits]
        rb.key_list = keep + hits
