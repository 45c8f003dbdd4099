"""Benchmark of the shower store: tierflow's LH5 layout (as saved by default, and with every
hits column compressed), tierflow on showerdata's layout, and showerdata itself when it is
installed (same showers, same run).

Prints, for each: save time, full load, a 1,000-shower slice, opening a file for random reads,
1,000 random single showers (from a newly opened file; for tierflow also once every shower was
read, in CPU time, against showerdata's random_cpu_us), file size and the peak memory of a full
load (in a fresh process), and the ratios to showerdata; and the machine's floor for a full
load (allocating and writing an array of the points' size), which bounds the full-load ratio
any loader can reach.

Times are medians of three runs; random reads use a newly opened file and new picks each run.
The full load and the random reads also show their CPU time (the process's, all threads),
which other programs on a shared machine sway less than wall time; the load average is
printed at the start and the end.

    python benchmarks/bench_showers.py                  # 20,000 showers, ~41 M points
    python benchmarks/bench_showers.py --showers 2000   # a quick run

The showers are synthetic but shaped like clustered calorimeter showers: x, y at cell centres
(5 mm ECAL, 30 mm HCAL cells), z the layer (0-77), exponential hit energies (float32), with
100-4,000 points each.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hdf5plugin
import numpy as np

from tierflow import showers as sh

RANDOM_READS = 1000
THEIR_READS = 200
"""showerdata's random reads are timed on the first 200 picks (a millisecond each)."""
SLICE = 1000


def make_showers(n: int, seed: int = 1) -> sh.Showers:
    """Synthetic clustered showers with 100-4,000 points each."""
    rng = np.random.default_rng(seed)
    num_points = rng.integers(100, 4001, n).astype(np.int32)
    total = int(num_points.sum())
    layer = np.minimum(rng.gamma(3.0, 6.0, total), 77).astype(np.int32)
    cell = np.where(layer < 30, 5.0, 30.0)
    spread = np.where(layer < 30, 20.0, 90.0)
    x = (np.floor(rng.normal(0, spread) / cell) + 0.5) * cell
    y = (np.floor(rng.normal(0, spread) / cell) + 0.5) * cell
    energy = rng.exponential(1e-3, total).astype(np.float32) + np.float32(1e-5)
    flat = np.stack([x, y, layer, energy], axis=1).astype(np.float32)
    return sh.Showers(
        flat_points=flat,
        num_points=num_points,
        energies=rng.uniform(10, 100, n),
        pdg=rng.choice([11, 22, 211], n),
        directions=np.tile([0.0, 0.0, 1.0], (n, 1)),
        max_points=4000,
    )


EVERY_COLUMN = {"compression": dict(hdf5plugin.Bitshuffle(nelems=512, cname="lz4"))}
"""Bitshuffle with LZ4 in 512-hit blocks on every hits column: the smallest files; by default
tierflow stores plain the columns it does not at least halve."""
REPEAT = 3
"""Each figure is the median of this many runs (the machine may be shared and loaded)."""


def timed(func: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, float]:
    """The median wall time of `repeat` calls, and their median CPU time (the process's, all
    threads; less swayed than wall time by other programs on a shared machine)."""
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(times)), float(np.median(cpu))


def random_reads(
    open_file: Callable[[], Any], picks: np.ndarray, n: int, convert: Any = int
) -> tuple[float, float]:
    """Median seconds per shower (wall and CPU) of reading `picks` one by one from a newly
    opened file, over REPEAT rounds of different picks (so that no round finds the last one's
    chunks cached)."""
    times, cpu = [], []
    for k in range(REPEAT):
        rolled = (picks + k * 7919) % n
        with open_file() as file:
            start, start_cpu = time.perf_counter(), time.process_time()
            for i in rolled:
                file[convert(i)]
            times.append((time.perf_counter() - start) / len(rolled))
            cpu.append((time.process_time() - start_cpu) / len(rolled))
    return float(np.median(times)), float(np.median(cpu))


def warm_random_reads(path: Path, picks: np.ndarray, n: int) -> float:
    """Median CPU seconds per shower of reading `picks` one by one from a file whose showers
    were all read once since it was opened (as in a second epoch of training: tierflow then
    knows where the blocks of every chunk lie), over REPEAT rounds of different picks."""
    cpu = []
    with sh.ShowerDataFile(path) as file:
        for i in range(n):
            file[i]
        for k in range(REPEAT):
            rolled = ((picks + k * 7919 + 1) % n).tolist()
            start = time.process_time()
            for i in rolled:
                file[i]
            cpu.append((time.process_time() - start) / len(rolled))
    return float(np.median(cpu))


PEAK_SCRIPT = """
import sys, json
def hwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
kind, path = sys.argv[1], sys.argv[2]
if kind == "showerdata":
    import showerdata as lib
else:
    from tierflow import showers as lib
lib.load(path, 0, 1)
before = hwm()
data = lib.load(path)
after = hwm()
print(json.dumps({"peak_mb": (after - before) * 1024 / 1e6}))  # VmHWM is in KiB
"""


def peak_memory_mb(kind: str, path: Path) -> float:
    """Growth of the peak RSS while a fresh process loads the whole file."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"])


def floor_s(data: sh.Showers) -> float:
    """The machine's floor for a full load: allocating an array of the points' size and
    writing every page of it (what any loader must do at least), median of REPEAT."""

    def touch() -> None:
        out = np.empty(data.flat.shape, np.float32)
        out[:] = 0

    return timed(touch)[0]


def open_for_random_s(path: Path) -> float:
    """Opening a file for random reads: per-shower rows, chunk and block places, mapping."""

    def open_close() -> None:
        with sh.ShowerDataFile(path) as file:
            file[0]

    return timed(open_close)[0]


def bench_tierflow(
    data: sh.Showers, path: Path, picks: np.ndarray, **save_options: Any
) -> dict[str, float]:
    save, _ = timed(lambda: sh.save(data, path, overwrite=True, **save_options), repeat=1)
    load, load_cpu = timed(lambda: sh.load(path))
    start = len(data) // 2
    part, _ = timed(lambda: sh.load(path, start, start + SLICE))
    random, random_cpu = random_reads(
        lambda: sh.ShowerDataFile(path), picks, len(data), lambda i: i
    )
    return {
        "save_s": save,
        "load_s": load,
        "load_cpu_s": load_cpu,
        "slice_s": part,
        "open_random_s": open_for_random_s(path),
        "random_us": random * 1e6,
        "random_cpu_us": random_cpu * 1e6,
        "random_warm_cpu_us": warm_random_reads(path, picks, len(data)) * 1e6,
        "size_mb": path.stat().st_size / 1e6,
        "peak_mb": peak_memory_mb("tierflow", path),
    }


def bench_showerdata(data: sh.Showers, path: Path, picks: np.ndarray) -> dict[str, float] | None:
    try:
        import showerdata
    except ImportError:
        return None
    theirs = showerdata.Showers(
        points=data.points,
        energies=data.energies,
        pdg=data.pdg,
        directions=data.directions,
        shower_ids=data.shower_ids,
        num_points=data.num_points,
    )
    save, _ = timed(functools.partial(theirs.save, path, overwrite=True), repeat=1)
    del theirs  # free the padded copy before loading
    load, load_cpu = timed(lambda: showerdata.load(path))
    start = len(data) // 2
    part, _ = timed(lambda: showerdata.load(path, start, start + SLICE))
    few = picks[:THEIR_READS]
    random_open, random_cpu = random_reads(lambda: showerdata.ShowerDataFile(path), few, len(data))
    random_load, _ = timed(lambda: [showerdata.load(path, int(i), int(i) + 1) for i in few])

    def open_close() -> None:
        with showerdata.ShowerDataFile(path) as file:
            file[0]

    return {
        "save_s": save,
        "load_s": load,
        "load_cpu_s": load_cpu,
        "slice_s": part,
        "open_random_s": timed(open_close)[0],
        "random_us": random_open * 1e6,
        "random_cpu_us": random_cpu * 1e6,
        "random_load_us": random_load / len(few) * 1e6,
        "size_mb": path.stat().st_size / 1e6,
        "peak_mb": peak_memory_mb("showerdata", path),
    }


def report(name: str, row: dict[str, float], ref: dict[str, float] | None) -> None:
    print(f"\n{name}")
    for key, value in row.items():
        line = f"  {key:>18}: {value:12.4g}"
        if ref is not None and key in ref and value > 0:
            ratio = ref[key] / value
            line += f"   showerdata / this = {ratio:8.3g}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--showers", type=int, default=20_000)
    parser.add_argument("--dir", default=None, help="where to write the files (default: temp)")
    args = parser.parse_args()
    data = make_showers(args.showers)
    data_mb = (data.flat.nbytes + 40 * len(data)) / 1e6
    print(f"{len(data)} showers, {len(data.flat) / 1e6:.1f} M points, {data_mb:.0f} MB of data")
    print("load average at start (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    picks = np.random.default_rng(2).integers(0, len(data), RANDOM_READS)
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        base = Path(folder)
        ref = bench_showerdata(data, base / "theirs.h5", picks)
        if ref is None:
            print("showerdata is not installed: no ratios (pip install showerdata)")
        ours = bench_tierflow(data, base / "ours.lh5", picks)
        small = bench_tierflow(data, base / "small.lh5", picks, hdf5_settings=EVERY_COLUMN)
        on_theirs = bench_tierflow(data, base / "ours-sd.h5", picks)
    if ref is not None:
        ref["random_warm_cpu_us"] = ref["random_cpu_us"]  # showerdata keeps nothing per read
        report("showerdata", ref, None)
    report("tierflow, LH5 layout", ours, ref)
    report("tierflow, LH5 layout, every hits column compressed", small, ref)
    report("tierflow, showerdata layout", on_theirs, ref)
    floor = floor_s(data)
    line = f"\nfull-load floor (allocate and write {data.flat.nbytes / 1e6:.0f} MB): {floor:.3f} s"
    if ref is not None:
        line += f"; showerdata's load / floor = {ref['load_s'] / floor:.2f}x (the best ratio)"
    print(line)
    print(
        "peak memory of a full load / data size (both in MB of 10^6 bytes): "
        f"tierflow LH5 {ours['peak_mb'] / data_mb:.2f}, "
        f"tierflow on showerdata's layout {on_theirs['peak_mb'] / data_mb:.2f}"
    )
    print("load average at end (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(
            json.dumps({"ref": ref, "lh5": ours, "lh5_small": small, "sd": on_theirs})
        )


if __name__ == "__main__":
    main()
