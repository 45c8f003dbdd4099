"""Throughput of build_tcm and build_evt (tierflow), against pygama when it is importable.

Run: ``python benchmarks/bench_evt.py [--events N] [--spms-events M] [--parts P,...]
[--repeat R] [--anchor-repeat A] [--workers 1,auto]`` (``--events 100000 --parts tcm,basic``
is quick).
Prints hits/s for build_tcm on a synthetic input of N events over 60 tables, and events/s
for build_evt with the anchor's basic config on that input replicated to N events and on the
shared production-reference test file (``pygama-basic-evt-config.yaml``), with the anchor's
SiPM config on the shared test file and on a synthetic SiPM input of M events.
Each figure is the median of R runs (wall time; CPU time in brackets); the anchor runs
``--anchor-repeat`` times in the same process, alternating with tierflow, and the ratio is
of the medians of wall times. ``--workers`` lists the ``n_workers`` settings of build_evt
to measure (each alternating with the others and the anchor): ``auto`` uses all cores on
large inputs, which helps only when the cores are free (the figures print both).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np

from tierflow import lh5
from tierflow.evt import TCM, build_evt, build_tcm
from tierflow.testing import find_shared
from tierflow.types import Array, Table, VectorOfVectors

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


def _timed(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    """(wall, cpu) seconds of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    func(*args, **kwargs)
    return time.perf_counter() - start, time.process_time() - cpu


PARTS = ("tcm", "basic", "basic-test", "spms-test", "spms")
"""What can be measured (``--parts``)."""
REPEAT = {"mine": 3, "anchor": 1}
"""Runs per measurement (set from the command line)."""
WORKERS: list[int | None] = [None]
"""``n_workers`` settings of build_evt to measure (None: its default, all cores on large
inputs); set with ``--workers``."""


def _compare(mines, anchor):  # type: ignore[no-untyped-def]
    """Median (wall, CPU) seconds of each of `mines` (label → function) and median wall
    seconds of `anchor` (None without it), after one warm-up run of each, all alternating
    while they have runs left."""
    walls: dict[str, list[float]] = {label: [] for label in mines}
    cpus: dict[str, list[float]] = {label: [] for label in mines}
    anchors = []
    for mine in mines.values():
        mine()  # warm both: numba compiles, lazy imports, file caches
    if anchor is not None:
        anchor()
    for i in range(max(REPEAT["mine"], REPEAT["anchor"] if anchor is not None else 0)):
        if i < REPEAT["mine"]:
            for label, mine in mines.items():
                wall, cpu = _timed(mine)
                walls[label].append(wall)
                cpus[label].append(cpu)
        if anchor is not None and i < REPEAT["anchor"]:
            anchors.append(_timed(anchor)[0])
    mine_medians = {
        label: (float(np.median(walls[label])), float(np.median(cpus[label]))) for label in mines
    }
    return mine_medians, float(np.median(anchors)) if anchors else None


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
    anchor = None
    if anchor_available():
        from pygama.evt import build_tcm as anchor_tcm

        def anchor() -> None:
            anchor_tcm([(str(raw), "ch*/raw")], "timestamp", coin_windows=1e-5)

    medians, t_anchor = _compare(
        {"": lambda: build_tcm([(raw, "ch*/raw")], "timestamp", coin_windows=1e-5)}, anchor
    )
    wall, cpu = medians[""]
    line = f"build_tcm   {n_hits:>9} hits   {n_hits / wall:14,.0f} hits/s"
    line += f" (cpu {n_hits / cpu:12,.0f})"
    if t_anchor is not None:
        line += f"   pygama {n_hits / t_anchor:12,.0f} hits/s   ratio {t_anchor / wall:6.1f}x"
    print(line, flush=True)


def bench_evt(name: str, datainfo: dict[str, tuple[str, ...]], config: object, n: int) -> None:
    anchor = None
    if anchor_available():
        from pygama.evt import build_evt as anchor_evt

        anchor_info = {k: tuple(v) for k, v in datainfo.items()}

        def anchor() -> None:
            anchor_evt(anchor_info, config)

    mines = {
        _label(workers): functools.partial(build_evt, datainfo, config, n_workers=workers)
        for workers in WORKERS
    }
    medians, t_anchor = _compare(mines, anchor)
    for label, (wall, cpu) in medians.items():
        line = f"build_evt {name:<14} {label:<9} {n:>8} events {n / wall:12,.0f} events/s"
        line += f" (cpu {n / cpu:10,.0f})"
        if t_anchor is not None:
            line += f"   pygama {n / t_anchor:10,.0f} events/s   ratio {t_anchor / wall:6.1f}x"
        print(line, flush=True)


def _label(workers: int | None) -> str:
    return "w=auto" if workers is None else f"w={workers}"


def _workers(text: str) -> list[int | None]:
    return [None if w == "auto" else int(w) for w in text.split(",")]


def _spms_channels(config: Path) -> list[int]:
    import yaml

    channels = yaml.safe_load(config.read_text())["channels"]["spms_on"]
    return [int(c.removeprefix("ch")) for c in channels]


def make_spms_inputs(folder: Path, n_events: int, keys: list[int]) -> dict[str, tuple[str, ...]]:
    """SiPM hits for the anchor's SiPM config: each channel in 10 % of the events, with
    Poisson(1.5) pulses per hit (energy, trigger position, validity flag)."""
    rng = np.random.default_rng(3)
    hit_file, tcm_file = folder / "spms_hit.lh5", folder / "spms_tcm.lh5"
    events, tables, rows = [], [], []
    for key in keys:
        ev = np.flatnonzero(rng.random(n_events) < 0.1)
        counts = rng.poisson(1.5, len(ev))
        offsets = np.cumsum(counts)
        total = int(offsets[-1]) if len(offsets) else 0
        jagged = {"energy_in_pe": rng.exponential(1.5, total),
                  "trigger_pos": rng.uniform(0, 12_000, total),
                  "is_valid_hit": rng.random(total) < 0.8}  # fmt: skip
        cols = {name: VectorOfVectors(flattened_data=Array(v), cumulative_length=Array(offsets))
                for name, v in jagged.items()}  # fmt: skip
        cols["timestamp"] = Array(ev * 1e-3)
        cols["has_any_noise"] = Array(rng.random(len(ev)) < 0.1)
        lh5.write(Table(cols, size=len(ev)), f"ch{key}/hit", hit_file)
        events.append(ev)
        tables.append(np.full(len(ev), key))
        rows.append(np.arange(len(ev)))
    event = np.concatenate(events)
    order = np.lexsort((np.concatenate(tables), event))
    ends = np.cumsum(np.bincount(event, minlength=n_events))
    tcm = TCM(np.concatenate(tables)[order], np.concatenate(rows)[order], ends)
    lh5.write(tcm.to_table(), "hardware_tcm_1", tcm_file)
    return {"tcm": (str(tcm_file), "hardware_tcm_1"), "hit": (str(hit_file), "hit", "ch{}")}


def _test_files(shared: Path, production: str, stem: str) -> dict[str, tuple[str, ...]]:
    """The datainfo of a run's tcm, dsp and hit files in the shared test data."""
    base = shared / "testdata/legend/lh5" / production / "generated/tier"
    tiers = {"tcm": ("hardware_tcm_1",), "dsp": ("dsp", "ch{}"), "hit": ("hit", "ch{}")}
    return {t: (str(base / f"{t}/{stem}-tier_{t}.lh5"), *rest) for t, rest in tiers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--spms-events", type=int, default=100_000,
                        help="synthetic SiPM events (the anchor takes ~1 ms each)")  # fmt: skip
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated: {', '.join(PARTS)}")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs of tierflow")
    parser.add_argument("--anchor-repeat", type=int, default=1, help="runs of the anchor")
    parser.add_argument("--workers", type=_workers, default=[None],
                        help="comma-separated n_workers of build_evt to measure, e.g. "
                             "1,auto (auto: the default, all cores on large inputs)")  # fmt: skip
    args = parser.parse_args()
    REPEAT.update(mine=args.repeat, anchor=args.anchor_repeat)
    WORKERS[:] = args.workers
    parts = set(args.parts.split(","))
    shared = find_shared(Path(__file__).resolve().parents[1])
    configs = None if shared is None else shared / "reference" / "legend" / "configs"
    spms_config = None if configs is None else configs / "pygama-spms-p13-evt-config.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "tcm" in parts:
            bench_tcm(folder, args.events)
        if "basic" in parts:
            info = make_evt_inputs(folder, args.events)
            bench_evt("basic/synth", info, BASIC, args.events)
        if "basic-test" in parts and shared is not None and configs is not None:
            info = _test_files(
                shared, "prod-ref-l200", "phy/p03/r001/l200-p03-r001-phy-20230322T160139Z"
            )
            n = lh5.n_rows("hardware_tcm_1", info["tcm"][0])
            bench_evt("basic/test", info, str(configs / "pygama-basic-evt-config.yaml"), n)
        if "spms-test" in parts and shared is not None and spms_config is not None:
            info = _test_files(
                shared, "l200-truncated", "ant/p13/r001/l200-p13-r001-ant-20241210T225016Z"
            )
            n = lh5.n_rows("hardware_tcm_1", info["tcm"][0])
            bench_evt("spms/test", info, str(spms_config), n)
        if "spms" in parts and spms_config is not None:
            info = make_spms_inputs(folder, args.spms_events, _spms_channels(spms_config))
            bench_evt("spms/synth", info, str(spms_config), args.spms_events)


if __name__ == "__main__":
    main()
