"""FCIO records beyond the anchor's: config updates after the start, and RecEvent (tag 5).

Streams are written by :mod:`tests.raw.fcio_writer`, so every expected value is known.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.errors import FormatError
from tierflow.raw import DecodeWarning, build_raw
from tierflow.raw.formats.fcio import FCRecEventDecoder, FCStreamer

from .fcio_writer import HEADER, config, event, recevent

MAP = [(0x10 << 16) | 0, (0x10 << 16) | 1]  # card 0x10, inputs 0 and 1


def _samples(n: int, start: int) -> np.ndarray:
    return (np.arange(2 * 8).reshape(2, 8) + start).astype(np.uint16)


def _build(tmp: Path, data: bytes) -> h5py.File:
    (tmp / "s.fcio").write_bytes(data)
    build_raw(tmp / "s.fcio", out_spec=str(tmp / "s.lh5"), overwrite=True)
    return h5py.File(tmp / "s.lh5")


def test_second_config_is_a_row_and_changes_the_trace_map(tmp_path: Path) -> None:
    swapped = MAP[::-1]
    data = HEADER + config(MAP) + event(1, _samples(2, 0)) + config(swapped)
    data += event(2, _samples(2, 100))
    f = _build(tmp_path, data)
    assert f["FCConfig/packet_id"][()].tolist() == [0, 2]
    np.testing.assert_array_equal(
        lh5.read("FCConfig/tracemap", tmp_path / "s.lh5").view_as("ak").to_list(),
        [MAP, swapped],
    )
    ev = f["FCEvent"]
    assert ev["packet_id"][()].tolist() == [1, 1, 3, 3]
    # after the update, trace 0 is input 1: the same samples land on the other channel
    assert ev["fc_input"][()].tolist() == [0, 1, 1, 0]
    assert ev["channel"][()].tolist() == [0, 1, 0, 1]
    np.testing.assert_array_equal(ev["waveform/values"][2:], _samples(2, 100))
    assert ev["eventnumber"][()].tolist() == [1, 1, 2, 2]


def test_config_update_with_new_channels_warns_and_drops_them(tmp_path: Path) -> None:
    other = [(0x11 << 16) | 0, (0x10 << 16) | 1]
    data = HEADER + config(MAP) + event(1, _samples(2, 0)) + config(other)
    data += event(2, _samples(2, 0))
    (tmp_path / "s.fcio").write_bytes(data)
    with pytest.warns(DecodeWarning, match=r"adds channels \[1001700\]"):
        build_raw(tmp_path / "s.fcio", out_spec=str(tmp_path / "s.lh5"))
    assert h5py.File(tmp_path / "s.lh5")["FCEvent/fc_input"][()].tolist() == [0, 1, 1]


@pytest.mark.parametrize(
    ("change", "message"),
    [({"nsamples": 16}, "samples per trace from 8 to 16"), ({"adcbits": 12}, "bits from 16 to 12")],
)
def test_config_update_changing_waveforms_names_the_byte(
    tmp_path: Path, change: dict[str, int], message: str
) -> None:
    first = HEADER + config(MAP) + event(1, _samples(2, 0))
    (tmp_path / "s.fcio").write_bytes(first + config(MAP, **change))
    with pytest.raises(FormatError, match=rf"s.fcio: config at byte {len(first)} .*{message}"):
        build_raw(tmp_path / "s.fcio", out_spec=str(tmp_path / "s.lh5"))
    assert not (tmp_path / "s.lh5").exists(), "no half-written output"


def test_recevent_rows(tmp_path: Path) -> None:
    data = HEADER + config(MAP) + recevent(7, [2, 1], [1, 2, 3], [10.5, 11, 12], [1, 2, 3])
    data += recevent(8, [0, 0], [], [], [], pps=4)
    f = _build(tmp_path, data)
    got = lh5.read("FCRecEvent", tmp_path / "s.lh5").view_as("ak").to_list()
    assert [r["eventnumber"] for r in got] == [7, 8]
    assert [r["totalpulses"] for r in got] == [3, 0]
    assert [r["channel_pulses"] for r in got] == [[2, 1], [0, 0]]
    assert [r["flags"] for r in got] == [[1, 2, 3], []]
    assert got[0]["amplitudes"] == [10.5, 11.0, 12.0]
    assert got[0]["pulser"] == 2.5
    assert got[0]["event_type"] == 4
    assert got[0]["timestamp"] == pytest.approx(3 + 40e-9)  # pps 3, 10 ticks of 4 ns
    assert got[1]["timestamp"] == pytest.approx(4 + 40e-9)
    assert f["FCRecEvent/packet_id"][()].tolist() == [1, 2]


def test_short_recevent_is_garbage_not_a_crash(tmp_path: Path) -> None:
    from .fcio_writer import ints, record

    data = HEADER + config(MAP) + record(5, ints(4), ints(1)) + event(1, _samples(2, 0))
    (tmp_path / "s.fcio").write_bytes(data)
    with pytest.warns(DecodeWarning, match="fewer than 10"):
        build_raw(tmp_path / "s.fcio", out_spec=str(tmp_path / "s.lh5"))
    f = h5py.File(tmp_path / "s.lh5")
    assert f["Garbage/code"][()].tolist() == [5]
    assert f["FCEvent/eventnumber"][()].tolist() == [1, 1]


pulses = st.lists(
    st.tuples(st.integers(0, 1), st.integers(-5, 5), st.floats(-1e6, 1e6, width=32)),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(pulses, min_size=1, max_size=5))
def test_recevent_pulses_round_trip(events: list[list[tuple[int, int, float]]]) -> None:
    data = HEADER + config(MAP)
    for i, ps in enumerate(events):
        ps = sorted(ps, key=lambda p: p[0])  # pulses are stored channel after channel
        counts = [sum(1 for p in ps if p[0] == c) for c in range(2)]
        amps = [p[2] for p in ps]
        data += recevent(i, counts, [p[1] for p in ps], amps, amps[::-1])
    streamer = FCStreamer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        streamer.open_stream(data)
        chunks = [rb.drain() for chunk in streamer for rb in chunk]
    block = next(b for b in chunks if b is not None and "totalpulses" in b.columns)
    assert block.keys.tolist() == ["fcid_1/recevent"] * len(events)
    flat = block.columns["amplitudes"]
    expected = [p[2] for ps in events for p in sorted(ps, key=lambda p: p[0])]
    np.testing.assert_array_equal(flat.flat, np.array(expected, np.float32))
    assert flat.lengths.tolist() == [len(ps) for ps in events]
    assert FCRecEventDecoder(1).make_table(block)["times"].flattened_data.nda.size == len(expected)


def test_damaged_config_update_is_garbage(tmp_path: Path) -> None:
    from .fcio_writer import ints, record

    bad = record(1, ints(-5), ints(0), ints(8))  # a negative number of traces
    data = HEADER + config(MAP) + event(1, _samples(2, 0)) + bad + event(2, _samples(2, 0))
    (tmp_path / "s.fcio").write_bytes(data)
    with pytest.warns(DecodeWarning, match="out of range"):
        build_raw(tmp_path / "s.fcio", out_spec=str(tmp_path / "s.lh5"))
    f = h5py.File(tmp_path / "s.lh5")
    assert f["Garbage/code"][()].tolist() == [1]
    assert f["FCEvent/eventnumber"][()].tolist() == [1, 1, 2, 2]
    assert f["FCConfig/packet_id"][()].tolist() == [0]
