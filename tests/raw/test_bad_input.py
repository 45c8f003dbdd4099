"""Truncated files, flipped bytes and appended garbage never crash and keep what came before."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierflow.raw import build_raw

FILES: dict[str, tuple[str, dict[str, Any], str]] = {
    "fcio": ("fcio/L200-comm-20211130-phy-spms.fcio", {}, "FCEvent"),
    "llama": ("llamaDAQ/20241218-150158-pulser.bin", {}, "LLAMAEvent_0"),
    "compass": ("compass/compass_test_data.BIN", {}, "CompassEvent"),
    "orca-fc": ("orca/fc/L200-comm-20220519-phy-geds.orca", {}, "ORFlashCamADCWaveform"),
    "orca-fcio": (
        "orca/fcio/l200-p13-r007-aph-20250101T003931Z.orca",
        {},
        "ORFCIOEventHeader_fcid_1/evt_hdr",
    ),
}
HEADER_FRACTION = {"orca-fc": 0.14, "orca-fcio": 0.39}
"""Share of the file taken by the header: a cut there is a clear FormatError, not data loss."""


def _decode(data: bytes, tmp: Path, kw: dict[str, Any]) -> h5py.File | None:
    src, out = tmp / "in.bin", tmp / "out.lh5"
    src.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(src, out_spec=str(out), overwrite=True, **kw)
    return h5py.File(out) if out.exists() else None


@pytest.fixture(scope="module")
def originals(
    testdata: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[bytes, np.ndarray]]:
    out = {}
    for name, (path, kw, table) in FILES.items():
        data = (testdata / "legend" / path).read_bytes()
        f = _decode(data, tmp_path_factory.mktemp(name), kw)
        assert f is not None
        out[name] = (data, f[f"{table}/packet_id"][()])
    return out


@pytest.mark.parametrize("name", list(FILES))
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.floats(0.3, 1.0), garbage=st.binary(max_size=64))
def test_truncated_or_garbage_keeps_earlier_packets(
    name: str, cut: float, garbage: bytes, originals: dict[str, Any], tmp_path: Path
) -> None:
    data, ids = originals[name]
    head = HEADER_FRACTION.get(name, 0.0)
    cut = head + (1 - head) * cut  # cut in the data after the header
    n = int(len(data) * cut)
    f = _decode(data[:n] + garbage, tmp_path, FILES[name][1])
    assert f is not None
    table = FILES[name][2]
    got = f[f"{table}/packet_id"][()] if table in f else np.zeros(0)
    # packets wholly before the damage are all there, with their ids
    frac_ok = len(got) / max(len(ids), 1)
    assert frac_ok >= (cut - head) / (1 - head) - 0.2
    np.testing.assert_array_equal(got[: max(0, len(got) - 1)], ids[: max(0, len(got) - 1)])


@pytest.mark.parametrize("name", list(FILES))
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=st.floats(0.2, 1.0), value=st.integers(0, 255))
def test_flipped_byte_never_crashes(
    name: str, where: float, value: int, originals: dict[str, Any], tmp_path: Path
) -> None:
    data, _ = originals[name]
    buf = bytearray(data)
    head = HEADER_FRACTION.get(name, 0.0)  # a flipped header byte may be a clear FormatError
    buf[min(int(len(buf) * (head + (1 - head) * where)), len(buf) - 1)] = value
    _decode(bytes(buf), tmp_path, FILES[name][1])


def test_llama_channel_with_empty_events_is_garbage_not_a_hang(
    originals: dict[str, Any], tmp_path: Path
) -> None:
    """A channel configured with 0-byte events cannot be framed: its first event and what
    follows become one garbage record; the events before it are kept."""
    data, ids = originals["llama"]
    second_config = 16 + 88  # the second open channel's 88 bytes; word 16: event length
    patched = bytearray(data)
    patched[second_config + 64 : second_config + 68] = bytes(4)
    f = _decode(bytes(patched), tmp_path, FILES["llama"][1])
    assert f is not None
    got = f["LLAMAEvent_0/packet_id"][()]
    assert 0 < len(got) < len(ids)
    np.testing.assert_array_equal(got, ids[: len(got)])
    assert len(f["Garbage/packet_id"]) == 1
