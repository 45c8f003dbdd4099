"""Decoders share their classes' default fields, each with a mapping of its own."""

from __future__ import annotations

from tierflow.raw.formats.compass import CompassEventDecoder


def test_a_decoder_changing_its_fields_leaves_the_others_alone() -> None:
    short, long = CompassEventDecoder(wf_len=10), CompassEventDecoder(wf_len=1000)
    assert short.decoded_values["waveform"].length == 10
    assert long.decoded_values["waveform"].length == 1000
    assert CompassEventDecoder().decoded_values["waveform"].length == 0
    assert short.decoded_values["energy"] is long.decoded_values["energy"]  # made once
