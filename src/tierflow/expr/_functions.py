"""The functions an expression may call: a whitelist kept in registries.

Bare names (``sqrt(x)``) and the ``np.``/``numpy.`` namespace look in :data:`FUNCTIONS`;
``ak.``/``awkward.`` look in :data:`AWKWARD_FUNCTIONS`. Other parts of tierflow (or plugins,
through the ``tierflow.expr_functions`` entry point) may register more.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tierflow.expr._kinds import Kind
from tierflow.registry import Registry

__all__ = [
    "AWKWARD_FUNCTIONS",
    "CONSTANTS",
    "FUNCTIONS",
    "NAMESPACES",
    "Function",
    "Typing",
]


class Typing(enum.Enum):
    """How the kind of a function's result is found."""

    ELEMENTWISE = "elementwise"
    """Arguments are cast to a common kind first (numexpr's rules, see :mod:`._kinds`)."""
    NATIVE = "native"
    """Arguments go in as they are; the result is whatever the implementation returns."""


@dataclass(frozen=True)
class Function:
    """A function expressions may call.

    Parameters
    ----------
    name
        The name it is called by.
    impl
        The implementation, called with evaluated arguments (numpy or awkward arrays).
    typing
        How arguments are cast and the result typed.
    min_kind, max_kind
        For elementwise functions: the kind they work in at least / at most.
    keeps_integers
        Elementwise functions of integers give ``double`` unless this is set (``abs``).
    n_args
        Smallest and largest number of positional arguments.
    keywords
        Keyword arguments allowed (their values must be constants).
    """

    name: str
    impl: Callable[..., Any]
    typing: Typing = Typing.ELEMENTWISE
    min_kind: Kind | None = None
    max_kind: Kind | None = None
    keeps_integers: bool = False
    n_args: tuple[int, int] = (1, 1)
    keywords: frozenset[str] = field(default_factory=frozenset)

    def result_kind(self, kinds: list[Kind]) -> Kind:
        """The kind an elementwise call on arguments of `kinds` works in."""
        kind = max(kinds)
        if kind.is_integer:
            return kind if self.keeps_integers else Kind.DOUBLE
        if self.min_kind is not None and kind < self.min_kind:
            kind = self.min_kind
        if self.max_kind is not None and kind > self.max_kind:
            kind = self.max_kind
        return kind


FUNCTIONS: Registry[Function] = Registry(
    "expression function", entry_point_group="tierflow.expr_functions"
)
AWKWARD_FUNCTIONS: Registry[Function] = Registry(
    "awkward expression function", entry_point_group="tierflow.expr_awkward_functions"
)
NAMESPACES: Mapping[str, Registry[Function]] = {
    "np": FUNCTIONS,
    "numpy": FUNCTIONS,
    "ak": AWKWARD_FUNCTIONS,
    "awkward": AWKWARD_FUNCTIONS,
}
"""Module-like prefixes an expression may use, and where their functions are."""

CONSTANTS: Mapping[str, float] = {"nan": math.nan, "inf": math.inf, "pi": math.pi, "e": math.e}
"""Constants reachable as ``np.nan``, ``np.pi``, ...."""


def _add(name: str, impl: Callable[..., Any], **kwargs: Any) -> None:
    FUNCTIONS.add(name, Function(name, impl, **kwargs))


_FLOAT_UFUNCS = (
    "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "arcsinh", "arccosh", "arctanh", "log", "log1p", "log10", "log2", "exp", "expm1",
)  # fmt: skip
for _name in _FLOAT_UFUNCS:
    _add(_name, getattr(np, _name), min_kind=Kind.FLOAT)
for _name in ("fmod", "arctan2"):
    _add(_name, getattr(np, _name), min_kind=Kind.FLOAT, n_args=(2, 2))
for _name in ("hypot", "nextafter", "copysign", "maximum", "minimum"):
    _add(_name, getattr(np, _name), min_kind=Kind.DOUBLE, n_args=(2, 2))
# numexpr turns abs() of integers into double (its integer exception names "abs", but
# numpy's function is called "absolute")
_add("abs", np.absolute, min_kind=Kind.FLOAT)
_add("absolute", np.absolute, min_kind=Kind.FLOAT)
for _name in ("ceil", "floor"):
    _add(_name, getattr(np, _name), min_kind=Kind.FLOAT, max_kind=Kind.DOUBLE)
_add("round", np.round, min_kind=Kind.DOUBLE, keeps_integers=True)
_add("trunc", np.trunc, min_kind=Kind.DOUBLE)
_add("sign", np.sign, min_kind=Kind.DOUBLE, keeps_integers=True)
for _name in ("isnan", "isfinite", "isinf", "signbit"):
    _add(_name, getattr(np, _name), min_kind=Kind.DOUBLE)
for _name in ("real", "imag"):
    _add(_name, getattr(np, _name), min_kind=Kind.DOUBLE, max_kind=Kind.DOUBLE)
_add("conj", np.conj, min_kind=Kind.COMPLEX)

_REDUCTIONS = (
    "sum", "prod", "min", "max", "mean", "std", "var", "median", "any", "all",
    "nansum", "nanmax", "nanmin", "nanmean",
)  # fmt: skip
for _name in _REDUCTIONS:
    _impl = getattr(np, {"min": "amin", "max": "amax"}.get(_name, _name))
    _add(_name, _impl, typing=Typing.NATIVE, keywords=frozenset({"axis"}))
_add("clip", np.clip, typing=Typing.NATIVE, n_args=(3, 3))
_add(
    "isclose", np.isclose, typing=Typing.NATIVE, n_args=(2, 2), keywords=frozenset({"rtol", "atol"})
)
# where(cond, a, b) is handled by the evaluator (it is typed like numexpr's)
_add("where", np.where, n_args=(3, 3))


def _awkward(name: str) -> Callable[..., Any]:
    """``ak.<name>``, importing awkward only when called."""

    def call(*args: Any, **kwargs: Any) -> Any:
        from tierflow.types._views import require

        return getattr(require("awkward"), name)(*args, **kwargs)

    call.__name__ = name
    return call


_AK_KEYWORDS = frozenset({"axis", "keepdims", "mask_identity"})
_AK = {
    "num": (1, 1),
    "sum": (1, 1),
    "prod": (1, 1),
    "max": (1, 1),
    "min": (1, 1),
    "mean": (1, 1),
    "std": (1, 1),
    "any": (1, 1),
    "all": (1, 1),
    "count": (1, 1),
    "count_nonzero": (1, 1),
    "argmax": (1, 1),
    "argmin": (1, 1),
    "firsts": (1, 1),
    "flatten": (1, 1),
    "is_none": (1, 1),
    "local_index": (1, 1),
    "fill_none": (2, 2),
    "where": (3, 3),
    "ones_like": (1, 1),
    "zeros_like": (1, 1),
}
for _name, _n in _AK.items():
    AWKWARD_FUNCTIONS.add(
        _name,
        Function(_name, _awkward(_name), Typing.NATIVE, n_args=_n, keywords=_AK_KEYWORDS),
    )
