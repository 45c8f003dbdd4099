# ruff: noqa: E501  (the child-process script and the table lines read better unwrapped)
"""Raw-tier throughput: MB/s of input, rows/s and peak memory, per test file and on a large input.

Each measurement runs in a child process so peak memory (VmHWM) is per run. When
legend-daq2lh5 is importable, it runs on the same input in the same run and the ratio is
printed. ``lh5%`` is the share of tierflow's time spent writing LH5: ``lh5.write``, or a
file image's writes and closing (the rest is framing, decoding and routing). Usage:
``python benchmarks/bench_raw.py [--large-mb 200] [--medium-mb 20] [--no-anchor] [--repeat 3]``
(``--repeat``: the median of that many runs of each, in one child process each). Each tool
converts the input once untimed (its first call in a process pays for JIT caches and other
first-use costs: printed as ``1st call s``, tierflow / anchor), then once timed. The large
inputs repeat a test file's event records: FCIO and ORCA are compared with the anchor's rate on
the test file; llama and CoMPASS, whose test files are 1.1 and 0.2 MB (fixed costs), with the
anchor's rate on a ``--medium-mb`` file made the same way.
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
    "orca-fc": ("orca/fc/L200-comm-20220519-phy-geds.orca", None, {}),
    "orca-fcio": ("orca/fcio/l200-p13-r007-aph-20250101T003931Z.orca", None, {}),
}

CHILD = r"""
import json, os, resource, sys, time, warnings, h5py, hdf5plugin
warnings.simplefilter("ignore")
which, inp, typ, out, kw = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4], json.loads(sys.argv[5])
def cpu():  # all threads' CPU time, in ns steps (os.times() counts 10 ms ticks: 0 on a small file)
    return time.process_time()
lh5_s = [0.0]
if which == "tierflow":
    from tierflow import lh5
    from tierflow.raw import build_raw
    f = time.perf_counter(); build_raw(inp, typ, out, overwrite=True, **kw); first = time.perf_counter() - f  # numba caches load
    def timing(write):  # lh5 writes: through h5py, or into a file image and its closing
        def timed(*a, **k):
            t0 = time.perf_counter(); write(*a, **k); lh5_s[0] += time.perf_counter() - t0
        return timed
    lh5.write = timing(lh5.write)
    lh5.FileImage.write = timing(lh5.FileImage.write)
    lh5.FileImage.close = timing(lh5.FileImage.close)
    c = cpu(); t = time.perf_counter(); build_raw(inp, typ, out, overwrite=True, **kw); dt = time.perf_counter() - t
else:
    import logging; logging.disable(logging.CRITICAL)
    kw.pop("hdf5_settings", None)
    from daq2lh5 import build_raw
    f = time.perf_counter(); build_raw(inp, in_stream_type=typ, out_spec=out, overwrite=True, **kw); first = time.perf_counter() - f
    c = cpu(); t = time.perf_counter(); build_raw(inp, in_stream_type=typ, out_spec=out, overwrite=True, **kw); dt = time.perf_counter() - t
dc = cpu() - c
rows = 0
with h5py.File(out) as f:
    def count(name, obj):
        global rows
        if name.endswith("/packet_id") and isinstance(obj, h5py.Dataset): rows += len(obj)
    f.visititems(count)
def peak_mb():  # VmHWM: this process's own peak (ru_maxrss also counts the parent's pages at exec)
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": dt, "cpu": dc, "rows": rows, "lh5": lh5_s[0] / dt, "rss_mb": peak_mb(), "first": first}))
"""


def _run(
    python: str | None,
    which: str,
    inp: Path,
    typ: str | None,
    kw: dict[str, str],
    repeat: int = 1,
) -> dict[str, float] | None:
    """The median (by wall time) of `repeat` runs, each in its own process."""
    if python is None:
        return None
    runs = [_run_once(python, which, inp, typ, kw) for _ in range(repeat)]
    done = sorted((r for r in runs if r is not None), key=lambda r: r["s"])
    if not done:
        return None
    median = dict(done[len(done) // 2])
    median["rss_mb"] = max(r["rss_mb"] for r in done)  # the worst peak of all runs
    return median


def _run_once(
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


def make_large_orca(target_mb: int, out: Path) -> Path:
    """An ORCA file of at least `target_mb` MB: the FlashCam file's waveform packets repeated."""
    import numpy as np

    words = np.fromfile(SHARED / "testdata/legend" / FILES["orca-fc"][0], np.uint32)
    pos = 0
    keep: list[np.ndarray] = []
    repeat: list[np.ndarray] = []
    while pos < words.size:
        n = int(words[pos] & 0x3FFFF) or int(words[pos + 1])
        (repeat if words[pos] >> 18 == 0x3 else keep).append(words[pos : pos + n])
        pos += n
    events = np.concatenate(repeat)  # data id 3: ORFlashCamADCWaveform in this file
    reps = int(target_mb * 1e6 // events.nbytes) + 1
    with open(out, "wb") as f:
        for part in keep:  # header, run control, listener config
            f.write(part.tobytes())
        for _ in range(reps):
            f.write(events.tobytes())
    return out


def _header_bytes(name: str, data: bytes) -> int:
    """The length of a llama or CoMPASS file's header (what precedes its event records)."""
    if name == "compass":
        return 2  # one header word
    n_open = int.from_bytes(data[12:16], "little")  # llama: 16 bytes, then 88 per channel
    return 16 + 88 * n_open


def make_repeated(name: str, target_mb: int, out: Path) -> Path:
    """A llama or CoMPASS file of at least `target_mb` MB: the test file's events repeated."""
    data = (SHARED / "testdata/legend" / FILES[name][0]).read_bytes()
    cut = _header_bytes(name, data)
    reps = int(target_mb * 1e6 // (len(data) - cut)) + 1
    with open(out, "wb") as f:
        f.write(data[:cut])
        for _ in range(reps):
            f.write(data[cut:])
    return out


def _repeated_cases(
    large_mb: int, medium_mb: int, tmp: str
) -> list[tuple[str, Path, str | None, dict[str, str], str | None]]:
    """llama and CoMPASS events repeated: a medium file both tools run (the anchor's rate past
    its fixed costs) and a large one for tierflow, compared with that rate."""
    cases = []
    base = SHARED / "testdata/legend"
    for name in ("llama", "compass"):
        _, typ, kw = FILES[name]
        options = {k: str(base / v) for k, v in kw.items()}
        medium = make_repeated(name, medium_mb, Path(tmp) / f"medium-{name}.bin")
        large = make_repeated(name, large_mb, Path(tmp) / f"large-{name}.bin")
        cases.append((f"{name}-{medium_mb}MB", medium, typ, options, None))
        cases.append((f"{name}-{large_mb}MB", large, typ, options, f"{name}-{medium_mb}MB"))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large-mb", type=int, default=200)
    parser.add_argument(
        "--medium-mb", type=int, default=20, help="repeated llama / CoMPASS files the anchor runs"
    )
    parser.add_argument("--no-anchor", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="median of this many runs")
    parser.add_argument(
        "--hdf5", default="legend", choices=["legend", "anchor"], help="tierflow's HDF5 preset"
    )
    parser.add_argument(
        "--anchor-python", default=os.environ.get("ANCHOR_PYTHON", "/work/venv-raw/bin/python")
    )
    args = parser.parse_args()
    anchor = None if args.no_anchor or not Path(args.anchor_python).exists() else args.anchor_python
    base = SHARED / "testdata/legend"
    cases: list[tuple[str, Path, str | None, dict[str, str], str | None]] = [
        (n, base / p, t, {k: str(base / v) for k, v in kw.items()}, None)
        for n, (p, t, kw) in FILES.items()
    ]
    extra = {"hdf5_settings": args.hdf5}
    with tempfile.TemporaryDirectory() as tmp:
        if args.large_mb:
            cases.append(
                (
                    f"fcio-{args.large_mb}MB",
                    make_large(args.large_mb, Path(tmp) / "large.fcio"),
                    None,
                    {},
                    "fcio-p06",
                )
            )
            cases.append(
                (
                    f"orca-{args.large_mb}MB",
                    make_large_orca(args.large_mb, Path(tmp) / "large.orca"),
                    None,
                    {},
                    "orca-fc",
                )
            )
            cases += _repeated_cases(args.large_mb, args.medium_mb, tmp)
        print(f"tierflow HDF5 preset: {args.hdf5}; MB/s by wall clock (and by CPU time)")
        print(
            f"{'input':<14}{'MB':>7}{'MB/s':>8}{'(cpu)':>8}{'rows/s':>10}{'lh5%':>6}{'peak MB':>9}"
            f"{'anchor MB/s':>13}{'(cpu)':>7}{'peak MB':>9}{'speed-up':>9}{'(cpu)':>7}"
            f"{'1st call s':>13}"
        )
        anchor_rate: dict[str, tuple[float, float]] = {}
        for name, inp, typ, kw, like in cases:
            mb = inp.stat().st_size / 1e6
            ours = _run(sys.executable, "tierflow", inp, typ, {**kw, **extra}, args.repeat)
            if ours is None:
                continue
            line = (
                f"{name:<14}{mb:7.1f}{mb / ours['s']:8.1f}{mb / ours['cpu']:8.1f}"
                f"{ours['rows'] / ours['s']:10.0f}{100 * ours['lh5']:6.0f}{ours['rss_mb']:9.0f}"
            )
            theirs = (
                _run(anchor, "anchor", inp, typ, kw, args.repeat) if anchor and mb < 50 else None
            )
            if theirs:
                anchor_rate[name] = (mb / theirs["s"], mb / theirs["cpu"])
                line += f"{mb / theirs['s']:13.2f}{mb / theirs['cpu']:7.2f}{theirs['rss_mb']:9.0f}"
            elif like in anchor_rate:  # the same records: the small file's anchor rate
                a = anchor_rate[like]
                line += f"{a[0]:13.2f}{a[1]:7.2f}{'(' + like + ')':>9}"
            rate = anchor_rate.get(name) or anchor_rate.get(like or "")
            if rate:
                line += f"{mb / ours['s'] / rate[0]:8.1f}x{mb / ours['cpu'] / rate[1]:6.1f}x"
            first = f"{ours['first']:.2f}" + (f" / {theirs['first']:.2f}" if theirs else "")
            print(f"{line}{first:>15}", flush=True)


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
