"""Property: arithmetic expressions agree with the same numpy operations on random columns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tierflow.expr import compile_expr

N_ROWS = 16
COLUMN_NAMES = ("a", "b", "c")
Tree = tuple[str, Callable[[dict[str, Any]], Any]]

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
columns = st.fixed_dictionaries(
    {name: arrays(np.float64, N_ROWS, elements=finite) for name in COLUMN_NAMES}
)


def _leaf() -> st.SearchStrategy[Tree]:
    names = st.sampled_from(COLUMN_NAMES).map(lambda n: (n, lambda env, n=n: env[n]))
    numbers = st.floats(0.5, 100.0).map(lambda v: (repr(v), lambda env, v=v: np.float64(v)))
    integers = st.integers(1, 50).map(lambda v: (str(v), lambda env, v=v: np.float64(v)))
    return names | numbers | integers


_BINARY = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.true_divide,
}
_UNARY = {"sqrt": np.sqrt, "abs": np.abs, "exp": np.exp, "log": np.log, "sin": np.sin}


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    def binary(op: str, left: Tree, right: Tree) -> Tree:
        f = _BINARY[op]
        return f"({left[0]} {op} {right[0]})", lambda env: f(left[1](env), right[1](env))

    def unary(name: str, arg: Tree) -> Tree:
        f = _UNARY[name]
        return f"{name}({arg[0]})", lambda env: f(arg[1](env))

    def square(arg: Tree) -> Tree:
        return f"({arg[0]})**2", lambda env: np.square(arg[1](env))

    def choose(cond: Tree, arg: Tree) -> Tree:
        text = f"where({cond[0]} > 0, {arg[0]}, -{arg[0]})"
        return text, lambda env: np.where(cond[1](env) > 0, arg[1](env), -arg[1](env))

    return (
        st.builds(binary, st.sampled_from(sorted(_BINARY)), children, children)
        | st.builds(unary, st.sampled_from(sorted(_UNARY)), children)
        | st.builds(square, children)
        | st.builds(choose, children, children)
    )


expressions = st.recursive(_leaf(), _extend, max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(expression=expressions, env=columns)
def test_arithmetic_agrees_with_numpy(expression: Tree, env: dict[str, Any]) -> None:
    text, reference = expression
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(reference(env), (N_ROWS,))
    got = np.broadcast_to(compile_expr(text).evaluate(env), (N_ROWS,))
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(env=columns, threshold=finite)
def test_comparisons_and_masks_agree_with_numpy(env: dict[str, Any], threshold: float) -> None:
    text = f"((a > {threshold!r}) & (b <= c)) | ~(c == a)"
    expected = ((env["a"] > threshold) & (env["b"] <= env["c"])) | ~(env["c"] == env["a"])
    np.testing.assert_array_equal(compile_expr(text).evaluate(env), expected)
