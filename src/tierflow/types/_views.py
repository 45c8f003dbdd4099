"""Data objects seen as numpy, awkward, pandas or pyarrow objects (imported only when asked)."""

from __future__ import annotations

import enum
import importlib
from typing import TYPE_CHECKING, Any

import numpy as np

from tierflow.errors import MismatchError, NotFoundError, OptionalDependencyError

if TYPE_CHECKING:
    from tierflow.types._array import Array
    from tierflow.types._struct import Table
    from tierflow.types._vov import VectorOfVectors

__all__ = ["Library", "require", "view_array", "view_table", "view_vov"]


class Library(str, enum.Enum):
    """Libraries a data object can be viewed as."""

    NUMPY = "np"
    AWKWARD = "ak"
    PANDAS = "pd"
    PYARROW = "pa"


_MODULES = {Library.AWKWARD: "awkward", Library.PANDAS: "pandas", Library.PYARROW: "pyarrow"}


def require(module: str) -> Any:
    """Import an optional dependency, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise OptionalDependencyError(
            f"this needs {module}, which is not installed: pip install 'tierflow[views]' "
            f"(or pip install {module})"
        ) from error


def _library(name: str) -> Library:
    try:
        return Library(name)
    except ValueError:
        raise NotFoundError(
            f"cannot view as {name!r}", obj=name, candidates=[lib.value for lib in Library]
        ) from None


def view_array(array: Array, library: str, with_units: bool = False) -> Any:
    """An :class:`Array` as a numpy array, awkward array, pandas Series or pyarrow array."""
    lib = _library(library)
    data = array.nda
    if lib is Library.NUMPY:
        return data
    if lib is Library.AWKWARD:
        ak = require("awkward")
        params = {"units": array.units} if with_units and array.units else None
        return ak.Array(ak.contents.NumpyArray(data, parameters=params))
    if lib is Library.PYARROW:
        pa = require("pyarrow")
        return pa.array(data) if data.ndim == 1 else pa.array(list(data))
    pd = require("pandas")
    series = pd.Series(data if data.ndim == 1 else list(data))
    if with_units and array.units:
        series.attrs["units"] = array.units
    return series


def _awkward_layout(vov: VectorOfVectors) -> Any:
    ak = require("awkward")
    from tierflow.types._vov import VectorOfVectors

    offsets = np.concatenate(([0], vov.cumulative_length.nda)).astype(np.int64)
    inner = vov.flattened_data
    content = (
        _awkward_layout(inner)
        if isinstance(inner, VectorOfVectors)
        else ak.contents.NumpyArray(inner.nda)
    )
    return ak.contents.ListOffsetArray(ak.index.Index64(offsets), content)


def view_vov(vov: VectorOfVectors, library: str, with_units: bool = False) -> Any:
    """A :class:`VectorOfVectors` as an awkward array, pyarrow list array, pandas Series
    (of pyarrow lists), or a padded numpy array (``"np"``, depth 1 only)."""
    lib = _library(library)
    if lib is Library.NUMPY:
        return vov.to_aoesa().nda
    if lib is Library.AWKWARD:
        ak = require("awkward")
        array = ak.Array(_awkward_layout(vov))
        if with_units and vov.units:
            array = ak.with_parameter(array, "units", vov.units)
        return array
    pa = require("pyarrow")
    arrow = _arrow_list(vov, pa)
    if lib is Library.PYARROW:
        return arrow
    pd = require("pandas")
    return pd.Series(arrow, dtype=pd.ArrowDtype(arrow.type))


def _arrow_list(vov: VectorOfVectors, pa: Any) -> Any:
    from tierflow.types._vov import VectorOfVectors

    offsets = np.concatenate(([0], vov.cumulative_length.nda)).astype(np.int64)
    inner = vov.flattened_data
    values = _arrow_list(inner, pa) if isinstance(inner, VectorOfVectors) else pa.array(inner.nda)
    return pa.LargeListArray.from_arrays(pa.array(offsets), values)


def view_table(table: Table, library: str, with_units: bool = False) -> Any:
    """A :class:`Table` as a dict of numpy arrays, awkward record array, pyarrow Table or pandas
    DataFrame; nested tables become ``"outer_inner"`` columns (``"outer"/"inner"`` for awkward)."""
    from tierflow.types._array import Array
    from tierflow.types._vov import VectorOfVectors

    lib = _library(library)
    columns = {name.replace("/", "_"): col for name, col in table.flat_columns().items()}
    for name, col in columns.items():
        if not isinstance(col, (Array, VectorOfVectors)):
            raise MismatchError(f"column {name!r} ({type(col).__name__}) has no {lib.value} view")
    views = {name: col.view_as(lib.value, with_units) for name, col in columns.items()}  # type: ignore[attr-defined]
    if lib is Library.NUMPY:
        return views
    if lib is Library.AWKWARD:
        return require("awkward").zip(views, depth_limit=1)
    if lib is Library.PYARROW:
        return require("pyarrow").table(views)
    frame = require("pandas").DataFrame(views)
    if with_units:
        frame.attrs["units"] = {name: col.units for name, col in columns.items() if col.units}
    return frame
