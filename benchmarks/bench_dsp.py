"""DSP throughput: build_dsp with the LEGEND HPGe config on 8192-sample waveforms.

Run ``python benchmarks/bench_dsp.py [--rows 10240] [--repeat 3] [--steps TOP]
[--anchor-python PYTHON]``.
It makes a raw file of `rows` waveforms by repeating the 30 real ones of the reference raw file
(``../shared/testdata``), then times, in the same run and on the same file:

* tierflow on one core and on two processes (BLAS limited to one thread per process);
* dspeed (the anchor) when importable here or through ``--anchor-python`` (its own venv);
* the first run with an empty numba cache (a fresh ``NUMBA_CACHE_DIR``) in a subprocess;
* with ``--steps TOP``, the time of every processor of the chain (the TOP largest listed).

tierflow and dspeed runs alternate `repeat` times and the medians are compared, in wall time
and in CPU time (the process's own, which other load on a shared machine disturbs less). Both
run at their defaults (3200 rows read at a time, blocks of 16).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402  (after limiting BLAS threads)
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tierflow import lh5  # noqa: E402
from tierflow.testing import find_shared, find_testdata  # noqa: E402
from tierflow.types import Array, Table, WaveformTable  # noqa: E402

RAW = (
    "lh5/prod-ref-l200/generated/tier/raw/phy/p03/r001/"
    "l200-p03-r001-phy-20230322T160139Z-tier_raw.lh5"
)
CHANNELS = ["ch1084803", "ch1084804", "ch1121600"]
ANCHOR_SCRIPT = """
import sys, time, json  # noqa: E402
from dspeed import build_dsp  # noqa: E402
raw, out, cfg = sys.argv[1:4]
start, cpu = time.perf_counter(), time.process_time()
build_dsp(raw, out, cfg, lh5_tables=["bench/raw"], write_mode="r")
print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}))
"""


def _require(path: Path | None) -> Path:
    if path is None:
        sys.exit("the ../shared data is needed (or set TIERFLOW_SHARED)")
    return path


def make_raw(path: Path, rows: int) -> None:
    """`rows` waveforms repeated from the reference raw file, in one table ``bench/raw``."""
    source = _require(find_testdata()) / "legend" / RAW
    parts = [
        lh5.read(f"{ch}/raw", source, fields=["waveform", "baseline", "timestamp"])
        for ch in CHANNELS
    ]
    values = np.concatenate([p["waveform"].values.nda for p in parts])
    index = np.arange(rows) % len(values)
    base = np.concatenate([p["baseline"].nda for p in parts])
    stamp = np.concatenate([p["timestamp"].nda for p in parts])
    table = Table(
        {
            "waveform": WaveformTable(
                values=values[index],
                dt=np.full(rows, 16, "float32"),
                dt_units="ns",
                t0=np.zeros(rows, "float32"),
                t0_units="ns",
            ),
            "baseline": Array(base[index]),
            "timestamp": Array(stamp[index], attrs={"units": "s"}),
        }
    )
    lh5.write(table, "bench/raw", path, mode=lh5.WriteMode.OVERWRITE_FILE)


def run_tierflow(
    raw: Path, out: Path, config: Path, processes: int, rows: int | None = None
) -> tuple[float, float]:
    """Wall and CPU seconds (CPU of this process: meaningful for one process only).

    The defaults of both tools are used (as for the anchor): 3200 rows read at a time, blocks
    of 16 rows.
    """
    from tierflow.dsp import build_dsp

    start, cpu = time.perf_counter(), time.process_time()
    build_dsp(
        raw,
        out,
        config,
        lh5_tables="bench/raw",
        n_processes=processes,
        overwrite=True,
        n_entries=rows,
    )
    return time.perf_counter() - start, time.process_time() - cpu


def anchor_command(python: str | None, raw: Path, out: Path, config: Path) -> list[str] | None:
    """The command running dspeed once (after compiling and caching), or None without it."""
    cmd = [python or sys.executable, "-c", ANCHOR_SCRIPT, str(raw), str(out), str(config)]
    probe = subprocess.run([cmd[0], "-c", "import dspeed"], capture_output=True)
    if probe.returncode != 0:
        return None
    subprocess.run(cmd, capture_output=True, check=True, env=_ENV)  # compile and cache first
    return cmd


def run_anchor(cmd: list[str]) -> tuple[float, float]:
    done = subprocess.run(cmd, capture_output=True, check=True, text=True, env=_ENV)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["cpu"])


_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def first_run(raw: Path, out: Path, config: Path) -> float:
    """Wall time of a whole fresh process (import, compile into an empty cache, process 30 rows)."""
    code = (
        "from tierflow.dsp import build_dsp; import sys; "
        "build_dsp(sys.argv[1], sys.argv[2], sys.argv[3], lh5_tables='bench/raw', n_entries=30,"
        " overwrite=True)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", code, str(raw), str(out), str(config)], check=True, env=env
        )
        return time.perf_counter() - start


def step_table(raw: Path, config: Path, rows: int, repeat: int, top: int) -> None:
    """Per-processor CPU time (this thread's, best of `repeat` passes) on `rows` waveforms."""
    from tierflow.dsp import make_processing_chain

    table = lh5.read("bench/raw", raw, n_rows=rows)
    bound = make_processing_chain(config, table)
    bound.process(table)  # compile or load the kernels
    chain, width = bound.chain, bound.chain.block_width
    best: dict[str, float] = {}
    for _ in range(repeat):
        spent = dict.fromkeys((s.label for s in chain.steps), 0.0)
        for start in range(0, rows, width):
            n = min(width, rows - start)
            for link in bound.inputs:
                link.read(table, start, start + n)
            for step in chain.steps:
                begin = time.thread_time()
                step.run(n)
                spent[step.label] += time.thread_time() - begin
        for label, seconds in spent.items():
            best[label] = min(best.get(label, np.inf), seconds * 1e6 / rows)
    total = sum(best.values())
    ranked = sorted(best.items(), key=lambda item: -item[1])
    print(f"per processor, us/waveform (best of {repeat}), {len(ranked)} steps: {total:.1f} in all")
    for label, us in ranked[:top]:
        print(f"  {us:7.2f}  {100 * us / total:5.1f}%  {label[:90]}")
    rest = sum(us for _, us in ranked[top:])
    print(f"  {rest:7.2f}  {100 * rest / total:5.1f}%  the other {len(ranked) - top} steps")


def _rates(rows: int, times: list[tuple[float, float]]) -> tuple[float, float]:
    """Median waveforms/s in wall and in CPU time."""
    return rows / statistics.median(t[0] for t in times), rows / statistics.median(
        t[1] for t in times
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10240)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--anchor-python", default=None, help="python of a venv with dspeed")
    parser.add_argument("--skip-first-run", action="store_true")
    parser.add_argument(
        "--steps", type=int, default=0, metavar="TOP", help="print the TOP processors' times"
    )
    args = parser.parse_args()
    config = _require(find_shared()) / "reference/legend/configs/dsp-icpc-with-timestamp.json"
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.lh5", Path(tmp) / "dsp.lh5"
        make_raw(raw, args.rows)
        if args.steps:
            step_table(raw, config, min(args.rows, 512), max(args.repeat, 3), args.steps)
        if not args.skip_first_run:
            print(f"first run, empty numba cache (30 rows): {first_run(raw, out, config):.1f} s")
        run_tierflow(raw, out, config, 1, 64)  # warm: compile or load the cache (64 rows)
        anchor = anchor_command(args.anchor_python, raw, Path(tmp) / "anchor.lh5", config)
        ours, theirs = [], []
        for _ in range(args.repeat):  # alternate, so that changes in load hit both alike
            ours.append(run_tierflow(raw, out, config, 1))
            if anchor is not None:
                theirs.append(run_anchor(anchor))
        two = [run_tierflow(raw, out, config, 2)[0] for _ in range(args.repeat)]
        wall, cpu = _rates(args.rows, ours)
        print(f"tierflow, 1 process:  {wall:8.0f} waveforms/s ({cpu:.0f}/s of CPU time)")
        print(f"tierflow, 2 processes: {args.rows / statistics.median(two):7.0f} waveforms/s")
        if anchor is None:
            print("dspeed: not importable (pass --anchor-python)")
            return
        their_wall, their_cpu = _rates(args.rows, theirs)
        print(
            f"dspeed, 1 process:    {their_wall:8.0f} waveforms/s ({their_cpu:.0f}/s of CPU time)"
        )
        print(
            f"ratio tierflow/dspeed, 1 core (medians of {args.repeat}): "
            f"wall {wall / their_wall:.1f}x, CPU {cpu / their_cpu:.1f}x"
        )


if __name__ == "__main__":
    main()
