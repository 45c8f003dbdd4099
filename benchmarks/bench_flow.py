"""Throughput of whole runs: simulated DAQ files through raw → dsp → tcm (→ hit → evt).

Prints files/s and MB/s (DAQ input) with 1 and 2 local worker processes, and the speed-up.
The anchor has no pipeline of its own (its users chain the tiers by hand or with snakemake),
so there is no anchor ratio here.

    python benchmarks/bench_flow.py [--files 200] [--events 100] [--executor processes]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from tierflow.flow import make_plan, run_plan
from tierflow.flow.demo import write_demo_inputs
from tierflow.flow.sim import make_detectors


def prepare(root: Path, files: int, events: int) -> Path:
    config = write_demo_inputs(root, files, events, detectors=make_detectors(2, 2))
    prod = yaml.safe_load(config.read_text())
    prod["tiers"] = ["raw", "dsp", "tcm"]  # per-file chain; calibration needs whole runs
    config.write_text(yaml.safe_dump(prod))
    return config


def bench(config: Path, executor: str, workers: int) -> float:
    shutil.rmtree(config.parent / "tier", ignore_errors=True)
    plan = make_plan(config)
    start = time.perf_counter()
    report = run_plan(plan, executor, workers, progress=False)
    elapsed = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(report.summary())
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--executor", default="processes", choices=["processes", "dask"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = prepare(Path(tmp), args.files, args.events)
        mb = sum(p.stat().st_size for p in (Path(tmp) / "daq").glob("*.fcio")) / 1e6
        bench(config, args.executor, 2)  # warm-up: numba caches on disk
        times = {}
        for workers in (1, 2):
            times[workers] = bench(config, args.executor, workers)
            t = times[workers]
            print(f"{workers} worker(s): {args.files} files ({mb:.0f} MB) in {t:.1f} s: "
                  f"{args.files / t:.1f} files/s, {mb / t:.1f} MB/s")  # fmt: skip
        print(f"speed-up 2 workers / 1 worker: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
