"""Hypothesis strategies for every tierflow data type (needs ``hypothesis``: the test extra).

Example
-------
>>> from hypothesis import given
>>> from tierflow.testing import strategies as tfst
>>> @given(tfst.tables())
... def test_table_has_rows(table): assert len(table) >= 0
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tierflow.types import (
    Array,
    ArrayOfDetectorIDs,
    ArrayOfEqualSizedArrays,
    DataObject,
    FixedSizeArray,
    Histogram,
    Scalar,
    Struct,
    Table,
    VectorOfVectors,
    WaveformTable,
    axis,
)

__all__ = [
    "arrays",
    "data_objects",
    "datatypes",
    "dtypes",
    "field_names",
    "histograms",
    "row_objects",
    "scalars",
    "structs",
    "tables",
    "units",
    "vectors_of_vectors",
    "waveform_tables",
]

NUMERIC_DTYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "bool",
    "complex128",
]


def dtypes(strings: bool = False) -> st.SearchStrategy[np.dtype[Any]]:
    """Numeric (and optionally fixed-width byte-string) dtypes."""
    names = NUMERIC_DTYPES + (["S8"] if strings else [])
    return st.sampled_from(names).map(np.dtype)


field_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8
).filter(lambda s: not s[0].isdigit())
units = st.one_of(st.none(), st.sampled_from(["ns", "keV", "ADC", "m", "s"]))


def _attrs(unit: str | None) -> dict[str, Any] | None:
    return {"units": unit} if unit else None


def _values(dtype: np.dtype[Any], shape: Any) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    elements: st.SearchStrategy[Any] | None = None
    if dtype.kind == "f":
        elements = st.floats(allow_nan=False, width=dtype.itemsize * 8)  # type: ignore[arg-type]
    elif dtype.kind == "S":
        elements = st.binary(max_size=dtype.itemsize).filter(lambda b: not b.endswith(b"\x00"))
    return hnp.arrays(dtype, shape, elements=elements)


@st.composite
def arrays(draw: st.DrawFn, n_rows: int | None = None, strings: bool = True) -> Array:
    """1-d or 2-d Arrays (and their fixed-size and detector-id kinds) of any dtype."""
    dtype = draw(dtypes(strings))
    rows = draw(st.integers(0, 20)) if n_rows is None else n_rows
    shape = (rows,) if draw(st.booleans()) or dtype.kind == "S" else (rows, draw(st.integers(1, 4)))
    data = draw(_values(dtype, shape))
    kind = draw(st.sampled_from([Array, Array, FixedSizeArray]))
    if data.ndim == 1 and dtype.kind in "iu" and draw(st.booleans()):
        return ArrayOfDetectorIDs(data.astype(np.uint32), attrs=_attrs(draw(units)))
    return kind(data, attrs=_attrs(draw(units)))


@st.composite
def vectors_of_vectors(
    draw: st.DrawFn, n_rows: int | None = None, max_depth: int = 3
) -> VectorOfVectors:
    """Jagged arrays of depth 1 to `max_depth`, with empty rows and empty objects."""
    rows = draw(st.integers(0, 12)) if n_rows is None else n_rows
    depth = draw(st.integers(1, max_depth))
    lengths = draw(hnp.arrays(np.int64, rows, elements=st.integers(0, 6)))
    if depth == 1:
        dtype = draw(dtypes())
        inner: Any = Array(draw(_values(dtype, (int(lengths.sum()),))))
    else:
        inner = draw(vectors_of_vectors(int(lengths.sum()), depth - 1))
    offsets = np.cumsum(lengths).astype(np.uint32)
    return VectorOfVectors(
        flattened_data=inner, cumulative_length=offsets, attrs=_attrs(draw(units))
    )


@st.composite
def waveform_tables(draw: st.DrawFn, n_rows: int | None = None) -> WaveformTable:
    rows = draw(st.integers(0, 10)) if n_rows is None else n_rows
    dtype = draw(st.sampled_from(["uint16", "int16", "int32", "float32"]))
    if draw(st.booleans()):
        values: Any = ArrayOfEqualSizedArrays(
            draw(_values(np.dtype(dtype), (rows, draw(st.integers(1, 30)))))
        )
    else:
        lengths = draw(hnp.arrays(np.int64, rows, elements=st.integers(0, 30)))
        flat = draw(_values(np.dtype(dtype), (int(lengths.sum()),)))
        values = VectorOfVectors(
            flattened_data=flat, cumulative_length=np.cumsum(lengths).astype(np.uint32)
        )
    t0 = draw(_values(np.dtype("float64"), (rows,)))
    return WaveformTable(values, t0, 16.0, t0_units="ns", dt_units="ns")


def row_objects(n_rows: int, depth: int = 1) -> st.SearchStrategy[DataObject]:
    """Objects with `n_rows` rows: arrays, jagged arrays, waveform tables, nested tables."""
    options: list[st.SearchStrategy[Any]] = [
        arrays(n_rows),
        vectors_of_vectors(n_rows),
        waveform_tables(n_rows),
    ]
    if depth > 0:
        options.append(tables(n_rows, depth - 1))
    return st.one_of(options)


@st.composite
def tables(draw: st.DrawFn, n_rows: int | None = None, depth: int = 1) -> Table:
    """Tables of 0 to 4 columns of any row type (nested tables to `depth`)."""
    rows = draw(st.integers(0, 12)) if n_rows is None else n_rows
    # nested (n_rows given), a table needs a column to carry its rows on disk
    names = draw(st.lists(field_names, min_size=int(n_rows is not None), max_size=4, unique=True))
    columns = {name: draw(row_objects(rows, depth)) for name in names}
    if not columns and n_rows is None:
        rows = 0  # a table without columns has no rows on disk; nested, it takes its parent's
    return Table(columns, size=rows, attrs=_attrs(draw(units)))


def scalars() -> st.SearchStrategy[Scalar]:
    values = st.one_of(
        st.integers(-(2**62), 2**62),
        st.floats(allow_nan=False),
        st.booleans(),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=20),
    )
    return st.builds(Scalar, values)


@st.composite
def histograms(draw: st.DrawFn) -> Histogram:
    binning: list[axis.Axis] = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            first = draw(st.integers(-50, 50))
            n = draw(st.integers(1, 6))
            binning.append(
                axis.Regular(
                    float(first), float(first + n * 2), 2.0, draw(st.booleans()), draw(units)
                )
            )
        else:
            edges = np.unique(draw(st.lists(st.integers(-100, 100), min_size=2, max_size=7)))
            if len(edges) < 2:
                edges = np.array([0, 1])
            binning.append(
                axis.Variable(tuple(edges.astype(float)), draw(st.booleans()), draw(units))
            )
    shape = tuple(ax.n_bins for ax in binning)
    weights = draw(_values(np.dtype("float64"), shape))
    return Histogram(weights, binning, isdensity=draw(st.booleans()))


@st.composite
def structs(draw: st.DrawFn, depth: int = 1) -> Struct:
    names = draw(st.lists(field_names, max_size=4, unique=True))
    choices: list[st.SearchStrategy[Any]] = [
        scalars(),
        arrays(),
        vectors_of_vectors(),
        tables(),
        histograms(),
    ]
    if depth > 0:
        choices.append(structs(depth - 1))
    return Struct({name: draw(st.one_of(choices)) for name in names})


def data_objects() -> st.SearchStrategy[DataObject]:
    """Any data object tierflow writes."""
    return st.one_of(
        scalars(),
        arrays(),
        vectors_of_vectors(),
        tables(),
        waveform_tables(),
        histograms(),
        structs(),
    )


def datatypes() -> st.SearchStrategy[str]:
    """``datatype`` strings of the LH5 grammar."""
    element = st.one_of(
        st.sampled_from(["real", "bool", "complex", "string", "symbol", "detectorid"]),
        st.lists(
            st.tuples(field_names, st.integers(-5, 100)),
            min_size=1,
            max_size=3,
            unique_by=lambda p: p[0],
        ).map(lambda pairs: "enum{" + ",".join(f"{n}={v}" for n, v in pairs) + "}"),
    )
    array = st.recursive(
        element.map(lambda e: f"array<1>{{{e}}}"),
        lambda inner: inner.map(lambda e: f"array<1>{{{e}}}"),
        max_leaves=3,
    )
    others = st.one_of(
        st.tuples(st.integers(1, 3), element).map(lambda p: f"fixedsize_array<{p[0]}>{{{p[1]}}}"),
        element.map(lambda e: f"array_of_equalsized_arrays<1,1>{{{e}}}"),
        element.map(lambda e: f"array_of_encoded_equalsized_arrays<1,1>{{{e}}}"),
        element.map(lambda e: f"array<1>{{encoded_array<1>{{{e}}}}}"),
        st.lists(field_names, max_size=4, unique=True).map(lambda f: "struct{" + ",".join(f) + "}"),
        st.lists(field_names, max_size=4, unique=True).map(lambda f: "table{" + ",".join(f) + "}"),
    )
    return st.one_of(element, array, others)
