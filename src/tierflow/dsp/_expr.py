"""Expressions in processing-chain configs, read through a whitelist of Python syntax.

An argument such as ``"round(tp_0_est + 10*us, wf.grid)"`` or ``"wf_blsub[0:750]"`` is parsed
with :mod:`ast` and evaluated node by node: numbers and units fold into constants; a variable
in an operation adds an elementwise processor to the chain; slices are views; a call of an
unknown name declares a variable (``wf_out(301, 'f', grid=wf.grid)``). Nothing is ever passed
to ``eval``; any other syntax is a :class:`~tierflow.errors.ConfigError`.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from tierflow.dsp._binding import Text
from tierflow.dsp._units import UNITS, Quantity
from tierflow.dsp._variables import AUTO, Grid, Variable
from tierflow.errors import ConfigError
from tierflow.expr import ExpressionError, is_dunder, parse_expression

__all__ = ["Evaluator", "names_in", "parse"]

MODULES = frozenset({"np", "numpy"})
MODULE_CONSTANTS = {"pi": math.pi, "e": math.e, "nan": math.nan, "inf": math.inf}
BUILTINS = frozenset(
    {"len", "round", "floor", "ceil", "trunc", "astype", "isnan", "isfinite", "where"}
)
_BINOPS: dict[type, tuple[str, str]] = {
    ast.Add: ("add", "+"),
    ast.Sub: ("subtract", "-"),
    ast.Mult: ("multiply", "*"),
    ast.Div: ("divide", "/"),
    ast.FloorDiv: ("floor_divide", "//"),
}
_COMPARE: dict[type, tuple[str, str]] = {
    ast.Eq: ("equal", "=="),
    ast.NotEq: ("not_equal", "!="),
    ast.Lt: ("less", "<"),
    ast.LtE: ("less_equal", "<="),
    ast.Gt: ("greater", ">"),
    ast.GtE: ("greater_equal", ">="),
}
_PY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "floor_divide": lambda a, b: a // b,
}


_KEYWORD = re.compile(r"\A\s*([A-Za-z_]\w*)\s*=(?!=)")


def parse(text: str) -> ast.stmt:
    """One expression, or one ``keyword = expression``, as an AST statement.

    The expression is parsed as :mod:`tierflow.expr` parses (one expression, size limits, a
    syntax error as an :class:`~tierflow.expr.ExpressionError` pointing at the culprit), and
    dunder names are refused as there; what the chain accepts beyond that (slices, units,
    variable declarations) is checked node by node by :class:`Evaluator`.
    """
    keyword = _KEYWORD.match(text)
    source = text[keyword.end() :] if keyword else text
    try:
        tree = parse_expression(source.strip())
    except ExpressionError as error:
        if keyword is None:
            raise
        raise ExpressionError(error.reason, text.strip()) from None
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if isinstance(name, str) and is_dunder(name):
            raise ExpressionError(
                f"the name {name!r} is not allowed (no dunder names)", source.strip(), node
            )
    if keyword is None:
        return ast.Expr(tree.body)
    target = ast.Name(keyword.group(1), ast.Store())
    return ast.Assign(targets=[target], value=tree.body, lineno=1)


def names_in(text: str) -> list[str]:
    """The variable names `text` refers to (what it depends on), in order of appearance."""
    found: list[str] = []
    for node in ast.walk(parse(text)):
        name = None
        if isinstance(node, ast.Name) and node.id not in UNITS and node.id not in MODULES:
            name = node.id
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = None if node.func.id in BUILTINS else node.func.id
        if name and name not in found and name not in BUILTINS:
            found.append(name)
    return found


class Evaluator:
    """Evaluates config expressions against a :class:`~tierflow.dsp.ProcessingChain`."""

    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.text = ""

    def __call__(self, text: str) -> Any:
        """The value of `text`: a variable, a constant, a quantity, or ``{keyword: value}``."""
        self.text = text
        stmt = parse(text)
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise ConfigError(f"cannot assign in {text!r}")
            return {stmt.targets[0].id: self.eval(stmt.value)}
        assert isinstance(stmt, ast.Expr)
        return self.eval(stmt.value)

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{message} in {self.text!r}")

    def eval(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(f"{type(node).__name__} is not allowed")
        return method(node)

    # --- leaves --------------------------------------------------------------------------------
    def _Constant(self, node: ast.Constant) -> Any:  # noqa: N802
        if isinstance(node.value, str):
            return Text(node.value)
        if node.value is None or isinstance(node.value, (bool, int, float)):
            return node.value
        raise self.fail(f"constant {node.value!r} is not allowed")

    def _Name(self, node: ast.Name) -> Any:  # noqa: N802
        if node.id in UNITS:
            return Quantity(1.0, UNITS[node.id])
        if node.id in MODULES or node.id in BUILTINS:
            raise self.fail(f"{node.id!r} is not a value")
        return self.chain.variable(node.id)

    def _List(self, node: ast.List) -> Any:  # noqa: N802
        return np.array([self.eval(e) for e in node.elts])

    def _Tuple(self, node: ast.Tuple) -> Any:  # noqa: N802
        return tuple(self.eval(e) for e in node.elts)

    def _Attribute(self, node: ast.Attribute) -> Any:  # noqa: N802
        if isinstance(node.value, ast.Name) and node.value.id in MODULES:
            if node.attr not in MODULE_CONSTANTS:
                raise self.fail(f"numpy.{node.attr} is not an allowed constant")
            return MODULE_CONSTANTS[node.attr]
        var = self.eval(node.value)
        if not isinstance(var, Variable) or node.attr not in ("period", "grid", "offset"):
            raise self.fail(f"attribute {node.attr!r} is not allowed")
        if not isinstance(var.grid, Grid):
            raise self.fail(f"{var.name} has no time grid")
        grid = var.grid
        if node.attr == "period":
            return grid.period
        if node.attr == "offset":  # a per-row t0 is the offset variable itself (as dspeed)
            if grid.offset_var is None:
                return grid.period * grid.offset
            if grid.offset:
                raise self.fail(f"the offset of {var.name} is its t0 shifted: not supported")
            return grid.offset_var
        return grid

    # --- operations ----------------------------------------------------------------------------
    def _BinOp(self, node: ast.BinOp) -> Any:  # noqa: N802
        if type(node.op) not in _BINOPS:
            raise self.fail(f"operator {type(node.op).__name__} is not allowed")
        name, symbol = _BINOPS[type(node.op)]
        lhs, rhs = self.eval(node.left), self.eval(node.right)
        if not isinstance(lhs, Variable) and not isinstance(rhs, Variable):
            result = _PY_OPS[name](lhs, rhs)
            if result is NotImplemented:
                raise self.fail(f"cannot combine {lhs} and {rhs}")
            return result
        out = self._new(f"({lhs}{symbol}{rhs})", **_binop_props(lhs, rhs, symbol))
        return self._apply(f"numpy.{name}", [lhs, rhs, out])

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:  # noqa: N802
        operand = self.eval(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if not isinstance(node.op, ast.USub):
            raise self.fail(f"operator {type(node.op).__name__} is not allowed")
        if not isinstance(operand, Variable):
            return -operand
        out = self._new(f"(-{operand})", unit=operand.unit, is_coord=operand.is_coord)
        return self._apply("numpy.negative", [operand, out])

    def _Compare(self, node: ast.Compare) -> Any:  # noqa: N802
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise self.fail("only single comparisons are allowed")
        name, symbol = _COMPARE[type(node.ops[0])]
        lhs, rhs = self.eval(node.left), self.eval(node.comparators[0])
        if not isinstance(lhs, Variable) and not isinstance(rhs, Variable):
            return getattr(np, name)(lhs, rhs)
        return self._apply(f"numpy.{name}", [lhs, rhs, self._new(f"({lhs}{symbol}{rhs})")])

    def _IfExp(self, node: ast.IfExp) -> Any:  # noqa: N802
        return self._where(self.eval(node.test), self.eval(node.body), self.eval(node.orelse))

    def _Subscript(self, node: ast.Subscript) -> Any:  # noqa: N802
        var = self.eval(node.value)
        if not isinstance(var, Variable) or var.shape is AUTO or not var.shape:
            raise self.fail("only waveforms with a known length can be sliced")
        index = node.slice
        if isinstance(index, ast.Slice):
            bounds = [self._index(var, b) for b in (index.lower, index.upper, index.step)]
            return self._slice(var, slice(*bounds))
        position = self._index(var, index)
        if position is None:
            raise self.fail("an index is needed")
        return self._view(var, f"{var}[{position}]", self.chain.buffer(var)[..., position], None)

    def _index(self, var: Variable, node: ast.AST | None) -> int | None:
        if node is None:
            return None
        value = self.eval(node)
        if isinstance(value, Variable):
            raise self.fail("slice bounds must be constants")
        if isinstance(value, Quantity):
            if not isinstance(var.grid, Grid):
                raise self.fail(
                    f"{var} has no time grid: slice it by sample numbers, not by {value}"
                )
            value = value.in_samples(var.grid.period)
        return round(float(value))

    def _slice(self, var: Variable, sl: slice) -> Variable:
        grid = var.grid
        if isinstance(grid, Grid):
            if sl.step is not None:
                grid = Grid(grid.period * sl.step, grid.offset / sl.step, grid.offset_var)
            if sl.start:
                start = sl.start if sl.start > 0 else sl.start + var.shape[-1]  # type: ignore[index]
                grid = grid.shifted(start)
        text = f"{'' if sl.start is None else sl.start}:{'' if sl.stop is None else sl.stop}"
        text += "" if sl.step is None else f":{sl.step}"
        return self._view(var, f"{var}[{text}]", self.chain.buffer(var)[..., sl], grid)

    def _view(self, var: Variable, name: str, array: np.ndarray, grid: Any) -> Variable:
        view = Variable(name)
        view.update(
            shape=array.shape[1:],
            dtype=array.dtype,
            grid=grid,
            unit=var.unit,
            is_coord=var.is_coord,
        )
        view.is_const = var.is_const
        view.buffer = array
        return view

    # --- calls ---------------------------------------------------------------------------------
    def _Call(self, node: ast.Call) -> Any:  # noqa: N802
        if not isinstance(node.func, ast.Name):
            raise self.fail("only plain function names may be called")
        args = [self.eval(a) for a in node.args]
        kwargs = {k.arg: self.eval(k.value) for k in node.keywords if k.arg}
        name = node.func.id
        if name in BUILTINS:
            return getattr(self, f"_call_{name}")(*args, **kwargs)
        return self._declare(name, *args, **kwargs)

    def _declare(self, name: str, shape: Any = AUTO, dtype: Any = AUTO, **props: Any) -> Variable:
        allowed = {"grid", "unit", "is_coord", "period", "offset", "shape", "dtype", "vector_len"}
        unknown = set(props) - allowed
        if unknown:
            raise self.fail(f"unknown declaration keyword {sorted(unknown)[0]!r}")
        shape = props.pop("shape", shape)
        dtype = props.pop("dtype", dtype)
        vector_len = props.pop("vector_len", None)
        period = props.pop("period", None)
        offset = props.pop("offset", 0)
        if period is not None and "grid" not in props:
            props["grid"] = _declared_grid(_as_period(period), offset)
        var: Variable = self.chain.variable(name)
        if shape is not AUTO:
            shape = round(float(shape)) if np.ndim(shape) == 0 else shape
        var.update(shape=shape, dtype=dtype, **props)
        if vector_len is not None:
            self._set_vector_len(var, vector_len)
        return var

    def _set_vector_len(self, var: Variable, length: Any) -> None:
        if not isinstance(length, Variable):
            raise self.fail(f"vector_len of {var.name} must be a variable")
        if var.vector_len is not None and var.vector_len is not length:
            raise self.fail(f"{var.name} has a vector_len already ({var.vector_len.name})")
        length.update(shape=(), grid=None, unit=None, is_coord=False)
        var.vector_len = length

    def _call_len(self, var: Any) -> int | Variable:
        if isinstance(var, Variable) and var.vector_len is not None:
            return var.vector_len
        if not isinstance(var, Variable) or var.shape is AUTO or len(var.shape) != 1:
            raise self.fail("len() needs a waveform of known length")
        return var.shape[0]

    def _round_mode(self, mode: str, var: Any, to: Any = 1, dtype: Any = None) -> Any:
        func = {"round": np.rint, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc}[mode]
        if not isinstance(var, Variable):
            if isinstance(var, Quantity) and isinstance(to, Quantity):
                return Quantity(float(func(var.to(to.unit) / to.value)) * to.value, to.unit)
            if isinstance(to, Grid):
                raise self.fail("a constant cannot be rounded to a grid")
            return float(to * func(var / to))
        if var.is_coord is True and isinstance(var.grid, Grid):
            grid = to if isinstance(to, Grid) else None
            if isinstance(to, Quantity):
                grid = Grid(to, var.grid.offset, var.grid.offset_var)
            elif isinstance(to, (int, float)):
                grid = Grid(var.grid.period * to, var.grid.offset, var.grid.offset_var)
            if grid is None:
                raise self.fail(f"cannot round {var} to {to!r}: give a time, a number or a grid")
            self.chain.buffer(var)
            out = self._new(f"{mode}({var}, {to})", shape=var.shape, grid=grid, unit=var.unit)
            out.update(dtype=dtype or var.dtype, is_coord=True)
            out.buffer = self.chain.converted(var, grid, mode)
            return out
        out = self._new(f"{mode}({var}, {to})", shape=var.shape, grid=var.grid, unit=var.unit)
        out.update(dtype=dtype or var.dtype, is_coord=var.is_coord)
        return self._apply(f"{mode}_to_nearest", [var, to, out])

    def _call_round(self, *args: Any) -> Any:
        return self._round_mode("round", *args)

    def _call_floor(self, *args: Any) -> Any:
        return self._round_mode("floor", *args)

    def _call_ceil(self, *args: Any) -> Any:
        return self._round_mode("ceil", *args)

    def _call_trunc(self, *args: Any) -> Any:
        return self._round_mode("trunc", *args)

    def _call_astype(self, var: Any, dtype: Any) -> Any:
        if not isinstance(var, Variable):
            return np.asarray(var, dtype=str(dtype))
        out = self._new(f"{var}.astype({dtype})", shape=var.shape, dtype=str(dtype))
        out.update(grid=var.grid, unit=var.unit, is_coord=var.is_coord)
        self.chain.cast(var, self.chain.buffer(var), out.dtype)
        out.buffer = self.chain.cast(var, self.chain.buffer(var), out.dtype)
        return out

    def _call_isnan(self, var: Any) -> Any:
        if not isinstance(var, Variable):
            return np.isnan(var)
        return self._apply("numpy.isnan", [var, self._new(f"isnan({var})", dtype="bool")])

    def _call_isfinite(self, var: Any) -> Any:
        if not isinstance(var, Variable):
            return np.isfinite(var)
        return self._apply("numpy.isfinite", [var, self._new(f"isfinite({var})", dtype="bool")])

    def _call_where(self, condition: Any, a: Any, b: Any, dtype: Any = AUTO) -> Any:
        return self._where(condition, a, b, dtype)

    def _where(self, condition: Any, a: Any, b: Any, dtype: Any = AUTO) -> Any:
        if not isinstance(condition, Variable):
            return a if condition else b
        ref = a if isinstance(a, Variable) else b if isinstance(b, Variable) else None
        props: dict[str, Any] = {"dtype": dtype}
        if ref is not None:
            props.update(grid=ref.grid, unit=ref.unit, is_coord=ref.is_coord)
        else:
            props.update(grid=None, is_coord=False)
        out = self._new(f"where({condition}, {a}, {b})", **props)
        return self._apply("where", [condition, a, b, out])

    # --- helpers -------------------------------------------------------------------------------
    def _new(self, name: str, **props: Any) -> Variable:
        """An intermediate variable (not addressable by name from the config)."""
        var = Variable(name)
        var.update(**props)
        return var

    def _apply(self, processor: str, params: list[Any]) -> Variable:
        from tierflow.dsp.processors import PROCESSORS

        self.chain.add_processor(PROCESSORS[processor], params)
        return cast(Variable, params[-1])


def _declared_grid(period: Quantity, offset: Any) -> Grid:
    """The grid of a declaration: `offset` in samples, a time, or a per-row t0 variable."""
    if isinstance(offset, Variable):
        return Grid(period, 0.0, offset)
    if isinstance(offset, Quantity):
        return Grid(period, offset.to(period.unit) / period.value)
    return Grid(period, float(offset))


def _as_period(value: Any) -> Quantity:
    if isinstance(value, Quantity):
        return value
    if isinstance(value, str) and value in UNITS:
        return Quantity(1.0, UNITS[value])
    raise ConfigError(f"{value!r} is not a period")


def _binop_props(lhs: Any, rhs: Any, symbol: str) -> dict[str, Any]:
    """Unit and coordinate flags of ``lhs <op> rhs`` (the anchor's rules)."""
    if isinstance(lhs, Variable) and isinstance(rhs, Variable):
        lu, ru = lhs.unit_object, rhs.unit_object
        lhs_unit = None if lhs.unit is AUTO else lhs.unit
        rhs_unit = None if rhs.unit is AUTO else rhs.unit
        if lu is not None and ru is not None:
            unit: Any = _combine_units(lu, ru, symbol)
        elif lhs_unit is not None and rhs_unit is not None:
            unit = f"{lhs_unit}{symbol}{rhs_unit}" if symbol in "*//" else str(lhs_unit)
        else:
            unit = lhs_unit if lhs_unit is not None else rhs_unit
        both = lhs.is_coord is True and rhs.is_coord is True
        return {"unit": unit, "grid": None if both else AUTO, "is_coord": False if both else AUTO}
    var = lhs if isinstance(lhs, Variable) else rhs
    return {"unit": var.unit, "is_coord": var.is_coord}


def _combine_units(lhs: Any, rhs: Any, symbol: str) -> Any:
    if symbol in "+-":
        return lhs.symbol
    unit = lhs * rhs if symbol == "*" else lhs / rhs
    return None if unit.time == 0 and unit.exp10 == 0 else unit.symbol
