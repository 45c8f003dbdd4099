"""out_spec shorthand: every expansion, outputs over several files and groups, clear errors."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tierflow.errors import ConfigError, FormatError, NotFoundError
from tierflow.raw import RawBufferLibrary, build_raw, detect_stream_type, expand_rblist_dict
from tierflow.raw._streamer import _KeySet

LLAMA = "llamaDAQ/20241218-150158-pulser.bin"


def test_key_ranges_and_key_names() -> None:
    spec = {"g{key:0>3d}": {"key_list": [[1, 3], 7], "out_stream": "f_{key}.lh5"}}
    expand_rblist_dict(spec, {})
    assert sorted(spec) == ["g001", "g002", "g003", "g007"]
    assert spec["g007"] == {"key_list": [7], "out_stream": "f_7.lh5"}


def test_keywords_name_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATADIR", "/data")
    config = {
        "FCEventDecoder": {
            "geds": {
                "key_list": [1, 2],
                "out_stream": "$DATADIR/{file_key}_{name}.lh5:/grp",
                "out_name": "{name}_raw",
            }
        }
    }
    before = copy.deepcopy(config)
    lib = RawBufferLibrary(config, kw_dict={"file_key": "run1"})
    rb = lib["FCEventDecoder"][0]
    assert (rb.out_file, rb.out_group, rb.out_name, rb.key_list) == (
        "/data/run1_geds.lh5",
        "/grp",
        "geds_raw",
        [1, 2],
    )
    assert config == before, "the caller's config is not changed"


def test_unknown_keyword_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="file_key"):
        RawBufferLibrary({"X": {"a": {"key_list": [1], "out_stream": "{file_key}.lh5"}}})


def test_missing_key_list() -> None:
    with pytest.raises(ConfigError, match="key_list"):
        RawBufferLibrary({"X": {"a": {"out_stream": "o.lh5"}}})


def test_wildcards_split_over_files_and_groups(testdata: Path, tmp_path: Path) -> None:
    spec = {
        "LLAMAEventDecoder": {
            "ch{key}": {"key_list": [0], "out_stream": str(tmp_path / "a.lh5:/first")},
            "rest": {"key_list": ["*"], "out_stream": str(tmp_path / "b.lh5:/second")},
        },
        "*": {"{name}": {"key_list": ["*"], "out_stream": str(tmp_path / "{name}.lh5")}},
    }
    build_raw(testdata / "legend" / LLAMA, out_spec=spec)
    a, b = h5py.File(tmp_path / "a.lh5"), h5py.File(tmp_path / "b.lh5")
    assert list(a["first"]) == ["ch0"]
    assert list(b["second"]) == ["rest"]
    assert set(np.unique(b["second/rest/fadc_channel_id"][()])) == {4}
    assert len(a["first/ch0/packet_id"]) == 37
    assert "LLAMAHeader" in h5py.File(tmp_path / "LLAMAHeader.lh5")


def test_key_names_from_wildcard(testdata: Path, tmp_path: Path) -> None:
    spec = {
        "LLAMAEventDecoder": {
            "fch{key:02d}": {"key_list": ["*"], "out_stream": str(tmp_path / "o.lh5")}
        }
    }
    build_raw(testdata / "legend" / LLAMA, out_spec=spec)
    assert sorted(h5py.File(tmp_path / "o.lh5")) == ["fch00", "fch04"]


def test_unknown_decoder_in_out_spec(testdata: Path, tmp_path: Path) -> None:
    spec = {"LLAMAEventDecodr": {"x": {"key_list": ["*"], "out_stream": str(tmp_path / "o.lh5")}}}
    with pytest.raises(NotFoundError, match="LLAMAEventDecoder"):
        build_raw(testdata / "legend" / LLAMA, out_spec=spec)
    assert not list(tmp_path.iterdir()), "nothing written"


def test_unknown_stream_type(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x01\x02\x03" * 40)
    with pytest.raises(FormatError, match="unknown DAQ stream type"):
        build_raw(junk)
    with pytest.raises(NotFoundError, match="FlashCam"):
        build_raw(junk, in_stream_type="FlashCm")


def test_detection_from_content_not_extension(testdata: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "pulser.fcio"
    renamed.write_bytes((testdata / "legend" / LLAMA).read_bytes())
    assert detect_stream_type(renamed) == "LlamaDaq"


def test_existing_output_needs_overwrite(testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.lh5"
    out.write_bytes(b"")
    with pytest.raises(FileExistsError):
        build_raw(testdata / "legend" / LLAMA, out_spec=str(out))
    build_raw(testdata / "legend" / LLAMA, out_spec=str(out), overwrite=True, n_max=10)
    f = h5py.File(out)
    assert sum(len(f[t]["packet_id"]) for t in ("LLAMAEvent_0", "LLAMAEvent_4") if t in f) == 10


def test_proc_spec_window_drop_dtype(testdata: Path, tmp_path: Path) -> None:
    spec = {
        "LLAMAEventDecoder": {
            "ev": {
                "key_list": [0],
                "out_stream": str(tmp_path / "o.lh5"),
                "proc_spec": {
                    "window": ["waveform_windowed", 10, 100, "win"],
                    "drop": ["cumsum_1"],
                    "dtype_conv": {"info_bits": "uint8"},
                },
            }
        }
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(testdata / "legend" / LLAMA, out_spec=spec)
    f = h5py.File(tmp_path / "o.lh5")
    assert "cumsum_1" not in f["ev"]
    assert f["ev/info_bits"].dtype == np.uint8
    np.testing.assert_array_equal(
        f["ev/win/values"][()], f["ev/waveform_windowed/values"][:, 10:100]
    )
    np.testing.assert_allclose(
        f["ev/win/t0"][()], f["ev/waveform_windowed/t0"][()] + 10 * f["ev/waveform_windowed/dt"][()]
    )


@pytest.mark.shared
def test_orca_channels_split_over_files_and_groups(testdata: Path, tmp_path: Path) -> None:
    """ORCA FlashCam channels one table each in a group, run records elsewhere; the
    FCIO config is decoded (it drives the events) though the spec does not name it."""
    spec = {
        "ORFCIOEventDecoder": {
            "ch{key}": {
                "key_list": [[1027200, 1027202], "10*"],
                "out_stream": str(tmp_path / "geds.lh5") + ":/ch",
            }
        },
        "ORRunDecoderForRun": {
            "run": {"key_list": ["*"], "out_stream": str(tmp_path / "{name}.lh5")}
        },
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(
            testdata / "legend/orca/fcio/l200-p13-r007-aph-20250101T003931Z.orca", out_spec=spec
        )
    geds = h5py.File(tmp_path / "geds.lh5")
    assert list(geds) == ["ch"]
    names = sorted(geds["ch"])
    assert len(names) == 61  # one per channel with data, the explicit ones included
    assert {"ch1027200", "ch1027201", "ch1027202"} <= set(names)
    assert all(len(geds[f"ch/{n}/packet_id"]) == 1 for n in names)
    assert h5py.File(tmp_path / "run.lh5")["run/run_number"].size == 3


@pytest.mark.shared
def test_keys_with_different_fields_in_one_buffer_is_an_error(
    testdata: Path, tmp_path: Path
) -> None:
    spec = {
        "ORFCIOEventDecoder": {"all": {"key_list": ["*"], "out_stream": str(tmp_path / "a.lh5")}}
    }
    with pytest.raises(ConfigError, match=r"'all'.*different fields"):
        build_raw(
            testdata / "legend/orca/fcio/l200-p13-r007-aph-20250101T003931Z.orca", out_spec=spec
        )


def test_an_object_only_h5py_writes_switches_the_file_to_h5py(
    testdata: Path, tmp_path: Path
) -> None:
    """The first table goes into the file image; the second asks for a filter only HDF5
    applies (lzf): the image is made whole and h5py writes the rest of the same file."""
    plain, mixed = tmp_path / "plain.lh5", tmp_path / "mixed.lh5"
    lzf = {"hdf5_settings": {"unixtime": {"compression": "lzf"}}}
    spec = {
        "LLAMAEventDecoder": {
            "ev0": {"key_list": [0], "out_stream": str(mixed)},
            "ev4": {"key_list": [4], "out_stream": str(mixed), "proc_spec": lzf},
        }
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(testdata / "legend" / LLAMA, out_spec=str(plain))
        build_raw(testdata / "legend" / LLAMA, out_spec=spec, buffer_size=100)
    with h5py.File(plain) as a, h5py.File(mixed) as b:
        assert b["ev4/unixtime"].compression == "lzf"
        assert b["ev0/unixtime"].compression != "lzf"
        for ours, theirs in (("ev0", "LLAMAEvent_0"), ("ev4", "LLAMAEvent_4")):
            assert set(b[ours]) == set(a[theirs])
            for field in ("unixtime", "packet_id", "waveform_windowed/values"):
                np.testing.assert_array_equal(b[ours][field][()], a[theirs][field][()])


@given(
    taken=st.lists(st.integers(-5, 40), max_size=12),
    keys=st.lists(st.integers(-10, 50), max_size=30),
    dtype=st.sampled_from(["int64", "int32", "uint16", "float64"]),
)
def test_a_buffers_key_mask_is_membership(taken: list[int], keys: list[int], dtype: str) -> None:
    """Ranges (one key, contiguous keys) are compared, other sets looked up: the same mask."""
    if dtype.startswith("u"):
        keys = [k for k in keys if k >= 0]
    block_keys = np.array(keys, dtype=dtype)
    expected = np.array([k in set(taken) for k in keys], dtype=bool)
    np.testing.assert_array_equal(_KeySet(taken).mask(block_keys), expected)


def test_a_key_range_mask_takes_its_ends() -> None:
    keyset = _KeySet(list(range(1000000, 1000006)))
    assert keyset.is_range
    mask = keyset.mask(np.array([999999, 1000000, 1000005, 1000006], np.int64))
    assert mask.tolist() == [False, True, True, False]
    assert not _KeySet([1, 3]).is_range


def _dsp_spec(out: Path) -> dict[str, Any]:
    """A buffer of llama channel 0 with a DSP chain: a presum by 4 on the waveform's grid (its
    t0 per row), a scaled maximum with a database gain, and the anchor's later steps."""
    presummed = (
        "wf_sum4(shape=len(waveform_presummed)//4, period=waveform_presummed.period*4, "
        "offset=waveform_presummed.offset, dtype='f')"
    )
    return {
        "LLAMAEventDecoder": {
            "ev": {
                "key_list": [0],
                "out_stream": f"{out}:/llama",
                "proc_spec": {
                    "window": ["waveform_presummed", 8, 40, "win"],
                    "dsp_config": {
                        "outputs": ["wf_sum4", "peak"],
                        "processors": {
                            "wf_sum4, ps_fact": {
                                "function": "presum",
                                "module": "dspeed.processors",
                                "args": ["waveform_presummed", 0, "ps_fact", presummed],
                                "unit": "ADC",
                            },
                            "peak": {
                                "function": "multiply",
                                "module": "numpy",
                                "args": ["wf_max_sample_value", "db.gain", "peak"],
                                "defaults": {"db.gain": 1},
                            },
                        },
                    },
                    "drop": ["waveform_presummed"],
                    "dtype_conv": {"wf_sum4/values": "uint32"},
                    "hdf5_settings": {"wf_sum4/values": {"compression": "lzf"}},
                },
            }
        }
    }


def test_proc_spec_dsp_config_adds_its_outputs(testdata: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(testdata / "legend" / LLAMA, out_spec=str(tmp_path / "plain.lh5"))
        build_raw(testdata / "legend" / LLAMA, out_spec=_dsp_spec(tmp_path / "dsp.lh5"))
        build_raw(
            testdata / "legend" / LLAMA,
            out_spec=_dsp_spec(tmp_path / "gain.lh5"),
            db_dict={"/llama": {"gain": 3}},  # looked up by the buffer's group
        )
    plain = h5py.File(tmp_path / "plain.lh5")["LLAMAEvent_0"]
    f = h5py.File(tmp_path / "dsp.lh5")["llama/ev"]
    wf = plain["waveform_presummed"]
    assert "waveform_presummed" not in f
    np.testing.assert_array_equal(f["win/values"][()], wf["values"][:, 8:40])
    summed = wf["values"][()].astype(np.int64).reshape(len(wf["values"]), -1, 4).sum(axis=2)
    np.testing.assert_array_equal(f["wf_sum4/values"][()], summed)
    assert f["wf_sum4/values"].dtype == np.uint32
    assert f["wf_sum4/values"].compression == "lzf"
    np.testing.assert_allclose(f["wf_sum4/dt"][()], 4 * wf["dt"][()])
    np.testing.assert_allclose(f["wf_sum4/t0"][()], wf["t0"][()])  # the rows' own t0
    assert np.all(wf["t0"][()] != 0), "the test file's t0 are not the default"
    assert f["wf_sum4"].attrs["units"] == f["wf_sum4/values"].attrs["units"] == "ADC"
    assert f["wf_sum4/t0"].attrs["units"] == "ns"
    peak = plain["wf_max_sample_value"][()]
    np.testing.assert_array_equal(f["peak"][()], peak)
    np.testing.assert_array_equal(h5py.File(tmp_path / "gain.lh5")["llama/ev/peak"][()], 3 * peak)


def test_proc_spec_dsp_config_on_a_buffer_without_its_input(testdata: Path, tmp_path: Path) -> None:
    spec = _dsp_spec(tmp_path / "o.lh5")
    spec["LLAMAEventDecoder"]["ev"]["proc_spec"] = {
        "dsp_config": spec["LLAMAEventDecoder"]["ev"]["proc_spec"]["dsp_config"]
    }
    spec["LLAMAEventDecoder"]["ev"]["proc_spec"]["dsp_config"]["processors"]["wf_sum4, ps_fact"][
        "args"
    ][0] = "waveform_presumed"
    with pytest.raises(NotFoundError, match="waveform_presumed") as error:
        build_raw(testdata / "legend" / LLAMA, out_spec=spec)
    assert "waveform_presummed" in str(error.value)  # the closest column is suggested
    assert not (tmp_path / "o.lh5").exists()


def test_proc_spec_dsp_config_over_many_flushes(testdata: Path, tmp_path: Path) -> None:
    """Each flush runs the chain on its own rows: the same outputs as one flush."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(testdata / "legend" / LLAMA, out_spec=_dsp_spec(tmp_path / "one.lh5"))
        build_raw(
            testdata / "legend" / LLAMA, out_spec=_dsp_spec(tmp_path / "many.lh5"), buffer_size=8
        )
    one, many = h5py.File(tmp_path / "one.lh5"), h5py.File(tmp_path / "many.lh5")
    for name in ("llama/ev/wf_sum4/values", "llama/ev/wf_sum4/t0", "llama/ev/peak"):
        np.testing.assert_array_equal(many[name][()], one[name][()])
