"""A small unit system for processing-chain configs: times and frequencies.

Configs write constants such as ``10*us`` or ``128*ns/wf.period``; a :class:`Quantity` carries a
value and a :class:`Unit` (a power of seconds and a scale), enough to convert constants into
samples of a waveform's clock. Units outside this set (``ADC``, ``ADC/sample``) stay plain
strings that are only written to the output attributes.

Example
-------
>>> from tierflow.dsp._units import quantity
>>> quantity(10, "us") / quantity(16, "ns")  # a dimensionless ratio is a plain number
625.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["UNITS", "Quantity", "Unit", "is_unit", "parse_unit", "quantity"]


@dataclass(frozen=True)
class Unit:
    """A unit: ``10**exp10`` seconds to the power ``time``; ``symbol`` is how it is written.

    Scales are powers of ten kept as integers, so ``10*us/(16*ns)`` is exactly 625.
    """

    exp10: int
    time: int
    symbol: str

    def __mul__(self, other: Unit) -> Unit:
        return Unit(self.exp10 + other.exp10, self.time + other.time, f"{self}*{other}")

    def __truediv__(self, other: Unit) -> Unit:
        return Unit(self.exp10 - other.exp10, self.time - other.time, f"{self}/{other}")

    def compatible(self, other: Unit) -> bool:
        """Whether both measure the same kind of thing (here: the same power of time)."""
        return self.time == other.time

    def __str__(self) -> str:
        return self.symbol


_PREFIX = {"": 0, "m": -3, "u": -6, "µ": -6, "n": -9, "p": -12, "f": -15}
_FREQ_PREFIX = {"": 0, "k": 3, "M": 6, "G": 9}

UNITS: dict[str, Unit] = {}
for _p, _s in _PREFIX.items():
    UNITS[f"{_p}s"] = Unit(_s, 1, f"{'µ' if _p == 'u' else _p}s")
for _p, _s in _FREQ_PREFIX.items():
    UNITS[f"{_p}Hz"] = Unit(_s, -1, f"{_p}Hz")
DIMENSIONLESS = Unit(0, 0, "")
"""Every unit name a config may use, by name."""


def is_unit(name: object) -> bool:
    """Whether `name` names a unit of :data:`UNITS`."""
    return isinstance(name, str) and name in UNITS


def parse_unit(unit: str | Unit | Quantity | None) -> Unit | None:
    """The :class:`Unit` for `unit`, or ``None`` when it is not a known unit (``"ADC"``)."""
    if isinstance(unit, Unit):
        return unit
    if isinstance(unit, Quantity):
        return unit.unit
    if isinstance(unit, str) and unit in UNITS:
        return UNITS[unit]
    return None


@dataclass(frozen=True)
class Quantity:
    """A value with a unit; arithmetic keeps track of the unit."""

    value: float
    unit: Unit

    def dimensionless(self) -> float:
        """The value as a plain number; the unit must have cancelled."""
        if self.unit.time != 0:
            raise ValueError(f"{self} is not dimensionless")
        return _scaled(self.value, self.unit.exp10)

    def to(self, unit: Unit) -> float:
        """The value in `unit` (a compatible unit)."""
        if not self.unit.compatible(unit):
            raise ValueError(f"cannot convert {self} to {unit}")
        return _scaled(self.value, self.unit.exp10 - unit.exp10)

    def in_samples(self, period: Quantity) -> float:
        """The value in units of `period` (or its powers: a frequency times the period)."""
        power = self.unit.time
        exp10 = self.unit.exp10 - power * period.unit.exp10
        return _scaled(self.value / float(period.value) ** power, exp10)

    def _combine(self, other: Any, op: str) -> Any:
        if isinstance(other, Quantity):
            unit = self.unit * other.unit if op == "*" else self.unit / other.unit
            value = self.value * other.value if op == "*" else self.value / other.value
            return _simplify(value, unit)
        if isinstance(other, (int, float)):
            value = self.value * other if op == "*" else self.value / other
            return Quantity(value, self.unit)
        return NotImplemented

    def __mul__(self, other: Any) -> Any:
        return self._combine(other, "*")

    def __rmul__(self, other: Any) -> Any:
        return self._combine(other, "*")

    def __truediv__(self, other: Any) -> Any:
        return self._combine(other, "/")

    def __rtruediv__(self, other: Any) -> Any:
        if isinstance(other, (int, float)):
            inv = Unit(-self.unit.exp10, -self.unit.time, f"1/{self.unit.symbol}")
            return _simplify(other / self.value, inv)
        return NotImplemented

    def _add(self, other: Any, sign: float) -> Any:
        if isinstance(other, Quantity) and self.unit.compatible(other.unit):
            return Quantity(self.value + sign * other.to(self.unit), self.unit)
        if isinstance(other, (int, float)) and self.unit.time == 0:
            return self.dimensionless() + sign * other
        return NotImplemented

    def __add__(self, other: Any) -> Any:
        return self._add(other, 1.0)

    def __radd__(self, other: Any) -> Any:
        return self._add(other, 1.0)

    def __sub__(self, other: Any) -> Any:
        return self._add(other, -1.0)

    def __rsub__(self, other: Any) -> Any:
        result = self._add(other, -1.0)
        return -result if result is not NotImplemented else result

    def __neg__(self) -> Quantity:
        return Quantity(-self.value, self.unit)

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


def _scaled(value: float, exp10: int) -> float:
    """``value * 10**exp10``, dividing for negative powers (exact for 10*us/(16*ns))."""
    return float(value * 10**exp10 if exp10 >= 0 else value / 10 ** (-exp10))


def _simplify(value: float, unit: Unit) -> Any:
    """A plain float when the unit cancelled, otherwise a quantity in a named unit if any."""
    if unit.time == 0:
        return _scaled(value, unit.exp10)
    named = next((u for u in UNITS.values() if (u.time, u.exp10) == (unit.time, unit.exp10)), None)
    return Quantity(value, named or unit)


def quantity(value: float, unit: str) -> Quantity:
    """``value`` in the unit named `unit`."""
    return Quantity(float(value), UNITS[unit])
