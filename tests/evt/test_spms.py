"""SiPM pulse gathering: the flat-buffer path equals the awkward path it replaces."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import awkward as ak
import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.evt import TCM, make_datainfo
from tierflow.evt._data import EventChunk, iter_tcm
from tierflow.evt.modules import spms
from tierflow.types import Array, Table, VectorOfVectors

KEYS = (21, 22, 23)


def _write(folder: Path, seed: int, float32: bool) -> dict[str, tuple[str, ...]]:
    """Pulses with NaN padding (float32 for channel 22 when `float32`), a flat column."""
    rng = np.random.default_rng(seed)
    hit = folder / "hit.lh5"
    n = 40
    for key in KEYS:
        counts = rng.integers(0, 4, n)
        flat = rng.exponential(2.0, counts.sum())
        flat[rng.random(len(flat)) < 0.3] = np.nan
        if float32 and key == 22:
            flat = flat.astype(np.float32)
        ends = Array(np.cumsum(counts))
        cols = {
            "pe": VectorOfVectors(flattened_data=Array(flat), cumulative_length=ends),
            "n": VectorOfVectors(
                flattened_data=Array(np.arange(len(flat))), cumulative_length=ends
            ),
            "t": Array(np.where(rng.random(n) < 0.2, np.nan, rng.random(n))),
        }
        lh5.write(Table(cols), f"ch{key}/hit", hit)
    present = rng.random((n, len(KEYS))) < 0.6
    keys = np.broadcast_to(np.array(KEYS), present.shape)[present]
    rows = np.broadcast_to(np.arange(n)[:, None], present.shape)[present]
    # channels not in key order within events: the result follows the map's order
    tcm = TCM(keys[::-1].copy(), rows[::-1].copy(), np.cumsum(present.sum(axis=1)))
    lh5.write(tcm.to_table(), "hardware_tcm_1", folder / "tcm.lh5")
    return {"tcm": (str(folder / "tcm.lh5"), "hardware_tcm_1"), "hit": (str(hit), "hit", "ch{}")}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("field", ["pe", "n", "t"])
def test_flat_pulses_equal_the_awkward_path(tmp_path: Path, seed: int, field: str) -> None:
    tiers = make_datainfo(_write(tmp_path, seed, float32=seed == 1))
    with ExitStack() as stack:
        handles = {"hit": stack.enter_context(h5py.File(tiers["hit"].file, "r"))}
        for tcm in iter_tcm(str(tiers["tcm"].file), "hardware_tcm_1", 15):
            chunk = EventChunk(tiers, tcm, handles)
            fast = spms._flat_pulses(chunk, list(KEYS), "hit", field)
            slow = spms._awkward_pulses(chunk, list(KEYS), "hit", field)
            assert fast is not None
            assert str(ak.type(fast)) == str(ak.type(slow))
            assert ak.to_list(fast) == ak.to_list(slow)
            assert not np.isnan(ak.to_numpy(ak.flatten(fast), allow_missing=False)).any()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("field", ["pe", "n", "t"])
def test_joined_slabs_equal_the_channel_by_channel_lists(
    tmp_path: Path, seed: int, field: str
) -> None:
    tiers = make_datainfo(_write(tmp_path, seed, float32=seed == 1))
    with ExitStack() as stack:
        handles = {"hit": stack.enter_context(h5py.File(tiers["hit"].file, "r"))}
        slabs: dict[str, object] = {}  # shared: later chunks take rows from the same slabs
        for tcm in iter_tcm(str(tiers["tcm"].file), "hardware_tcm_1", 15):
            chunk = EventChunk(tiers, tcm, handles, slabs=slabs)  # type: ignore[arg-type]
            joined = spms._slab_lists(chunk, [23, 21, 22, 21], "hit", field)
            apart = spms._channel_lists(chunk, [23, 21, 22, 21], "hit", field)
            assert joined is not None
            assert apart is not None
            assert joined[0].tolist() == apart[0].tolist()
            assert joined[1].dtype == apart[1].dtype
            np.testing.assert_array_equal(joined[1], apart[1])


@pytest.mark.parametrize("field", ["table_key", "row_in_table", "index"])
def test_tcm_data_equal_the_awkward_form(tmp_path: Path, field: str) -> None:
    tiers = make_datainfo(_write(tmp_path, 3, float32=False))
    channels = [f"ch{k}" for k in (22, 21)]
    with ExitStack() as stack:
        handles = {"hit": stack.enter_context(h5py.File(tiers["hit"].file, "r"))}
        for tcm in iter_tcm(str(tiers["tcm"].file), "hardware_tcm_1", 15):
            chunk = EventChunk(tiers, tcm, handles)
            got = spms.gather_tcm_data(chunk, channels, tcm_field=field)
            positions, _ = spms._selected(chunk, channels)
            source = {"table_key": tcm.table_key, "row_in_table": tcm.row_in_table}
            flat = source.get(field, np.arange(len(tcm.table_key)))[positions]
            want = spms._to_vov(ak.unflatten(flat.astype(np.int64), spms._counts(chunk, positions)))
            assert isinstance(got, VectorOfVectors)
            assert isinstance(want, VectorOfVectors)
            assert got.cumulative_length.nda.dtype == want.cumulative_length.nda.dtype
            assert got.cumulative_length.nda.tolist() == want.cumulative_length.nda.tolist()
            assert got.flattened_data.nda.dtype == want.flattened_data.nda.dtype
            assert got.flattened_data.nda.tolist() == want.flattened_data.nda.tolist()
            assert dict(got.attrs) == dict(want.attrs)
            # drop_empty keeps the hits with a pulse left by the mask
            mask = spms.make_pulse_data_mask(chunk, channels, t0_observable="hit.pe")
            kept = spms.gather_tcm_data(
                chunk, channels, tcm_field=field, pulse_mask=mask, drop_empty=True
            )
            has = ak.sum(mask.view_as("ak"), axis=-1) > 0
            assert kept.view_as("ak").tolist() == got.view_as("ak")[has].tolist()


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 4), min_size=1, max_size=30),
    first=st.integers(0, 1000),
    data=st.data(),
)
def test_a_trimmed_slab_holds_the_same_lists(lengths: list[int], first: int, data: Any) -> None:
    ends = np.cumsum(lengths).astype(np.int64)
    values = np.arange(float(ends[-1]))
    lo = data.draw(st.integers(0, len(lengths) - 1))
    hi = data.draw(st.integers(lo + 1, len(lengths)))
    t_ends, t_values, t_first = spms._trimmed(ends, values, first, (first + lo, first + hi))
    assert t_first == first + lo
    starts = np.concatenate([[0], ends[:-1]])
    t_starts = np.concatenate([[0], t_ends[:-1]])
    for row in range(lo, hi):
        want = values[starts[row] : ends[row]]
        got = t_values[t_starts[row - lo] : t_ends[row - lo]]
        assert got.tolist() == want.tolist()
