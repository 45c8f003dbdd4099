"""Jagged evt masks on flat buffers against the general (awkward) evaluation."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.evt._jagged import kept_per_list, masked_columns, reduced_columns
from tierflow.expr import as_data_object, compile_expr
from tierflow.types import Array, VectorOfVectors


def _vov(lengths: list[int], values: Any) -> VectorOfVectors:
    return VectorOfVectors(
        flattened_data=values, cumulative_length=np.cumsum(lengths, dtype=np.int64)
    )


@st.composite
def columns(draw: st.DrawFn) -> dict[str, Any]:
    """Pulse values, a pulse mask of the same shape and a hit mask (event → hit → pulse)."""
    hits = draw(st.lists(st.integers(0, 3), min_size=0, max_size=12))
    pulses = draw(st.lists(st.integers(0, 3), min_size=sum(hits), max_size=sum(hits)))
    n = sum(pulses)
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int16, np.bool_]))
    values = rng.normal(size=n).astype(dtype)
    return {
        "t0": _vov(hits, _vov(pulses, Array(values))),
        "ok": _vov(hits, _vov(pulses, Array(rng.random(n) < 0.5))),
        "phys": _vov(hits, Array(rng.random(sum(hits)) < 0.5)),
        "count": _vov(hits, _vov(pulses, Array(rng.integers(0, 3, n).astype(np.uint8)))),
    }


def _general(expression: str, evt: dict[str, Any]) -> Any:
    namespace = {f"evt.{k}": v for k, v in evt.items()}
    value = compile_expr(expression).evaluate(namespace)
    return as_data_object(value, len(evt["t0"]))


def _buffers(obj: Any) -> list[tuple[str, list[Any]]]:
    out = []
    while isinstance(obj, VectorOfVectors):
        cl = obj.cumulative_length.nda
        out.append((str(cl.dtype), cl.tolist()))
        obj = obj.flattened_data
    out.append((str(obj.nda.dtype), obj.nda.tolist()))
    return out


@settings(max_examples=60, deadline=None)
@given(
    evt=columns(),
    expression=st.sampled_from(
        ["evt.t0[evt.ok & evt.phys]", "evt.t0[evt.ok]", "evt.t0[evt.phys & evt.ok]",
         "evt.ok[evt.phys & evt.ok]", "evt.t0[evt.phys & evt.ok & evt.phys]"]
    ),
)  # fmt: skip
def test_masks_equal_the_general_evaluation(evt: dict[str, Any], expression: str) -> None:
    fast = masked_columns(expression, evt)
    assert fast is not None
    expected = _general(expression, evt)
    assert _buffers(fast) == _buffers(expected)
    assert ak.to_list(fast.view_as("ak")) == ak.to_list(expected.view_as("ak"))


def test_other_expressions_and_columns_are_declined() -> None:
    hits = _vov([1, 2], Array(np.array([True, False, True])))
    pulses = _vov([1, 2], _vov([1, 0, 2], Array(np.arange(3.0))))
    counts = _vov([1, 2], _vov([1, 0, 2], Array(np.array([1, 0, 2], dtype=np.uint8))))
    evt = {"t0": pulses, "phys": hits, "count": counts, "flat": Array(np.arange(2.0))}
    for expression in (
        "evt.t0[evt.count]",  # integers index, they do not mask
        "evt.t0[evt.phys | evt.phys]",
        "evt.t0[evt.missing]",
        "evt.t0[evt.phys]",  # hits selected, not pulses: left to the general path
        "evt.flat[evt.phys]",
        "evt.phys[evt.phys]",  # two levels: left to the general path
        "t0[phys]",
        "evt.t0[",
    ):
        assert masked_columns(expression, evt) is None, expression
    other = _vov([2, 1], Array(np.array([True, False, True])))  # other events
    assert masked_columns("evt.t0[evt.other]", {**evt, "other": other}) is None


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(0, 4), max_size=20), seed=st.integers(0, 100))
def test_kept_per_list_counts_the_kept_values(counts: list[int], seed: int) -> None:
    keep = np.random.default_rng(seed).random(sum(counts)) < 0.5
    lists = np.repeat(np.arange(len(counts)), counts)
    expected = np.bincount(lists[keep], minlength=len(counts))
    got = kept_per_list(np.array(counts, dtype=np.int64), keep)
    assert got.dtype == np.int64
    assert got.tolist() == expected.tolist()


SUM_OF_SUMS = "ak.sum(ak.sum(evt.{}, axis=-1), axis=-1)"
MULTIPLICITY = "ak.sum(ak.count(evt.{}, axis=-1) > 0, axis=-1)"
FIRST = "ak.fill_none(ak.firsts(evt.{}), 0)"


@settings(max_examples=40, deadline=None)
@given(
    evt=columns(),
    case=st.sampled_from(
        [(SUM_OF_SUMS, "t0"), (MULTIPLICITY, "t0"), (MULTIPLICITY, "ok"), (FIRST, "first")]
    ),
    big=st.booleans(),
)
def test_reductions_equal_the_general_evaluation(
    evt: dict[str, Any], case: tuple[str, str], big: bool
) -> None:
    if big:  # long lists of float32: the order of the additions shows
        rng = np.random.default_rng(len(evt["t0"]))
        hits = rng.integers(0, 40, 30)
        pulses = rng.integers(0, 40, hits.sum())
        values = rng.exponential(3.0, pulses.sum()).astype(np.float32)
        evt = {**evt, "t0": _vov(hits, _vov(pulses, Array(values)))}
    per_event = np.diff(evt["phys"].cumulative_length.nda, prepend=0)
    firsts = Array(np.arange(len(evt["phys"].flattened_data), dtype=float))
    evt = {**evt, "first": _vov(per_event, firsts)}
    expression = case[0].format(case[1])
    fast = reduced_columns(expression, evt)
    expected = _general(expression, evt)
    if case[0] == SUM_OF_SUMS and evt["t0"].flattened_data.flattened_data.nda.dtype.kind != "f":
        assert fast is None  # sums of integers and booleans: the general path
        return
    assert fast is not None
    assert fast.nda.dtype == expected.nda.dtype, expression
    np.testing.assert_array_equal(fast.nda, expected.nda, err_msg=expression)


def test_reductions_of_other_shapes_are_declined() -> None:
    hits = _vov([1, 2], Array(np.array([True, False, True])))
    pulses = _vov([1, 2], _vov([1, 0, 2], Array(np.arange(3.0))))
    evt = {"t0": pulses, "phys": hits}
    assert reduced_columns(FIRST.format("t0"), evt) is None  # firsts of lists
    assert reduced_columns(FIRST.format("phys"), evt) is None  # booleans
    assert reduced_columns(MULTIPLICITY.format("phys"), evt) is None  # two levels
    assert reduced_columns(SUM_OF_SUMS.format("phys"), evt) is None


def test_reductions_are_found_by_their_shape() -> None:
    evt = {"e": _vov([1], _vov([2], Array(np.array([1.0, 2.0], dtype=np.float32))))}
    assert reduced_columns("ak.sum(ak.sum(evt.e, axis=-1), axis=-1)", evt) is not None
    assert reduced_columns("ak.sum( ak.sum(evt.e,axis=-1) ,axis=-1)", evt) is not None
    for other in (
        "ak.sum(ak.sum(evt.e, axis=-1), axis=0)",
        "ak.sum(ak.sum(evt.e, axis=-1), axis=-1) + 1",
        "ak.sum(ak.sum(evt.missing, axis=-1), axis=-1)",
        "ak.sum(ak.sum(e, axis=-1), axis=-1)",
    ):
        assert reduced_columns(other, evt) is None, other
