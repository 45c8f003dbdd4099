"""FCIO event headers (tag 7) and FSP records (tags 8-10) in a plain FCIO stream.

The stream is the FCIO payload of the shared ORCA file's packets, one after the other; its
tables must equal the anchor's ORFCIO reference tables (except packet ids, which count
FCIO records here and ORCA packets there).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from tierflow.raw import build_raw
from tierflow.raw.formats.fcio import FSPStatusDecoder
from tierflow.raw.formats.fcio._fsp import decode_fsp_status
from tierflow.types import Array

pytestmark = pytest.mark.shared

ORCA = "orca/fcio/l200-p13-r007-aph-20250101T003931Z.orca"
REF = "legend/raw/orca-fcio-p13-aph-default.lh5"


def fcio_from_orca(path: Path) -> bytes:
    """The FCIO bytes of every ORFCIO packet, without ORCA headers and word padding."""
    from tierflow.raw.formats.fcio._kernels import frame_records

    words = np.fromfile(path, np.uint32)
    pos, out = int(words[0] & 0x3FFFF), []
    while pos < words.size:
        n = int(words[pos] & 0x3FFFF) or int(words[pos + 1])
        if words[pos] >> 18 in (6, 7, 8):  # ORFCIO config, event, event header in this file
            payload = words[pos + 3 : pos + n].view(np.uint8)
            rend = frame_records(payload, True)[2]
            out.append(payload[: int(rend[-1])].tobytes())
        pos += n
    return b"".join(out)


@pytest.fixture(scope="module")
def tables(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> h5py.File:
    tmp = tmp_path_factory.mktemp("fcio")
    (tmp / "s.fcio").write_bytes(fcio_from_orca(testdata / "legend" / ORCA))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(tmp / "s.fcio", out_spec=str(tmp / "s.lh5"))
    return h5py.File(tmp / "s.lh5")


def _compare(ours: h5py.Group, ref: h5py.Group, skip: tuple[str, ...] = ("packet_id",)) -> int:
    n = 0
    for name, obj in ref.items():
        if name in skip:
            continue
        if isinstance(obj, h5py.Group):
            n += _compare(ours[name], obj, ())
            continue
        a, b = obj[()], ours[name][()]
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(b, a, err_msg=name)
        n += 1
    return n


def test_event_headers_equal_the_anchor(tables: h5py.File, reference: Path) -> None:
    ref = h5py.File(reference / REF)["ORFCIOEventHeader_fcid_1/evt_hdr"]
    assert _compare(tables["FCEventHeader"], ref) > 30
    assert tables["FCEventHeader/packet_id"].size == 497


def test_events_equal_the_anchor(tables: h5py.File, reference: Path) -> None:
    assert _compare(tables["FCEvent"], h5py.File(reference / REF)["ORFCIOEvent_0"]) > 30


def test_fsp_config_is_the_anchors_struct(tables: h5py.File, reference: Path) -> None:
    """The anchor writes a plain-FCIO FSP config as a struct: scalars, arrays, labels cut to
    the mapped traces, no packet_id (checked against legend-daq2lh5 1.7.1 on this stream).
    Its values are the first row of the anchor's ORFCIO config table."""
    ours = tables["FSPConfig"]
    assert ours.attrs["datatype"] == "struct{" + ",".join(sorted(ours)) + "}"
    ref = h5py.File(reference / REF)["ORFCIOConfig_swtid_1/config"]
    assert set(ref) - set(ours) == {"packet_id"}
    for name, obj in ref.items():
        if name == "packet_id":
            continue
        mine = ours[name]
        if isinstance(obj, h5py.Group):  # a vector per row: an array here
            n = obj["cumulative_length"][0]
            want = obj["flattened_data"][:n]
            assert mine.attrs["datatype"] == "array<1>{real}", name
        elif obj.ndim == 2:  # labels: as many as the trace map maps
            n = ours[name.replace("_label", "_indices")].shape[0]
            want = obj[0, :n]
            assert mine.attrs["datatype"] == "array<1>{string}", name
        else:
            want = obj[0]
            assert mine.attrs["datatype"] == "real", name
            assert mine.shape == (), name
        assert mine.dtype == want.dtype, name
        np.testing.assert_array_equal(mine[()], want, err_msg=name)
    assert ours["dsp_ct_tracemap_label"][()].tolist() == [b"P", b"B", b"M"]


def test_fsp_events_equal_the_anchor(tables: h5py.File, reference: Path) -> None:
    f = h5py.File(reference / REF)
    hdr, evt = f["ORFCIOEventHeader_swtid_1/evt_hdr"], f["ORFCIOEvent_swtid_1/event"]
    order = np.argsort(np.concatenate((hdr["packet_id"][()], evt["packet_id"][()])), kind="stable")
    ours = tables["FSPEvent"]
    assert ours["packet_id"].size == order.size
    for name, obj in hdr.items():
        if name == "packet_id":
            continue
        if isinstance(obj, h5py.Group):  # jagged: all empty in this file
            assert ours[f"{name}/flattened_data"].size == 0
            continue
        both = np.concatenate((obj[()], evt[name][()]))[order]
        np.testing.assert_array_equal(ours[name][()], both, err_msg=name)


def test_fsp_status_layout() -> None:
    values: dict[str, Any] = {"start_time": 1.5, "n_read_events": 7, "avg_rate_discard_events": 2.5}
    from tierflow.raw.formats.fcio._fsp import _STATS

    rec = np.zeros(1, _STATS)
    for k, v in values.items():
        rec[k] = v
    raw = rec.view(np.uint8)
    block = decode_fsp_status(raw, 0, raw.size, "swtid_1/status", 4)
    table = FSPStatusDecoder(1).make_table(block)
    got = {}
    for name in table:
        col = table[name]
        assert isinstance(col, Array)
        got[name] = col.nda.tolist()
    assert got["start_time"] == [1.5]
    assert got["n_read_events"] == [7]
    assert got["avg_rate_discard_events"] == [2.5]
    assert got["packet_id"] == [4]
    assert _STATS.itemsize == 112  # 4 doubles, 6 ints, 7 doubles (C alignment)
