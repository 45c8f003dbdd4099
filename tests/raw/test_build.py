"""build_raw end to end: HDF5 presets, the CLI, single-packet chunks, CoMPASS header values."""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from tierflow.cli import main
from tierflow.errors import NotFoundError
from tierflow.raw import HDF5_PRESETS, ChunkMode, Hdf5Preset, MemorySource, build_raw, make_streamer

pytestmark = pytest.mark.shared

ORCA = "orca/fc/L200-comm-20220519-phy-geds.orca"
ZSTD = 32015


def _filters(path: Path, name: str) -> dict[str, object]:
    with h5py.File(path) as f:
        return dict(f[name]._filters)


@pytest.mark.parametrize(
    ("preset", "expected"), [(None, str(ZSTD)), ("legend", str(ZSTD)), ("anchor", "gzip")]
)
def test_presets_set_the_filters(
    preset: str | None, expected: str, testdata: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o.lh5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(testdata / "legend" / ORCA, out_spec=str(out), hdf5_settings=preset)
    filters = _filters(out, "ORFlashCamADCWaveform/waveform/values")
    assert expected in filters
    assert "shuffle" in filters
    if preset == "anchor":
        assert filters["gzip"] == HDF5_PRESETS[Hdf5Preset.ANCHOR]["compression_opts"]


def test_unknown_preset_suggests_the_known(testdata: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'anchor'"):
        build_raw(
            testdata / "legend" / ORCA, out_spec=str(tmp_path / "o.lh5"), hdf5_settings="ancor"
        )


def test_cli_decodes_several_inputs(testdata: Path, tmp_path: Path) -> None:
    inputs = [
        testdata / "legend" / ORCA,
        testdata / "legend" / "fcio/L200-comm-20211130-phy-spms.fcio",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["raw", *map(str, inputs), "--out-spec", str(tmp_path), "--hdf5", "anchor"])
    assert rc == 0
    with h5py.File(tmp_path / "L200-comm-20220519-phy-geds.lh5") as f:
        assert len(f["ORFlashCamADCWaveform/packet_id"]) == 67
        assert "gzip" in dict(f["ORFlashCamADCWaveform/packet_id"]._filters)
    with h5py.File(tmp_path / "L200-comm-20211130-phy-spms.lh5") as f:
        assert "FCEvent" in f


def test_single_packet_chunks_route_every_block(testdata: Path) -> None:
    data = (testdata / "legend" / ORCA).read_bytes()
    streamer = make_streamer(data[:64], "ORCA")
    streamer.open_stream(MemorySource(data), chunk_mode=ChunkMode.SINGLE_PACKET, buffer_size=1)
    ids: list[np.ndarray] = []
    chunks = 0
    for chunk in streamer:
        chunks += 1
        for rb in chunk:
            block = rb.drain()
            if block is not None and rb.out_name == "ORFlashCamADCWaveform":
                ids.append(np.asarray(block.columns["packet_id"]))
    # one config, two run records and 67 waveforms: a chunk after each decoded block
    assert chunks >= 3
    got: np.ndarray = np.concatenate(ids)
    assert got.size == 67
    assert (np.diff(got) > 0).all()


def test_compass_header_values(testdata: Path, reference: Path, tmp_path: Path) -> None:
    base = testdata / "legend" / "compass"
    out = tmp_path / "c.lh5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_raw(
            base / "compass_test_data.BIN",
            out_spec=str(out),
            compass_config_file=str(base / "compass_test_data_settings.xml"),
        )
    ref = h5py.File(reference / "legend/raw/compass-default.lh5")["CompassHeader"]
    ours = h5py.File(out)["CompassHeader"]
    names: list[str] = []
    ref.visit(lambda n: names.append(n) if isinstance(ref[n], h5py.Dataset) else None)
    assert len(names) > 10
    for name in names:
        assert ours[name][()] == ref[name][()], name
    assert ours["boards/0/modelName"][()] == b"DT5730"
    assert ours["boards/0/wf_len"][()] == 1000.0


def test_an_output_that_cannot_be_made_whole_leaves_nothing(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tierflow.lh5 import FileImage

    def disk_full(self: FileImage) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileImage, "close", disk_full)
    out = tmp_path / "llama.lh5"
    with pytest.raises(OSError, match="No space"):
        build_raw(testdata / "legend" / "llamaDAQ/20241218-150158-pulser.bin", out_spec=str(out))
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary file
