"""Making a processing chain from a config and the columns of an input table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tierflow.dsp._chain import ProcessingChain
from tierflow.dsp._config import DSPConfig, ProcessorEntry, load_config, resolve_module
from tierflow.dsp._errors import ProcessingError
from tierflow.dsp._expr import Evaluator
from tierflow.dsp._units import UNITS, Quantity
from tierflow.dsp._variables import AUTO, Grid, Variable, unit_string
from tierflow.dsp.processors import PROCESSORS
from tierflow.errors import ConfigError, NotFoundError
from tierflow.types import Array, ArrayOfEqualSizedArrays, Table, VectorOfVectors, WaveformTable

__all__ = ["BoundChain", "make_processing_chain"]


@dataclass
class _Input:
    """Copies one input column into its variable's block buffer."""

    name: str
    targets: list[tuple[np.ndarray, str | None]]  # (buffer, sub-column: None, "values", "t0")

    def read(self, table: Table, start: int, stop: int) -> None:
        column: Any = table[self.name]
        for buffer, part in self.targets:
            source = column if part is None else column[part]
            np.copyto(buffer[: stop - start], source.nda[start:stop], casting="unsafe")


@dataclass
class _Output:
    """One output column: the buffer written, its attributes, and its row lengths if jagged."""

    buffer: np.ndarray
    attrs: dict[str, Any]
    const: bool
    lengths: np.ndarray | None = None

    def collect(self, n: int) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        shape = (n, *self.buffer.shape[1:])
        if self.lengths is None:
            return np.empty(shape, dtype=self.buffer.dtype)
        return np.empty(shape, dtype=self.buffer.dtype), np.empty(n, dtype=np.int64)

    def store(self, target: Any, start: int, stop: int) -> None:
        rows = self.buffer[0] if self.const else self.buffer[: stop - start]
        if self.lengths is None:
            target[start:stop] = rows
            return
        target[0][start:stop] = rows
        lengths = self.lengths[0] if self.const else self.lengths[: stop - start]
        target[1][start:stop] = lengths

    def column(self, result: Any) -> Array | VectorOfVectors:
        if self.lengths is None and result.ndim > 1:
            return ArrayOfEqualSizedArrays(result, attrs=dict(self.attrs))
        if self.lengths is None:
            return Array(result, attrs=dict(self.attrs))
        values, lengths = result
        width = values.shape[1]
        if len(lengths) and (lengths.min() < 0 or lengths.max() > width):
            raise ProcessingError(f"vector lengths outside 0-{width} for an output")
        keep = np.arange(width) < lengths[:, None]
        return VectorOfVectors(
            flattened_data=values[keep],
            cumulative_length=np.cumsum(lengths),
            attrs=dict(self.attrs),
        )


@dataclass
class _WaveformOutput(_Output):
    """A waveform output (a variable on a time grid): values, each row's ``t0``, and ``dt``,
    written as a :class:`WaveformTable` as dspeed does."""

    t0_rows: np.ndarray | None = None
    """Each row's time offset in `time_unit` (the grid's offset variable), or None."""
    t0_shift: float = 0.0
    """The grid's constant offset, in `time_unit`."""
    period: float = 1.0
    time_unit: str = ""

    def collect(self, n: int) -> Any:
        return super().collect(n), np.empty(n, np.float32)

    def store(self, target: Any, start: int, stop: int) -> None:
        super().store(target[0], start, stop)
        rows = 0.0 if self.t0_rows is None else self.t0_rows[: stop - start]
        target[1][start:stop] = rows + self.t0_shift

    def column(self, result: Any) -> Any:
        values, t0 = result
        times = {"units": self.time_unit} if self.time_unit else {}
        units = {k: v for k, v in self.attrs.items() if k == "units"}  # the table has all
        return WaveformTable(
            values=ArrayOfEqualSizedArrays(values, attrs=units),
            t0=Array(t0, attrs=dict(times)),
            dt=Array(np.full(len(t0), self.period, np.float32), attrs=dict(times)),
            attrs=dict(self.attrs),
        )


def _output(chain: ProcessingChain, var: Variable, attrs: dict[str, Any]) -> _Output:
    """The output of `var`: a waveform table when it is a waveform on a time grid."""
    lengths = None if var.vector_len is None else chain.buffer(var.vector_len)
    buffer = chain.output_buffer(var.name)
    grid = var.grid
    if not isinstance(grid, Grid) or var.is_coord is not False or lengths is not None:
        return _Output(buffer, attrs, var.is_const, lengths)
    unit = grid.period.unit
    t0_rows = None
    if grid.offset_var is not None:  # each row's t0, converted to the period's unit
        t0_rows = chain.buffer(grid.offset_var, Grid.of_unit(unit))
    return _WaveformOutput(
        buffer,
        attrs,
        var.is_const,
        t0_rows=t0_rows,
        t0_shift=float(grid.offset * grid.period.value),
        period=float(grid.period.value),
        time_unit=unit.symbol,
    )


@dataclass
class BoundChain:
    """A chain with its input columns and output buffers; call :meth:`process` on tables.

    Attributes
    ----------
    chain
        The :class:`ProcessingChain`.
    fields
        Input columns the chain reads (what to read from the raw file).
    outputs
        Output names, in order, with their buffers and attributes.
    """

    chain: ProcessingChain
    fields: list[str]
    inputs: list[_Input]
    outputs: dict[str, _Output]

    def process(self, table: Table) -> Table:
        """Run on every row of `table`; returns the output table."""
        n = len(table)
        bw = self.chain.block_width
        result = {name: out.collect(n) for name, out in self.outputs.items()}
        for start in range(0, n, bw):
            stop = min(start + bw, n)
            for link in self.inputs:
                link.read(table, start, stop)
            self.chain.execute(stop - start, start)
            for name, out in self.outputs.items():
                out.store(result[name], start, stop)
        columns = {name: out.column(result[name]) for name, out in self.outputs.items()}
        return Table(columns, size=n)


def _unit_of(attrs: Mapping[str, Any]) -> str | None:
    units = attrs.get("units")
    return str(units) if units not in (None, "") else None


def _link_waveform(chain: ProcessingChain, name: str, column: WaveformTable) -> _Input:
    dt_units = _unit_of(column.dt.attrs) or _unit_of(column.t0.attrs)
    t0_units = _unit_of(column.t0.attrs) or dt_units
    values = column.values
    if not isinstance(values, ArrayOfEqualSizedArrays):
        raise ConfigError(f"waveforms of varying length are not supported yet ({name})", obj=name)
    if dt_units not in UNITS or t0_units not in UNITS:
        raise ConfigError(f"waveform {name!r} needs dt and t0 in a time unit", obj=name)
    t0 = chain.add_variable(
        f"{name}__t0", shape=(), dtype=column.t0.nda.dtype, unit=t0_units, is_coord=True
    )
    t0.grid = Grid.of_unit(UNITS[t0_units])
    period = Quantity(float(column.dt.nda[0]), UNITS[dt_units])
    wf = chain.variable(name)
    wf.update(
        shape=values.nda.shape[1:],
        dtype=values.nda.dtype,
        grid=Grid(period, 0.0, t0),
        unit=_unit_of(values.attrs),
        is_coord=False,
    )
    return _Input(name, [(chain.buffer(wf), "values"), (chain.buffer(t0), "t0")])


def _link_input(chain: ProcessingChain, name: str, table: Table) -> _Input:
    if name not in table:
        raise NotFoundError(
            f"{name!r} is neither computed by the DSP config nor a column of the input",
            obj=name,
            candidates=list(table.keys()),
        )
    column = table[name]
    if isinstance(column, WaveformTable):
        return _link_waveform(chain, name, column)
    if not isinstance(column, (Array, ArrayOfEqualSizedArrays)):
        raise ConfigError(f"input column {name!r} of type {type(column).__name__} is not supported")
    var = chain.variable(name)
    var.update(shape=column.nda.shape[1:], dtype=column.nda.dtype, unit=_unit_of(column.attrs))
    return _Input(name, [(chain.buffer(var), None)])


def _processor_for(entry: ProcessorEntry) -> Any:
    assert entry.function is not None
    proc = PROCESSORS[resolve_module(entry.module, entry.function)]
    kwargs = dict(entry.options.get("kwargs") or {})
    changes = {k: kwargs.pop(k) for k in ("signature", "types") if k in kwargs}
    if kwargs:
        raise ConfigError(f"unsupported kwargs {sorted(kwargs)} for {entry.key!r}", obj=entry.key)
    if "types" in changes:
        changes["types"] = tuple(changes["types"])
    return dataclasses.replace(proc, **changes) if changes else proc


def _made_processor(proc: Any, evaluate: Evaluator, entry: ProcessorEntry) -> Any:
    """The processor a factory (``poly_fit``) makes from the entry's ``init_args``."""
    if not proc.factory:
        raise ConfigError(f"{proc.name} takes no init_args ({entry.key!r})", obj=entry.key)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for arg in entry.options.get("init_args") or []:
        value = evaluate(arg) if isinstance(arg, str) else arg
        if isinstance(value, dict):
            kwargs.update(value)
        else:
            args.append(value)
    try:
        return proc.make(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{proc.name} init_args: {error}", obj=entry.key) from None


def _add_entry(chain: ProcessingChain, evaluate: Evaluator, entry: ProcessorEntry) -> None:
    if entry.is_expression:
        value = evaluate(entry.args[0])
        if isinstance(value, Variable):
            alias = chain.variable(entry.names[0])
            alias.update(
                shape=value.shape,
                dtype=value.dtype,
                grid=value.grid,
                unit=value.unit,
                is_coord=value.is_coord,
            )
            alias.is_const = value.is_const
            alias.buffer = chain.buffer(value)
        else:
            chain.set_constant(entry.names[0], value)
        return
    proc = _processor_for(entry)
    if "init_args" in entry.options or proc.factory:
        proc = _made_processor(proc, evaluate, entry)
    for name, unit in zip(entry.names, entry.units, strict=False):
        chain.variable(name).update(unit=unit)
    params = []
    for arg in entry.args:
        value = evaluate(arg) if isinstance(arg, str) else arg
        if isinstance(value, dict):
            raise ConfigError(f"keyword arguments are not supported ({arg!r})", obj=entry.key)
        params.append(value)
    chain.add_processor(proc, params, entry.names)


def make_processing_chain(
    config: Any,
    table: Table,
    db: Mapping[str, Any] | None = None,
    outputs: Sequence[str] | None = None,
    block_width: int = 16,
) -> BoundChain:
    """Make the chain computing `outputs` (default: the config's) from the columns of `table`.

    Parameters
    ----------
    config
        The config (dict, or path of a JSON/YAML file); it is not modified.
    table
        A table with the input columns (a first chunk; only its columns and attributes matter).
    db
        Values for ``db.*`` references; missing ones fall back on each entry's ``defaults``.
    outputs
        Output names; computed ones, or input columns copied through.
    block_width
        Rows processed at a time.

    Example
    -------
    >>> bound = make_processing_chain("dsp.json", raw_table)  # doctest: +SKIP
    >>> dsp_table = bound.process(raw_table)  # doctest: +SKIP
    """
    parsed = DSPConfig.parse(load_config(config), db, outputs)
    entries, input_names = parsed.order()
    chain = ProcessingChain(block_width)
    copies = [o for o in parsed.outputs if o not in parsed.by_name]
    inputs = [
        _link_input(chain, name, table)
        for name in input_names + copies
        if name not in chain.variables
    ]
    evaluate = Evaluator(chain)
    for entry in entries:
        try:
            _add_entry(chain, evaluate, entry)
        except (ConfigError, NotFoundError) as error:  # noqa: PERF203
            error.obj = error.obj or entry.key
            raise
    result: dict[str, _Output] = {}
    for name in parsed.outputs:
        var = chain.get(name)
        attrs: dict[str, Any] = {}
        if name in copies:
            attrs.update(table[name].attrs)
        else:
            options = parsed.by_name[name].options
            attrs.update(options.get("lh5_attrs") or {})
            if options.get("description"):
                attrs["description"] = options["description"]
            if unit_string(var.unit):
                attrs["units"] = unit_string(var.unit)
        if var.shape is AUTO:
            raise ConfigError(f"output {name!r} is never computed", obj=name)
        result[name] = _output(chain, var, attrs)
    return BoundChain(chain, input_names + copies, inputs, result)
