"""Config, file sets, atomic outputs, provenance, the FCIO writer (fast, no pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow.errors import ConfigError, NotFoundError
from tierflow.flow import (
    FileKey,
    config_hash,
    find_inputs,
    make_production_config,
    make_step,
    read_provenance,
    staged_output,
)
from tierflow.flow._files import format_path
from tierflow.flow._provenance import Provenance, write_provenance
from tierflow.flow.sim import make_detectors, simulate_events, write_daq_file

BASE: dict[str, Any] = {
    "inputs": "daq/{experiment}-{run}-{timestamp}.fcio",
    "outputs": {"raw": "raw/{experiment}-{run}-{timestamp}_raw.lh5"},
    "tiers": ["raw"],
}


def test_find_inputs_extracts_keys(tmp_path: Path) -> None:
    (tmp_path / "daq").mkdir()
    for name in ["l200-r001-20230101T000000Z.fcio", "l200-r002-20230102T000000Z.fcio", "x.txt"]:
        (tmp_path / "daq" / name).write_bytes(b"")
    found = find_inputs([BASE["inputs"]], tmp_path)
    keys = [k.as_dict() for k in found]
    assert keys == [
        {"experiment": "l200", "run": "r001", "timestamp": "20230101T000000Z"},
        {"experiment": "l200", "run": "r002", "timestamp": "20230102T000000Z"},
    ]
    assert str(next(iter(found)).group(["timestamp"])) == "l200-r001"


def test_format_path_names_missing_key(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="runn") as info:
        format_path("{runn}.lh5", {"run": "r1"}, tmp_path)
    assert "'run'" in str(info.value)


def test_unknown_keys_suggest_closest(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'tiers'"):
        make_production_config({**BASE, "tier": ["raw"]}, root=tmp_path)
    with pytest.raises(NotFoundError, match="did you mean 'coin_windows'"):
        make_step("tcm", {"coin_window": 1}, tmp_path)
    with pytest.raises(ConfigError, match="needs 'outputs'"):
        make_production_config({"inputs": "x", "tiers": []}, root=tmp_path)


def test_config_files_are_read_and_hashed(tmp_path: Path) -> None:
    (tmp_path / "evt.yaml").write_text("outputs: [a]\noperations: {}\n")
    cfg = make_production_config({**BASE, "tier_config": {"evt": {"config": "evt.yaml"}}},
                                 root=tmp_path)  # fmt: skip
    step = make_step("evt", cfg.step_config("evt"), tmp_path)
    assert step.config["config"] == {"outputs": ["a"], "operations": {}}
    before = config_hash(step.config)
    (tmp_path / "evt.yaml").write_text("outputs: [b]\noperations: {}\n")
    assert config_hash(make_step("evt", cfg.step_config("evt"), tmp_path).config) != before


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=5), st.integers() | st.text(max_size=5)))
def test_config_hash_ignores_key_order(config: dict[str, object]) -> None:
    reordered = dict(reversed(list(config.items())))
    assert config_hash(config) == config_hash(reordered)


def test_staged_output_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    stale = tmp_path / ".out.json.dead.flow.tmp"
    stale.write_text("left by a killed worker")

    def failing_step() -> None:
        with staged_output(target) as temp:
            temp.write_text("{}")
            raise RuntimeError("step failed")

    with pytest.raises(RuntimeError):
        failing_step()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with staged_output(target) as temp:
        temp.write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_provenance_round_trip(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "a.lh5"
    h5py.File(path, "w").close()
    write_provenance(path, Provenance("dsp", "abc", ["in.lh5"], {"calib_versions": "[]"}))
    prov = read_provenance(path)
    assert prov["tier"] == "dsp"
    assert prov["config_hash"] == "abc"
    assert prov["inputs"] == '["in.lh5"]'
    assert prov["calib_versions"] == "[]"
    assert read_provenance(tmp_path / "missing.lh5") == {}


def test_simulated_fcio_decodes_to_what_was_simulated(tmp_path: Path) -> None:
    from tierflow import lh5
    from tierflow.raw import build_raw

    dets = make_detectors(2, 1)
    events = simulate_events(dets, 50, seed=3000, nsamples=200)  # block 0 of seed 3
    path = write_daq_file(tmp_path / "a.fcio", dets, 50, seed=3, nsamples=200)
    keys = [c.key for c in dets.channels]
    spec = {"FCEventDecoder": {"ch{key}": {"key_list": keys, "out_stream": "{out_file}:/ch{key}",
                                           "out_name": "raw"}}}  # fmt: skip
    build_raw(path, out_spec=spec, out_file=str(tmp_path / "raw.lh5"))
    for i, chan in enumerate(dets.channels):
        table = lh5.read(f"{chan.name}/raw", tmp_path / "raw.lh5")
        rows = events.trace == i
        np.testing.assert_array_equal(table["waveform"]["values"].nda, events.waveforms[rows])
        expected = 1_700_000_000 + events.time_ns[events.event_of_trace[rows]] / 1e9
        np.testing.assert_allclose(table["timestamp"].nda, expected, atol=5e-9)
        assert table["waveform"]["dt"].nda[0] == 16


def test_filekey_order_is_the_pattern_order() -> None:
    key = FileKey.of({"run": "r1", "experiment": "l200"})
    assert str(key) == "r1-l200"


def test_pool_workers_skip_their_final_collections() -> None:
    """A worker's exit would walk numba's objects for 0.3 s; the pool's shutdown waits."""
    from tierflow.flow._executors import ProcessExecutor
    from tierflow.shutdown import final_collections_skipped

    executor = ProcessExecutor(workers=1)
    try:
        assert executor._get_pool().submit(final_collections_skipped).result(timeout=120)
    finally:
        executor.close()
