"""``build_hit``: dsp tables → hit tables, chunk by chunk, written to a temporary file that
is renamed at the end."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import h5py
import numpy as np
import numpy.typing as npt

from tierflow import lh5
from tierflow.allocator import retain_freed_memory
from tierflow.errors import ConfigError, NotFoundError
from tierflow.files import staged_path
from tierflow.hit._config import ConfigLike, HitConfig, load_mapping, make_hit_config
from tierflow.hit._params import (
    ParameterSource,
    chunk_time,
    column_calib_attrs,
    provenance_attrs,
    resolve_parameters,
)
from tierflow.hit._process import process_chunk
from tierflow.lh5 import WriteMode, deferred_chunk_writes
from tierflow.lh5._core import FileLike, open_lh5
from tierflow.lh5._lowlevel import read_attr, write_attrs
from tierflow.types import Array, DataObject, Scalar, Struct, Table, VectorOfVectors

__all__ = [
    "TableJob",
    "build_hit",
    "default_outfile",
    "discover_tables",
    "hit_name",
    "make_table_jobs",
]

PathLike = Union[str, "os.PathLike[str]"]

"""The anchor's name for the default mode."""


def discover_tables(infile: FileLike) -> list[str]:
    """The dsp tables of a file (a path or an open file): ``dsp`` at the top, and
    ``<group>/dsp`` one level down."""
    with open_lh5(infile) as handle:
        found = ["dsp"] if isinstance(handle.get("dsp"), h5py.Group) else []
        for name, group in handle.items():
            if isinstance(group, h5py.Group) and isinstance(group.get("dsp"), h5py.Group):
                found.append(f"{name}/dsp")
    return found


def hit_name(table: str) -> str:
    """The output name of an input table: its last ``dsp`` part becomes ``hit``
    (``ch1084803/dsp`` → ``ch1084803/hit``; ``dsp`` → ``hit``)."""
    parts = table.strip("/").split("/")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "dsp":
            parts[i] = "hit"
            break
    return "/".join(parts)


@dataclass(frozen=True)
class TableJob:
    """One input table and everything needed to turn it into its hit table."""

    table: str
    config: HitConfig
    columns: Mapping[str, str]
    """Name used by the config → field of the table."""
    detector: str
    """The table's group name (``ch1084803``), for parameter lookups."""
    attrs: Mapping[str, Mapping[str, Any]]
    """Per operation: the attributes of its output column."""

    @property
    def output(self) -> str:
        return hit_name(self.table)


def _table_group(handle: h5py.File, table: str) -> h5py.Group:
    if table.strip("/") not in handle:
        near = [f"{n}/dsp" for n in handle]
        name = handle.filename
        raise NotFoundError(f"no table {table!r}", file=name, obj=table, candidates=near)
    group: h5py.Group = handle[table.strip("/")]
    return group


def _column_map(
    handle: h5py.File, table: str, config: HitConfig, needs_time: bool
) -> dict[str, str]:
    group = _table_group(handle, table)
    top = list(group.keys())
    names = config.input_names() + (["timestamp"] if needs_time else [])
    columns = dict.fromkeys(top) if config.outputs is None else {}
    resolved = {name: name for name in columns}
    for name in names:
        for field in (name, name.replace("__", "/"), name.replace(".", "/")):
            if field.encode() in group.id:  # a nested field as "sub/col"
                resolved[name] = field
                break
        else:
            raise NotFoundError(
                f"the hit config uses {name!r}, which is neither a column of {table!r}, nor an "
                "operation's output, nor a parameter",
                file=handle.filename,
                obj=name,
                candidates=top,
            )
    return resolved


def _detector(table: str) -> str:
    parts = table.strip("/").split("/")
    return parts[-2] if len(parts) > 1 else parts[0]


def make_table_jobs(
    infile: FileLike,
    hit_config: ConfigLike | None = None,
    lh5_tables: Iterable[str] | None = None,
    lh5_tables_config: Mapping[str, ConfigLike] | PathLike | None = None,
    parameter_source: ParameterSource | None = None,
) -> list[TableJob]:
    """The tables to process and their configs (the argument rules of :func:`build_hit`;
    `infile`: a path or an open file)."""
    if (lh5_tables_config is None) == (hit_config is None):
        raise ConfigError("give either hit_config (with lh5_tables or not) or lh5_tables_config")
    if lh5_tables_config is not None and lh5_tables is not None:
        raise ConfigError("lh5_tables_config and lh5_tables are mutually exclusive")
    if lh5_tables_config is not None:
        source = lh5_tables_config
        mapping = load_mapping(source if isinstance(source, Mapping) else Path(source), "tables")
        configs = {str(t): make_hit_config(c) for t, c in mapping.items()}
    else:
        config = make_hit_config(hit_config)  # type: ignore[arg-type]
        tables = discover_tables(infile) if lh5_tables is None else list(lh5_tables)
        configs = dict.fromkeys(tables, config)
    jobs = []
    with open_lh5(infile) as handle:
        for table, config in configs.items():
            needs_time = config.uses_calib and parameter_source is not None
            attrs = {op.name: {**op.attrs, **column_calib_attrs(op)} for op in config.operations}
            columns = _column_map(handle, table, config, needs_time)
            jobs.append(TableJob(table, config, columns, _detector(table), attrs))
    return jobs


def _write_mode(wo_mode: WriteMode | str) -> WriteMode:
    mode = WriteMode.parse(wo_mode)
    if mode is WriteMode.APPEND_COLUMN:
        raise ConfigError("build_hit writes whole tables: append_column is not supported")
    return mode


@contextmanager
def _staged_output(outfile: Path, mode: WriteMode) -> Iterator[h5py.File]:
    """An open temporary copy of `outfile` (empty for a new file or ``overwrite_file``)
    that replaces `outfile` when the block succeeds."""
    keep = outfile.exists() and mode is not WriteMode.OVERWRITE_FILE
    with (
        staged_path(outfile, copy_existing=keep) as temp,
        h5py.File(temp, "a" if keep else "w") as handle,
    ):
        yield handle


def _mark_parents(handle: h5py.File, names: Iterable[str]) -> None:
    """Give the groups holding hit tables a ``struct{...}`` datatype, as LEGEND files have."""
    for name in names:
        parent = name.rpartition("/")[0]
        if not parent:
            continue
        group = handle[parent]
        current = read_attr(group, "datatype")
        if current is None or str(current).startswith("struct{"):
            write_attrs(group, {"datatype": "struct{" + ",".join(sorted(group.keys())) + "}"})


@dataclass(frozen=True)
class _RunOptions:
    n_max: float
    buffer_len: int | None
    source: ParameterSource | None
    hdf5_settings: Mapping[str, Any] | None


def _run_table(
    infile: h5py.File, job: TableJob, handle: h5py.File, mode: WriteMode, run: _RunOptions
) -> int:
    """Process one table; returns the rows written."""
    fields = sorted(set(job.columns.values()))
    iterator = lh5.LH5Iterator(infile, job.table, buffer_len=run.buffer_len, fields=fields)
    group, _, name = job.output.rpartition("/")
    table_attrs = provenance_attrs(job.config, run.source)
    done = 0
    for chunk in iterator if run.n_max > 0 else ():
        data: Table = chunk.data
        if done + len(data) > run.n_max:
            data = data.take(slice(0, int(run.n_max - done)))
        parameters = _chunk_parameters(job, data, run.source)
        out = process_chunk(data, job.config, job.columns, parameters, job.attrs)
        _detach(out, data)
        out.attrs.update(table_attrs)
        lh5.write(out, name, handle, group=group or "/", mode=mode, hdf5_settings=run.hdf5_settings)
        mode = WriteMode.APPEND
        done += len(data)
        if done >= run.n_max:
            break
    return done


def _detach(out: Table, data: Table) -> None:
    """Copy the columns of `out` that share memory with the input chunk `data`: the iterator
    refills its buffers before the chunks of `out` are written (the writes are deferred and
    do not copy)."""
    inputs = _buffers(data)
    for name, column in list(out.items()):
        mine = _buffers(column)
        if mine is None or inputs is None or _overlap(mine, inputs):
            out[name] = copy.deepcopy(column)


def _overlap(first: list[npt.NDArray[Any]], second: list[npt.NDArray[Any]]) -> bool:
    return any(np.may_share_memory(a, b) for a in first for b in second)


def _buffers(obj: DataObject) -> list[npt.NDArray[Any]] | None:
    """The numpy arrays holding the data of `obj` (None for a type not known here)."""
    if isinstance(obj, Array):
        return [obj.nda]
    if isinstance(obj, Scalar):
        return []
    if isinstance(obj, VectorOfVectors):
        inner = _buffers(obj.flattened_data)
        return None if inner is None else [obj.cumulative_length.nda, *inner]
    if isinstance(obj, Struct):
        found: list[npt.NDArray[Any]] = []
        for value in obj.values():
            arrays = _buffers(value)
            if arrays is None:
                return None
            found += arrays
        return found
    return None


def _chunk_parameters(
    job: TableJob, data: Table, source: ParameterSource | None
) -> dict[str, dict[str, Any]]:
    at = None
    if source is not None and job.config.uses_calib:
        timestamp = data[job.columns["timestamp"]]
        at = chunk_time(timestamp.nda, timestamp.units, job.table)  # type: ignore[attr-defined]
    payloads: dict[str, Any] = {}
    return {
        op.name: resolve_parameters(op, source, job.detector, at, payloads)
        for op in job.config.operations
    }


def default_outfile(infile: PathLike) -> Path:
    """``x_dsp.lh5`` → ``x_hit.lh5`` (``x.lh5`` → ``x_hit.lh5``), next to the input."""
    path = Path(infile)
    return path.with_name(path.stem.removesuffix("_dsp") + "_hit.lh5")


def build_hit(
    infile: PathLike,
    outfile: PathLike | None = None,
    hit_config: ConfigLike | None = None,
    lh5_tables: Iterable[str] | None = None,
    lh5_tables_config: Mapping[str, ConfigLike] | PathLike | None = None,
    n_max: float = math.inf,
    wo_mode: WriteMode | str = WriteMode.CREATE,
    buffer_len: int | None = None,
    *,
    parameter_source: ParameterSource | None = None,
    hdf5_settings: Mapping[str, Any] | str | None = None,
) -> Path:
    """Make the hit tier of a dsp file: new columns from expressions, bit-packed flags.

    The config format is pygama's (``outputs``, ``operations``, ``aggregations``); see
    :func:`~tierflow.hit.make_hit_config`. Tables are read in chunks of `buffer_len` rows
    (only the columns the config needs), and the output is written to a temporary file
    renamed to `outfile` at the end.

    Parameters
    ----------
    infile
        The dsp file.
    outfile
        The hit file; by default next to `infile`, ``_dsp`` replaced by ``_hit``.
    hit_config
        One config for every table: a mapping or a JSON/YAML file.
    lh5_tables
        Tables to process; by default ``dsp`` and every ``<group>/dsp`` of the file.
    lh5_tables_config
        Instead of the two above: table name → config (mapping or file), or a file of that.
    n_max
        Rows to process at most, per table.
    wo_mode
        A :class:`~tierflow.lh5.WriteMode` (or its value; ``"write_safe"`` is ``create``):
        ``create`` fails if an output table exists, ``overwrite`` replaces it, ``append``
        adds rows, ``overwrite_file`` starts a new file.
    buffer_len
        Rows per chunk (default :func:`tierflow.options.options` ``read_chunk_rows``).
    parameter_source
        Where ``{"calib": ctype, "key": "a.b"}`` parameters are looked up: per table
        (detector = the group holding it, e.g. ``ch1084803``) and per chunk, at the chunk's
        first ``timestamp`` converted to ns since the epoch (from the column's units; no units
        means seconds). Its ``provenance()`` goes into the output tables' attributes
        (``calib_provenance``, JSON) and each such column names its store parameters
        (``calib_parameters``).
    hdf5_settings
        Dataset settings for the output (compression, shuffle, chunks), or a preset name
        (:class:`~tierflow.lh5.Hdf5Preset`): by default ``"legend"``, shuffle + Zstd as LEGEND's
        production files; ``"anchor"`` is pygama's shuffle + gzip. Per-column
        ``lgdo_attrs.hdf5_settings`` still win.

    Returns
    -------
    Path
        The output file.

    Example
    -------
    >>> build_hit("run_dsp.lh5", hit_config="hit.json", wo_mode="overwrite")  # doctest: +SKIP
    PosixPath('run_hit.lh5')
    """
    retain_freed_memory()
    mode = _write_mode(wo_mode)
    target = Path(outfile) if outfile is not None else default_outfile(infile)
    with open_lh5(infile) as source:  # opened once for every look at it
        jobs = make_table_jobs(source, hit_config, lh5_tables, lh5_tables_config, parameter_source)
        run = _RunOptions(n_max, buffer_len, parameter_source, lh5.preset_settings(hdf5_settings))
        first_mode = WriteMode.CREATE if mode is WriteMode.OVERWRITE_FILE else mode
        with _staged_output(target, mode) as handle:
            # a chunk is compressed while the next one is read; _detach copies what must be
            with deferred_chunk_writes(copy=False):
                for job in jobs:
                    _run_table(source, job, handle, first_mode, run)
            _mark_parents(handle, [job.output for job in jobs])
    return target
