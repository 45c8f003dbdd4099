# ruff: noqa: E501  (the child-process script and the table lines read better unwrapped)
"""Raw-tier throughput: MB/s of input, rows/s and peak memory, per test file and on a large input.

Each measurement runs in a child process so peak memory (ru_maxrss) is per run. When
legend-daq2lh5 is importable, it runs on the same input in the same run and the ratio is
printed. Usage: ``python benchmarks/bench_raw.py [--large-mb 200] [--no-anchor]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

SHARED = Path(os.environ.get("TIERFLOW_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FILES = {
    "fcio-spms": ("fcio/L200-comm-20211130-phy-spms.fcio", None, {}),
    "fcio-p06": ("fcio/l200-p06-r007-cal-20230725T202227Z.fcio", None, {}),
    "llama": ("llamaDAQ/20241218-150158-pulser.bin", "LlamaDaq", {}),
    "compass": (
        "compass/compass_test_data.BIN",
        "Compass",
        {"compass_config_file": "compass/compass_test_data_settings.xml"},
    ),
}

CHILD = r"""
import json, resource, sys, time, warnings, h5py
warnings.simplefilter("ignore")
which, inp, typ, out, kw = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4], json.loads(sys.argv[5])
if which == "tierflow":
    from tierflow.raw import build_raw
    build_raw(inp, typ, out, overwrite=True, **kw)  # warm-up: numba cache load
    t = time.perf_counter(); build_raw(inp, typ, out, overwrite=True, **kw); dt = time.perf_counter() - t
else:
    import logging; logging.disable(logging.CRITICAL)
    from daq2lh5 import build_raw
    t = time.perf_counter(); build_raw(inp, in_stream_type=typ, out_spec=out, overwrite=True, **kw); dt = time.perf_counter() - t
rows = 0
with h5py.File(out) as f:
    for k in f:
        if "packet_id" in f[k]: rows += len(f[k]["packet_id"])
print(json.dumps({"s": dt, "rows": rows, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(
    python: str, which: str, inp: Path, typ: str | None, kw: dict[str, str]
) -> dict[str, float] | None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            python,
            "-c",
            CHILD,
            which,
            str(inp),
            typ or "",
            str(Path(tmp) / "o.lh5"),
            json.dumps(kw),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode:
            print(f"  {which} failed: {res.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return None
        return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def make_large(target_mb: int, out: Path) -> Path:
    """An FCIO file of at least `target_mb` MB: the p06 file's event records repeated."""
    import numpy as np

    data = np.fromfile(SHARED / "testdata/legend" / FILES["fcio-p06"][0], np.uint8)
    from tierflow.raw.formats.fcio._kernels import frame_records

    _, rstart, rend, *_ = frame_records(data, True)
    head, events = data[: rstart[1]], data[rstart[1] : rend[-1]]
    reps = int(target_mb * 1e6 // events.size) + 1
    with open(out, "wb") as f:
        f.write(head.tobytes())
        for _ in range(reps):
            f.write(events.tobytes())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large-mb", type=int, default=200)
    parser.add_argument("--no-anchor", action="store_true")
    parser.add_argument(
        "--anchor-python", default=os.environ.get("ANCHOR_PYTHON", "/work/venv-raw/bin/python")
    )
    args = parser.parse_args()
    anchor = None if args.no_anchor or not Path(args.anchor_python).exists() else args.anchor_python
    base = SHARED / "testdata/legend"
    cases = [
        (n, base / p, t, {k: str(base / v) for k, v in kw.items()})
        for n, (p, t, kw) in FILES.items()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if args.large_mb:
            cases.append(
                (
                    f"fcio-{args.large_mb}MB",
                    make_large(args.large_mb, Path(tmp) / "large.fcio"),
                    None,
                    {},
                )
            )
        print(
            f"{'input':<14}{'MB':>8}{'MB/s':>9}{'rows/s':>11}{'peak MB':>9}   anchor MB/s  peak MB  speed-up"
        )
        for name, inp, typ, kw in cases:
            mb = inp.stat().st_size / 1e6
            ours = _run(sys.executable, "tierflow", inp, typ, kw)
            if ours is None:
                continue
            line = f"{name:<14}{mb:8.1f}{mb / ours['s']:9.1f}{ours['rows'] / ours['s']:11.0f}{ours['rss_mb']:9.0f}"
            theirs = _run(anchor, "anchor", inp, typ, kw) if anchor and mb < 50 else None
            if theirs:
                line += f"   {mb / theirs['s']:11.2f}{theirs['rss_mb']:9.0f}{theirs['s'] / ours['s']:9.1f}x"
            print(line, flush=True)


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
