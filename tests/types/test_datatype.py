"""The datatype grammar: parse → format is the identity; bad strings name what is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tierflow.errors import DatatypeError
from tierflow.testing import strategies as tfst
from tierflow.types import (
    ArrayType,
    ElementKind,
    EncodedArrayType,
    EqualSizedArrayType,
    StructType,
    TableType,
    parse_datatype,
)


@settings(max_examples=300)
@given(tfst.datatypes())
def test_parse_then_format_is_identity(text: str) -> None:
    assert str(parse_datatype(text)) == text


def test_tree_of_a_nested_jagged_array() -> None:
    node = parse_datatype("array<1>{array<1>{array<1>{bool}}}")
    assert isinstance(node, ArrayType)
    assert node.is_jagged
    assert node.leaf.kind is ElementKind.BOOL


def test_encoded_forms() -> None:
    vov = parse_datatype("array<1>{encoded_array<1>{real}}")
    assert isinstance(vov, ArrayType)
    assert isinstance(vov.element, EncodedArrayType)
    aoesa = parse_datatype(b"array_of_encoded_equalsized_arrays<1,1>{real}")
    assert isinstance(aoesa, EqualSizedArrayType)
    assert aoesa.encoded


def test_enum_pairs() -> None:
    node = parse_datatype("array<1>{enum{evt_real=1,evt_pulser=2,evt_baseline=4}}")
    assert isinstance(node, ArrayType)
    assert node.leaf.enum == (("evt_real", 1), ("evt_pulser", 2), ("evt_baseline", 4))


def test_fields_keep_their_order_and_odd_names() -> None:
    assert parse_datatype("table{t0,dt,values}") == TableType(("t0", "dt", "values"))
    assert parse_datatype("struct{14_bit_flag,a}") == StructType(("14_bit_flag", "a"))
    assert parse_datatype("struct{}") == StructType(())


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("array<1>{reel}", "unknown type name 'reel'"),
        ("array<x>{real}", "expected a number"),
        ("array<1>{real", "ends early"),
        ("real}", "after the end"),
        ("array_of_equalsized_arrays<1>{real}", "expected ','"),
        ("fixedsize_array<1>{table{a}}", "cannot stand inside"),
        ("enum{a}", "expected '='"),
    ],
)
def test_bad_strings_say_why(text: str, why: str) -> None:
    with pytest.raises(DatatypeError, match=why):
        parse_datatype(text)
