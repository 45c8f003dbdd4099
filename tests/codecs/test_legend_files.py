"""Parity with LEGEND: the original C code's output, and waveforms in a real p14 raw file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from numpy.typing import NDArray

from tierflow.codecs import RadwareSigcompress, WaveformCodec, decode, encode, parse_codec

pytestmark = pytest.mark.shared

LDQTA = "LDQTA_r117_20200110T105115Z_cal_geds_raw.lh5"
LDQTA_C_OUTPUT = "LDQTA_r117_20200110T105115Z_cal_geds_raw-radware-sigcompressed.dat"
P14 = Path(
    "prod-ref-l200/generated/tier/raw/cal/p14/r005",
    "l200-p14-r004-cal-20250606T010224Z-tier_raw.lh5",
)


@dataclass(frozen=True)
class COutput:
    """One line of the .dat file: what ``compress_signal`` returned and wrote."""

    n_words: int
    shift: int
    words: NDArray[np.uint16]  # the whole output buffer, zero beyond n_words


def read_c_output(path: Path) -> list[COutput]:
    """Lines of decimal integers: ``n_words shift word_0 word_1 ...``.

    ``n_words`` is the return value of the C ``compress_signal``, ``shift`` the codec shift
    applied first, then the output buffer (as long as the waveform, zero-initialised).
    """
    lines = path.read_text().splitlines()
    return [
        COutput(int(n), int(shift), np.array(words, dtype=np.uint16))
        for n, shift, *words in (line.split() for line in lines if line.strip())
    ]


def rows(flat: NDArray[Any], ends: NDArray[Any]) -> list[NDArray[Any]]:
    return np.split(flat, np.asarray(ends[:-1], dtype=np.int64))


@pytest.fixture(scope="module")
def ldqta_waveforms(legend_lh5: Path) -> NDArray[np.uint16]:
    with h5py.File(legend_lh5 / LDQTA, "r") as f:
        values: NDArray[np.uint16] = f["geds/raw/waveform/values"][...]
    return values


def test_radware_matches_the_original_c_code_byte_for_byte(
    legend_lh5: Path, ldqta_waveforms: NDArray[np.uint16]
) -> None:
    expected = read_c_output(legend_lh5 / LDQTA_C_OUTPUT)
    assert ldqta_waveforms.dtype == np.uint16
    assert len(expected) == len(ldqta_waveforms) == 100
    assert {e.shift for e in expected} == {-32768}
    codec = RadwareSigcompress(codec_shift=-32768)
    flat, ends = encode(codec, ldqta_waveforms)
    for i, (ours, theirs) in enumerate(zip(rows(flat, ends), expected, strict=True)):
        assert len(ours) == 2 * theirs.n_words, i
        assert ours.tobytes() == theirs.words[: theirs.n_words].astype(">u2").tobytes(), i
        assert not theirs.words[theirs.n_words :].any()


def test_the_c_codes_bytes_decode_to_the_waveforms(
    legend_lh5: Path, ldqta_waveforms: NDArray[np.uint16]
) -> None:
    expected = read_c_output(legend_lh5 / LDQTA_C_OUTPUT)
    words = [e.words[: e.n_words].astype(">u2").view(np.uint8) for e in expected]
    ends = np.cumsum([len(w) for w in words]).astype(np.uint32)
    codec = parse_codec({"codec": "radware_sigcompress", "codec_shift": -32768})
    for dtype in (np.uint16, np.int32):
        decoded = decode(codec, np.concatenate(words), ends, ldqta_waveforms.shape[1], dtype)
        np.testing.assert_array_equal(decoded, ldqta_waveforms)


@dataclass(frozen=True)
class Encoded:
    """An encoded waveform group of an LH5 file, read with h5py."""

    path: str
    codec: WaveformCodec
    flat: NDArray[np.uint8]
    ends: NDArray[np.uint32]
    decoded_size: int


def read_encoded_groups(path: Path) -> list[Encoded]:
    """Every group with a ``codec`` attribute (each object once: hard links are not repeated)."""
    import hdf5plugin  # noqa: F401  (registers the Zstd filter of the other datasets)

    found: list[Encoded] = []

    def visit(name: str, obj: h5py.HLObject) -> None:
        if isinstance(obj, h5py.Group) and "codec" in obj.attrs:
            found.append(
                Encoded(
                    name,
                    parse_codec(dict(obj.attrs)),
                    obj["encoded_data/flattened_data"][...],
                    obj["encoded_data/cumulative_length"][...],
                    int(obj["decoded_size"][()]),
                )
            )

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


@pytest.fixture(scope="module")
def p14_groups(legend_lh5: Path) -> list[Encoded]:
    return read_encoded_groups(legend_lh5 / P14)


def decoded_dtype(group: Encoded) -> type:
    """FlashCam samples are 16-bit (shifted by -32768); presummed ones are sums of them."""
    return np.uint16 if isinstance(group.codec, RadwareSigcompress) else np.uint32


def test_p14_file_holds_both_codecs(p14_groups: list[Encoded]) -> None:
    names = sorted(g.codec.name for g in p14_groups)
    assert names == ["radware_sigcompress"] * 6 + ["uleb128_zigzag_diff"] * 6
    for group in p14_groups:
        if isinstance(group.codec, RadwareSigcompress):
            assert group.codec.codec_shift == -32768
            assert group.path.endswith("waveform_windowed/values")
        else:
            assert group.path.endswith("waveform_presummed/values")


def test_p14_waveforms_decode_to_sane_values(p14_groups: list[Encoded]) -> None:
    for group in p14_groups:
        values = decode(group.codec, group.flat, group.ends, group.decoded_size, np.int64)
        assert values.shape == (len(group.ends), group.decoded_size), group.path
        info = np.iinfo(decoded_dtype(group))
        assert values.min() >= info.min, group.path
        assert values.max() <= info.max, group.path
        assert np.ptp(values) > 0, group.path  # real signals, not a constant
        narrow = decode(group.codec, group.flat, group.ends, group.decoded_size, info.dtype)
        np.testing.assert_array_equal(narrow, values)


def test_p14_waveforms_reencode_to_the_same_bytes(p14_groups: list[Encoded]) -> None:
    for group in p14_groups:
        values = decode(group.codec, group.flat, group.ends, group.decoded_size, np.int64)
        flat, ends = encode(group.codec, values.astype(decoded_dtype(group)))
        np.testing.assert_array_equal(ends, group.ends)
        for ours, theirs in zip(rows(flat, ends), rows(group.flat, group.ends), strict=True):
            assert ours[:-2].tobytes() == theirs[:-2].tobytes(), group.path
            if ours[-2:].tobytes() != theirs[-2:].tobytes():
                assert_unused_padding_word(group.codec, theirs, group.decoded_size)


def assert_unused_padding_word(codec: WaveformCodec, encoded: NDArray[np.uint8], size: int) -> None:
    """The anchor leaves radware's final padding word uninitialised: it must not matter."""
    assert isinstance(codec, RadwareSigcompress)
    ends = np.array([len(encoded)], dtype=np.uint32)
    original = decode(codec, encoded, ends, size, np.int64)
    for filler in (0x00, 0xFF):
        changed = encoded.copy()
        changed[-2:] = filler
        np.testing.assert_array_equal(decode(codec, changed, ends, size, np.int64), original)
