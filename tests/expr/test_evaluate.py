"""Evaluation on whole columns: values, numexpr's typing, jagged columns, errors, ordering."""

from __future__ import annotations

import numpy as np
import pytest

from tierflow.errors import ConfigError, MismatchError, NotFoundError
from tierflow.expr import (
    ExpressionError,
    as_data_object,
    compile_expr,
    order_by_dependency,
)
from tierflow.types import Array, ArrayOfEqualSizedArrays, VectorOfVectors

RNG = np.random.default_rng(7)
COLUMNS = {
    "f4": RNG.normal(5, 2, 20).astype(np.float32),
    "f8": RNG.normal(5, 2, 20),
    "i4": RNG.integers(1, 9, 20).astype(np.int32),
    "i8": RNG.integers(1, 9, 20),
    "u2": RNG.integers(1, 9, 20).astype(np.uint16),
    "b": RNG.random(20) > 0.5,
    "pf": 2.5,
    "pi": 3,
}

# result dtypes as numexpr (which the anchor uses) gives them; checked against numexpr 2.14
NUMEXPR_DTYPES = [
    ("f4 * 2", "float32"),
    ("f4 * 2.0", "float64"),
    ("f4 * pf", "float64"),
    ("f4 * pi", "float32"),
    ("f4 + i8", "float32"),
    ("i4 / 2", "float64"),
    ("i4 * 2", "int32"),
    ("u2 * 2", "int32"),
    ("u2", "int32"),
    ("f4", "float32"),
    ("b + 1", "int32"),
    ("f4 ** 2", "float32"),
    ("f4 ** 2.0", "float32"),
    ("f4 ** 0.5", "float32"),
    ("f4 ** -1", "float32"),
    ("f4 ** 2.3", "float64"),
    ("f4 ** pf", "float64"),
    ("i4 ** 2", "int32"),
    ("i4 ** 0.5", "float64"),
    ("sqrt(f4)", "float32"),
    ("sqrt(i4)", "float64"),
    ("abs(i4)", "float64"),
    ("abs(f4)", "float32"),
    ("where(f4 > 1, f4, 1)", "float32"),
    ("where(b, i4, f4)", "float32"),
    ("f4 > 0.1", "bool"),
    ("(f4 > 1) & (i4 < 5)", "bool"),
    ("~b", "bool"),
    ("-i4", "int32"),
    ("f4 / i4", "float32"),
    ("minimum(f4, f4)", "float64"),
    ("floor(f4)", "float32"),
    ("ceil(i4)", "float64"),
    ("round(f4)", "float64"),
    ("isnan(f4)", "bool"),
    ("1 / 2 * f4", "float64"),
    ("f4 * (1 + f8 * pf)", "float64"),
]


@pytest.mark.parametrize(("text", "dtype"), NUMEXPR_DTYPES)
def test_result_dtypes_follow_numexpr(text: str, dtype: str) -> None:
    assert np.asarray(compile_expr(text).evaluate(COLUMNS)).dtype == np.dtype(dtype)


def test_float_literal_compares_in_double_precision() -> None:
    x = np.array([0.1], dtype=np.float32)  # float32(0.1) > 0.1 in double precision
    assert compile_expr("x > 0.1").evaluate({"x": x})[0]
    assert not compile_expr("x > 0.1").evaluate({"x": np.array([0.1])})[0]


def test_values_of_a_production_like_chain() -> None:
    e, dt = np.array([1000.0, 2000.0], np.float32), np.array([10.0, 20.0])
    got = compile_expr("a*(e*(1+dt*d))**2 + b*e*(1+dt*d) + c").evaluate(
        {"e": e, "dt": dt, "a": 1e-9, "b": 0.25, "c": 0.02, "d": 2e-5}
    )
    x = e.astype(np.float64) * (1 + dt * 2e-5)
    np.testing.assert_allclose(got, 1e-9 * x**2 + 0.25 * x + 0.02, rtol=1e-15)


def test_bare_name_gives_a_copy() -> None:
    x = np.arange(3.0)
    out = compile_expr("x").evaluate({"x": x})
    out[0] = 99
    assert x[0] == 0


def test_tierflow_arrays_and_constants() -> None:
    got = compile_expr("x * np.pi").evaluate({"x": Array(np.array([1.0, 2.0]))})
    np.testing.assert_allclose(got, [np.pi, 2 * np.pi])


def test_bit_operations_on_flag_words() -> None:
    q = np.array([0b101, 0b010], dtype=np.uint8)
    np.testing.assert_array_equal(compile_expr("(q >> 2) & 1").evaluate({"q": q}), [1, 0])


def test_bitwise_on_floats_explains_the_parentheses() -> None:
    with pytest.raises(ExpressionError, match="comparisons need parentheses") as info:
        compile_expr("(x > 1) & x").evaluate({"x": np.array([2.0])})
    assert "^" in str(info.value)


def test_unknown_column_suggests_close_names() -> None:
    with pytest.raises(ExpressionError, match="did you mean 'trapEmax'") as info:
        compile_expr("2 * trapEmx").evaluate({"trapEmax": np.ones(2)})
    assert str(info.value).splitlines()[2].count("^") == len("trapEmx")


def test_a_square_is_the_product_numexpr_makes_of_it() -> None:
    rng = np.random.default_rng(4)
    kinds = {"float32": "float32", "float64": "float64", "int16": "int32", "int64": "int64"}
    for dtype, kind in kinds.items():
        x = (rng.normal(0, 3000, 1000) * 1.37).astype(dtype)
        got = compile_expr("x**2").evaluate({"x": x})
        wide = x.astype(got.dtype)
        assert got.dtype == kind
        assert np.array_equal(got.view(np.uint8), (wide * wide).view(np.uint8))
    assert compile_expr("x**2.0").evaluate({"x": np.float32([1.5])}).tolist() == [2.25]


def test_integer_to_negative_power_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="negative integer powers"):
        compile_expr("i ** -2").evaluate({"i": np.array([2, 3])})


def test_division_by_zero_gives_inf_and_nan_silently() -> None:
    got = compile_expr("x / y").evaluate({"x": np.array([1.0, 0.0]), "y": np.zeros(2)})
    assert np.isinf(got[0])
    assert np.isnan(got[1])


def test_jagged_columns_through_awkward() -> None:
    ak = pytest.importorskip("awkward")
    hits = VectorOfVectors([[1.0, 2.0], [], [3.0]])
    energy = np.array([10.0, 20.0, 30.0])
    namespace = {"hits": hits, "energy": energy}
    scaled = compile_expr("hits * 2 + energy").evaluate(namespace)
    assert ak.to_list(scaled) == [[12.0, 14.0], [], [36.0]]
    assert ak.to_list(compile_expr("ak.num(hits)").evaluate(namespace)) == [2, 0, 1]
    assert ak.to_list(compile_expr("ak.sum(hits, axis=-1)").evaluate(namespace)) == [3.0, 0, 3.0]
    obj = as_data_object(scaled, 3)
    assert isinstance(obj, VectorOfVectors)
    assert obj.cumulative_length.nda.tolist() == [2, 2, 3]
    assert obj.flattened_data.nda.tolist() == [12.0, 14.0, 36.0]  # type: ignore[union-attr]
    first = as_data_object(compile_expr("ak.firsts(hits)").evaluate(namespace), 3)
    np.testing.assert_array_equal(first.nda, [1.0, np.nan, 3.0])  # type: ignore[attr-defined]


def test_where_on_jagged_columns() -> None:
    ak = pytest.importorskip("awkward")
    hits = VectorOfVectors([[1.0, -2.0], [3.0]])
    got = compile_expr("where(hits > 0, hits, 0)").evaluate({"hits": hits})
    assert ak.to_list(got) == [[1.0, 0.0], [3.0]]


def test_as_data_object_shapes() -> None:
    assert isinstance(as_data_object(np.ones((4, 3)), 4), ArrayOfEqualSizedArrays)
    scalar = as_data_object(np.float64(2.0), 3, {"units": "keV"})
    assert scalar.nda.tolist() == [2.0, 2.0, 2.0]  # type: ignore[attr-defined]
    assert scalar.attrs == {"units": "keV"}
    with pytest.raises(MismatchError, match="gave 2 rows for a table of 3"):
        as_data_object(np.ones(2), 3)


def test_order_by_dependency_keeps_given_order_where_free() -> None:
    ops = {
        "AoE": compile_expr("A_max / calE"),
        "calE": compile_expr("sqrt(a + b * twice**2)"),
        "twice": compile_expr("2 * trapEmax"),
        "other": compile_expr("trapEmax"),
        "timestamp": compile_expr("timestamp"),
    }
    assert order_by_dependency(ops) == ["twice", "other", "timestamp", "calE", "AoE"]


def test_a_cycle_is_an_error_naming_its_members() -> None:
    ops = {"a": compile_expr("b + 1"), "b": compile_expr("c * 2"), "c": compile_expr("a")}
    with pytest.raises(ConfigError, match="cycle") as info:
        order_by_dependency(ops)
    assert all(name in str(info.value) for name in "abc")


def test_array_subscripts_select_by_mask_and_by_indices() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    mask = compile_expr("a[(a > 1.5) & (a < 3.5)]").evaluate({"a": a})
    np.testing.assert_array_equal(mask, [2.0, 3.0])
    np.testing.assert_array_equal(compile_expr("a[i]").evaluate({"a": a, "i": [3, 0]}), [4.0, 1.0])
    with pytest.raises(ExpressionError, match="boolean mask or integer indices"):
        compile_expr("a[a]").evaluate({"a": a})
    with pytest.raises(ExpressionError, match="cannot evaluate"):
        compile_expr("a[m]").evaluate({"a": a, "m": np.ones(3, dtype=bool)})


def test_array_subscripts_on_jagged_columns() -> None:
    import awkward as ak

    t0 = ak.Array([[1.0, 5.0, 9.0], [], [2.0]])
    good = ak.Array([[True, False, True], [], [False]])
    got = compile_expr("t0[good & (t0 > 1)]").evaluate({"t0": t0, "good": good})
    assert ak.to_list(got) == [[9.0], [], []]
    # a numpy column subscripted by an awkward mask follows awkward's rules
    got = compile_expr("e[m]").evaluate({"e": np.array([1, 2]), "m": ak.Array([True, False])})
    assert ak.to_list(got) == [1]


class _Namespace(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> None:
        if key == "hit.short":
            raise MismatchError("the map points at row 9 of 'ch1/hit/short', which has 3 rows")
        raise NotFoundError(
            f"no field {key!r} in 'ch1/hit'", file="hit.lh5", obj=key, candidates=["hit.energy"]
        )


def test_namespace_errors_stay_precise() -> None:
    namespace = _Namespace({"hit.energy": np.ones(3)})
    with pytest.raises(NotFoundError) as info:
        compile_expr("hit.enrgy * 2").evaluate(namespace)
    assert isinstance(info.value, ExpressionError)
    assert info.value.file == "hit.lh5"
    assert info.value.suggestions == ["hit.energy"]
    assert "hit.enrgy * 2" in str(info.value)
    with pytest.raises(MismatchError, match="row 9") as mismatch:
        compile_expr("hit.short + 1").evaluate(namespace)
    assert not isinstance(mismatch.value, ExpressionError)


def _frozen(**arrays: np.ndarray) -> dict[str, np.ndarray]:
    """Read-only copies: an evaluation that wrote into an input would raise."""
    out = {}
    for name, values in arrays.items():
        copy = np.array(values)
        copy.flags.writeable = False
        out[name] = copy
    return out


def test_temporaries_are_reused_but_inputs_never_written() -> None:
    rng = np.random.default_rng(11)
    cols = _frozen(
        e=rng.normal(3000, 500, 500).astype(np.float32),
        dt=rng.normal(100, 20, 500),
        n=rng.integers(-5, 5, 500).astype(np.int32),
        q=rng.integers(0, 255, 500).astype(np.uint8),
    )
    cases = {
        "2.5*(e*(1+dt*1e-5))**2 + 0.25*e*(1+dt*1e-5) - 0.5": lambda e, dt, n, q: (
            2.5 * (e.astype(float) * (1 + dt * 1e-5)) ** 2
            + 0.25 * e.astype(float) * (1 + dt * 1e-5)
            - 0.5
        ),
        "(e/dt - 1)/sqrt(2 + 3/where(e > 1, e, 1)**2)": lambda e, dt, n, q: (
            (e / dt - 1) / np.sqrt(2 + 3 / np.where(e > 1, e, 1).astype(float) ** 2)
        ),
        "-(n*n) + n*3 - (n - 1)": lambda e, dt, n, q: -(n * n) + n * 3 - (n - 1),
        "((q >> 1) & 3) | (q << 2)": lambda e, dt, n, q: (
            ((q.astype(np.int32) >> 1) & 3) | (q.astype(np.int32) << 2)
        ),
        "(e > 3000) & (dt < 100) | ~(n > 0)": lambda e, dt, n, q: (
            (e > 3000) & (dt < 100) | ~(n > 0)
        ),
    }
    before = {name: values.copy() for name, values in cols.items()}
    for text, expected in cases.items():
        got = compile_expr(text).evaluate(cols)
        want = np.asarray(expected(**cols))
        assert got.dtype == want.dtype or text.startswith(("2.5", "(e/")), text
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=text)
        assert not any(np.shares_memory(got, values) for values in cols.values())
    for name, values in cols.items():
        assert np.array_equal(values, before[name])


def test_reusing_temporaries_keeps_the_bits() -> None:
    """An operation into a temporary operand runs the loop the plain call runs."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1e4, 1000), rng.normal(1, 3, 1000).astype(np.float32)
    got = compile_expr("(x*1.1 + y) / (y*y - 0.5) * 3 - x**2").evaluate(_frozen(x=x, y=y))
    wide = y.astype(np.float64)
    want = np.subtract(
        np.multiply(
            np.true_divide(np.add(x * 1.1, wide), np.subtract((y * y).astype(np.float64), 0.5)),
            3.0,
        ),
        np.square(x),
    )
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


def test_a_result_stored_in_the_namespace_is_not_overwritten_later() -> None:
    """The value of one operation is an input of the next: never a temporary there."""
    first = compile_expr("x * 2").evaluate({"x": np.arange(4.0)})
    kept = first.copy()
    compile_expr("a * 3 + 1").evaluate({"a": first})
    assert np.array_equal(first, kept)
