"""Throughput of build_tcm and build_evt (tierflow), against pygama when it is importable.

Run: ``python benchmarks/bench_evt.py [--events N]``. Prints hits/s for build_tcm on a
synthetic input of N events over 60 tables, and events/s for build_evt with the anchor's
basic config on the shared test files and on that input replicated to N events.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np

from tierflow import lh5
from tierflow.evt import TCM, build_evt, build_tcm
from tierflow.testing import find_shared
from tierflow.types import Array, Table

BASIC = {
    "channels": {"geds_on": ["ch1084803", "ch1084804", "ch1121600"]},
    "outputs": ["energy", "energy_sum", "multiplicity", "energy_id", "aoe"],
    "operations": {
        "energy": {"channels": "geds_on", "aggregation_mode": "gather",
                   "query": "hit.cuspEmax_ctc_cal>25", "expression": "hit.cuspEmax_ctc_cal"},
        "energy_sum": {"channels": "geds_on", "aggregation_mode": "sum", "initial": 0,
                       "query": "hit.cuspEmax_ctc_cal>25", "expression": "hit.cuspEmax_ctc_cal"},
        "multiplicity": {"channels": "geds_on", "aggregation_mode": "sum", "initial": 0,
                         "expression": "hit.cuspEmax_ctc_cal > 25"},
        "energy_id": {"channels": "geds_on", "aggregation_mode": "first_at:hit.timestamp",
                      "query": "hit.cuspEmax_ctc_cal>25", "expression": "tcm.table_key",
                      "initial": 0},
        "aoe": {"channels": "geds_on", "aggregation_mode": "keep_at_ch:evt.energy_id",
                "expression": "hit.AoE", "initial": "np.nan"},
    },
}  # fmt: skip


CPU: dict[str, float] = {}
"""CPU seconds of the last timed call (the machine may be shared: wall time then overstates)."""


def _timed(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    func(*args, **kwargs)
    CPU["last"] = time.process_time() - cpu
    return time.perf_counter() - start


def make_raw(path: Path, n_events: int, n_tables: int = 60) -> int:
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.exponential(1.0, n_events))
    total = 0
    for t in range(n_tables):
        hit = rng.random(n_events) < 0.2
        ts = times[hit] + rng.normal(0, 1e-6, hit.sum())
        lh5.write(Table({"timestamp": Array(np.sort(ts))}), f"ch{1000 + t}/raw", path)
        total += int(hit.sum())
    return total


def make_evt_inputs(folder: Path, n_events: int) -> dict[str, tuple[str, ...]]:
    rng = np.random.default_rng(2)
    keys = np.array([1084803, 1084804, 1121600])
    hit_file, tcm_file = folder / "hit.lh5", folder / "tcm.lh5"
    for key in keys:
        cols = {"cuspEmax_ctc_cal": Array(rng.exponential(300, n_events)),
                "timestamp": Array(np.arange(n_events) + rng.random(n_events)),
                "AoE": Array(rng.normal(1, 0.1, n_events))}  # fmt: skip
        lh5.write(Table(cols), f"ch{key}/hit", hit_file)
    flat_keys = np.tile(keys, n_events)
    rows = np.repeat(np.arange(n_events), 3)
    lh5.write(TCM(flat_keys, rows, np.arange(1, n_events + 1) * 3).to_table(),
              "hardware_tcm_1", tcm_file)  # fmt: skip
    return {"tcm": (str(tcm_file), "hardware_tcm_1"), "hit": (str(hit_file), "hit", "ch{}")}


def anchor_available() -> bool:
    return importlib.util.find_spec("pygama") is not None


def bench_tcm(folder: Path, n_events: int) -> None:
    raw = folder / "raw.lh5"
    n_hits = make_raw(raw, n_events)
    build_tcm([(raw, "ch*/raw")], "timestamp")  # compile
    elapsed = _timed(build_tcm, [(raw, "ch*/raw")], "timestamp", coin_windows=1e-5)
    line = f"build_tcm   {n_hits:>9} hits   {n_hits / elapsed:14,.0f} hits/s"
    line += f" (cpu {n_hits / CPU['last']:12,.0f})"
    if anchor_available():
        from pygama.evt import build_tcm as anchor_tcm

        t_anchor = _timed(anchor_tcm, [(str(raw), "ch*/raw")], "timestamp", coin_windows=1e-5)
        line += f"   pygama {n_hits / t_anchor:12,.0f} hits/s   ratio {t_anchor / elapsed:6.1f}x"
    print(line)


def bench_evt(name: str, datainfo: dict[str, tuple[str, ...]], config: object, n: int) -> None:
    build_evt(datainfo, config)  # compile and warm
    elapsed = _timed(build_evt, datainfo, config)
    line = f"build_evt {name:<14} {n:>8} events {n / elapsed:12,.0f} events/s"
    line += f" (cpu {n / CPU['last']:10,.0f})"
    if anchor_available():
        from pygama.evt import build_evt as anchor_evt

        anchor_info = {k: tuple(v) for k, v in datainfo.items()}
        t_anchor = _timed(anchor_evt, anchor_info, config)
        line += f"   pygama {n / t_anchor:10,.0f} events/s   ratio {t_anchor / elapsed:6.1f}x"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_tcm(folder, args.events)
        bench_evt("basic/synth", make_evt_inputs(folder, args.events), BASIC, args.events)
        shared = find_shared(Path(__file__).resolve().parents[1])
        if shared is not None:
            ref = shared / "reference" / "legend" / "configs"
            base = shared / "testdata/legend/lh5/l200-truncated/generated/tier"
            stem = "ant/p13/r001/l200-p13-r001-ant-20241210T225016Z"
            info = {"tcm": (str(base / f"tcm/{stem}-tier_tcm.lh5"), "hardware_tcm_1"),
                    "dsp": (str(base / f"dsp/{stem}-tier_dsp.lh5"), "dsp", "ch{}"),
                    "hit": (str(base / f"hit/{stem}-tier_hit.lh5"), "hit", "ch{}")}  # fmt: skip
            config = str(ref / "pygama-spms-p13-evt-config.yaml")
            bench_evt("spms/test", info, config, lh5.n_rows("hardware_tcm_1", info["tcm"][0]))


if __name__ == "__main__":
    main()
