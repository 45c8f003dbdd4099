"""The processing chain: variables in preallocated block buffers and the steps that fill them.

:class:`ProcessingChain` binds processors to variables, deducing each variable's shape, dtype,
time grid and unit from the processors that use it (as the anchor does), and runs its steps
over blocks of rows, writing into buffers allocated once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from tierflow.dsp._errors import ProcessingError
from tierflow.dsp._steps import CastStep, ConvertStep, Step, grid_ratio
from tierflow.dsp._units import Quantity
from tierflow.dsp._variables import AUTO, Grid, Variable
from tierflow.dsp.processors import Processor
from tierflow.errors import ConfigError, NotFoundError

__all__ = ["ProcessingChain"]

_NAME = re.compile(r"\A[A-Za-z_]\w*\Z")


def _n_constants(params: list[Any]) -> int:
    return sum(not isinstance(p, Variable) for p in params)


class ProcessingChain:
    """Variables and the steps computing them, run on blocks of `block_width` rows.

    Example
    -------
    >>> import numpy as np
    >>> from tierflow.dsp import ProcessingChain
    >>> from tierflow.dsp.processors import PROCESSORS
    >>> chain = ProcessingChain(block_width=4)
    >>> wf = chain.add_variable("wf", shape=(50,), dtype="float32")
    >>> chain.add_processor(PROCESSORS["trap_norm"], ["wf", 10, 5, "wf_trap"])
    >>> out = chain.run({"wf": np.ones((3, 50), dtype="float32")}, ["wf_trap"])
    >>> out["wf_trap"].shape
    (3, 50)
    """

    def __init__(self, block_width: int = 16) -> None:
        self.block_width = int(block_width)
        self.variables: dict[str, Variable] = {}
        self.steps: list[Step] = []
        self._calls: dict[Any, list[Variable]] = {}

    # --- variables -------------------------------------------------------------------------
    def add_variable(self, name: str, **props: Any) -> Variable:
        """A new variable named `name` (properties not given are deduced later)."""
        if not _NAME.match(name):
            raise ConfigError(f"{name!r} is not a valid variable name", obj=name)
        if name in self.variables:
            raise ConfigError(f"variable {name!r} exists already", obj=name)
        var = Variable(name, **props)
        self.variables[name] = var
        return var

    def get(self, name: str) -> Variable:
        """The variable `name`, which must exist."""
        try:
            return self.variables[name]
        except KeyError:
            raise NotFoundError(
                f"no variable {name!r} in the chain", obj=name, candidates=self.variables
            ) from None

    def variable(self, name: str) -> Variable:
        """The variable `name`, made (with everything to deduce) if new."""
        return self.variables[name] if name in self.variables else self.add_variable(name)

    def set_constant(self, name: str, value: Any, unit: Any = None) -> Variable:
        """Make `name` a constant holding `value` (a number, array or quantity)."""
        if isinstance(value, Quantity):
            value, unit = value.value, value.unit
        array = np.asarray(value)
        var = self.variable(name)
        var.is_const = True
        var.update(shape=array.shape, dtype=array.dtype, unit=unit, is_coord=False, grid=None)
        self.buffer(var)[...] = array
        return var

    def buffer(self, var: Variable, grid: Grid | None = None) -> np.ndarray:
        """The block buffer of `var`, its times converted into `grid` when it is a coordinate."""
        if var.buffer is None:
            if var.shape is AUTO or var.dtype is AUTO:
                raise ConfigError(
                    f"cannot deduce the shape and dtype of {var.name!r}", obj=var.name
                )
            rows = 1 if var.is_const else self.block_width
            var.buffer = np.zeros((rows, *var.shape), dtype=var.dtype)
        if grid is None or var.is_coord is not True:
            return var.buffer
        if var.grid is AUTO or var.grid is None:
            var.grid = grid
        if var.grid == grid:
            return var.buffer
        return self.converted(var, grid)

    def converted(self, var: Variable, grid: Grid, mode: str | None = None) -> np.ndarray:
        """`var` (a coordinate) in samples of `grid`, rounded by `mode`; added once per grid."""
        key = (grid, mode)
        if key in var.conversions:
            return var.conversions[key]
        assert isinstance(var.grid, Grid)
        assert var.buffer is not None
        step = ConvertStep(
            f"convert({var.name}, {var.grid} -> {grid})",
            var.buffer,
            np.zeros_like(var.buffer),
            grid_ratio(var.grid, grid),
            (var.grid.offset, self._offset_buffer(var.grid)),
            (grid.offset, self._offset_buffer(grid)),
            mode,
        )
        var.conversions[key] = step.target
        self._schedule(step, const=var.is_const)
        return step.target

    def _offset_buffer(self, grid: Grid) -> np.ndarray | None:
        if grid.offset_var is None:
            return None
        return self.buffer(grid.offset_var, Grid(grid.period))

    def cast(self, var: Variable, array: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
        """`array` (a buffer of `var`) as `dtype`; one cast per variable and dtype."""
        if array.dtype == dtype:
            return array
        key = ("cast", id(array), dtype)
        if key not in var.conversions:
            step = CastStep(f"astype({var.name}, {dtype})", array, np.zeros(array.shape, dtype))
            var.conversions[key] = step.target
            self._schedule(step, const=var.is_const)
        return var.conversions[key]

    def _schedule(self, step: Step, const: bool) -> None:
        if const:
            step.run(1)
        else:
            self.steps.append(step)

    # --- processors --------------------------------------------------------------------------
    def add_processor(
        self, proc: Processor, params: Sequence[Any], outputs: Sequence[str] | None = None
    ) -> None:
        """Bind `proc` to `params` (variable names or objects, numbers, strings, quantities).

        `outputs` names the variables it computes (default: those after ``->`` in its
        signature). Outputs whose shape, dtype, grid or unit are not set yet are deduced here.
        A processor whose inputs are all constants runs once now; its outputs become constants.
        """
        from tierflow.dsp._binding import Text, bind

        params = [
            self.variable(p) if isinstance(p, str) and not isinstance(p, Text) else p
            for p in params
        ]
        if outputs is None:
            picked = [params[i] for i in proc.outputs if i < len(params)]
            out_vars = [p for p in picked if isinstance(p, Variable)]
        else:
            out_vars = [p for p in params if isinstance(p, Variable) and p.name in outputs]
        in_vars = [p for p in params if isinstance(p, Variable) and p not in out_vars]
        binding = bind(self, proc, params)
        const = all(v.is_const for v in in_vars) and (proc.const_only or bool(in_vars))
        for var in out_vars:
            var.is_const = const
        if self._reuse(proc, binding.types, params, in_vars, out_vars):
            return
        self._schedule(binding.make_step(self, const), const)

    def _reuse(
        self,
        proc: Processor,
        types: tuple[Any, ...],
        params: list[Any],
        in_vars: list[Variable],
        out_vars: list[Variable],
    ) -> bool:
        """Share the outputs of an earlier identical call (same processor, inputs and types).

        Configs often compute the same thing twice under two names (``wf_trap`` and
        ``wf_etrap``); the second becomes a view of the first instead of a second pass.
        """
        if not out_vars or len(out_vars) != len(params) - len(in_vars) - _n_constants(params):
            return False
        if any(v.buffer is not None for v in out_vars) or proc.bound:
            return False
        key = (
            proc.target,
            proc.signature,
            tuple(str(t) for t in types),
            tuple(
                ("var", id(p)) if isinstance(p, Variable) else ("const", repr(p))
                for p in params
                if not (isinstance(p, Variable) and p in out_vars)
            ),
        )
        earlier = self._calls.get(key)
        if earlier is None:
            self._calls[key] = out_vars
            return False
        for var, first in zip(out_vars, earlier, strict=True):
            if (var.shape, var.dtype) != (first.shape, first.dtype):
                return False
        for var, first in zip(out_vars, earlier, strict=True):
            var.buffer = self.buffer(first)
        return True

    # --- running -----------------------------------------------------------------------------
    def run(self, inputs: dict[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        """Run on whole input arrays (rows first); returns the output arrays by name.

        Inputs are plain arrays here; :func:`tierflow.dsp.build_dsp` links LH5 tables instead.
        """
        n = len(next(iter(inputs.values())))
        sources = [(self.buffer(self.get(k)), np.asarray(v)) for k, v in inputs.items()]
        sinks = {name: self.output_buffer(name) for name in outputs}
        result = {name: np.empty((n, *b.shape[1:]), b.dtype) for name, b in sinks.items()}
        for start in range(0, n, self.block_width):
            stop = min(start + self.block_width, n)
            for buf, src in sources:
                np.copyto(buf[: stop - start], src[start:stop], casting="unsafe")
            self.execute(stop - start, start)
            for name, buf in sinks.items():
                result[name][start:stop] = (
                    buf[0] if self.get(name).is_const else buf[: stop - start]
                )
        return result

    def output_buffer(self, name: str) -> np.ndarray:
        """The buffer written out for `name`: coordinates in their unit (``ns``), else native."""
        var = self.get(name)
        unit = var.unit_object
        if var.is_coord is True and unit is not None and isinstance(var.grid, Grid):
            return self.buffer(var, Grid.of_unit(unit))
        return self.buffer(var)

    def execute(self, n: int, first_row: int = 0) -> None:
        """Run every step on the first `n` rows of the block buffers."""
        for step in self.steps:
            try:
                step.run(n)
            except (ValueError, ZeroDivisionError, IndexError) as error:  # noqa: PERF203
                raise ProcessingError(
                    f"{step.label} failed on rows {first_row}-{first_row + n}: {error}"
                ) from error

    def describe(self) -> str:
        """Variables and steps, one a line."""
        lines = ["variables:"] + [f"  {v.describe()}" for v in self.variables.values()]
        return "\n".join([*lines, "steps:"] + [f"  {s.label}" for s in self.steps])
