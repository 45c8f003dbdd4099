"""The steps a chain runs on every block of rows: kernels, casts and coordinate conversions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tierflow.dsp._variables import Grid

__all__ = ["CastStep", "ConvertStep", "KernelStep", "Step"]


class Step:
    """Something run on the first `n` rows of the chain's block buffers."""

    label: str

    def run(self, n: int) -> None:
        raise NotImplementedError


@dataclass
class KernelStep(Step):
    """A processor kernel on bound arrays; `sliced[i]` tells which arrays have a row axis.

    A full block (every row of the buffers, the common case) passes the arrays as they are,
    without slicing each one on every call.
    """

    label: str
    func: Callable[..., Any]
    arrays: list[Any]
    sliced: list[bool]

    def __post_init__(self) -> None:
        rows = {a.shape[0] for a, s in zip(self.arrays, self.sliced, strict=False) if s}
        self._full = rows.pop() if len(rows) == 1 else -1

    def run(self, n: int) -> None:
        if n == self._full:
            self.func(*self.arrays)
            return
        self.func(*[a[:n] if s else a for a, s in zip(self.arrays, self.sliced, strict=False)])


@dataclass
class CastStep(Step):
    """Copy a buffer into one of another dtype."""

    label: str
    source: np.ndarray
    target: np.ndarray

    def run(self, n: int) -> None:
        np.copyto(self.target[:n], self.source[:n], casting="unsafe")


_ROUNDING: dict[str | None, Callable[[Any], Any] | None] = {
    None: None,
    "round": np.rint,
    "floor": np.floor,
    "ceil": np.ceil,
    "trunc": np.trunc,
}


@dataclass
class ConvertStep(Step):
    """Times from one grid to another: ``(t + offset_from) * ratio - offset_to``.

    Offsets of per-row grids come from their offset variables' buffers, already in samples of
    the grid (the chain adds those conversions first).
    """

    label: str
    source: np.ndarray
    target: np.ndarray
    ratio: float
    offset_from: tuple[float, np.ndarray | None]
    offset_to: tuple[float, np.ndarray | None]
    mode: str | None = None

    @staticmethod
    def _offset(offset: tuple[float, np.ndarray | None], n: int, ndim: int) -> Any:
        const, per_row = offset
        if per_row is None:
            return const
        values = per_row[:n].astype(np.float64) + const
        return values.reshape((n,) + (1,) * (ndim - 1))

    def run(self, n: int) -> None:
        src = self.source[:n]
        value = (src + self._offset(self.offset_from, n, src.ndim)) * self.ratio
        value = value - self._offset(self.offset_to, n, src.ndim)
        rounding = _ROUNDING[self.mode]
        if rounding is not None:
            value = rounding(value)
        np.copyto(self.target[:n], value, casting="unsafe")


def grid_ratio(source: Grid, target: Grid) -> float:
    """How many target periods one source period is."""
    return float(source.period.to(target.period.unit) / target.period.value)
