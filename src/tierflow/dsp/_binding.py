"""Binding a processor to chain variables: dimensions, dtypes, grids, units and buffers.

The deduction follows the anchor: the processor's grid is that of its first waveform argument
(else of its first coordinate argument); an argument in a time unit (``ns``) becomes a
coordinate on that grid; quantities (``10*us``) become samples of the grid's period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tierflow.dsp._steps import KernelStep
from tierflow.dsp._units import Quantity, parse_unit
from tierflow.dsp._variables import AUTO, Grid, Variable
from tierflow.dsp.processors import Processor
from tierflow.errors import ConfigError

__all__ = ["Text", "bind"]


class Text(str):
    """A string literal argument (a mode character such as ``'l'``), not a variable name."""


@dataclass
class Binding:
    proc: Processor
    params: list[Any]
    types: tuple[np.dtype[Any], ...]
    grid: Grid | None
    shapes: list[tuple[int, ...]] = field(default_factory=list)

    def make_step(self, chain: Any, const: bool) -> KernelStep:
        arrays, sliced = [], []
        for param, dtype, shape in zip(self.params, self.types, self.shapes, strict=False):
            array, is_rows = _array_for(chain, self, param, dtype, shape, const)
            arrays.append(array)
            sliced.append(is_rows)
        label = f"{self.proc.name}({', '.join(str(p) for p in self.params)})"
        return KernelStep(label, self.proc.kernel, arrays, sliced)


def _grid_of(var: Variable) -> Grid | None:
    """The grid a waveform argument brings (coordinates bring none here)."""
    if isinstance(var.grid, Grid) and var.is_coord is not True:
        return var.grid
    return None


def _core_shapes(proc: Processor, params: list[Any]) -> tuple[dict[str, list[Any]], Grid | None]:
    sizes: dict[str, list[Any]] = {}
    grid = None
    for dims, param in zip(proc.dims, params, strict=False):
        if not isinstance(param, Variable) or param.shape is AUTO:
            continue
        if len(param.shape) != len(dims):
            raise ConfigError(
                f"{proc.name}: {param.name} has shape {param.shape}, expected {len(dims)} dims",
                obj=param.name,
            )
        arr_grid = _grid_of(param)
        grid = grid or arr_grid
        for i, (dim, size) in enumerate(zip(reversed(dims), reversed(param.shape), strict=False)):
            info = sizes.setdefault(dim, [size, arr_grid if i == 0 else None])
            if info[0] != size:
                raise ConfigError(
                    f"{proc.name}: dimension {dim!r} is {info[0]} for one argument and {size} "
                    f"for {param.name}",
                    obj=param.name,
                )
            if info[1] is None and i == 0:
                info[1] = arr_grid
    return sizes, grid


def _coordinate_grid(params: list[Any], grid: Grid | None) -> Grid | None:
    if grid is not None:
        return grid
    for param in params:
        if isinstance(param, Variable) and param.is_coord is True and isinstance(param.grid, Grid):
            return param.grid
    return None


def _deduce(var: Variable, shape: tuple[int, ...], dtype: Any, this_grid: Any, grid: Any) -> None:
    unit: Any = None
    is_coord = False
    if var.is_coord is True and grid is not None:
        unit = grid.period.unit.symbol
        this_grid = grid
    else:
        own = parse_unit(var.unit) if var.unit is not AUTO else None
        if own is not None and grid is not None and own.compatible(grid.period.unit):
            is_coord = True
            this_grid = grid
    var.update(shape=shape, dtype=dtype, grid=this_grid, unit=unit, is_coord=is_coord)


def bind(chain: Any, proc: Processor, params: list[Any]) -> Binding:
    """Check `params` against `proc`, choose its types and fix what its variables lack."""
    if len(params) != len(proc.dims):
        raise ConfigError(
            f"{proc.name} takes {len(proc.dims)} arguments ({proc.signature}); got {len(params)}"
        )
    dtypes = [p.dtype if isinstance(p, Variable) and p.dtype is not AUTO else None for p in params]
    try:
        types = proc.choose_types(dtypes)
    except TypeError as error:
        raise ConfigError(str(error), obj=proc.name) from None
    if proc.elementwise:
        return _bind_elementwise(proc, params, types)
    sizes, grid = _core_shapes(proc, params)
    grid = _coordinate_grid(params, grid)
    binding = Binding(proc, params, types, grid)
    for dims, param, dtype in zip(proc.dims, params, types, strict=False):
        missing = [d for d in dims if d not in sizes]
        if missing:
            if isinstance(param, Variable):
                raise ConfigError(
                    f"{proc.name}: cannot deduce dimension {missing[0]!r} of {param.name}; "
                    f"declare it as {param.name}(length)",
                    obj=param.name,
                )
            raise ConfigError(f"{proc.name}: cannot deduce dimension {missing[0]!r}")
        shape = tuple(sizes[d][0] for d in dims)
        if isinstance(param, Variable):
            _deduce(param, shape, dtype, sizes[dims[-1]][1] if dims else None, grid)
        binding.shapes.append(shape)
    return binding


def _bind_elementwise(proc: Processor, params: list[Any], types: tuple[Any, ...]) -> Binding:
    n_in = proc.n_inputs
    shapes: list[tuple[int, ...]] = []
    for p in params[:n_in]:
        shape = p.shape if isinstance(p, Variable) else np.shape(p)
        if not isinstance(shape, tuple):
            raise ConfigError(f"{proc.name}: the shape of {p} is unknown", obj=proc.name)
        shapes.append(shape)
    out_shape = np.broadcast_shapes(*shapes)
    arr_grid = next(
        (_grid_of(p) for p in params[:n_in] if isinstance(p, Variable) and _grid_of(p)), None
    )
    grid = _coordinate_grid(params[:n_in], arr_grid)
    binding = Binding(proc, params, types, grid)
    for param, dtype in zip(params, types, strict=False):
        if isinstance(param, Variable):
            shape = param.shape if param.shape is not AUTO else out_shape
            _deduce(param, shape, dtype, arr_grid if shape else None, grid)
        own = param.shape if isinstance(param, Variable) else np.shape(param)
        binding.shapes.append(own if isinstance(own, tuple) else out_shape)
    binding.shapes[n_in:] = [out_shape] * (len(params) - n_in)
    return binding


def _constant(param: Any, dtype: np.dtype[Any], grid: Grid | None, proc: Processor) -> Any:
    """A literal argument as a value of `dtype` (quantities in samples of `grid`)."""
    if isinstance(param, str):
        if np.issubdtype(dtype, np.integer) and len(param) == 1:
            return dtype.type(ord(param))
        raise ConfigError(f"{proc.name}: cannot pass the string {param!r} as {dtype}")
    if isinstance(param, Quantity):
        if param.unit.time == 0:
            param = param.dimensionless()
        elif grid is None:
            raise ConfigError(f"{proc.name}: no waveform period to convert {param} into samples")
        else:
            param = param.in_samples(grid.period)
    if isinstance(param, Grid):
        raise ConfigError(f"{proc.name}: a grid is not a value")
    value = np.asarray(param)
    if np.issubdtype(dtype, np.integer) and not np.issubdtype(value.dtype, np.integer):
        value = np.round(value)
    return value.astype(dtype)


def _array_for(
    chain: Any, binding: Binding, param: Any, dtype: Any, shape: tuple[int, ...], const: bool
) -> tuple[Any, bool]:
    """The array a kernel gets for one argument, and whether it has a row axis to slice."""
    rows = 1 if const else chain.block_width
    if isinstance(param, Variable):
        grid = binding.grid if param.is_coord is True else None
        array = chain.cast(param, chain.buffer(param, grid), dtype)
        if param.is_const and not const:
            array = np.broadcast_to(array, (rows, *array.shape[1:]))
            if not shape:
                array = np.ascontiguousarray(array)
        if binding.proc.elementwise:
            out_ndim = max(len(s) for s in binding.shapes)
            array = array.reshape(
                array.shape[:1] + (1,) * (out_ndim - len(shape)) + array.shape[1:]
            )
        return array, True
    value = _constant(param, dtype, binding.grid, binding.proc)
    if binding.proc.elementwise:
        return value, False
    return np.ascontiguousarray(np.broadcast_to(value, (rows, *value.shape))), True
