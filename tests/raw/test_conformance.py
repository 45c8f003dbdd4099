"""The decoder conformance suite (``conformance.py``) run over every DAQ format."""

from __future__ import annotations

import pytest

from .conformance import DecoderConformance

pytestmark = pytest.mark.shared


class TestFlashCamSpms(DecoderConformance):
    path = "fcio/L200-comm-20211130-phy-spms.fcio"
    stream_type = "FlashCam"


class TestLlamaDaq(DecoderConformance):
    path = "llamaDAQ/20241218-150158-pulser.bin"
    stream_type = "LlamaDaq"


class TestCompass(DecoderConformance):
    path = "compass/compass_test_data.BIN"
    stream_type = "Compass"
    options = {"compass_config_file": "compass/compass_test_data_settings.xml"}  # noqa: RUF012
    detectable = False  # a CoMPASS file has no magic bytes: its type is named


class TestOrcaFlashCam(DecoderConformance):
    path = "orca/fc/L200-comm-20220519-phy-geds.orca"
    stream_type = "ORCA"


class TestOrcaFCIO(DecoderConformance):
    path = "orca/fcio/l200-p13-r007-aph-20250101T003931Z.orca"
    stream_type = "ORCA"
