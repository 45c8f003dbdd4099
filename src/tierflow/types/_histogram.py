"""Histograms with uniform (``axis.Regular``) or variable (``axis.Variable``) binning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from tierflow.errors import MismatchError
from tierflow.types._array import Array, Scalar
from tierflow.types._base import DataObject
from tierflow.types._datatype import StructType

__all__ = ["Axis", "Histogram", "Regular", "Variable"]


@dataclass(frozen=True)
class Regular:
    """Bins of equal width from `first` to `last`, `step` wide."""

    first: float
    last: float
    step: float
    closedleft: bool = True
    units: str | None = None

    @property
    def n_bins(self) -> int:
        return round((self.last - self.first) / self.step)

    @property
    def edges(self) -> tuple[float, ...]:
        return tuple(np.linspace(self.first, self.last, self.n_bins + 1).tolist())


@dataclass(frozen=True)
class Variable:
    """Bins between increasing `edges`."""

    edges: tuple[float, ...]
    closedleft: bool = True
    units: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", tuple(float(e) for e in self.edges))
        if len(self.edges) < 2 or np.any(np.diff(self.edges) <= 0):
            raise MismatchError("variable bin edges must be at least two, strictly increasing")

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1


Axis = Union[Regular, Variable]


class Histogram(DataObject):
    """Bin contents (`weights`, n-d) over one axis per dimension.

    Stored in LH5 as ``struct{binning,weights,isdensity}`` (see the format spec).

    Parameters
    ----------
    weights
        Bin contents, one dimension per axis.
    binning
        One :class:`Regular` or :class:`Variable` axis per dimension, or arrays of edges.
    isdensity
        Whether `weights` are densities (divided by bin widths).

    Example
    -------
    >>> counts, edges = np.histogram([1, 2, 2, 3], bins=3, range=(0.5, 3.5))
    >>> h = Histogram(counts, [Regular(0.5, 3.5, 1.0)])
    >>> h.weights.nda, h.binning[0].n_bins
    (array([1, 2, 1]), 3)
    """

    def __init__(
        self,
        weights: Array | npt.ArrayLike,
        binning: Sequence[Axis | npt.ArrayLike],
        isdensity: bool = False,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.weights = weights if isinstance(weights, Array) else Array(np.asarray(weights))
        self.binning: tuple[Axis, ...] = tuple(
            ax if isinstance(ax, (Regular, Variable)) else Variable(tuple(np.asarray(ax, float)))
            for ax in binning
        )
        self.isdensity = bool(isdensity)
        self._init_attrs(attrs)
        shape = tuple(ax.n_bins for ax in self.binning)
        if self.weights.nda.shape != shape:
            raise MismatchError(f"weights of shape {self.weights.nda.shape} for bins {shape}")

    @classmethod
    def fill(
        cls, samples: npt.ArrayLike, binning: Sequence[Axis], weights: npt.ArrayLike | None = None
    ) -> Histogram:
        """Histogram `samples` (``(n,)`` or ``(n, ndim)``) into `binning`."""
        edges = [np.asarray(ax.edges) for ax in binning]
        data = np.asarray(samples)
        counts, _ = np.histogramdd(data.reshape(len(data), -1), bins=edges, weights=weights)
        return cls(counts, binning)

    @property
    def datatype(self) -> StructType:
        return StructType(("binning", "weights", "isdensity"))

    @property
    def edges(self) -> list[npt.NDArray[np.float64]]:
        """The bin edges of every axis, as arrays."""
        return [np.asarray(ax.edges) for ax in self.binning]

    def __len__(self) -> int:
        return 3

    def to_struct(self) -> Any:
        """The LH5 layout of this histogram, as a :class:`Struct`."""
        from tierflow.types._struct import Struct

        axes = {f"axis_{i}": _axis_struct(ax) for i, ax in enumerate(self.binning)}
        fields = {
            "binning": Struct(axes),
            "weights": self.weights,
            "isdensity": Scalar(self.isdensity),
        }
        return Struct(fields, attrs=self.attrs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataObject):
            return NotImplemented
        return (
            isinstance(other, Histogram)
            and self._same_attrs(other)
            and self.binning == other.binning
            and self.isdensity == other.isdensity
            and self.weights == other.weights
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Histogram({self.weights.nda!r}, {self.binning!r}, isdensity={self.isdensity})"


def _axis_struct(ax: Axis) -> Any:
    from tierflow.types._struct import Struct

    units = {"units": ax.units} if ax.units else None
    edges: DataObject
    if isinstance(ax, Regular):
        edges = Struct(
            {
                "first": Scalar(float(ax.first)),
                "last": Scalar(float(ax.last)),
                "step": Scalar(float(ax.step)),
            },
            attrs=units,
        )
    else:
        edges = Array(np.asarray(ax.edges), attrs=units)
    return Struct({"binedges": edges, "closedleft": Scalar(ax.closedleft)})
