"""The chain's config expressions are parsed as tierflow.expr parses (same errors)."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from tierflow.dsp._expr import names_in, parse
from tierflow.errors import ConfigError
from tierflow.expr import ExpressionError


def test_expressions_and_keyword_arguments() -> None:
    stmt = parse("round(tp_0_est + 10*us, wf.grid)")
    assert isinstance(stmt, ast.Expr)
    keyword = parse(" grid = wf.grid")
    assert isinstance(keyword, ast.Assign)
    assert keyword.targets[0].id == "grid"  # type: ignore[attr-defined]
    assert isinstance(parse("a == b"), ast.Expr)  # a comparison is not a keyword
    assert names_in("wf_out(len(wf_blsub) - 1, 'f', grid=wf_blsub.grid)") == ["wf_out", "wf_blsub"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a; b", "syntax error"),
        ("(wf_pz", "syntax error"),
        ("__import__('os')", "dunder"),
        ("wf.__class__", "dunder"),
        ("n = __builtins__", "dunder"),
        ("x" * 20_000, "longer than"),
    ],
)
def test_refused_like_tierflow_expr(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason) as caught:
        parse(text)
    assert isinstance(caught.value, ConfigError)


def test_refused_in_a_chain_names_the_entry() -> None:
    from tierflow.dsp import make_processing_chain
    from tierflow.types import Array, Table

    config = {"outputs": ["y"], "processors": {"y": "numpy.add(x, __import__('os'), y)"}}
    table = Table({"x": Array(np.zeros(3, "float32"))})
    with pytest.raises(ExpressionError, match="dunder") as caught:
        make_processing_chain(config, table)
    assert caught.value.obj == "y"
