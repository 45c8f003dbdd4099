"""Hit-tier throughput: tierflow's build_hit against pygama's (the anchor) when it is installed.

Run ``python benchmarks/bench_hit.py`` (``--rows N`` for the size of the large table, default
5,000,000; ``--quick`` for one repeat and no anchor run on the large table). Two inputs:

* the real 38,343-row dsp file of ``../shared`` with the production-shaped config
  (``hit-legend-like-config.json``);
* a dsp-like table of ``--rows`` rows made in a temporary folder by repeating that file's
  columns (written gzip'd, as LEGEND's are); tierflow: median of 3 runs, pygama: one run.

On the real file each variant runs once untimed first (imports, numba compilation, thread
start-up), so that ``--quick``'s single timed run is a steady-state one.

tierflow's default output is shuffle + Zstd (LEGEND's production layout, ``hdf5_settings=
"legend"``); it is also timed writing the anchor's shuffle + gzip (``"anchor"``; the files are
interchangeable with pygama's) with its parallel deflate write path, with HDF5's own filters
(``gzip, hdf5 filter``: the path before it), and, when their packages are installed, with the
libdeflate and ISA-L deflate engines at level 1 (gzip files every HDF5 reads, other bytes).
The variants run interleaved, repeat after repeat, and rows per second is the median (the
machine is shared); on the real file, the default run and pygama's then alternate as many
times again, and those medians are the ones printed for them and in the ratios (each tool
measured in the same conditions, as a user's loop over files would run it). ``cpu`` is the
process CPU time of tierflow's default run (all threads), for comparison with the wall time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tierflow import lh5
from tierflow.hit import build_hit
from tierflow.lh5._settings import fast_write
from tierflow.testing import find_testdata
from tierflow.types import Table

try:
    from pygama.hit import build_hit as anchor_build_hit  # type: ignore[import-not-found]
except ImportError:
    anchor_build_hit = None

DSP = "legend/lh5/prod-ref-l200/generated/tier/dsp/cal/p03/r000/"
DSP += "l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
TABLE = "ch1104000/dsp"


def _median_times(
    runs: dict[str, Callable[[], Any]], repeats: int, warm: bool = False
) -> dict[str, float]:
    """Median wall time of each run, the runs interleaved (`warm`: after one untimed run of
    each: the first call of either tool pays for imports, compilation and thread start-up,
    which a small input would show); ``cpu``: process CPU of the first."""
    for run in runs.values() if warm else ():
        run()
    times: dict[str, list[float]] = {name: [] for name in [*runs, "cpu"]}
    for _ in range(repeats):
        for i, (name, run) in enumerate(runs.items()):
            cpu, start = time.process_time(), time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
            if i == 0:
                times["cpu"].append(time.process_time() - cpu)
    return {name: statistics.median(values) for name, values in times.items()}


def _make_big(source: Path, rows: int, target: Path, fields: list[str]) -> None:
    """`rows` rows of `source`'s columns, repeated, written in chunks."""
    table: Table = lh5.read(TABLE, source, fields=fields)
    step = 500_000
    block = table.take(np.arange(step) % len(table))
    mode = lh5.WriteMode.CREATE
    for start in range(0, rows, step):
        part = block if start + step <= rows else block.take(slice(0, rows - start))
        lh5.write(part, TABLE, target, mode=mode)
        mode = lh5.WriteMode.APPEND


def _runs(
    dsp: Path, config: dict[str, Any], anchor: bool, work: Path
) -> dict[str, Callable[[], Any]]:
    def ours(name: str, **kw: Any) -> Callable[[], Any]:
        return lambda: build_hit(
            dsp, work / f"{name}.lh5", hit_config=config, wo_mode="overwrite_file", **kw
        )

    def hdf5_filter() -> None:
        with fast_write(enabled=False):
            ours("hdf5", hdf5_settings="anchor")()

    def engine(name: str, level: int) -> Callable[[], Any]:
        def run() -> None:
            with fast_write(engine=name, level=level):
                ours(name, hdf5_settings="anchor")()

        return run

    runs = {
        "default (zstd)": ours("ours"),
        "gzip": ours("gzip", hdf5_settings="anchor"),
        "gzip, hdf5 filter": hdf5_filter,
    }
    for name, module, level in (("libdeflate", "deflate", 1), ("isal", "isal", 1)):
        if importlib.util.find_spec(module) is not None:
            runs[f"gzip, {name}-{level}"] = engine(name, level)
    if anchor and anchor_build_hit is not None:
        runs["pygama"] = lambda: anchor_build_hit(
            str(dsp),
            str(work / "anchor.lh5"),
            hit_config=json.loads(json.dumps(config)),
            lh5_tables=[TABLE],
            wo_mode="of",
        )
    return runs


def _bench(name: str, dsp: Path, rows: int, config: dict[str, Any], repeats: int, anchor: bool,
           work: Path) -> None:  # fmt: skip
    runs = _runs(dsp, config, anchor, work)
    pygama = runs.pop("pygama", None)
    warm = rows < 10**5  # the real file
    times = _median_times(runs, repeats, warm)
    if pygama is not None and warm:  # the two tools alternate, on equal terms
        default = next(iter(runs))
        pair = _median_times({default: runs[default], "pygama": pygama}, repeats, warm)
        times.update(pair)
    elif pygama is not None:  # slow: once on the large table
        times["pygama"] = _median_times({"pygama": pygama}, 1)["pygama"]
    print(f"{name} (median of {repeats}):", flush=True)
    for variant, seconds in times.items():
        if variant == "cpu":
            continue
        line = f"  {variant:>18}: {rows / seconds:>11,.0f} rows/s  {seconds * 1e3:8.0f} ms"
        if "pygama" in times and variant != "pygama":
            line += f"  {times['pygama'] / seconds:5.1f}x pygama"
        print(line)
    cpu = times["cpu"] * 1e3
    print(f"  {'cpu (default run)':>18}: {cpu:8.0f} ms of process CPU time", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=7, help="for the real file")
    args = parser.parse_args(argv)
    testdata = find_testdata(Path(__file__).resolve().parent.parent)
    if testdata is None:
        print("no shared test data: nothing to benchmark", file=sys.stderr)
        return 1
    dsp = testdata / DSP
    configs = testdata.parent / "reference" / "legend" / "configs"
    config = json.loads((configs / "hit-legend-like-config.json").read_text())
    repeats = 1 if args.quick else args.repeats
    if anchor_build_hit is None:
        print("pygama is not installed: tierflow alone")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _bench("38,343-row dsp file", dsp, lh5.n_rows(TABLE, dsp), config, repeats, True, work)
        from tierflow.hit import make_hit_config

        fields = make_hit_config(config).input_names()
        big = work / "big_dsp.lh5"
        _make_big(dsp, args.rows, big, fields)
        _bench(f"{args.rows:,}-row table", big, args.rows, config, 1 if args.quick else 3,
               not args.quick, work)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
