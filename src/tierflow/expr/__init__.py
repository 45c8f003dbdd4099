"""A small, safe expression language for configs (hit, evt and dsp tiers).

An expression is one Python expression, checked against a whitelist before it ever runs:
numbers, column names (``energy``, ``tier.field``, nested ``sub__col``), parameters,
arithmetic, comparisons, ``&``, ``|``, ``^``, ``~``, shifts, ``where(c, a, b)``, whitelisted
numpy functions (``sqrt``, ``np.log``, ...) and a few awkward ones for jagged columns
(``ak.num``, ``ak.sum``, ...). Attribute access, dunder names, unknown calls, lambdas,
comprehensions, strings and huge constant exponents are refused with an
:class:`ExpressionError` that shows the expression and points at the part at fault. Nothing
is passed to ``eval``.

Expressions compile once (:func:`compile_expr`, cached) and evaluate vectorised on whole
columns; their dtypes follow numexpr's rules (see :mod:`tierflow.expr._kinds`), as the
anchor evaluates hit configs with numexpr. :func:`order_by_dependency` orders a set of named
expressions with :mod:`graphlib`; a cycle is an error.

Example
-------
>>> import numpy as np
>>> from tierflow.expr import compile_expr
>>> e = compile_expr("sqrt(a + b * trapEmax**2)")
>>> e.names
('a', 'b', 'trapEmax')
>>> e.evaluate({"trapEmax": np.array([3.0, 4.0]), "a": 0.0, "b": 1.0})
array([3., 4.])
"""

from __future__ import annotations

from tierflow.expr._compile import is_dunder, parse_expression
from tierflow.expr._errors import ExpressionError
from tierflow.expr._expression import (
    Expression,
    as_data_object,
    compile_expr,
    order_by_dependency,
)
from tierflow.expr._functions import AWKWARD_FUNCTIONS, CONSTANTS, FUNCTIONS, Function, Typing
from tierflow.expr._kinds import Kind

__all__ = [
    "AWKWARD_FUNCTIONS",
    "CONSTANTS",
    "FUNCTIONS",
    "Expression",
    "ExpressionError",
    "Function",
    "Kind",
    "Typing",
    "as_data_object",
    "compile_expr",
    "is_dunder",
    "order_by_dependency",
    "parse_expression",
]
