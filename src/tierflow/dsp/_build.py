"""``build_dsp``: the dsp tier from raw-tier tables, table by table, chunk by chunk."""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tierflow.allocator import retain_freed_memory
from tierflow.dsp._config import db_types, load_config
from tierflow.dsp._make import BoundChain, make_processing_chain
from tierflow.errors import ConfigError, NotFoundError
from tierflow.files import staged_path
from tierflow.types import Table

__all__ = ["build_dsp", "dsp_tables"]


def dsp_tables(raw_in: str | os.PathLike[str], lh5_tables: str | Sequence[str] | None) -> list[str]:
    """The raw tables to process: patterns expanded, ``ch1/`` completed to ``ch1/raw``."""
    from tierflow import lh5

    patterns = [lh5_tables] if isinstance(lh5_tables, str) else list(lh5_tables or ["*"])
    found: list[str] = []
    for pattern in patterns:
        matches = lh5.ls(raw_in, pattern.rstrip("/"))
        if not matches:
            available = lh5.ls(raw_in)
            raise NotFoundError(
                f"no table matches {pattern!r} (the file has {', '.join(available[:10])})",
                file=raw_in,
                obj=pattern,
                candidates=available,
            )
        for name in matches:
            inner = lh5.ls(raw_in, f"{name}/*")
            table = f"{name}/raw" if inner == [f"{name}/raw"] else name
            if table not in found:
                found.append(table)
    return found


def _detector(table: str) -> str:
    """The detector (channel) a table belongs to: ``ch1084803`` for ``ch1084803/raw``."""
    parts = [p for p in table.split("/") if p not in ("", "raw")]
    return parts[0] if parts else table


def _config_for(
    table: str, configs: Mapping[str, Any], default: Any, raw_in: Any
) -> Mapping[str, Any]:
    """The config of `table`: the first `chan_config` pattern matching it or its channel."""
    for pattern, config in configs.items():
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(table, pattern) or fnmatch.fnmatch(_detector(table), pattern):
            return config  # type: ignore[no-any-return]
    if default is None:
        raise NotFoundError(
            f"no chan_config entry matches {table!r}", file=raw_in, obj=table, candidates=configs
        )
    return default  # type: ignore[no-any-return]


def _channel_db(database: Mapping[str, Any] | None, table: str) -> Mapping[str, Any] | None:
    """The database part for `table`: ``database[channel]`` for ``channel/raw`` (as the anchor)."""
    if not database:
        return None
    parts = [p for p in table.split("/") if p not in ("", "raw")]
    if not parts:
        return database
    value = database.get(parts[0])
    return value if isinstance(value, Mapping) else None


_TIME_UNITS = {"s": 1e9, "ms": 1e6, "us": 1e3, "µs": 1e3, "ns": 1.0}


def _first_time(raw_in: str, table: str) -> int:
    """The first ``timestamp`` of `table` in ns since the epoch (no units: seconds)."""
    from tierflow import lh5

    try:
        column = lh5.read(table, raw_in, start_row=0, n_rows=1, fields=["timestamp"])["timestamp"]
    except (KeyError, NotFoundError):
        raise ConfigError(
            "looking up parameters in the calibration store needs a 'timestamp' column or "
            "parameter_time=",
            file=raw_in,
            obj=table,
        ) from None
    units = column.attrs.get("units") or "s"
    if units not in _TIME_UNITS:
        raise NotFoundError(
            f"unknown timestamp units {units!r}", file=raw_in, obj=table, candidates=_TIME_UNITS
        )
    return round(float(column.nda[0]) * _TIME_UNITS[units])


def _store_db(
    config: Mapping[str, Any],
    db: Mapping[str, Any] | None,
    source: Any,
    detector: str,
    at: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    """`db` completed with the store payloads of every ``db.<ctype>`` the config names.

    Values in `db` win; a type the store lacks for `detector` is left to the entry's
    ``defaults``. Returns the database and the attributes recording what came from the store.
    """
    merged = dict(db or {})
    used: list[str] = []
    for ctype in db_types(config):
        if ctype in merged:
            continue
        try:
            merged[ctype] = source.lookup(detector, ctype, at)
        except KeyError:  # NotFoundError: no payload in force; the defaults apply
            continue
        used.append(ctype)
    if not used:
        return merged, {}
    attrs = {
        "calib_provenance": json.dumps(source.provenance(), sort_keys=True),
        "calib_parameters": json.dumps({"detector": detector, "at": at, "ctypes": used}),
    }
    return merged, attrs


def _chunks(
    raw_in: str, table: str, fields: list[str], start: int, stop: int, buffer_len: int
) -> Iterator[Table]:
    """Rows ``start:stop`` of `table`, `buffer_len` at a time, read into the same buffers.

    Each chunk is processed (into new output arrays) before the next is asked for, so the
    next refills the buffers of the last instead of allocating (and page-faulting) anew.
    """
    from tierflow import lh5

    chunk: Table | None = None
    for first in range(start, stop, buffer_len):
        n = min(buffer_len, stop - first)
        chunk = lh5.read(table, raw_in, start_row=first, n_rows=n, fields=fields, obj=chunk)
        yield chunk


def _process_range(args: tuple[Any, ...]) -> Table:
    """Worker: build the chain and process rows ``start:stop`` of one table."""
    raw_in, table, config, db, outputs, start, stop, buffer_len, block_width = args
    from tierflow import lh5

    first = lh5.read(table, raw_in, start_row=start, n_rows=1)
    bound = make_processing_chain(config, first, db=db, outputs=outputs, block_width=block_width)
    pieces = [
        bound.process(c) for c in _chunks(raw_in, table, bound.fields, start, stop, buffer_len)
    ]
    result = pieces[0]
    for piece in pieces[1:]:
        result.extend(piece)
    return result


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit=" rows", delay=2)


def _run_table(
    raw_in: str,
    table: str,
    config: Mapping[str, Any],
    db: Any,
    outputs: Any,
    n_rows: int,
    buffer_len: int,
    block_width: int,
    n_processes: int,
    progress: bool,
) -> Iterator[Table]:
    """Output chunks of one table, in row order (several processes split the rows)."""
    bar = _progress(n_rows, f"dsp {table}", progress)
    if n_processes <= 1 or n_rows < 2 * block_width:
        from tierflow import lh5

        first = lh5.read(table, raw_in, start_row=0, n_rows=1)
        bound: BoundChain = make_processing_chain(config, first, db, outputs, block_width)
        for chunk in _chunks(raw_in, table, bound.fields, 0, n_rows, buffer_len):
            yield bound.process(chunk)
            if bar is not None:
                bar.update(len(chunk))
    else:
        step = max(block_width, -(-n_rows // (n_processes * 4)))
        ranges = [(s, min(s + step, n_rows)) for s in range(0, n_rows, step)]
        args_list = [
            (raw_in, table, config, db, outputs, a, b, buffer_len, block_width) for a, b in ranges
        ]
        with ProcessPoolExecutor(n_processes, mp_context=_context()) as pool:
            for piece in pool.map(_process_range, args_list):
                yield piece
                if bar is not None:
                    bar.update(len(piece))
    if bar is not None:
        bar.close()


def _context() -> Any:
    """How worker processes start: forked where the platform can (lh5's thread pools are made
    anew in a forked child), else from a forkserver with the kernels preloaded, else spawned."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # the server imports these once; every worker forked from it starts with them loaded
    context.set_forkserver_preload(["tierflow.dsp", *_KERNEL_MODULES])
    return context


_KERNEL_MODULES = [
    f"tierflow.dsp.processors.{name}"
    for name in ("_basic", "_convolve", "_moving", "_pickoff", "_pole_zero", "_resample", "_trap")
]


def build_dsp(
    raw_in: str | os.PathLike[str],
    dsp_out: str | os.PathLike[str] | None = None,
    dsp_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    lh5_tables: str | Sequence[str] | None = None,
    database: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    outputs: Sequence[str] | None = None,
    n_entries: int | None = None,
    buffer_len: int = 3200,
    block_width: int = 16,
    n_processes: int = 1,
    progress: bool = False,
    overwrite: bool = False,
    parameter_source: Any = None,
    parameter_time: int | None = None,
    chan_config: Mapping[str, Any] | None = None,
    hdf5_settings: Mapping[str, Any] | str | None = None,
) -> dict[str, Table] | None:
    """Run a processing chain over raw-tier tables and write (or return) the dsp tier.

    Parameters
    ----------
    raw_in
        The raw-tier LH5 file.
    dsp_out
        The output file, written under a temporary name and renamed at the end; ``None``
        returns the tables instead (by output name, e.g. ``"ch1084803/dsp"``).
    dsp_config
        The processing-chain config (dict or JSON/YAML path); never modified.
    lh5_tables
        Tables or glob patterns (``"ch*"``); a channel group holding only ``raw`` means its
        ``raw`` table. Default: every top-level object.
    database
        Values for ``db.*`` references (dict or JSON/YAML path). For a table under a channel
        group, as in the anchor, the part ``database[channel]`` is used.
    outputs
        Output names (default: the config's ``outputs``).
    n_entries
        Process at most this many rows per table.
    buffer_len
        Rows read from disk at a time.
    block_width
        Rows processed through the chain at a time.
    n_processes
        Processes sharing the rows of each table (``os.cpu_count()`` for all cores). They are
        forked where the platform allows; elsewhere (forkserver or spawn) a script using
        several needs the ``if __name__ == "__main__":`` guard.
    progress
        Show a progress bar (needs tqdm).
    overwrite
        Replace an existing output file.
    parameter_source
        A calibration store's parameters (``tierflow.calib.Store.parameter_source()``, or
        anything with ``lookup(detector, ctype, at)`` and ``provenance()``): ``db.pz.tau``
        is ``lookup(channel, "pz", at)["tau"]`` where `database` does not give it. The
        output tables record the store's provenance in their attributes.
    parameter_time
        The time (ns since the epoch) of the lookups; default: each table's first
        ``timestamp``.
    chan_config
        Per-table configs, ``{table pattern: config}`` (the anchor's ``chan_config``); tables
        no pattern matches use `dsp_config`.
    hdf5_settings
        Dataset settings for the output, or a preset name (:class:`~tierflow.lh5.Hdf5Preset`):
        by default ``"legend"``, shuffle + Zstd as LEGEND's production files; ``"anchor"`` is
        the anchors' shuffle + gzip.

    Example
    -------
    >>> build_dsp("raw.lh5", "dsp.lh5", "dsp.json", lh5_tables="ch*",
    ...           database={"ch1084803": {"pz": {"tau": 27460.5}}})  # doctest: +SKIP
    """
    retain_freed_memory()
    from tierflow import lh5

    settings = lh5.preset_settings(hdf5_settings)
    if dsp_config is None and not chan_config:
        raise ConfigError("build_dsp needs a dsp_config")
    configs = {k: load_config(v) for k, v in (chan_config or {}).items()}
    default = load_config(dsp_config) if dsp_config is not None else None
    db = load_config(database) if database is not None else None
    if dsp_out is not None and Path(dsp_out).exists() and not overwrite:
        raise ConfigError("the output file exists; pass overwrite=True to replace it", file=dsp_out)
    tables = dsp_tables(raw_in, lh5_tables if lh5_tables or not configs else list(configs))
    results: dict[str, Table] = {}
    with ExitStack() as stack:
        temp = stack.enter_context(staged_path(dsp_out)) if dsp_out is not None else None
        written = False
        for table in tables:
            config = _config_for(table, configs, default, raw_in)
            total = lh5.n_rows(table, raw_in)
            n_rows = total if n_entries is None else min(n_entries, total)
            name = table.replace("raw", "dsp") if "raw" in table else f"{table}/dsp"
            table_db = _channel_db(db, table)
            attrs: dict[str, str] = {}
            if parameter_source is not None:
                at = (
                    parameter_time
                    if parameter_time is not None
                    else _first_time(str(raw_in), table)
                )
                table_db, attrs = _store_db(
                    config, table_db, parameter_source, _detector(table), at
                )
            chunks = _run_table(
                str(raw_in),
                table,
                config,
                table_db,
                outputs,
                n_rows,
                buffer_len,
                block_width,
                n_processes,
                progress,
            )
            for i, chunk in enumerate(chunks):
                chunk.attrs.update(attrs)
                if temp is None:
                    if i == 0:
                        results[name] = chunk
                    else:
                        results[name].extend(chunk)
                else:
                    # the staged file starts empty: the first write makes it an HDF5 file
                    first = lh5.WriteMode.OVERWRITE_FILE if not written else lh5.WriteMode.CREATE
                    mode = first if i == 0 else lh5.WriteMode.APPEND
                    lh5.write(chunk, name, temp, mode=mode, hdf5_settings=settings)
                    written = True
        if temp is not None and not written:
            raise ConfigError("no rows to process", file=raw_in)
    return None if dsp_out is not None else results
