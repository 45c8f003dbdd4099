"""Parse and check an expression: one Python expression, restricted to a whitelist.

Allowed: numbers, names of columns and parameters (``x``, ``tier.field``, ``sub__col``),
arithmetic, comparisons, ``&``, ``|``, ``^``, ``~``, shifts, calls of whitelisted functions
(bare, ``np.``/``ak.`` prefixed), ``np.nan``-like constants, constant subscripts and slices
(``a[0]``, ``a[:, 1:3]``) and array subscripts by a boolean mask or integer indices
(``a[b > 1]``, ``a[idx]``).
Everything else is refused with an :class:`ExpressionError` that points at the part at fault.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tierflow.errors import NotFoundError
from tierflow.expr._errors import ExpressionError
from tierflow.expr._functions import CONSTANTS, FUNCTIONS, NAMESPACES, Function

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "CompiledTree",
    "compile_tree",
    "is_dunder",
    "parse_expression",
]

MAX_LENGTH = 10_000
"""Longest expression text accepted."""
MAX_NODES = 2_000
"""Most syntax-tree nodes accepted."""
MAX_DEPTH = 100
"""Deepest nesting of operations accepted."""
MAX_EXPONENT = 1_000.0
"""Largest magnitude of a constant exponent (``x ** 1e6`` overflows anyway)."""

_BIN_OPS = (
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
    ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift,
)  # fmt: skip
_CMP_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_UNARY_OPS = (ast.UAdd, ast.USub, ast.Invert)

_REFUSED: dict[type[ast.AST], str] = {
    ast.Lambda: "lambdas are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.BoolOp: "'and'/'or' are not allowed: use & and | (with parentheses)",
    ast.IfExp: "'a if c else b' is not allowed: use where(c, a, b)",
    ast.NamedExpr: "assignments are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.JoinedStr: "strings are not allowed",
    ast.Dict: "dict displays are not allowed",
    ast.Set: "set displays are not allowed",
    ast.List: "list displays are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
}


@dataclass(frozen=True)
class CompiledTree:
    """A checked syntax tree and what it refers to."""

    tree: ast.Expression
    names: tuple[str, ...]
    """Column and parameter names read (dotted ones joined, ``"tier.field"``), in order."""
    functions: dict[int, Function]
    """The function each call node resolves to, by ``id`` of the node."""


@dataclass
class _Checker:
    text: str
    names: dict[str, None]
    functions: dict[int, Function]
    depth: int = 0

    def fail(self, reason: str, node: ast.AST | None) -> ExpressionError:
        return ExpressionError(reason, self.text, node)

    def check(self, node: ast.AST) -> None:
        refusal = _REFUSED.get(type(node))
        if refusal is not None:
            raise self.fail(refusal, node)
        rule = _RULES.get(type(node))
        if rule is None:
            raise self.fail(f"{type(node).__name__} is not allowed", node)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"expression nested more than {MAX_DEPTH} levels deep", node)
        rule(self, node)
        self.depth -= 1


def _check_constant(checker: _Checker, node: ast.Constant) -> None:
    value = node.value
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise checker.fail("integer literal out of the 64-bit range", node)
        return
    if isinstance(value, (float, complex)):
        return
    raise checker.fail(f"{type(value).__name__} constants are not allowed", node)


def is_dunder(name: str) -> bool:
    """Whether `name` is a dunder name (refused everywhere in expressions).

    Example
    -------
    >>> is_dunder("__class__"), is_dunder("trapEmax")
    (True, False)
    """
    return name.startswith("__") or name.endswith("__")


def _check_name(checker: _Checker, node: ast.Name) -> None:
    if is_dunder(node.id):
        raise checker.fail(f"the name {node.id!r} is not allowed (no dunder names)", node)
    if node.id in NAMESPACES:
        raise checker.fail(f"{node.id!r} is a module: use {node.id}.<function>(...)", node)
    checker.names.setdefault(node.id)


def dotted_parts(node: ast.AST) -> list[str] | None:
    """``["a", "b", "c"]`` for ``a.b.c``; ``None`` if `node` is not a chain of names."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _check_attribute(checker: _Checker, node: ast.Attribute) -> None:
    parts = dotted_parts(node)
    if parts is None:
        raise checker.fail("attribute access is only allowed on names (tier.field)", node)
    bad = [p for p in parts if is_dunder(p)]
    if bad:
        raise checker.fail(f"the name {bad[0]!r} is not allowed (no dunder names)", node)
    if parts[0] in NAMESPACES:
        if len(parts) != 2 or parts[1] not in CONSTANTS:
            raise checker.fail(
                f"{'.'.join(parts)!r} is not an allowed constant "
                f"(allowed: {', '.join(parts[0] + '.' + c for c in CONSTANTS)})",
                node,
            )
        return
    checker.names.setdefault(".".join(parts))


def resolve_function(parts: list[str]) -> Function:
    """The whitelisted function ``sqrt`` or ``np.sqrt`` or ``ak.num`` names."""
    if len(parts) == 1:
        return FUNCTIONS[parts[0]]
    if len(parts) == 2 and parts[0] in NAMESPACES:
        return NAMESPACES[parts[0]][parts[1]]
    raise NotFoundError(f"no function {'.'.join(parts)!r}", obj=".".join(parts))


def _check_call(checker: _Checker, node: ast.Call) -> None:
    parts = dotted_parts(node.func)
    if parts is None:
        raise checker.fail("only whitelisted functions may be called", node.func)
    bad = [p for p in parts if is_dunder(p)]
    if bad:
        raise checker.fail(f"the name {bad[0]!r} is not allowed (no dunder names)", node.func)
    try:
        function = resolve_function(parts)
    except NotFoundError as error:
        hint = f"; did you mean {', '.join(map(repr, error.suggestions))}?"
        raise checker.fail(
            f"unknown function {'.'.join(parts)!r}" + (hint if error.suggestions else ""),
            node.func,
        ) from None
    low, high = function.n_args
    if not low <= len(node.args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise checker.fail(f"{function.name}() takes {wanted} arguments", node)
    for keyword in node.keywords:
        if keyword.arg is None or keyword.arg not in function.keywords:
            allowed = ", ".join(sorted(function.keywords)) or "none"
            raise checker.fail(
                f"{function.name}() takes no keyword {keyword.arg!r} (allowed: {allowed})",
                keyword,
            )
        if _constant_value(keyword.value) is None and not _is_none(keyword.value):
            raise checker.fail("keyword arguments must be constants", keyword.value)
    checker.functions[id(node)] = function
    for arg in node.args:
        checker.check(arg)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _constant_value(node: ast.AST) -> float | None:
    """The value of a subtree made of numbers only (as a float), else ``None``.

    Raises OverflowError for values too large, never computes big Python integers."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _constant_value(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp) and type(node.op) in _FOLDABLE:
        left, right = _constant_value(node.left), _constant_value(node.right)
        if left is None or right is None:
            return None
        try:
            value: float = _FOLDABLE[type(node.op)](left, right)
        except ZeroDivisionError:
            return math.nan
        if isinstance(value, complex):
            return math.nan
        return value
    return None


_FOLDABLE: dict[type[ast.operator], Callable[[float, float], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: math.pow,
}


def _check_binop(checker: _Checker, node: ast.BinOp) -> None:
    if not isinstance(node.op, _BIN_OPS):
        raise checker.fail(f"the operator {type(node.op).__name__} is not allowed", node)
    if isinstance(node.op, ast.Pow):
        try:
            exponent = _constant_value(node.right)
        except (OverflowError, ValueError):
            raise checker.fail("constant exponent too large", node.right) from None
        if exponent is not None and not abs(exponent) <= MAX_EXPONENT:
            raise checker.fail(
                f"constant exponent {exponent:g} is beyond ±{MAX_EXPONENT:g}", node.right
            )
    checker.check(node.left)
    checker.check(node.right)


def _check_unary(checker: _Checker, node: ast.UnaryOp) -> None:
    if isinstance(node.op, ast.Not):
        raise checker.fail("'not' is not allowed: use ~", node)
    if not isinstance(node.op, _UNARY_OPS):
        raise checker.fail(f"the operator {type(node.op).__name__} is not allowed", node)
    checker.check(node.operand)


def _check_compare(checker: _Checker, node: ast.Compare) -> None:
    if len(node.ops) != 1:
        raise checker.fail("chained comparisons are not allowed: use (a < b) & (b < c)", node)
    if not isinstance(node.ops[0], _CMP_OPS):
        raise checker.fail(f"the comparison {type(node.ops[0]).__name__} is not allowed", node)
    checker.check(node.left)
    checker.check(node.comparators[0])


def _check_index(checker: _Checker, node: ast.AST) -> None:
    """Constant integers and slices, or an expression giving a mask or indices (``a[b > 1]``)."""
    if isinstance(node, ast.Tuple):
        for element in node.elts:
            _check_index(checker, element)
        return
    if isinstance(node, ast.Slice):
        for part in (node.lower, node.upper, node.step):
            if part is not None and not _is_constant_integer(part):
                raise checker.fail("slice bounds must be constant integers", part)
        return
    if _is_constant_integer(node):
        return
    try:
        value = _constant_value(node)
    except (OverflowError, ValueError):
        value = None
    if value is not None:
        raise checker.fail("constant subscripts must be integers", node)
    checker.check(node)


def _is_constant_integer(node: ast.AST) -> bool:
    try:
        value = _constant_value(node)
    except (OverflowError, ValueError):
        return False
    return value is not None and math.isfinite(value) and value == int(value)


def _check_subscript(checker: _Checker, node: ast.Subscript) -> None:
    checker.check(node.value)
    _check_index(checker, node.slice)


def _check_tuple(checker: _Checker, node: ast.Tuple) -> None:
    raise checker.fail("tuples are only allowed in subscripts", node)


_RULES: dict[type[ast.AST], Callable[[_Checker, Any], None]] = {
    ast.Constant: _check_constant,
    ast.Name: _check_name,
    ast.Attribute: _check_attribute,
    ast.Call: _check_call,
    ast.BinOp: _check_binop,
    ast.UnaryOp: _check_unary,
    ast.Compare: _check_compare,
    ast.Subscript: _check_subscript,
    ast.Tuple: _check_tuple,
}


def parse_expression(text: str) -> ast.Expression:
    """Parse the (stripped) `text` as one expression, within the size limits (an
    :class:`ExpressionError` pointing at the fault otherwise); nothing is checked against
    the whitelist here and nothing runs.

    Example
    -------
    >>> type(parse_expression("a + b").body).__name__
    'BinOp'
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, not {type(text).__name__}", "")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", text[:80])
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"syntax error: {error.msg}", text, _syntax_node(error)) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ExpressionError(f"cannot parse: {type(error).__name__}", text) from None
    if sum(1 for _ in _walk_limited(tree)) > MAX_NODES:
        raise ExpressionError(f"expression with more than {MAX_NODES} parts", text)
    return tree


def _walk_limited(tree: ast.AST) -> Iterator[ast.AST]:
    for count, node in enumerate(ast.walk(tree)):
        if count > MAX_NODES:
            return
        yield node


def _syntax_node(error: SyntaxError) -> ast.AST | None:
    if error.offset is None:
        return None
    node = ast.Pass()
    node.lineno = node.end_lineno = error.lineno or 1
    node.col_offset = max(error.offset - 1, 0)
    node.end_col_offset = max(error.end_offset or error.offset, error.offset) - 1
    if node.end_col_offset <= node.col_offset:
        node.end_col_offset = node.col_offset + 1
    return node


def compile_tree(text: str) -> CompiledTree:
    """Parse `text` and check it against the whitelist; raise :class:`ExpressionError`."""
    if isinstance(text, str):
        text = text.strip()
    tree = parse_expression(text)
    checker = _Checker(text, {}, {})
    try:
        checker.check(tree.body)
    except RecursionError:
        raise ExpressionError("expression nested too deeply", text) from None
    return CompiledTree(tree, tuple(checker.names), checker.functions)
