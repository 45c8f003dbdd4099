"""The CoMPASS settings XML is read without its descriptor blocks: the boards read are the
ones the whole file gives, and a file laid out otherwise is read whole."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tierflow.raw.formats.compass._streamer import _boards_of, _without_descriptors, read_settings
from tierflow.types import Scalar, Struct


def _plain(struct: Struct) -> dict[str, object]:
    return {
        k: _plain(v) if isinstance(v, Struct) else v.value
        for k, v in struct.items()
        if isinstance(v, (Struct, Scalar))
    }


def test_boards_are_those_of_the_whole_file(testdata: Path) -> None:
    path = testdata / "legend" / "compass" / "compass_test_data_settings.xml"
    whole = _boards_of(ET.parse(path).getroot())
    assert _plain(read_settings(path)) == _plain(whole)
    assert _plain(whole)["0"]["wf_len"] == 1000.0  # type: ignore[index]
    assert len(_without_descriptors(path.read_bytes())) < path.stat().st_size / 2


BOARD = b"""<configuration><board><modelName>DT5730</modelName><adcBitCount>14</adcBitCount>
<parameters><entry><key>SRV_PARAM_RECLEN</key><value>
<value xsi:type="xs:double" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">2000.0</value>%s</value></entry>
</parameters><channel><index>3</index><values><entry><key>A</key><value>x &amp; y</value></entry>
<entry><key>B</key><value>2</value></entry></values></channel></board></configuration>"""


def test_a_descriptor_left_open_reads_the_whole_text(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(BOARD % b"<descriptor><id>SRV_PARAM_RECLEN</id></descriptor>")
    odd = tmp_path / "odd.xml"  # a descriptor never closed inside a comment
    odd.write_bytes(BOARD % b"<!-- <descriptor> -->")
    for path in (good, odd):
        board = _plain(read_settings(path))["0"]
        assert board["wf_len"] == 1000.0  # type: ignore[index]
        assert board["channels"] == {"3": {"A": "x & y", "B": "2"}}  # type: ignore[index]


def test_a_cut_that_breaks_the_xml_falls_back_to_the_whole_text(tmp_path: Path) -> None:
    path = tmp_path / "nested.xml"  # a comment holding a closing tag the cut would stop at
    path.write_bytes(BOARD % b"<descriptor><!-- </descriptor> --><id>x</id></descriptor>")
    with pytest.raises(ET.ParseError):
        ET.fromstring(_without_descriptors(path.read_bytes()))
    assert _plain(read_settings(path))["0"]["wf_len"] == 1000.0  # type: ignore[index]
