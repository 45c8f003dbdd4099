"""Histogram axes: ``axis.Regular`` (uniform bins) and ``axis.Variable`` (bin edges).

Example
-------
>>> from tierflow.types import axis
>>> axis.Regular(0, 10, 1).n_bins
10
"""

from __future__ import annotations

from tierflow.types._histogram import Axis, Regular, Variable

__all__ = ["Axis", "Regular", "Variable"]
