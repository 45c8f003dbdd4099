"""``build_evt``: evt columns from the hits the time-coincidence map groups into events.

The map is read in chunks of events; each operation of the config makes one column for the
chunk, in config order (later operations may use earlier columns as ``evt.<name>``); the
requested outputs are nested into sub-tables at ``___`` and appended to a temporary file
that replaces the output at the end.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tierflow import lh5
from tierflow.allocator import retain_freed_memory
from tierflow.errors import ConfigError, NotFoundError
from tierflow.evt._aggregators import AGGREGATORS
from tierflow.evt._config import (
    ConfigLike,
    EvtConfig,
    KeepAtCh,
    Operation,
    flatten_channels,
    make_evt_config,
)
from tierflow.evt._data import (
    SPECIAL_TIERS,
    EventChunk,
    TierInfo,
    count_events,
    iter_tcm,
    make_datainfo,
)
from tierflow.evt._io import staged_output
from tierflow.evt._jagged import masked_columns, reduced_columns
from tierflow.evt._parallel import (
    PARENT_WEIGHT,
    EventRange,
    plan_workers,
    run_ranges,
    split_events,
)
from tierflow.evt._slabs import SlabCache
from tierflow.expr import as_data_object, compile_expr
from tierflow.lh5 import WriteMode
from tierflow.types import Array, DataObject, Table, VectorOfVectors

__all__ = ["build_evt", "concat_tables", "nest_outputs"]


def _evaluate_event_level(chunk: EventChunk, op: Operation) -> DataObject:
    fast = masked_columns(op.expression, chunk.evt)  # jagged masks on flat buffers
    if fast is None:
        fast = reduced_columns(op.expression, chunk.evt)
    if fast is not None:
        return fast
    namespace: dict[str, Any] = dict(op.parameters)
    for name, obj in chunk.evt.items():
        namespace[f"evt.{name}"] = obj
        namespace.setdefault(name, obj)
    value = compile_expr(op.expression).evaluate(namespace)
    return as_data_object(value, chunk.n_events)


def _cast(obj: DataObject, dtype: str) -> DataObject:
    if isinstance(obj, VectorOfVectors):
        inner: Any = obj
        while isinstance(inner.flattened_data, VectorOfVectors):
            inner = inner.flattened_data
        inner.flattened_data = Array(
            inner.flattened_data.nda.astype(dtype), attrs=inner.flattened_data.attrs
        )
    elif isinstance(obj, Array):
        obj = type(obj)(obj.nda.astype(dtype), attrs=obj.attrs)
    return obj


def _source_attrs(
    config: EvtConfig, op: Operation, chunk: EventChunk, keys: list[int]
) -> dict[str, Any]:
    """Attributes of the one lower-tier field an aggregating expression reads, if only one."""
    if op.mode is None or op.mode == "function":
        return {}
    lower = [t for t in chunk.tiers if t not in SPECIAL_TIERS]
    if not lower:
        return {}
    pattern = rf"({'|'.join(map(re.escape, lower))})\.([a-zA-Z_$][\w$]*)"
    found = re.findall(pattern, op.expression)
    if len(found) != 1:
        return {}
    return chunk.attrs_of(found[0][0], keys, found[0][1])


def _run_operation(chunk: EventChunk, op: Operation, config: EvtConfig) -> DataObject:
    """Column `op` of the chunk, without the attributes of the config and of its inputs."""
    if op.mode is None:
        obj = _evaluate_event_level(chunk, op)
    else:
        obj = AGGREGATORS[op.mode](chunk, op, config)
    if op.dtype is not None:
        obj = _cast(obj, op.dtype)
    return obj


def nest_outputs(columns: Mapping[str, DataObject], outputs: Sequence[str], size: int) -> Table:
    """The output table: the `outputs` among `columns`, in column order, nested into
    sub-tables where names contain ``___`` (``spms___energy`` → ``spms/energy``)."""
    table = Table(size=size)
    wanted = set(outputs)
    for name, obj in columns.items():
        if name not in wanted:
            continue
        parts = name.strip("/").split("___")
        if any(not p for p in parts):
            raise ConfigError(f"invalid output name {name!r}", obj=name)
        level = table
        for part in parts[:-1]:
            if part not in level:
                level[part] = Table(size=size)
            sub = level[part]
            if not isinstance(sub, Table):
                raise ConfigError(f"output {name!r} nests into the column {part!r}", obj=name)
            level = sub
        level[parts[-1]] = obj
    return table


def _check_files(tiers: Mapping[str, TierInfo]) -> None:
    for name, info in tiers.items():
        if info.file is not None and name != "evt" and not Path(info.file).exists():
            raise NotFoundError(f"no {name} file {info.file!r}", file=info.file, obj=name)


class _Handles(Mapping[str, h5py.File]):
    """The open files of the lower tiers, each opened when first used (a config may not
    read every tier it is given) and closed with `stack`."""

    def __init__(self, tiers: Mapping[str, TierInfo], stack: ExitStack) -> None:
        self._files = {
            name: str(info.file)
            for name, info in tiers.items()
            if info.file is not None and name not in SPECIAL_TIERS
        }
        self._open: dict[str, h5py.File] = {}
        self._stack = stack

    def __getitem__(self, name: str) -> h5py.File:
        if name not in self._open:
            file = self._files[name]
            self._open[name] = self._stack.enter_context(h5py.File(file, "r"))
        return self._open[name]

    def __contains__(self, name: object) -> bool:
        return name in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def build_evt(
    datainfo: Mapping[str, Sequence[Any]],
    config: ConfigLike | EvtConfig,
    wo_mode: WriteMode | str = WriteMode.CREATE,
    buffer_len: int = 10**4,
    keep_at_ch: KeepAtCh | str = KeepAtCh.NAMED,
    n_workers: int | None = None,
    *,
    hdf5_settings: Mapping[str, Any] | str | None = None,
) -> Table | None:
    """Build the evt tier from the tcm and lower tiers with an evt config (the anchor's).

    Parameters
    ----------
    datainfo
        ``{"tcm": (file, group), "dsp": (file, group, "ch{}"), "hit": (file, group, "ch{}"),
        "evt": (file, group)}``; any tier name may appear. Without an evt file the table is
        returned.
    config
        The config (dict, JSON/YAML file or :class:`EvtConfig`).
    wo_mode
        Write mode for the evt output.
    buffer_len
        Events per chunk (``tcm.index`` counts hits from the start of the chunk).
    keep_at_ch
        ``"named"`` (default): ``keep_at_ch`` keeps a channel's value in the events whose id
        names it; ``"anchor"``: the anchor's behaviour, for byte parity (:class:`KeepAtCh`).
    n_workers
        Processes to use (on Linux): each builds the chunks of a range of events (the same
        chunks as one process; the output is identical). ``None`` (default): one per idle
        core when there are enough events to pay for starting them (:func:`plan_workers`).
    hdf5_settings
        Dataset settings for the output, or a preset name (:class:`~tierflow.lh5.Hdf5Preset`):
        by default ``"legend"``, shuffle + Zstd as LEGEND's production files; ``"anchor"`` is
        the anchors' shuffle + gzip.

    Notes
    -----
    With many channels most of the time goes to opening and reading their small datasets,
    which HDF5 does one call at a time. When two cores are idle, a second Python process (a
    fresh interpreter of about 60 MB, started in the background by the first such build of
    the process and kept for the next ones) reads part of each batch of small fields
    meanwhile; it opens the inputs read-only and is told to close them before this returns.
    ``TIERFLOW_READER_PROCESS=0`` in the environment keeps all reading in this process. The
    output is the same either way.

    Example
    -------
    >>> build_evt({"tcm": ("tcm.lh5", "hardware_tcm_1"), "hit": ("hit.lh5", "hit", "ch{}"),
    ...            "evt": ("evt.lh5", "evt")}, "evt-config.yaml")  # doctest: +SKIP
    """
    retain_freed_memory()
    lh5.load_filter_plugins()  # inputs may use Zstd, read here through h5py
    parsed = config if isinstance(config, EvtConfig) else make_evt_config(config)
    parsed = dataclasses.replace(parsed, keep_at_ch=_keep_at_ch(keep_at_ch))
    tiers = make_datainfo(datainfo)
    mode = WriteMode.parse(wo_mode)
    _check_files(tiers)
    chunks = _tables(parsed, tiers, buffer_len, n_workers)  # workers fork here
    out = tiers.get("evt")
    if out is None or out.file is None:
        tables = list(chunks)
        if len(tables) == 1:
            return tables[0]  # one chunk: nothing to join
        return concat_tables(tables) if tables else Table(size=0)
    settings = lh5.preset_settings(hdf5_settings)
    with closing(chunks), staged_output(out.file, mode) as handle:  # closing: stop workers
        first = WriteMode.OVERWRITE if mode is WriteMode.OVERWRITE_FILE else mode
        for i, table in enumerate(chunks):
            next_mode = WriteMode.APPEND if i else first
            lh5.write(table, out.group or "evt", handle, mode=next_mode, hdf5_settings=settings)
    return None


def _tables(
    config: EvtConfig, tiers: Mapping[str, TierInfo], buffer_len: int, n_workers: int | None
) -> Generator[Table, None, None]:
    """The evt tables of the chunks in order, from one process or several."""
    tcm = tiers["tcm"]
    handle = h5py.File(str(tcm.file), "r")  # one process: kept open for reading the map
    try:
        total = count_events(handle, tcm.group or "hardware_tcm_1")
        workers = plan_workers(n_workers, total, buffer_len)
    except BaseException:
        handle.close()
        raise
    if workers == 1:
        return _evt_chunks(config, tiers, buffer_len, (0, total), tcm_file=handle)
    handle.close()  # before the workers fork
    source = functools.partial(_evt_chunks, config, tiers, buffer_len)
    return run_ranges(source, split_events(total, buffer_len, workers, PARENT_WEIGHT))


def _keep_at_ch(value: KeepAtCh | str) -> KeepAtCh:
    try:
        return KeepAtCh(value)
    except ValueError:
        raise NotFoundError(
            f"unknown keep_at_ch mode {value!r}",
            obj=str(value),
            candidates=[m.value for m in KeepAtCh],
        ) from None


def _evt_chunks(
    config: EvtConfig,
    tiers: Mapping[str, TierInfo],
    buffer_len: int,
    events: EventRange,
    tcm_file: h5py.File | None = None,
) -> Generator[Table, None, None]:
    """The evt tables of the chunks of `events` (`tcm_file`: the map's file, already open,
    closed here at the end)."""
    tcm_info = tiers["tcm"]
    keys: list[int] | None = None
    slabs: dict[str, SlabCache] = {}  # shared by the chunks: each storage chunk read once
    attrs: dict[str, dict[str, Any]] = {}  # by operation, found in the first chunk
    with ExitStack() as stack:
        source = str(tcm_info.file) if tcm_file is None else stack.enter_context(tcm_file)
        handles = _Handles(tiers, stack)
        name = tcm_info.group or "hardware_tcm_1"
        try:
            for tcm in iter_tcm(source, name, buffer_len, events):
                chunk = EventChunk(tiers, tcm, handles, slabs=slabs)
                if keys is None:
                    channels = flatten_channels(config.channels)
                    keys = [k for c in channels if (k := chunk.key_of(c)) is not None]
                for op in config.operations:
                    obj = _run_operation(chunk, op, config)
                    if op.name not in attrs:  # after the operation: its inputs are read
                        attrs[op.name] = _source_attrs(config, op, chunk, keys)
                    obj.attrs.update(attrs[op.name])
                    obj.attrs.update(op.attrs)
                    chunk.evt[op.name] = obj
                yield nest_outputs(chunk.evt, config.outputs, chunk.n_events)
        finally:
            for cache in slabs.values():
                cache.close()  # the HDF5 objects before their files


def concat_tables(tables: Sequence[Table]) -> Table:
    """The rows of `tables` (same columns) one after another, each column allocated once.

    Example
    -------
    >>> a = Table({"x": Array(np.array([1, 2]))})
    >>> concat_tables([a, Table({"x": Array(np.array([3]))})])["x"].nda
    array([1, 2, 3])
    """
    first = tables[0]
    columns = {name: _concat([t[name] for t in tables]) for name in first}
    return Table(columns, size=sum(len(t) for t in tables), attrs=dict(first.attrs))


def _concat(objs: Sequence[Any]) -> Any:
    first = objs[0]
    if isinstance(first, Table):
        return concat_tables(objs)
    if isinstance(first, VectorOfVectors):
        flat = _concat([o.flattened_data for o in objs])
        bases = np.cumsum([0] + [len(o.flattened_data) for o in objs[:-1]])
        offsets = np.concatenate(
            [o.cumulative_length.nda + b for o, b in zip(objs, bases, strict=True)]
        )
        dtype = first.cumulative_length.nda.dtype
        if len(offsets) and offsets[-1] <= np.iinfo(dtype).max:
            offsets = offsets.astype(dtype, copy=False)
        return VectorOfVectors(flattened_data=flat, cumulative_length=offsets, attrs=first.attrs)
    if type(first) is Array:
        dtype = first.nda.dtype  # as appending to the first chunk's buffer would
        data = np.concatenate([o.nda for o in objs], dtype=dtype, casting="unsafe")
        return Array(data, attrs=dict(first.attrs))
    result = first
    for obj in objs[1:]:
        result.extend(obj)
    return result


def n_events(tcm_file: str, name: str = "hardware_tcm_1") -> int:
    """Number of events in a time-coincidence map."""
    return count_events(tcm_file, name)
