"""The error of the expression language: what went wrong, the expression, and where."""

from __future__ import annotations

import ast
from collections.abc import Sequence

from tierflow.errors import ConfigError, NotFoundError

__all__ = ["ExpressionError", "UnknownNameError", "pointer"]


def pointer(text: str, node: ast.AST | None) -> str:
    """The line of `text` that holds `node`, with ``^`` under the part `node` spans."""
    lines = text.splitlines() or [""]
    if node is None or not hasattr(node, "col_offset"):
        return "    " + "\n    ".join(lines)
    line_no = max(getattr(node, "lineno", 1), 1)
    line = lines[min(line_no, len(lines)) - 1]
    start = node.col_offset
    end_line = getattr(node, "end_lineno", line_no) or line_no
    end_col = getattr(node, "end_col_offset", None)
    end = end_col if end_line == line_no and end_col else len(line)
    # offsets are in UTF-8 bytes; turn them into characters
    encoded = line.encode()
    start_chars = len(encoded[:start].decode(errors="ignore"))
    end_chars = len(encoded[:end].decode(errors="ignore"))
    marks = "^" * max(end_chars - start_chars, 1)
    return f"    {line}\n    {' ' * start_chars}{marks}"


class ExpressionError(ConfigError):
    """An expression that is refused or fails; the message shows it and points at the culprit.

    Attributes
    ----------
    expression
        The text of the expression.
    node
        The part of the parsed expression at fault, if known.

    Example
    -------
    >>> from tierflow.expr import compile_expr
    >>> try:
    ...     compile_expr("sqrt(x) + __import__('os')")
    ... except ExpressionError as error:
    ...     print(error)
    the name '__import__' is not allowed (no dunder names) in expression:
        sqrt(x) + __import__('os')
                  ^^^^^^^^^^
    """

    def __init__(
        self, reason: str, expression: str, node: ast.AST | None = None, *, obj: str | None = None
    ) -> None:
        self.reason = reason
        self.expression = expression
        self.node = node
        super().__init__(f"{reason} in expression:\n{pointer(expression, node)}", obj=obj)


class UnknownNameError(ExpressionError, NotFoundError):
    """An expression names a column or parameter that is not there; also a
    :class:`~tierflow.errors.NotFoundError` (so a ``KeyError``), with the closest names.

    Attributes
    ----------
    name
        The name as written (``hit.cuspEmax``).
    suggestions
        The closest existing names.

    Example
    -------
    >>> import numpy as np
    >>> from tierflow.expr import compile_expr
    >>> try:
    ...     compile_expr("energy * 2").evaluate({"enrgy": np.ones(2)})
    ... except UnknownNameError as error:
    ...     print(error.name, error.suggestions)
    energy ['enrgy']
    """

    def __init__(
        self,
        reason: str,
        expression: str,
        node: ast.AST | None = None,
        *,
        name: str,
        file: str | None = None,
        obj: str | None = None,
        suggestions: Sequence[str] = (),
    ) -> None:
        self.name = name
        if suggestions and "did you mean" not in reason:
            reason = f"{reason}; did you mean {', '.join(map(repr, suggestions))}?"
        ExpressionError.__init__(self, reason, expression, node, obj=obj or name)
        self.suggestions = list(suggestions)
        self.file = file
