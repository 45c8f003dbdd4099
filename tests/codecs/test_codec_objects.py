"""Codec objects: dict form, parsing, the registry and the public namespace."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tierflow.codecs
from tierflow.codecs import (
    CODECS,
    RadwareSigcompress,
    ULEB128ZigZagDiff,
    WaveformCodec,
    parse_codec,
)
from tierflow.errors import ConfigError, NotFoundError

shifts = st.integers(-(2**31), 2**31 - 1)


def test_every_public_name_resolves() -> None:
    for name in tierflow.codecs.__all__:
        assert getattr(tierflow.codecs, name) is not None, name


def test_registry_holds_both_codecs_under_their_names() -> None:
    assert CODECS["radware_sigcompress"] is RadwareSigcompress
    assert CODECS["uleb128_zigzag_diff"] is ULEB128ZigZagDiff
    for name in CODECS:
        assert CODECS[name].name == name


def test_to_dict_is_what_legend_writes() -> None:
    assert RadwareSigcompress(codec_shift=-32768).to_dict() == {
        "codec": "radware_sigcompress",
        "codec_shift": -32768,
    }
    assert ULEB128ZigZagDiff().to_dict() == {"codec": "uleb128_zigzag_diff"}


@given(shifts)
def test_to_dict_from_dict_identity(shift: int) -> None:
    for codec in (RadwareSigcompress(codec_shift=shift), ULEB128ZigZagDiff()):
        again = WaveformCodec.from_dict(codec.to_dict())
        assert again == codec
        assert type(again) is type(codec)


@given(shifts)
def test_parse_codec_of_repr_and_dict_identity(shift: int) -> None:
    codec = RadwareSigcompress(codec_shift=shift)
    assert parse_codec(repr(codec)) == codec
    assert parse_codec(codec.to_dict()) == codec
    assert parse_codec(codec) is codec


def test_from_dict_ignores_other_attributes_and_takes_the_anchors_float_shift() -> None:
    attrs = {
        "codec": "radware_sigcompress",
        "codec_shift": np.float64(-32768.0),
        "datatype": "array_of_encoded_equalsized_arrays<1,1>{real}",
        "units": "ADC",
    }
    codec = WaveformCodec.from_dict(attrs)
    assert codec == RadwareSigcompress(codec_shift=-32768)
    assert type(codec.to_dict()["codec_shift"]) is int


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("radware_sigcompress", RadwareSigcompress()),
        ("RadwareSigcompress", RadwareSigcompress()),
        ("RadwareSigcompress()", RadwareSigcompress()),
        (" RadwareSigcompress(codec_shift=-32768) ", RadwareSigcompress(codec_shift=-32768)),
        ("radware_sigcompress(codec_shift=+7)", RadwareSigcompress(codec_shift=7)),
        ("RadwareSigcompress(codec_shift=-32768.0)", RadwareSigcompress(codec_shift=-32768)),
        ("uleb128_zigzag_diff", ULEB128ZigZagDiff()),
        ("ULEB128ZigZagDiff()", ULEB128ZigZagDiff()),
        ({"codec": "uleb128_zigzag_diff", "datatype": "real"}, ULEB128ZigZagDiff()),
    ],
)
def test_parse_codec_forms(spec: str, expected: WaveformCodec) -> None:
    assert parse_codec(spec) == expected


def test_unknown_codec_name_suggests_the_closest() -> None:
    with pytest.raises(NotFoundError) as info:
        parse_codec("radware_sigcompres")
    assert "radware_sigcompress" in info.value.suggestions
    with pytest.raises(NotFoundError) as info:
        parse_codec("ULEB128ZigZagDif(  )")
    assert "ULEB128ZigZagDiff" in info.value.suggestions
    with pytest.raises(KeyError):  # NotFoundError is a KeyError too
        WaveformCodec.from_dict({"codec": "gzip"})


@pytest.mark.parametrize(
    "spec",
    [
        "RadwareSigcompress(codec_shift=__import__('os').getcwd())",
        "RadwareSigcompress(-32768)",
        "RadwareSigcompress(codec_shift=1.5)",
        "RadwareSigcompress(codec_shift='3')",
        "RadwareSigcompress(codec_shift=True)",
        "RadwareSigcompress(codec_shift=-'a')",
        "RadwareSigcompress(codec_shift=2**40)",
        "RadwareSigcompress(shift=3)",
        "RadwareSigcompress(**{'codec_shift': 3})",
        "ULEB128ZigZagDiff(codec_shift=0)",
        "codecs.RadwareSigcompress()",
        "RadwareSigcompress(",
        "1 + 2",
        "",
    ],
)
def test_malformed_descriptions_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_codec(spec)


@pytest.mark.parametrize(
    "attrs",
    [
        {"codec_shift": 0},
        {"codec": 3},
        {"codec": "radware_sigcompress", "codec_shift": "x"},
        {"codec": "radware_sigcompress", "codec_shift": 2**31},
    ],
)
def test_bad_attributes_are_config_errors(attrs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        WaveformCodec.from_dict(attrs)


def test_from_dict_on_a_subclass_refuses_another_codec() -> None:
    with pytest.raises(ConfigError):
        RadwareSigcompress.from_dict({"codec": "uleb128_zigzag_diff"})


def test_codecs_are_frozen_and_hashable() -> None:
    codec = RadwareSigcompress(codec_shift=-32768)
    with pytest.raises(AttributeError):
        codec.codec_shift = 0  # type: ignore[misc]
    assert len({codec, RadwareSigcompress(codec_shift=-32768)}) == 1


@pytest.mark.parametrize("n", [0, 1, 47, 48, 49, 128, 5592])
def test_max_encoded_bytes_is_positive_and_grows(n: int) -> None:
    for codec in (RadwareSigcompress(), ULEB128ZigZagDiff()):
        assert codec.max_encoded_bytes(n) >= 2 * n
        assert codec.max_encoded_bytes(n + 1) > codec.max_encoded_bytes(n)


def test_import_neither_imports_numba_nor_compiles() -> None:
    code = (
        "import sys, tierflow.codecs\n"
        "assert 'numba' not in sys.modules\n"
        "from tierflow.codecs import _radware, _uleb128\n"
        "kernels = [_radware.encode_waveforms, _radware.decode_waveforms,\n"
        "           _uleb128.encode_waveforms, _uleb128.decode_waveforms]\n"
        "assert all(k.signatures == [] for k in kernels), [k.signatures for k in kernels]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module", ["__init__", "_base", "_parse", "_api"])
def test_docstring_examples(module: str) -> None:
    name = "tierflow.codecs" + ("" if module == "__init__" else f".{module}")
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
