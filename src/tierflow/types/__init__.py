"""In-memory data objects of tierflow; no file I/O here (that is :mod:`tierflow.lh5`).

Example
-------
>>> from tierflow.types import Table, Array, VectorOfVectors
>>> t = Table({"energy": Array([1.0, 2.0], attrs={"units": "keV"}),
...            "hits": VectorOfVectors([[1], [2, 3]])})
>>> str(t.datatype)
'table{energy,hits}'
"""

from __future__ import annotations

from tierflow.types import axis
from tierflow.types._array import (
    Array,
    ArrayOfDetectorIDs,
    ArrayOfEqualSizedArrays,
    FixedSizeArray,
    Scalar,
)
from tierflow.types._base import DataObject, RowSelection, normalize_rows
from tierflow.types._datatype import (
    ArrayType,
    Datatype,
    ElementKind,
    ElementType,
    EncodedArrayType,
    EqualSizedArrayType,
    FixedSizeArrayType,
    StructType,
    TableType,
    parse_datatype,
)
from tierflow.types._encoded import ArrayOfEncodedEqualSizedArrays, VectorOfEncodedVectors
from tierflow.types._histogram import Histogram
from tierflow.types._struct import Struct, Table, WaveformTable
from tierflow.types._views import Library
from tierflow.types._vov import VectorOfVectors

__all__ = [
    "Array",
    "ArrayOfDetectorIDs",
    "ArrayOfEncodedEqualSizedArrays",
    "ArrayOfEqualSizedArrays",
    "ArrayType",
    "DataObject",
    "Datatype",
    "ElementKind",
    "ElementType",
    "EncodedArrayType",
    "EqualSizedArrayType",
    "FixedSizeArray",
    "FixedSizeArrayType",
    "Histogram",
    "Library",
    "RowSelection",
    "Scalar",
    "Struct",
    "StructType",
    "Table",
    "TableType",
    "VectorOfEncodedVectors",
    "VectorOfVectors",
    "WaveformTable",
    "axis",
    "normalize_rows",
    "parse_datatype",
]
