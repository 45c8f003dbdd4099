"""Data objects: growth, selection, jagged arrays of any depth, tables, histograms, views."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.errors import MismatchError, NotFoundError
from tierflow.testing import strategies as tfst
from tierflow.types import (
    Array,
    ArrayOfDetectorIDs,
    ArrayOfEqualSizedArrays,
    Histogram,
    Scalar,
    Struct,
    Table,
    VectorOfVectors,
    WaveformTable,
    axis,
)


def test_array_grows_geometrically_and_keeps_values() -> None:
    a = Array(np.arange(3))
    a.append(3)
    assert a.capacity == 6
    assert list(a.nda) == [0, 1, 2, 3]
    a.extend(Array(np.arange(4, 10)))
    assert list(a.nda) == list(range(10))
    a.resize(2)
    assert list(a.nda) == [0, 1]
    assert a.capacity >= 10


def test_datatypes_of_arrays() -> None:
    assert str(Array(np.zeros((2, 3))).datatype) == "array<2>{real}"
    assert str(Array([True]).datatype) == "array<1>{bool}"
    assert str(Array(np.array([b"ab"])).datatype) == "array<1>{string}"
    assert str(Array([1, 2], enum={"a": 1, "b": 2}).datatype) == "array<1>{enum{a=1,b=2}}"
    assert str(ArrayOfDetectorIDs([1104000]).datatype) == "array<1>{detectorid}"
    assert ArrayOfDetectorIDs([1104000]).dtype == np.uint32
    assert str(Scalar("x").datatype) == "string"
    assert str(Scalar(1.5).datatype) == "real"


def _rows(vov: VectorOfVectors) -> list:
    """Rows as Python lists (NaN as 0, so that lists compare equal)."""

    def plain(row: np.ndarray) -> list:
        return (np.nan_to_num(row) if row.dtype.kind in "fc" else row).tolist()

    return [plain(r) if isinstance(r, np.ndarray) else _rows(r) for r in vov]


@settings(max_examples=150, deadline=None)
@given(tfst.vectors_of_vectors(), st.data())
def test_take_equals_python_selection(vov: VectorOfVectors, data: st.DataObject) -> None:
    rows = _rows(vov)
    picks = data.draw(st.lists(st.integers(0, len(vov) - 1), max_size=6)) if len(vov) else []
    assert _rows(vov.take(np.asarray(picks, dtype=np.intp))) == [rows[i] for i in picks]
    start = data.draw(st.integers(0, len(vov)))
    stop = data.draw(st.integers(start, len(vov)))
    assert _rows(vov.take(slice(start, stop))) == rows[start:stop]
    mask = np.asarray(
        data.draw(st.lists(st.booleans(), min_size=len(vov), max_size=len(vov))), dtype=bool
    )
    assert _rows(vov.take(mask)) == [r for r, keep in zip(rows, mask, strict=False) if keep]


@settings(max_examples=100, deadline=None)
@given(tfst.vectors_of_vectors(), st.data())
def test_extend_concatenates(a: VectorOfVectors, data: st.DataObject) -> None:
    picks = data.draw(st.lists(st.integers(0, len(a) - 1), max_size=5)) if len(a) else []
    b = a.take(np.asarray(picks, dtype=np.intp))
    expected = _rows(a) + _rows(b)
    a.extend(b)
    assert _rows(a) == expected
    assert (int(a.cumulative_length.nda[-1]) if len(a) else 0) == len(a.flattened_data)


def test_vov_resize_append_and_padding() -> None:
    v = VectorOfVectors([[1, 2], [], [3]], dtype="int16")
    v.append(np.array([4, 5, 6], dtype="int16"))
    assert _rows(v) == [[1, 2], [], [3], [4, 5, 6]]
    v.resize(6)
    assert _rows(v)[4:] == [[], []]
    v.resize(2)
    assert _rows(v) == [[1, 2], []]
    assert len(v.flattened_data) == 2
    padded = VectorOfVectors([[1, 2, 3], [4]]).to_aoesa(fill=-1)
    assert padded.nda.tolist() == [[1, 2, 3], [4, -1, -1]]
    assert VectorOfVectors([[1, 2, 3], [4]]).to_aoesa(width=2).nda.tolist() == [[1, 2], [4, 0]]
    back = padded.to_vov([3, 1])
    assert _rows(back) == [[1, 2, 3], [4]]


def test_table_columns_rows_and_nesting() -> None:
    t = Table({"e": Array([1.0, 2.0, 3.0]), "sub": Table({"x": Array([1, 2, 3])})})
    assert len(t) == 3
    assert t.n_columns == 2
    assert t["sub/x"].nda.tolist() == [1, 2, 3]
    assert list(t.flat_columns()) == ["e", "sub/x"]
    with pytest.raises(MismatchError, match="has 2 rows"):
        t["bad"] = Array([1, 2])
    with pytest.raises(NotFoundError, match="did you mean 'sub'"):
        t["sbu"]
    t.extend(t.take([0]))
    assert t["sub/x"].nda.tolist() == [1, 2, 3, 1]
    assert len(t) == 4
    t.resize(2)
    assert t["e"].nda.tolist() == [1.0, 2.0]


def test_waveform_table() -> None:
    w = WaveformTable(
        values=np.arange(12, dtype="uint16").reshape(3, 4),
        t0=[0, 1, 2],
        dt=16,
        t0_units="ns",
        dt_units="ns",
    )
    assert w.wf_len == 4
    assert w.dt.nda.tolist() == [16.0] * 3
    assert w.dt.units == "ns"
    jagged = WaveformTable(values=VectorOfVectors([[1], [2, 3]]))
    assert jagged.wf_len is None
    assert len(jagged) == 2
    empty = WaveformTable(size=5, wf_len=100, dtype="uint16")
    assert empty.values.nda.shape == (5, 100)


def test_histogram_fill_and_axes() -> None:
    h = Histogram.fill(
        [[0.5, 0.5], [1.5, 0.5], [1.5, 2.5]], [axis.Regular(0, 2, 1), axis.Variable((0, 1, 3))]
    )
    assert h.weights.nda.tolist() == [[1, 0], [1, 1]]
    assert h.binning[1].n_bins == 2
    assert h.edges[0].tolist() == [0, 1, 2]
    with pytest.raises(MismatchError):
        Histogram(np.zeros(3), [axis.Regular(0, 2, 1)])
    with pytest.raises(MismatchError):
        axis.Variable((1.0, 1.0))


def test_views() -> None:
    pd = pytest.importorskip("pandas")
    ak = pytest.importorskip("awkward")
    pa = pytest.importorskip("pyarrow")
    t = Table(
        {"e": Array([1.0, 2.0], attrs={"units": "keV"}), "hits": VectorOfVectors([[1], [2, 3]])}
    )
    frame = t.view_as("pd", with_units=True)
    assert isinstance(frame, pd.DataFrame)
    assert frame["e"].tolist() == [1.0, 2.0]
    assert frame.attrs["units"] == {"e": "keV"}
    record = t.view_as("ak")
    assert ak.to_list(record["hits"]) == [[1], [2, 3]]
    arrow = t.view_as("pa")
    assert isinstance(arrow, pa.Table)
    assert arrow.column("hits").to_pylist() == [[1], [2, 3]]
    nested = VectorOfVectors([[[1], [2, 3]], []])
    assert ak.to_list(nested.view_as("ak")) == [[[1], [2, 3]], []]
    assert t.view_as("np")["e"] is t["e"].nda or np.shares_memory(t.view_as("np")["e"], t["e"].nda)
    with pytest.raises(NotFoundError, match="did you mean 'pd'"):
        t.view_as("pdd")


def test_struct_rejects_non_objects() -> None:
    with pytest.raises(MismatchError):
        Struct({"a": [1, 2]})  # type: ignore[dict-item]
    assert ArrayOfEqualSizedArrays(np.zeros((2, 3))).dims == (1, 1)
