"""Evaluate a checked expression tree on whole columns (numpy arrays or awkward arrays).

Each operation casts its operands to the kind it works in (:mod:`._kinds`) and runs one
vectorised numpy call (awkward arrays go through numpy's ufunc protocol), so a chunk of
columns costs a handful of array operations, never a Python loop over rows.
"""

from __future__ import annotations

import ast
import operator
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tierflow.errors import MismatchError, NotFoundError, TierflowError, closest
from tierflow.expr._compile import CompiledTree, _constant_value, dotted_parts
from tierflow.expr._errors import ExpressionError, UnknownNameError
from tierflow.expr._functions import CONSTANTS, Function, Typing
from tierflow.expr._kinds import Kind, dtype_of, kind_of

__all__ = ["as_value", "cast", "evaluate_tree", "is_awkward", "kind"]


def is_awkward(value: Any) -> bool:
    """Whether `value` is an awkward array (checked without importing awkward)."""
    return type(value).__module__.partition(".")[0] == "awkward"


def kind(value: Any) -> Kind:
    """The kind of a numpy or awkward value."""
    return kind_of(dtype_of(value))


def cast(value: Any, to: Kind) -> Any:
    """`value` with elements of kind `to` (no copy when they are already)."""
    dtype = to.dtype
    if dtype_of(value) == dtype:
        return value
    if is_awkward(value):
        import awkward as ak

        return ak.values_astype(value, dtype)
    return np.asarray(value).astype(dtype) if np.ndim(value) else dtype.type(value)


def as_value(value: Any) -> Any:
    """A column or parameter as something numpy or awkward can compute with."""
    from tierflow.types import Array, VectorOfVectors

    if isinstance(value, VectorOfVectors):
        return value.view_as("ak")
    if isinstance(value, Array):
        return value.nda
    if isinstance(value, np.ndarray) or is_awkward(value):
        return value
    return np.asarray(value)


@dataclass(frozen=True)
class _Context:
    text: str
    compiled: CompiledTree
    namespace: Mapping[str, Any]
    temporaries: dict[int, weakref.ref[np.ndarray[Any, Any]]] = field(default_factory=dict)
    """The arrays this evaluation made (by id) and nothing else holds: an operation may write
    its result into one of them rather than into new memory."""

    def made(self, value: Any, *sources: Any) -> Any:
        """`value`, noted as a temporary if it is a new numpy array (not one of `sources`)."""
        if type(value) is np.ndarray and value.ndim and all(value is not s for s in sources):
            self.temporaries[id(value)] = weakref.ref(value)
        return value

    def reusable(self, *operands: Any) -> np.ndarray[Any, Any] | None:
        """A temporary among `operands` that can hold the result of an elementwise operation
        on them: the others are scalars or arrays of its shape and its dtype (the operation's
        result dtype, as the operands were cast to one kind)."""
        for candidate in operands:
            ref = self.temporaries.get(id(candidate))
            array = None if ref is None else ref()
            if array is None or array is not candidate or not array.flags.writeable:
                continue
            if all(_fits(other, array) for other in operands if other is not candidate):
                return array
        return None

    def apply(self, ufunc: Any, *operands: Any) -> Any:
        """`ufunc` on `operands` (numpy arrays or scalars of one dtype), into a temporary
        operand when one fits: the same loop and bits, no new memory."""
        out = self.reusable(*operands)
        if out is None:
            return self.made(ufunc(*operands))
        return ufunc(*operands, out=out)

    def fail(self, reason: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(reason, self.text, node)

    def lookup(self, name: str, node: ast.AST) -> Any:
        """The value of column or parameter `name`. A name the namespace does not know is an
        :class:`UnknownNameError` (with the namespace's own explanation and suggestions when it
        gives one); other tierflow errors of the namespace (a short table, a missing file)
        pass through unchanged: they name their file and object already."""
        try:
            value = self.namespace[name]
        except NotFoundError as error:
            raise UnknownNameError(
                error.message, self.text, node, name=name, file=error.file,
                obj=error.obj, suggestions=error.suggestions,
            ) from error  # fmt: skip
        except TierflowError as error:
            error._expr_passthrough = True  # type: ignore[attr-defined]
            raise
        except KeyError:
            keys = self.namespace.keys() if hasattr(self.namespace, "keys") else []
            near = closest(name, keys)
            raise UnknownNameError(
                f"unknown column or parameter {name!r}", self.text, node, name=name,
                suggestions=near,
            ) from None  # fmt: skip
        return as_value(value)


def _fits(other: Any, target: np.ndarray[Any, Any]) -> bool:
    """Whether `other` combined with `target` elementwise gives `target`'s shape and dtype."""
    if type(other) is np.ndarray:
        return other.shape in (target.shape, ()) and other.dtype == target.dtype
    return isinstance(other, np.generic) and other.dtype == target.dtype


def _cast(ctx: _Context, value: Any, to: Kind) -> Any:
    """:func:`cast`, a new array noted as a temporary."""
    return ctx.made(cast(value, to), value)


def _eval(ctx: _Context, node: ast.AST) -> Any:
    try:
        return _EVAL[type(node)](ctx, node)
    except ExpressionError:
        raise
    except (TypeError, ValueError, ArithmeticError, IndexError, MismatchError) as error:
        if getattr(error, "_expr_passthrough", False):  # a namespace error: keep it
            raise
        raise ctx.fail(f"cannot evaluate ({error})", node) from error


def _constant(ctx: _Context, node: ast.Constant) -> Any:
    value = node.value
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):  # numexpr: 32-bit when it fits, else 64-bit
        return np.int32(value) if -(2**31) <= value < 2**31 else np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    if isinstance(value, complex):
        return np.complex128(value)
    raise ctx.fail("None is only allowed as a keyword value", node)


def _name(ctx: _Context, node: ast.Name) -> Any:
    return ctx.lookup(node.id, node)


def _attribute(ctx: _Context, node: ast.Attribute) -> Any:
    parts = dotted_parts(node) or []
    if len(parts) == 2 and parts[1] in CONSTANTS and parts[0] in ("np", "numpy", "ak"):
        return np.float64(CONSTANTS[parts[1]])
    return ctx.lookup(".".join(parts), node)


_ARITHMETIC: dict[type[ast.operator], Callable[..., Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Mod: np.mod,
    ast.FloorDiv: np.floor_divide,
}
_BITWISE: dict[type[ast.operator], tuple[Callable[..., Any], Callable[..., Any] | None]] = {
    ast.BitAnd: (np.bitwise_and, np.logical_and),
    ast.BitOr: (np.bitwise_or, np.logical_or),
    ast.BitXor: (np.bitwise_xor, np.logical_xor),
    ast.LShift: (np.left_shift, None),
    ast.RShift: (np.right_shift, None),
}
_COMPARE: dict[type[ast.cmpop], Callable[..., Any]] = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}


def _binop(ctx: _Context, node: ast.BinOp) -> Any:
    left = _eval(ctx, node.left)
    right = _eval(ctx, node.right)
    op = type(node.op)
    if isinstance(left, np.integer) and isinstance(right, np.integer) and op in _PY_OPS:
        if op is ast.LShift and not 0 <= int(right) < 64:
            raise ctx.fail("shift by more than 63 bits", node)
        return _fold_integers(ctx, node, _PY_OPS[op](int(left), int(right)))
    if op in _ARITHMETIC:
        working = max(kind(left), kind(right), Kind.INT)
        return _elementwise(ctx, _ARITHMETIC[op], working, left, right)
    if op is ast.Div:
        working = max(kind(left), kind(right), Kind.DOUBLE if _integral(left, right) else Kind.BOOL)
        return _elementwise(ctx, np.true_divide, working, left, right)
    if op is ast.Pow:
        return _power(ctx, node, left, right)
    return _bitwise(ctx, node, left, right)


def _elementwise(ctx: _Context, ufunc: Any, working: Kind, *operands: Any) -> Any:
    """`ufunc` on `operands` cast to `working` (awkward ones as they are)."""
    cast_operands = [_cast(ctx, value, working) for value in operands]
    if any(is_awkward(value) for value in cast_operands):
        return ufunc(*cast_operands)
    return ctx.apply(ufunc, *cast_operands)


_PY_OPS: dict[type[ast.operator], Callable[[int, int], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}
"""Integer constants are folded exactly, as numexpr folds them (exponents are bounded by the
checker, so this never builds huge numbers)."""


def _fold_integers(ctx: _Context, node: ast.BinOp, value: Any) -> Any:
    if isinstance(value, float):
        return np.float64(value)
    if -(2**31) <= value < 2**31:
        return np.int32(value)
    if -(2**63) <= value < 2**63:
        return np.int64(value)
    raise ctx.fail("integer constant beyond the 64-bit range", node)


def _integral(*values: Any) -> bool:
    return max(kind(v) for v in values) <= Kind.LONG


def _bitwise(ctx: _Context, node: ast.BinOp, left: Any, right: Any) -> Any:
    integer_op, logical_op = _BITWISE[type(node.op)]
    kinds = (kind(left), kind(right))
    if logical_op is not None and kinds == (Kind.BOOL, Kind.BOOL):
        return _elementwise(ctx, logical_op, Kind.BOOL, left, right)
    if max(kinds) > Kind.LONG:
        names = "/".join(k.name.lower() for k in kinds)
        raise ctx.fail(
            f"bitwise operators need booleans or integers, not {names} "
            "(comparisons need parentheses: (a > 1) & (b < 2))",
            node,
        )
    working = max(*kinds, Kind.INT)
    return _elementwise(ctx, integer_op, working, left, right)


def _power(ctx: _Context, node: ast.BinOp, base: Any, exponent: Any) -> Any:
    """``**``, typed as numexpr types it: small constant (half-)integer powers keep the kind of
    the base, other powers work in the common kind."""
    base_kind = max(kind(base), Kind.INT)
    value = _constant_value(node.right)
    if value is not None and base_kind.is_integer and value < 0 and value == int(value):
        raise ctx.fail("integers to negative integer powers are not allowed", node)
    if value is not None and 2 * value == int(2 * value) and abs(value) <= 50:
        working = base_kind
        if value != int(value) or value < 0:  # a square root or a reciprocal is involved
            working = max(working, Kind.DOUBLE) if working.is_integer else working
        if value == 2:  # numexpr's x*x: 5x faster than the general power, the same bits
            return _elementwise(ctx, np.square, working, base)
        return np.power(cast(base, working), cast(exponent, working))
    working = max(base_kind, kind(exponent))
    return np.power(cast(base, working), cast(exponent, working))


def _unary(ctx: _Context, node: ast.UnaryOp) -> Any:
    operand = _eval(ctx, node.operand)
    if isinstance(node.op, ast.UAdd):
        return operand
    operand_kind = kind(operand)
    if isinstance(node.op, ast.USub):
        return np.negative(cast(operand, max(operand_kind, Kind.INT)))
    if operand_kind is Kind.BOOL:
        return np.logical_not(operand)
    if operand_kind.is_integer:
        return np.invert(operand)
    raise ctx.fail(f"~ needs booleans or integers, not {operand_kind.name.lower()}", node)


def _compare(ctx: _Context, node: ast.Compare) -> Any:
    left = _eval(ctx, node.left)
    right = _eval(ctx, node.comparators[0])
    working = max(kind(left), kind(right))
    result = _COMPARE[type(node.ops[0])](cast(left, working), cast(right, working))
    return ctx.made(result)


def _call(ctx: _Context, node: ast.Call) -> Any:
    function: Function = ctx.compiled.functions[id(node)]
    args = [_eval(ctx, arg) for arg in node.args]
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    if function.typing is Typing.NATIVE:
        return function.impl(*args, **kwargs)
    if function.name == "where":
        return _where(args[0], args[1], args[2])
    working = function.result_kind([kind(a) for a in args])
    return function.impl(*(cast(a, working) for a in args), **kwargs)


def _where(condition: Any, if_true: Any, if_false: Any) -> Any:
    working = max(kind(if_true), kind(if_false))
    condition = cast(condition, Kind.BOOL)
    if_true, if_false = cast(if_true, working), cast(if_false, working)
    if any(is_awkward(v) for v in (condition, if_true, if_false)):
        import awkward as ak

        return ak.where(condition, if_true, if_false)
    return np.where(condition, if_true, if_false)


def _index(ctx: _Context, node: ast.AST) -> Any:
    if isinstance(node, ast.Tuple):
        return tuple(_index(ctx, e) for e in node.elts)
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if p is None else _index(ctx, p) for p in parts))
    constant = _constant_value(node)
    if constant is not None:
        return int(constant)
    index = _eval(ctx, node)
    if kind(index) not in (Kind.BOOL, Kind.INT, Kind.LONG):
        raise ctx.fail(
            f"a subscript must be a boolean mask or integer indices, not "
            f"{kind(index).name.lower()} values",
            node,
        )
    return index


def _subscript(ctx: _Context, node: ast.Subscript) -> Any:
    """``a[0]``, ``a[:, 1:3]``, ``a[mask]`` or ``a[indices]`` (numpy or awkward semantics)."""
    value = _eval(ctx, node.value)
    index = _index(ctx, node.slice)
    if is_awkward(index) and not is_awkward(value):
        import awkward as ak

        value = ak.Array(value)
    return value[index]


_EVAL: dict[type[ast.AST], Callable[[_Context, Any], Any]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.Attribute: _attribute,
    ast.BinOp: _binop,
    ast.UnaryOp: _unary,
    ast.Compare: _compare,
    ast.Call: _call,
    ast.Subscript: _subscript,
}


def evaluate_tree(text: str, compiled: CompiledTree, namespace: Mapping[str, Any]) -> Any:
    """The value of a checked expression with names looked up in `namespace`.

    A bare name gives a copy of the column, cast to its kind (as numexpr does)."""
    ctx = _Context(text, compiled, namespace)
    with np.errstate(all="ignore"):
        result = _eval(ctx, compiled.tree.body)
    body = compiled.tree.body
    if isinstance(body, (ast.Name, ast.Attribute)) and not is_awkward(result):
        copied = cast(result, kind(result))
        return np.array(copied, copy=True) if copied is result else copied
    return result
