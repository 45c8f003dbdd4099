"""HPGe event functions: the recovery cut after discharges, cross-talk correction of the
energies and their recalibration (the anchor's ``pygama.evt.modules.geds``).

Example
-------
>>> import numpy as np
>>> from tierflow.types import Array
>>> cut = apply_recovery_cut(None, [], None, timestamps=Array(np.array([0.0, 0.5, 1.0, 3.0])),
...                          flag=Array(np.array([1, 0, 0, 0])), time_window=1.0)
>>> cut.nda
array([ True,  True, False, False])
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import NotFoundError
from tierflow.evt._config import load_mapping
from tierflow.evt._data import EventChunk
from tierflow.evt._functions import register_evt_function
from tierflow.evt.modules.xtalk import (
    IndexRows,
    XtalkMatrix,
    correct_energy,
    filter_hits,
    gather_energy,
    index_array,
    read_xtalk_matrix,
)
from tierflow.expr import compile_expr, order_by_dependency
from tierflow.types import Array, VectorOfVectors

__all__ = [
    "ReturnMode",
    "apply_recovery_cut",
    "apply_xtalk_correction",
    "apply_xtalk_correction_and_calibrate",
    "calibrate_energy",
    "load_par_files",
    "recovery_mask",
]

FloatArray = npt.NDArray[np.float64]


class ReturnMode(str, enum.Enum):
    """What the cross-talk functions return per event."""

    ENERGY = "energy"
    """The corrected (and recalibrated) energies of the hits that pass the filter."""
    TCM_INDEX = "tcm_index"
    """Their positions in the map (``tcm.index``)."""


def recovery_mask(
    timestamps: npt.NDArray[Any], discharges: npt.NDArray[Any], time_window: float
) -> npt.NDArray[np.bool_]:
    """Whether each timestamp falls in ``[d, d + time_window)`` of a discharge time ``d``."""
    times = np.asarray(timestamps, dtype=np.float64)
    marks = np.sort(np.asarray(discharges, dtype=np.float64))
    marks = marks[~np.isnan(marks)]
    if len(marks) == 0:
        return np.zeros(len(times), dtype=np.bool_)
    last = np.searchsorted(marks, times, side="right") - 1  # the latest discharge <= t
    since = times - marks[np.maximum(last, 0)]
    result: npt.NDArray[np.bool_] = (last >= 0) & (since >= 0) & (since < time_window)
    return result


def apply_recovery_cut(
    chunk: EventChunk | None,
    channels: Sequence[str],
    channel_mapping: Mapping[str, Any] | None = None,
    *,
    timestamps: Array,
    flag: Array,
    time_window: float,
) -> Array:
    """Flag events within `time_window` (seconds, like `timestamps`) after an event whose
    `flag` is 1 (a discharge), that one included.

    Example
    -------
    >>> # pygama.evt.modules.geds.apply_recovery_cut(<...>, timestamps=evt.timestamp,
    >>> #     flag=evt.discharge, time_window=0.01)
    """
    times = np.asarray(timestamps.nda)
    return Array(recovery_mask(times, times[np.asarray(flag.nda) == 1], time_window))


def _index_rows(value: str) -> IndexRows:
    try:
        return IndexRows(value)
    except ValueError:
        raise NotFoundError(
            f"unknown index_rows {value!r}", obj=value, candidates=[m.value for m in IndexRows]
        ) from None


def _return_mode(value: str) -> ReturnMode:
    try:
        return ReturnMode(value)
    except ValueError:
        raise NotFoundError(
            f"unknown return_mode {value!r}", obj=value, candidates=[m.value for m in ReturnMode]
        ) from None


def _matrix_for(
    chunk: EventChunk, channels: Sequence[str], file: str, objects: tuple[str, str, str]
) -> XtalkMatrix:
    keys = [k for c in channels if (k := chunk.key_of(c)) is not None]
    return read_xtalk_matrix(file, keys, *objects)


def _jagged(values: FloatArray, mask: npt.NDArray[np.bool_]) -> VectorOfVectors:
    return VectorOfVectors(
        flattened_data=Array(values[mask]),
        cumulative_length=np.cumsum(mask.sum(axis=1), dtype=np.int64),
    )


def _xtalk(
    chunk: EventChunk,
    channels: Sequence[str],
    options: Mapping[str, Any],
) -> tuple[XtalkMatrix, FloatArray]:
    objects = (
        options["xtalk_rawid_obj"],
        options["xtalk_matrix_obj"],
        options["positive_xtalk_matrix_obj"],
    )
    matrix = _matrix_for(chunk, channels, str(options["xtalk_matrix_filename"]), objects)
    uncal = gather_energy(chunk, options["uncal_energy_expr"], matrix.rawids)
    cal = gather_energy(chunk, options["cal_energy_expr"], matrix.rawids)
    return matrix, correct_energy(uncal, cal, matrix.matrix, options["xtalk_threshold"])


def apply_xtalk_correction(
    chunk: EventChunk,
    channels: Sequence[str],
    channel_mapping: Mapping[str, Any] | None = None,
    *,
    return_mode: str,
    uncal_energy_expr: str,
    cal_energy_expr: str,
    multiplicity_expr: str,
    xtalk_threshold: float | None = None,
    xtalk_matrix_filename: str = "",
    xtalk_rawid_obj: str = "xtc/rawid_index",
    xtalk_matrix_obj: str = "xtc/xtalk_matrix_negative",
    positive_xtalk_matrix_obj: str = "xtc/xtalk_matrix_positive",
    index_rows: str = "row_in_table",
) -> VectorOfVectors:
    """Cross-talk corrected energies (or their map positions) of the hits of each event that
    pass `multiplicity_expr` (which may use ``xtalk_corr_energy``), channels in matrix order.

    With ``return_mode='tcm_index'`` the positions are laid out as the anchor does
    (``index_rows='row_in_table'``, see :class:`.xtalk.IndexRows`: a hit's position sits in the
    row of its table row, not of its event); ``index_rows='event'`` gives each kept hit its
    own position.

    Example
    -------
    >>> # pygama.evt.modules.geds.apply_xtalk_correction(<...>, return_mode='energy',
    >>> #     uncal_energy_expr='hit.cuspEmax_ctc', cal_energy_expr='hit.cuspEmax_ctc_cal',
    >>> #     multiplicity_expr='xtalk_corr_energy > 25', xtalk_threshold=25,
    >>> #     xtalk_matrix_filename='xtc.lh5')
    """
    mode, rows = _return_mode(return_mode), _index_rows(index_rows)
    matrix, corrected = _xtalk(chunk, channels, locals())
    mask = filter_hits(chunk, multiplicity_expr, corrected, matrix.rawids)
    if mode is ReturnMode.TCM_INDEX:
        return _jagged(index_array(chunk, matrix.rawids, rows), mask)
    return _jagged(corrected, mask)


def apply_xtalk_correction_and_calibrate(
    chunk: EventChunk,
    channels: Sequence[str],
    channel_mapping: Mapping[str, Any] | None = None,
    *,
    return_mode: str,
    uncal_energy_expr: str,
    cal_energy_expr: str,
    cal_par_files: str | Sequence[str],
    multiplicity_expr: str,
    xtalk_matrix_filename: str,
    xtalk_threshold: float | None = None,
    xtalk_rawid_obj: str = "xtc/rawid_index",
    xtalk_matrix_obj: str = "xtc/xtalk_matrix_negative",
    positive_xtalk_matrix_obj: str = "xtc/xtalk_matrix_positive",
    uncal_var: str = "dsp.cuspEmax",
    recal_var: str = "hit.cuspEmax_ctc_cal",
    index_rows: str = "row_in_table",
) -> VectorOfVectors:
    """As :func:`apply_xtalk_correction`, then recalibrated: each channel's hit operations
    (from `cal_par_files`) that lead to `recal_var` run again with `uncal_var` replaced by
    the corrected energy; `multiplicity_expr` sees the recalibrated energy.

    Example
    -------
    >>> # pygama.evt.modules.geds.apply_xtalk_correction_and_calibrate(<...>,
    >>> #     return_mode='energy', ..., cal_par_files=['hit-pars.yaml'])
    """
    mode, rows = _return_mode(return_mode), _index_rows(index_rows)
    matrix, corrected = _xtalk(chunk, channels, locals())
    pars = load_par_files(cal_par_files)
    calibrated = calibrate_energy(
        chunk, corrected, matrix.rawids, pars, uncal_var, recal_var, channel_mapping
    )
    mask = filter_hits(chunk, multiplicity_expr, calibrated, matrix.rawids)
    if mode is ReturnMode.TCM_INDEX:
        return _jagged(index_array(chunk, matrix.rawids, rows), mask)
    return _jagged(calibrated, mask)


def load_par_files(files: str | Sequence[str]) -> dict[str, Any]:
    """Hit parameter files (JSON/YAML) merged, later files winning key by key."""
    merged: dict[str, Any] = {}
    for file in [files] if isinstance(files, str) else list(files):
        _merge(merged, load_mapping(file))
    return merged


def _merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _needed_operations(operations: Mapping[str, Any], target: str) -> list[str]:
    """The operations `target` depends on (itself included), in evaluation order."""
    compiled = {name: compile_expr(str(spec["expression"])) for name, spec in operations.items()}
    needed: set[str] = set()
    stack = [target]
    while stack:
        name = stack.pop()
        if name in needed or name not in compiled:
            continue
        needed.add(name)
        stack.extend(n for n in compiled[name].names if n != name)
    order = order_by_dependency({n: compiled[n] for n in compiled if n in needed})
    return order


class _CalibrationNamespace(Mapping[str, Any]):
    """Names a hit operation reads: earlier results, its parameters, the corrected energy
    for `uncal`, other columns of the channel's `tier` table."""

    def __init__(
        self, chunk: EventChunk, tier: str, key: int, uncal: str, energy: FloatArray
    ) -> None:
        self.chunk, self.tier, self.key = chunk, tier, key
        self.computed: dict[str, Any] = {uncal: energy}
        self.parameters: Mapping[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.computed:
            return self.computed[name]
        return self.chunk.column(self.tier, self.key, name)

    def __iter__(self) -> Iterator[str]:
        yield from self.parameters
        yield from self.computed

    def __len__(self) -> int:
        return len(self.parameters) + len(self.computed)


def _channel_operations(
    pars: Mapping[str, Any], channel: str, channel_mapping: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    entry = pars.get(channel)
    if entry is None and channel_mapping is not None and channel in channel_mapping:
        entry = pars.get(str(channel_mapping[channel]))
    if not isinstance(entry, Mapping):
        return None
    operations = entry.get("pars", {}).get("operations")
    return operations if isinstance(operations, Mapping) else None


def calibrate_energy(
    chunk: EventChunk,
    energy: FloatArray,
    rawids: Sequence[int],
    pars: Mapping[str, Any],
    uncal_var: str = "dsp.cuspEmax",
    recal_var: str = "hit.cuspEmax_ctc_cal",
    channel_mapping: Mapping[str, Any] | None = None,
) -> FloatArray:
    """Recalibrate corrected energies (events x channels) with each channel's hit operations;
    NaN for channels without parameters or fields."""
    tier, _, uncal = uncal_var.rpartition(".")
    target = recal_var.rpartition(".")[2]
    out = np.full(energy.shape, np.nan)
    fmt = chunk.tiers[tier or "dsp"].table_fmt or "ch{}"
    for column, key in enumerate(rawids):
        operations = _channel_operations(pars, fmt.format(key), channel_mapping)
        if operations is None or target not in operations:
            continue
        hits = chunk.hits(key)
        namespace = _CalibrationNamespace(
            chunk, tier or "dsp", key, uncal, energy[hits.events, column]
        )
        try:
            for name in _needed_operations(operations, target):
                namespace.parameters = operations[name].get("parameters") or {}
                expression = compile_expr(str(operations[name]["expression"]))
                namespace.computed[name] = expression.evaluate(namespace)
        except NotFoundError as error:
            # a channel without the field stays NaN, but a misspelt name must not pass unseen
            warnings.warn(f"channel {key}: {target} left NaN: {error}", stacklevel=2)
            continue
        out[hits.events, column] = namespace.computed[target]
    return out


for _name, _func in (
    ("apply_recovery_cut", apply_recovery_cut),
    ("apply_xtalk_correction", apply_xtalk_correction),
    ("apply_xtalk_correction_and_calibrate", apply_xtalk_correction_and_calibrate),
):
    register_evt_function("geds", _name, _func)
