"""ORCA: header, packet framing and resynchronisation, Struck digitisers, run control.

Streams are built in memory packet by packet, so every decoded value is known.
"""

from __future__ import annotations

import json
import plistlib
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.errors import FormatError
from tierflow.raw import DecodeWarning, build_raw, detect_stream_type
from tierflow.raw.formats.orca import ORCA_DECODERS, OrcaHeader, OrcaStreamer, make_ccc
from tierflow.raw.formats.orca._header import parse_header_packet

SIS3302, SIS3316, RUN = 1, 2, 3

HEADER: dict[str, Any] = {
    "dataDescription": {
        "ORSIS3302Model": {
            "Energy": {"dataId": SIS3302 << 18, "decoder": "ORSIS3302DecoderForEnergy"}
        },
        "ORSIS3316Model": {
            "Wave": {"dataId": SIS3316 << 18, "decoder": "ORSIS3316WaveformDecoder"}
        },
        "ORRunModel": {"Run": {"dataId": RUN << 18, "decoder": "ORRunDecoderForRun"}},
        "ORScriptModel": {"State": {"dataId": 4 << 18, "decoder": "ORScriptDecoderForState"}},
    },
    "ObjectInfo": {
        "Crates": [
            {
                "CrateNumber": 0,
                "Cards": [
                    {
                        "Class Name": "ORSIS3302Model",
                        "Card": 2,
                        "internalTriggerEnabledMask": 0b1,
                        "externalTriggerEnabledMask": 0b100,
                        "sampleLengths": [6, 6, 6, 6],
                    },
                    # the enabled mask's binary digits are read from the left, as the anchor
                    {
                        "Class Name": "ORSIS3316Model",
                        "Card": 3,
                        "enabledMask": 0b10,
                        "rawDataBufferLen": 4,
                    },
                ],
            }
        ]
    },
}


def header_packet(header: dict[str, Any]) -> np.ndarray:
    xml = plistlib.dumps(header, fmt=plistlib.FMT_XML)
    pad = (-len(xml)) % 4
    body = np.frombuffer(xml + bytes(pad), np.uint32)
    return np.concatenate(([2 + body.size, len(xml)], body)).astype(np.uint32)


def packet(data_id: int, body: list[int] | np.ndarray) -> np.ndarray:
    body = np.asarray(body, np.uint32)
    return np.concatenate(([(data_id << 18) | (body.size + 1)], body)).astype(np.uint32)


def sis3302(
    channel: int, wf: list[int], energy: int, ts: int, wrap_at: int | None = None
) -> np.ndarray:
    wf16 = np.asarray(wf, np.uint16)
    stored = wf16 if wrap_at is None else np.roll(wf16, wrap_at + 1)
    addr = (0 << 21) | (2 << 16) | (channel << 8) | (wrap_at is not None)
    head = [addr, wf16.size // 2, 0, (ts >> 32) << 16, ts & 0xFFFFFFFF]
    if wrap_at is not None:
        head += [0, wrap_at]
    body = np.concatenate((head, stored.view(np.uint32), [energy, energy - 1, 0, 0xDEADBEEF]))
    return packet(SIS3302, body)


def run_packet(number: int, start: bool, time: int) -> np.ndarray:
    return packet(RUN, [(7 << 16) | int(start), number, time])


def stream(*packets: np.ndarray, header: dict[str, Any] = HEADER) -> bytes:
    return np.concatenate([header_packet(header), *packets]).astype(np.uint32).tobytes()


def decode(tmp_path: Path, data: bytes, **kw: Any) -> h5py.File:
    src, out = tmp_path / "in.orca", tmp_path / "out.lh5"
    src.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(src, out_spec=str(out), overwrite=True, **kw)
    return h5py.File(out)


def test_header_lookups() -> None:
    h = OrcaHeader(HEADER)
    assert h.decoders_by_id()[SIS3302 << 18] == "ORSIS3302DecoderForEnergy"
    assert h.object_info("ORSIS3302Model")[0][2]["sampleLengths"] == [6, 6, 6, 6]
    assert h.readout_info("nothing") == []
    assert h.auxhw_info("ORFlashCamListenerModel", 1) == {}
    short = OrcaHeader({"dataDescription": {"X": {"Y": {"dataId": -(5 << 26), "decoder": "Z"}}}})
    assert short.decoders_by_id() == {(-(5 << 26)) & 0xFFFFFFFF: "Z"}


def test_detected_and_header_written_as_json(tmp_path: Path) -> None:
    data = stream(run_packet(12, True, 1000))
    assert detect_stream_type(data[:64]) == "ORCA"
    f = decode(tmp_path, data)
    assert parse_header_packet(np.frombuffer(data, np.uint32)) == HEADER
    assert json.loads(lh5.read("OrcaHeader", tmp_path / "out.lh5").value) == HEADER
    assert f["ORRunDecoderForRun/run_number"][()].tolist() == [12]
    assert f["ORRunDecoderForRun/runstartorstop"][()].tolist() == [1]
    assert f["ORRunDecoderForRun/subrun_number"][()].tolist() == [7]


def test_bad_xml_names_the_file(tmp_path: Path) -> None:
    bad = header_packet(HEADER)
    bad[10] = 0x3C3C3C3C  # "<<<<" inside the XML
    (tmp_path / "bad.orca").write_bytes(bad.tobytes())
    with pytest.raises(FormatError, match=r"bad\.orca"):
        build_raw(tmp_path / "bad.orca", in_stream_type="ORCA", out_spec=str(tmp_path / "o.lh5"))


def test_sis3302_values_and_wrapped_waveform(tmp_path: Path) -> None:
    wf = [10, 11, 12, 13, 14, 15]
    data = stream(
        sis3302(0, wf, 500, 0x1_0000_0002),
        sis3302(2, wf, 700, 5, wrap_at=2),
        sis3302(0, wf[::-1], 900, 7),
    )
    f = decode(tmp_path, data)
    ch0, ch2 = (f"ORSIS3302DecoderForEnergy_{int(make_ccc(0, 2, c))}" for c in (0, 2))
    assert f[f"{ch0}/energy"][()].tolist() == [500, 900]
    assert f[f"{ch0}/energy_first"][()].tolist() == [499, 899]
    assert f[f"{ch0}/timestamp"][()].tolist() == [0x1_0000_0002, 7]
    assert f[f"{ch0}/packet_id"][()].tolist() == [1, 3]
    assert f[f"{ch0}/waveform/values"][()].tolist() == [wf, wf[::-1]]
    assert f[f"{ch2}/waveform/values"][()].tolist() == [wf]  # unwrapped
    assert f[f"{ch0}/waveform/dt"][0] == 10.0


def test_sis3316_format_bits(tmp_path: Path) -> None:
    samples = np.array([1, 2, 3, 4], np.uint16).view(np.uint32)
    full = [1 | (0 << 4) | (0x2 << 16), 99, 0x0005_0007, (9 << 24) | 123, 2, 3, 4, 5, 6]
    full += [77, 78, 31, 32, 33, 41, 42]  # accSum7/8, MAW, energies (bits 1-3)
    full[0] |= 0xE
    bare = [0 | (0x3 << 16), 100]
    events = [[*full, 2, *samples], bare + [0] * (len(full) - 2) + [2, *samples]]
    head_len = len(full) + 1
    n_longs = head_len + samples.size
    body = [(0 << 21) | (3 << 16) | (0 << 8), 2, n_longs, 0, head_len, 0, 0, 0, 0]
    pkt = packet(SIS3316, np.concatenate((body, *events)))
    f = decode(tmp_path, stream(pkt))
    t = f["ORSIS3316Waveform"]  # one channel: one buffer, named as the anchor
    assert t["timestamp"][()].tolist() == [(2 << 32) + 99, (3 << 32) + 100]
    assert t["peakHighValue"][()].tolist() == [7, 0xFFFFFFFF]
    assert t["peakHighIndex"][()].tolist() == [5, 0xFFFFFFFF]
    assert t["accSum1"][()].tolist() == [123, 0xFFFFFFFF]
    assert t["information"][()].tolist() == [9, 0]
    assert t["mawMax"][()].tolist() == [31, 0xFFFFFFFF]
    assert t["maxEnergy"][()].tolist() == [42, 0xFFFFFFFF]
    assert t["waveform/values"][()].tolist() == [[1, 2, 3, 4], [1, 2, 3, 4]]


def test_unknown_data_id_is_garbage_and_decoding_goes_on(tmp_path: Path) -> None:
    junk = np.full(5, 0xFFFC0005, np.uint32)  # an undeclared id
    data = stream(run_packet(1, True, 5), junk, run_packet(2, False, 6), run_packet(3, False, 7))
    src = tmp_path / "in.orca"
    src.write_bytes(data)
    with pytest.warns(DecodeWarning, match="did not decode"):
        build_raw(src, out_spec=str(tmp_path / "o.lh5"), overwrite=True)
    f = h5py.File(tmp_path / "o.lh5")
    assert f["ORRunDecoderForRun/run_number"][()].tolist() == [1, 2, 3]
    start = len(header_packet(HEADER)) * 4 + 16
    assert f["Garbage/position"][()].tolist() == [start]
    assert f["Garbage/packet/flattened_data"].size == junk.nbytes


def test_struck_decoders_are_registered() -> None:
    assert {"ORSIS3302DecoderForEnergy", "ORSIS3316WaveformDecoder"} <= set(ORCA_DECODERS)


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=30),
    extended=st.lists(st.booleans(), min_size=30, max_size=30),
    cut=st.floats(0, 1),
)
def test_framing_across_any_split(lengths: list[int], extended: list[bool], cut: float) -> None:
    """Packets framed in two calls split anywhere are the packets, in order."""
    from tierflow.raw.formats.orca._kernels import MAX_WORDS, frame_packets

    parts, starts, pos = [], [], 0
    for n, ext in zip(lengths, extended, strict=False):
        n = max(n, 2) if ext else n
        p = np.zeros(n, np.uint32)
        p[0] = (RUN << 18) | (0 if ext else n)
        if ext:
            p[1] = n
        parts.append(p)
        starts.append(pos)
        pos += n
    words = np.concatenate(parts)
    ids = np.array([RUN << 18], np.int64)
    split = int(words.size * cut)
    s1, *_, used = frame_packets(words[:split], ids, False, MAX_WORDS)
    s2, *_, used2 = frame_packets(words[used:], ids, True, MAX_WORDS)
    assert used2 == words.size - used
    np.testing.assert_array_equal(np.concatenate((s1, s2 + used)), starts)


def test_orca_streamer_rejects_other_streams() -> None:
    assert not OrcaStreamer.is_stream(b"\xff\x35\x65\xc4FlashCamV1" + bytes(8))


plist_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
plist_scalars = (
    plist_text
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.binary(max_size=8)
)
plist_values = st.recursive(
    plist_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(plist_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(value=st.dictionaries(plist_text, plist_values, max_size=5))
def test_fast_plist_reader_equals_plistlib(value: dict[str, Any]) -> None:
    from tierflow.raw.formats.orca._header import loads_plist

    xml = plistlib.dumps(value, fmt=plistlib.FMT_XML)
    assert loads_plist(xml) == plistlib.loads(xml, fmt=plistlib.FMT_XML)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<plist><dict><key>a</key></dict></plist>", "missing value for key 'a'"),
        (b"<plist><dict><integer>1</integer><integer>2</integer></dict></plist>", "unexpected"),
    ],
)
def test_a_dict_without_key_value_pairs_is_left_to_plistlib(xml: bytes, message: str) -> None:
    from tierflow.raw.formats.orca._header import loads_plist

    with pytest.raises(ValueError, match=message):
        loads_plist(xml)


@given(fcid=st.integers(0, 1000), board=st.integers(0, 0xFFFF), fc_input=st.integers(0, 0xFFFF))
def test_a_channel_key_of_python_ints_is_the_anchors_key(
    fcid: int, board: int, fc_input: int
) -> None:
    from tierflow.raw.formats.orca._flashcam import fc_key, fc_key_of

    assert fc_key_of(fcid, board, fc_input) == int(fc_key(fcid, board, fc_input))
