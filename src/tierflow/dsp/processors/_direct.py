"""Calling a processor on plain arrays, outside a chain (for tests and interactive use)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tierflow.dsp.processors._spec import Processor

__all__ = ["call_direct"]


def _as_arg(value: Any, dtype: np.dtype[Any]) -> np.ndarray:
    if isinstance(value, str):
        if len(value) != 1:
            raise ValueError(f"a character argument must be one character, not {value!r}")
        value = ord(value)
    return np.asarray(value, dtype=dtype)


def _rows(proc: Processor, args: tuple[Any, ...]) -> tuple[int, bool]:
    """Number of rows, and whether the call was for a single row (no row axis)."""
    for value, dims in zip(args, proc.dims, strict=False):
        if isinstance(value, np.ndarray) and value.ndim > len(dims):
            return value.shape[0], False
    return 1, True


def _dim_sizes(proc: Processor, args: list[np.ndarray], single: bool) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for value, dims in zip(args, proc.dims, strict=False):
        for name, size in zip(dims, value.shape[value.ndim - len(dims) :], strict=False):
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"{proc.name}: inconsistent length for dimension {name!r}")
    return sizes


def call_direct(proc: Processor, args: tuple[Any, ...]) -> Any:
    """Run `proc` on `args` (inputs, then optionally outputs); see :meth:`Processor.__call__`."""
    n_in = proc.n_inputs
    dtypes = [a.dtype if isinstance(a, np.ndarray) else None for a in args]
    types = proc.choose_types(dtypes + [None] * (len(proc.dims) - len(args)))
    rows, single = _rows(proc, args)
    arrays = [_as_arg(a, t) for a, t in zip(args, types, strict=False)]
    if proc.elementwise:
        out = np.empty(np.broadcast_shapes(*(a.shape for a in arrays[:n_in])), types[-1])
        proc.kernel(*arrays[:n_in], out)
        return out
    shaped = []
    for value, dims in zip(arrays, proc.dims, strict=False):
        core = value.shape[value.ndim - len(dims) :] if dims else ()
        shaped.append(np.array(np.broadcast_to(value, (rows, *core))))
    sizes = _dim_sizes(proc, shaped, single)
    for dims, dtype in zip(proc.dims[len(shaped) :], types[len(shaped) :], strict=False):
        missing = [d for d in dims if d not in sizes]
        if missing:
            raise ValueError(f"{proc.name}: pass the output to fix dimension {missing[0]!r}")
        shaped.append(np.empty((rows, *(sizes[d] for d in dims)), dtype))
    proc.kernel(*shaped)
    outputs = [shaped[i] for i in proc.outputs]
    for i in proc.outputs:
        given = args[i] if i < len(args) else None
        if isinstance(given, np.ndarray):
            result = shaped[i]
            given[...] = result[0] if single and given.ndim < result.ndim else result
    if len(outputs) == 1:
        return outputs[0]
    return tuple(outputs)
