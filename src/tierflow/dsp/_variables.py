"""Variables of a processing chain and the coordinate grids of their time axes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np

from tierflow.dsp._units import Quantity, Unit, parse_unit

__all__ = ["AUTO", "Grid", "Variable", "unit_string"]


class _Auto(enum.Enum):
    AUTO = "auto"

    def __repr__(self) -> str:
        return "auto"


AUTO = _Auto.AUTO
"""Marks a property of a variable that the chain deduces from the processors it meets."""


@dataclass(frozen=True, eq=False)
class Grid:
    """The time axis of a waveform: sample ``i`` is at ``(i + offset) * period``.

    `offset` is in samples; `offset_var`, when set, adds a per-row offset (a waveform's ``t0``),
    a coordinate variable whose values are converted into samples at run time.
    """

    period: Quantity
    offset: float = 0.0
    offset_var: Variable | None = None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Grid)
            and self.period == other.period
            and self.offset == other.offset
            and self.offset_var is other.offset_var
        )

    def __hash__(self) -> int:
        return hash((self.period, self.offset, id(self.offset_var)))

    def shifted(self, samples: float) -> Grid:
        """The grid of ``w[samples:]``."""
        return Grid(self.period, self.offset + samples, self.offset_var)

    @classmethod
    def of_unit(cls, unit: Unit) -> Grid:
        """A plain unit (``ns``) as a grid with period one unit and no offset."""
        return cls(Quantity(1.0, unit))

    def __str__(self) -> str:
        off = f"{self.offset:g}" + (f"+{self.offset_var.name}" if self.offset_var else "")
        return f"({self.period}, offset {off})"


def unit_string(unit: Any) -> str | None:
    """How a unit is written to the output's ``units`` attribute."""
    if unit is None or unit is AUTO:
        return None
    if isinstance(unit, Quantity):
        return unit.unit.symbol
    return str(unit)


class Variable:
    """A named value of the chain: a block of rows, or a constant (one row).

    Shape, dtype, grid, unit and whether it is a coordinate (a time in samples of its grid)
    start as :data:`AUTO` when the config does not say, and are fixed by the first processor
    that uses the variable. A variable with a `vector_len` (another variable, an integer per
    row) holds NaN-padded rows of which only the first `vector_len` entries count: it is
    written out as a jagged array.
    """

    def __init__(self, name: str, **props: Any) -> None:
        self.name = name
        self.shape: tuple[int, ...] | _Auto = AUTO
        self.dtype: np.dtype[Any] | _Auto = AUTO
        self.grid: Grid | _Auto | None = AUTO
        self.unit: Any = AUTO
        self.is_coord: bool | _Auto = AUTO
        self.is_const = False
        self.vector_len: Variable | None = None
        self.buffer: np.ndarray | None = None
        self.conversions: dict[Any, np.ndarray] = {}
        self.update(**props)

    def update(self, **props: Any) -> None:
        """Set the properties given that are still :data:`AUTO`; leave the others alone."""
        for key, value in props.items():
            if value is AUTO or getattr(self, key) is not AUTO:
                continue
            if key == "shape":
                value = tuple(int(v) for v in value) if np.iterable(value) else (int(value),)
            elif key == "dtype":
                value = np.dtype(value)
            elif key == "is_coord":
                value = bool(value)
            setattr(self, key, value)

    @property
    def unit_object(self) -> Unit | None:
        """The unit as a :class:`Unit` when it is a known one."""
        return parse_unit(self.unit) if self.unit is not AUTO else None

    def describe(self) -> str:
        return (
            f"{self.name}(shape={self.shape}, dtype={self.dtype}, grid={self.grid}, "
            f"unit={unit_string(self.unit)}, is_coord={self.is_coord}, const={self.is_const})"
        )

    def __repr__(self) -> str:
        return f"Variable({self.name!r})"

    def __str__(self) -> str:
        return self.name
