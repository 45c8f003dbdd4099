"""Cross-talk correction of HPGe energies from a cross-talk matrix.

Energies of a chunk are laid out densely, one row per event and one column per channel of
the matrix (NaN where a channel has no hit). With ``M[i, j]`` the cross talk seen in
response channel ``i`` when channel ``j`` triggers, the correction is
``E_corr = E - M @ E_thr`` per event, where ``E_thr`` keeps only hits whose calibrated energy
reaches the threshold. The matrix file holds the channel ids (``xtc/rawid_index``) and a
negative- and a positive-polarity matrix (``[trigger, response]``): the entry of larger
magnitude is used.

Example
-------
>>> import numpy as np
>>> m = np.array([[0.0, 0.01], [0.02, 0.0]])  # response x trigger
>>> correct_energy(np.array([[1000.0, 10.0]]), np.array([[1000.0, 10.0]]), m, 25)
array([[1000.,  -10.]])
"""

from __future__ import annotations

import enum
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from tierflow import lh5
from tierflow.errors import MismatchError, NotFoundError
from tierflow.evt._aggregators import evaluate_at_channel
from tierflow.evt._data import EventChunk
from tierflow.expr import compile_expr

__all__ = [
    "IndexRows",
    "XtalkMatrix",
    "correct_energy",
    "filter_hits",
    "gather_energy",
    "index_array",
    "read_xtalk_matrix",
]

FloatArray = npt.NDArray[np.float64]
PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class XtalkMatrix:
    """A cross-talk matrix restricted to some channels.

    Attributes
    ----------
    rawids
        Channel ids (table keys), in the matrix's order.
    matrix
        ``matrix[i, j]``: cross talk in response channel ``i`` per unit energy of trigger
        channel ``j`` (NaN replaced by 0).
    """

    rawids: tuple[int, ...]
    matrix: FloatArray


def read_xtalk_matrix(
    file: PathLike,
    channels: Sequence[int] | None = None,
    rawid_obj: str = "xtc/rawid_index",
    matrix_obj: str = "xtc/xtalk_matrix_negative",
    positive_matrix_obj: str = "xtc/xtalk_matrix_positive",
) -> XtalkMatrix:
    """Read the matrices from an LH5 file, keep the `channels` (table keys) among its ids and
    combine the two polarities (larger magnitude wins), transposed to response x trigger.

    Example
    -------
    >>> m = read_xtalk_matrix("xtc.lh5", [1084803, 1084804])  # doctest: +SKIP
    """
    ids = np.asarray(_read_np(file, rawid_obj)).astype(np.int64)
    keep = np.ones(len(ids), dtype=bool) if channels is None else np.isin(ids, list(channels))
    negative = np.asarray(_read_np(file, matrix_obj), dtype=np.float64)
    positive = np.asarray(_read_np(file, positive_matrix_obj), dtype=np.float64)
    for name, matrix in ((matrix_obj, negative), (positive_matrix_obj, positive)):
        if matrix.shape != (len(ids), len(ids)):
            raise MismatchError(
                f"the cross-talk matrix has shape {matrix.shape} for {len(ids)} channel ids",
                file=str(file),
                obj=name,
            )
    negative, positive = negative[keep][:, keep], positive[keep][:, keep]
    combined = np.where(np.abs(negative) > np.abs(positive), negative, positive)
    return XtalkMatrix(tuple(int(i) for i in ids[keep]), np.nan_to_num(combined, nan=0.0).T)


def _read_np(file: PathLike, name: str) -> Any:
    try:
        return lh5.read(name, file).view_as("np")
    except KeyError as error:
        if isinstance(error, NotFoundError):
            raise
        raise NotFoundError(
            f"no {name!r} in the cross-talk file", file=str(file), obj=name
        ) from None


def correct_energy(
    uncal_energy: FloatArray,
    cal_energy: FloatArray,
    matrix: FloatArray,
    threshold: float | None = None,
) -> FloatArray:
    """Cross-talk corrected energies (events x channels): NaN read as 0, hits whose
    calibrated energy is below `threshold` do not correct the others.

    Example
    -------
    >>> e = np.array([[500.0, np.nan]])
    >>> correct_energy(e, e, np.array([[0.0, 0.0], [0.1, 0.0]]))
    array([[500., -50.]])
    """
    uncal = np.nan_to_num(uncal_energy, nan=0.0)
    cal = np.nan_to_num(cal_energy, nan=0.0)
    triggers = uncal if threshold is None else np.where(cal < threshold, 0.0, uncal)
    result: FloatArray = uncal - (matrix @ triggers.T).T
    return result


def _channel_values(
    chunk: EventChunk, key: int, text: str, extra: Mapping[str, Any]
) -> npt.NDArray[Any]:
    """`text` on the hits of channel `key` (NaN when the channel lacks a field)."""
    hits = chunk.hits(key)
    try:
        return evaluate_at_channel(chunk, hits, text, extra)
    except NotFoundError as error:
        # a channel without the field stays NaN, but a misspelt name must not pass unseen
        warnings.warn(f"channel {key}: {text!r} left NaN: {error}", stacklevel=2)
        return np.full(len(hits), np.nan)


def gather_energy(chunk: EventChunk, expression: str, rawids: Sequence[int]) -> FloatArray:
    """`expression` (``hit.x``, ``dsp.y`` columns) per event and channel of `rawids`: an
    events x channels array, NaN where the channel has no hit."""
    out = np.full((chunk.n_events, len(rawids)), np.nan)
    for column, key in enumerate(rawids):
        values = _channel_values(chunk, key, expression, {})
        out[chunk.hits(key).events, column] = values
    return out


def filter_hits(
    chunk: EventChunk, expression: str, corrected: FloatArray, rawids: Sequence[int]
) -> npt.NDArray[np.bool_]:
    """Which hits count (events x channels): `expression` on each channel's hits, where
    ``xtalk_corr_energy`` is the corrected energy; False where a channel has no hit."""
    compile_expr(expression)  # report syntax errors before reading anything
    mask = np.zeros(corrected.shape, dtype=np.bool_)
    for column, key in enumerate(rawids):
        events = chunk.hits(key).events
        extra = {"xtalk_corr_energy": corrected[events, column]}
        values = _channel_values(chunk, key, expression, extra)
        mask[events, column] = np.asarray(values, dtype=np.bool_)
    return mask


class IndexRows(str, enum.Enum):
    """Which row of the events x channels array of map positions a hit fills (the
    ``tcm_index`` return mode of the cross-talk functions)."""

    ROW_IN_TABLE = "row_in_table"
    """The anchor's (pygama 2.x) layout, kept for parity: the hit at row ``r`` of its
    channel's table fills row ``r``, although the energies and the hit filter are laid out by
    event. Unless each channel's rows are the event numbers, positions land in other events
    (a kept hit may get NaN), and a row past the chunk's events is an error (the anchor
    raises ``IndexError``)."""
    EVENT = "event"
    """The hit fills the row of its event, like the energies: each kept hit gets its own
    map position."""


def index_array(
    chunk: EventChunk, rawids: Sequence[int], rows: IndexRows = IndexRows.ROW_IN_TABLE
) -> FloatArray:
    """The map position (``tcm.index``) of each channel's hits, events x channels (NaN:
    none), placed by `rows`.

    Example
    -------
    >>> index_array(chunk, [1084803], IndexRows.EVENT)  # doctest: +SKIP
    array([[0.], [3.], [nan]])
    """
    out = np.full((chunk.n_events, len(rawids)), np.nan)
    for column, key in enumerate(rawids):
        hits = chunk.hits(key)
        if rows is IndexRows.EVENT:
            out[hits.events, column] = hits.positions
            continue
        if len(hits) and int(hits.rows.max()) >= chunk.n_events:
            raise MismatchError(
                f"return_mode='tcm_index' with index_rows='row_in_table' (the anchor's layout) "
                f"puts channel {key}'s hit of table row {int(hits.rows.max())} in that row, "
                f"but the chunk has {chunk.n_events} events (the anchor fails here too); "
                "use index_rows='event'",
                obj=str(key),
            )
        out[hits.rows, column] = hits.positions
    return out
