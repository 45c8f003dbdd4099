"""DSP throughput: build_dsp with the LEGEND HPGe config on 8192-sample waveforms.

Run ``python benchmarks/bench_dsp.py [--rows 10240] [--anchor-python /work/venv-dsp/bin/python]``.
It makes a raw file of `rows` waveforms by repeating the 30 real ones of the reference raw file
(``../shared/testdata``), then times, in the same run and on the same file:

* tierflow on one core and on two processes (BLAS limited to one thread per process);
* dspeed (the anchor) when importable here or through ``--anchor-python`` (its own venv);
* the first run with an empty numba cache (a fresh ``NUMBA_CACHE_DIR``) in a subprocess.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402  (after limiting BLAS threads)
import json  # noqa: E402
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
start = time.perf_counter()
build_dsp(raw, out, cfg, lh5_tables=["bench/raw"], write_mode="r")
print(json.dumps({"seconds": time.perf_counter() - start}))
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


def run_tierflow(raw: Path, out: Path, config: Path, processes: int, rows: int) -> float:
    from tierflow.dsp import build_dsp

    start = time.perf_counter()
    build_dsp(
        raw,
        out,
        config,
        lh5_tables="bench/raw",
        n_processes=processes,
        overwrite=True,
        block_width=16,
        buffer_len=rows,
    )
    return time.perf_counter() - start


def run_anchor(python: str | None, raw: Path, out: Path, config: Path) -> float | None:
    cmd = [python or sys.executable, "-c", ANCHOR_SCRIPT, str(raw), str(out), str(config)]
    probe = subprocess.run([cmd[0], "-c", "import dspeed"], capture_output=True)
    if probe.returncode != 0:
        return None
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, capture_output=True, check=True, env=env)  # compile and cache first
    done = subprocess.run(cmd, capture_output=True, check=True, text=True, env=env)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10240)
    parser.add_argument("--anchor-python", default=None, help="python of a venv with dspeed")
    parser.add_argument("--skip-first-run", action="store_true")
    args = parser.parse_args()
    config = _require(find_shared()) / "reference/legend/configs/dsp-icpc-with-timestamp.json"
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.lh5", Path(tmp) / "dsp.lh5"
        make_raw(raw, args.rows)
        if not args.skip_first_run:
            print(f"first run, empty numba cache (30 rows): {first_run(raw, out, config):.1f} s")
        run_tierflow(raw, out, config, 1, 64)  # warm: compile or load the cache
        results = {}
        for processes in (1, 2):
            seconds = run_tierflow(raw, out, config, processes, args.rows)
            results[processes] = args.rows / seconds
            print(f"tierflow, {processes} process(es): {results[processes]:8.0f} waveforms/s")
        anchor = run_anchor(args.anchor_python, raw, Path(tmp) / "anchor.lh5", config)
        if anchor is None:
            print("dspeed: not importable (pass --anchor-python)")
            return
        rate = args.rows / anchor
        print(f"dspeed (1 core):          {rate:8.0f} waveforms/s")
        print(
            f"ratio tierflow/dspeed: 1 core {results[1] / rate:.1f}x, "
            f"2 processes {results[2] / rate:.1f}x"
        )


if __name__ == "__main__":
    main()
